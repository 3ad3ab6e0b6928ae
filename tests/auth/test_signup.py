# SPDX-License-Identifier: AGPL-3.0-or-later
"""Citizen sign-up through the real form, with the confirmation e-mail caught by a real
SMTP server on loopback, then the link opened and the account used to log in."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conftest import CSRF_RE, PASSWORD, csrf_from, login, make_user
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.auth import service as auth_service
from dulieuso.auth import signup
from dulieuso.auth.models import Role, User
from dulieuso.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from notifications.mail_testing import SmtpServer

pytest_plugins = ("notifications.mail_testing",)  # the SMTP server fixtures

EMAIL = "lo.van.pa@example.vn"
NAME = "Lò Văn Pả"


def _sign_up(client: TestClient, **fields: str) -> Any:
    data = {
        "full_name": NAME,
        "email": EMAIL,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "csrf_token": csrf_from(client, "/register"),
    }
    data.update(fields)
    return client.post("/register", data=data)


def _user(db: Session, email: str = EMAIL) -> User | None:
    db.expire_all()
    return auth_service.find_user_by_email(db, email)


class TestSignUpFlow:
    def test_sign_up_confirm_by_email_link_then_log_in(
        self, mail_client: TestClient, mail_settings: Settings, db: Session, smtp_server: SmtpServer
    ) -> None:
        base_url = mail_settings.base_url
        page = _sign_up(mail_client, email="  Lo.Van.Pa@Example.VN ")
        assert page.status_code == 200
        assert "Kiểm tra hộp thư của bạn" in page.text
        user = _user(db)
        assert user is not None and user.role is Role.CITIZEN and user.email_confirmed_at is None

        (received,) = smtp_server.mailbox.to(EMAIL)
        assert (
            received.message["Subject"] == "Xác nhận địa chỉ e-mail / Confirm your e-mail address"
        )
        text = received.text
        assert text.index(f"Xin chào {NAME},") < text.index(f"Hello {NAME},")  # Vietnamese first
        assert f"{base_url}/register/confirm?token=" in text
        assert f'href="{base_url}/register/confirm?token=' in received.html

        confirmed = mail_client.get(received.confirmation_path)
        assert confirmed.status_code == 200
        assert "Đã xác nhận địa chỉ e-mail" in confirmed.text
        assert 'href="/login"' in confirmed.text
        login(mail_client, user)
        assert mail_client.get("/api/v1/me").json()["email"] == EMAIL

    def test_login_before_confirmation_is_refused_with_reason(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        _sign_up(mail_client)
        response = mail_client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_from(mail_client)},
        )
        assert response.status_code == 401
        db.expire_all()
        assert _user(db).email_confirmed_at is None  # type: ignore[union-attr]

    def test_link_works_once_confirmed_and_again(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        _sign_up(mail_client)
        link = smtp_server.mailbox.messages[0].confirmation_path
        assert mail_client.get(link).status_code == 200
        assert mail_client.get(link).status_code == 200  # an e-mail scanner opened it first: fine


class TestBadLinks:
    def test_tampered_token_gives_400_page_in_vietnamese(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        _sign_up(mail_client)
        link = smtp_server.mailbox.messages[0].confirmation_path
        tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        response = mail_client.get(tampered)
        assert response.status_code == 400
        assert "Đường liên kết xác nhận này không hợp lệ" in response.text
        assert 'action="/register/resend"' in response.text
        assert _user(db).email_confirmed_at is None  # type: ignore[union-attr]

    def test_token_signed_with_another_secret_is_invalid(
        self, mail_client: TestClient, db: Session
    ) -> None:
        user = make_user(db, Role.CITIZEN)
        db.commit()
        forged = URLSafeTimedSerializer("not-our-secret", salt=signup.TOKEN_SALT).dumps(
            {"u": str(user.id), "e": user.email}
        )
        assert mail_client.get(f"/register/confirm?token={forged}").status_code == 400

    def test_missing_token_is_invalid(self, mail_client: TestClient) -> None:
        assert mail_client.get("/register/confirm").status_code == 400

    def test_expired_link_gives_400_saying_so(
        self, mail_client: TestClient, mail_settings: Settings, db: Session
    ) -> None:
        user = auth_service.register_citizen(db, email=EMAIL, full_name=NAME, password=PASSWORD)
        db.commit()

        class SignedTwoDaysAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - (signup.LINK_VALID_HOURS + 1) * 3600

        old = URLSafeTimedSerializer(
            mail_settings.secret, salt=signup.TOKEN_SALT, signer=SignedTwoDaysAgo
        )
        token = old.dumps({"u": str(user.id), "e": user.email})
        response = mail_client.get(f"/register/confirm?token={token}")
        assert response.status_code == 400
        assert "đã hết hạn" in response.text and "48 giờ" in response.text
        assert _user(db).email_confirmed_at is None  # type: ignore[union-attr]


class TestFormErrors:
    def test_errors_are_shown_next_to_fields_with_422(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        response = _sign_up(
            mail_client,
            full_name=" ",
            email="not-an-address",
            password="short",
            password_confirm="other",
        )
        assert response.status_code == 422
        for name in ("full_name", "email", "password", "password_confirm"):
            assert f'id="e-{name}"' in response.text, name
        assert "Hai mật khẩu không khớp nhau." in response.text
        assert 'value="not-an-address"' in response.text  # what was typed is kept
        assert 'value="short"' not in response.text  # passwords are not sent back
        assert smtp_server.mailbox.messages == []

    def test_mismatched_confirmation_alone_creates_no_account(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        response = _sign_up(mail_client, password_confirm=PASSWORD + "x")
        assert response.status_code == 422
        assert 'id="e-password_confirm"' in response.text
        assert _user(db) is None
        assert smtp_server.mailbox.messages == []

    def test_forms_without_csrf_are_refused(self, mail_client: TestClient, db: Session) -> None:
        fields = {
            "full_name": NAME,
            "email": EMAIL,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        assert mail_client.post("/register", data=fields).status_code == 403
        assert mail_client.post("/register/resend", data={"email": EMAIL}).status_code == 403
        assert _user(db) is None


class TestExistingAddress:
    def test_same_page_and_owner_told_by_email_no_second_account(
        self, mail_client: TestClient, mail_settings: Settings, db: Session, smtp_server: SmtpServer
    ) -> None:
        owner = make_user(db, Role.CITIZEN, email=EMAIL)
        db.commit()
        response = _sign_up(mail_client, full_name="Kẻ Khác")
        assert response.status_code == 200
        assert "Kiểm tra hộp thư của bạn" in response.text
        (received,) = smtp_server.mailbox.to(EMAIL)
        assert received.message["Subject"] == "Bạn đã có tài khoản / You already have an account"
        assert f"{mail_settings.base_url}/login" in received.text
        assert db.scalar(select(func.count()).select_from(User).where(User.email == EMAIL)) == 1
        assert _user(db).full_name == owner.full_name  # type: ignore[union-attr]

    def test_still_invalid_fields_are_reported_without_revealing_the_account(
        self, mail_client: TestClient, db: Session
    ) -> None:
        make_user(db, Role.CITIZEN, email=EMAIL)
        db.commit()
        response = _sign_up(mail_client, password="short", password_confirm="short")
        assert response.status_code == 422
        assert 'id="e-password"' in response.text
        assert 'id="e-email"' not in response.text


class TestResend:
    def test_unconfirmed_account_gets_a_new_working_link(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        _sign_up(mail_client)
        response = mail_client.post(
            "/register/resend",
            data={"email": EMAIL, "csrf_token": csrf_from(mail_client, "/register")},
        )
        assert response.status_code == 200
        _first, second = smtp_server.mailbox.to(EMAIL)
        assert mail_client.get(second.confirmation_path).status_code == 200
        assert _user(db).email_confirmed_at is not None  # type: ignore[union-attr]

    def test_unknown_address_gets_the_same_page_and_no_mail(
        self, mail_client: TestClient, smtp_server: SmtpServer
    ) -> None:
        response = mail_client.post(
            "/register/resend",
            data={"email": "ai-do@example.vn", "csrf_token": csrf_from(mail_client, "/register")},
        )
        assert response.status_code == 200
        assert "Kiểm tra hộp thư của bạn" in response.text
        assert smtp_server.mailbox.messages == []

    def test_too_many_mails_for_one_address_are_refused(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        _sign_up(mail_client)
        token = csrf_from(mail_client, "/register")
        statuses = [
            mail_client.post(
                "/register/resend", data={"email": EMAIL, "csrf_token": token}
            ).status_code
            for _ in range(signup.MAILS_PER_ADDRESS)
        ]
        assert statuses == [200] * (signup.MAILS_PER_ADDRESS - 1) + [429]
        assert len(smtp_server.mailbox.to(EMAIL)) == signup.MAILS_PER_ADDRESS


class TestMailFailure:
    def test_smtp_down_still_creates_the_account_and_says_mail_failed(
        self,
        db: Session,
        app_for: Callable[[Settings], FastAPI],
        settings_for: Callable[[str | None], Settings],
        dead_smtp_url: str,
    ) -> None:
        app = app_for(settings_for(dead_smtp_url))
        with TestClient(app) as client:
            response = _sign_up(client)
        assert response.status_code == 200
        assert "Hiện chưa gửi được e-mail" in response.text
        assert _user(db) is not None

    def test_without_smtp_the_page_says_mail_is_not_set_up(
        self, app_for: Callable[[Settings], FastAPI], settings_for: Callable[[str | None], Settings]
    ) -> None:
        app = app_for(settings_for(None))
        with TestClient(app) as client:
            response = _sign_up(client)
        assert "chưa được cấu hình để gửi e-mail" in response.text


class TestPages:
    def test_register_form_has_csrf_and_fields(self, mail_client: TestClient) -> None:
        page = mail_client.get("/register")
        assert page.status_code == 200
        assert CSRF_RE.search(page.text)
        for name in ("full_name", "email", "password", "password_confirm"):
            assert f'name="{name}"' in page.text

    def test_logged_in_visitor_is_sent_to_account(
        self, mail_client: TestClient, db: Session
    ) -> None:
        user = make_user(db, Role.CITIZEN)
        db.commit()
        login(mail_client, user)
        response = mail_client.get("/register", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/account")


class TestJsonTwin:
    def test_register_201_reveals_nothing_then_confirm(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        response = mail_client.post(
            "/api/v1/register", json={"email": EMAIL, "full_name": NAME, "password": PASSWORD}
        )
        assert response.status_code == 201
        body = response.json()
        assert (
            set(body) == {"status", "message", "message_en"}
            and body["status"] == "confirmation_sent"
        )
        token = smtp_server.mailbox.messages[0].confirmation_path.split("token=", 1)[1]
        confirmed = mail_client.post("/api/v1/register/confirm", json={"token": token})
        assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
        assert _user(db).email_confirmed_at is not None  # type: ignore[union-attr]

    def test_existing_address_gets_the_same_answer(
        self, mail_client: TestClient, db: Session, smtp_server: SmtpServer
    ) -> None:
        make_user(db, Role.CITIZEN, email=EMAIL)
        db.commit()
        response = mail_client.post(
            "/api/v1/register", json={"email": EMAIL, "full_name": NAME, "password": PASSWORD}
        )
        assert response.status_code == 201
        assert response.json()["status"] == "confirmation_sent"

    def test_invalid_fields_give_422_error_shape(self, mail_client: TestClient) -> None:
        response = mail_client.post(
            "/api/v1/register", json={"email": "x", "full_name": NAME, "password": "short"}
        )
        assert response.status_code == 422
        assert set(response.json()["error"]["fields"]) == {"email", "password"}

    def test_bad_token_gives_400_error_shape(self, mail_client: TestClient) -> None:
        response = mail_client.post("/api/v1/register/confirm", json={"token": "khong-hop-le"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "confirmation_link_invalid"

    def test_resend_202(self, mail_client: TestClient, smtp_server: SmtpServer) -> None:
        response = mail_client.post("/api/v1/register/resend", json={"email": "ai-do@example.vn"})
        assert response.status_code == 202
        assert smtp_server.mailbox.messages == []
