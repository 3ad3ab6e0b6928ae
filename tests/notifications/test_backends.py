# SPDX-License-Identifier: AGPL-3.0-or-later
"""The SMTP and null mailers, against a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy
from typing import TYPE_CHECKING

import pytest

from dulieuso.config import Settings
from dulieuso.notifications.backends import NullMailer, SmtpMailer, mailer_for

if TYPE_CHECKING:
    from notifications.mail_testing import SmtpServer

pytest_plugins = ("notifications.mail_testing",)  # the SMTP server fixtures

SUBJECT = "Yêu cầu kết nối mới của Sở Tài nguyên và Môi trường"
BODY = "Đồng chí vui lòng xem xét yêu cầu kết nối dữ liệu đất đai.\nTrân trọng."


class TestFromUrl:
    def test_reads_credentials_host_port_and_starttls(self) -> None:
        mailer = SmtpMailer.from_url(
            "smtp://user%40laichau.gov.vn:p%40ss@mail.laichau.gov.vn:2525?starttls=1&timeout=3",
            sender="a@b.vn",
        )
        assert (mailer.host, mailer.port, mailer.username, mailer.password) == (
            "mail.laichau.gov.vn",
            2525,
            "user@laichau.gov.vn",
            "p@ss",
        )
        assert mailer.starttls and not mailer.use_ssl and mailer.timeout == 3.0

    @pytest.mark.parametrize(
        ("url", "port", "use_ssl", "starttls"),
        [
            ("smtp://h", 25, False, False),
            ("smtp://h?starttls=1", 587, False, True),
            ("smtps://h", 465, True, False),
        ],
    )
    def test_default_ports_follow_the_scheme(
        self, url: str, port: int, use_ssl: bool, starttls: bool
    ) -> None:
        mailer = SmtpMailer.from_url(url, sender="a@b.vn")
        assert (mailer.port, mailer.use_ssl, mailer.starttls) == (port, use_ssl, starttls)

    @pytest.mark.parametrize(
        "url", ["http://h", "smtp://", "smtps://h?starttls=1", "smtp://h?timeout=soon"]
    )
    def test_malformed_url_is_refused(self, url: str) -> None:
        with pytest.raises(ValueError):
            SmtpMailer.from_url(url, sender="a@b.vn")

    def test_password_is_not_in_repr(self) -> None:
        assert "secret-pw" not in repr(SmtpMailer.from_url("smtp://u:secret-pw@h", sender="a@b.vn"))


class TestMailerFor:
    def test_without_smtp_url_sends_nothing(
        self, settings_for: Callable[[str | None], Settings]
    ) -> None:
        mailer = mailer_for(settings_for(None))
        assert isinstance(mailer, NullMailer) and not mailer.enabled
        mailer.send("citizen@example.vn", SUBJECT, BODY)  # no error, nothing to send to

    def test_with_smtp_url_uses_smtp_and_base_url_host(
        self, settings_for: Callable[[str | None], Settings]
    ) -> None:
        mailer = mailer_for(settings_for("smtp://mail.example.vn"))
        assert isinstance(mailer, SmtpMailer) and mailer.enabled
        assert mailer.local_hostname == "dulieuso.laichau.example.vn"


class TestMessage:
    def test_vietnamese_subject_sender_name_and_both_parts_survive_encoding(self) -> None:
        mailer = SmtpMailer(
            host="h",
            port=25,
            sender="khong-tra-loi@laichau.gov.vn",
            sender_name="Nền tảng dữ liệu số",
        )
        raw = mailer.build_message(
            "can-bo@laichau.gov.vn", SUBJECT, BODY, "<p>Đồng chí</p>"
        ).as_bytes()
        assert raw.isascii()  # encoded headers, quoted-printable bodies
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed["Subject"] == SUBJECT
        assert parsed["From"].addresses[0].display_name == "Nền tảng dữ liệu số"
        assert parsed.get_body(("plain",)).get_content().strip() == BODY  # type: ignore[union-attr]
        assert "Đồng chí" in parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]


class TestSend:
    def test_delivers_utf8_message_to_real_server(self, smtp_server: SmtpServer) -> None:
        mailer = SmtpMailer.from_url(smtp_server.url, sender="khong-tra-loi@laichau.gov.vn")
        mailer.send("can-bo@laichau.gov.vn", SUBJECT, BODY)
        (received,) = smtp_server.mailbox.messages
        assert received.rcpt_tos == ["can-bo@laichau.gov.vn"]
        assert received.mail_from == "khong-tra-loi@laichau.gov.vn"
        assert received.message["Subject"] == SUBJECT
        assert received.text.strip() == BODY

    def test_logs_in_with_url_credentials(self, smtp_server: SmtpServer) -> None:
        mailer = SmtpMailer.from_url(smtp_server.url_with_login, sender="a@laichau.gov.vn")
        assert mailer.password == smtp_server.password  # percent-decoded
        mailer.send("b@laichau.gov.vn", SUBJECT, BODY)
        assert smtp_server.mailbox.logins == [smtp_server.user]
        assert len(smtp_server.mailbox.messages) == 1

    def test_server_down_raises_os_error(self, dead_smtp_url: str) -> None:
        with pytest.raises(OSError):
            SmtpMailer.from_url(dead_smtp_url, sender="a@b.vn").send(
                "b@laichau.gov.vn", SUBJECT, BODY
            )
