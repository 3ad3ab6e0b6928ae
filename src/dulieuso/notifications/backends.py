# SPDX-License-Identifier: AGPL-3.0-or-later
"""Mailers: SMTP when ``DULIEUSO_SMTP_URL`` is set, otherwise one that sends nothing."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from dulieuso.config import Settings
from dulieuso.db import utcnow
from dulieuso.notifications.interfaces import Mailer

log = logging.getLogger("dulieuso.mail")

DEFAULT_TIMEOUT = 10.0
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through an SMTP server, with implicit TLS (smtps) or STARTTLS if asked."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_ssl: bool = False
    starttls: bool = False
    timeout: float = DEFAULT_TIMEOUT
    #: Name given in EHLO and Message-ID. Set explicitly: the default asks DNS for our
    #: fully qualified name, which can hang for seconds where DNS is unreachable.
    local_hostname: str = "localhost"
    #: Display name put before ``sender`` when it has none of its own.
    sender_name: str | None = None
    enabled: bool = field(default=True, init=False)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        sender: str,
        sender_name: str | None = None,
        local_hostname: str = "localhost",
    ) -> SmtpMailer:
        """``smtp://user:pass@host:587?starttls=1``, ``smtps://host`` (465), ``?timeout=5``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(
                f"SMTP URL must start with smtp:// or smtps://, not {parts.scheme!r}://"
            )
        if not parts.hostname:
            raise ValueError("SMTP URL has no host name")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        use_ssl = parts.scheme == "smtps"
        starttls = query.get("starttls", "").lower() in _TRUE
        if use_ssl and starttls:
            raise ValueError("smtps:// already uses TLS; do not add ?starttls=1")
        try:
            port = parts.port or (465 if use_ssl else 587 if starttls else 25)
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        except ValueError as error:
            raise ValueError(f"SMTP URL is not valid: {error}") from None
        return cls(
            host=parts.hostname,
            port=port,
            sender=sender,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_ssl=use_ssl,
            starttls=starttls,
            timeout=timeout,
            local_hostname=local_hostname,
            sender_name=sender_name,
        )

    def build_message(
        self, to: str, subject: str, text_body: str, html_body: str | None = None
    ) -> EmailMessage:
        """A MIME message: UTF-8 text, an HTML alternative if given, encoded headers."""
        message = EmailMessage()
        name, address = parseaddr(self.sender)
        if not name and self.sender_name and address:
            message["From"] = Address(display_name=self.sender_name, addr_spec=address)
        else:
            message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid(domain=self.local_hostname)
        # Quoted-printable keeps the message 7-bit clean for servers without 8BITMIME.
        message.set_content(text_body, cte="quoted-printable")
        if html_body is not None:
            message.add_alternative(html_body, subtype="html", cte="quoted-printable")
        return message

    def send(self, to: str, subject: str, text_body: str, html_body: str | None = None) -> None:
        message = self.build_message(to, subject, text_body, html_body)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        log.info("mail sent", extra={"to": to, "smtp_host": self.host})


class NullMailer:
    """Sends nothing: used when no SMTP server is configured (demo, development)."""

    enabled = False

    def send(self, to: str, subject: str, text_body: str, html_body: str | None = None) -> None:
        log.debug("mail not sent, no SMTP server configured", extra={"to": to})


def mailer_for(settings: Settings) -> Mailer:
    """The mailer the settings ask for. A malformed ``smtp_url`` raises ``ValueError``."""
    if not settings.smtp_url:
        return NullMailer()
    return SmtpMailer.from_url(
        settings.smtp_url,
        sender=settings.mail_from,
        sender_name=settings.site_name,
        local_hostname=urlsplit(settings.base_url).hostname or "localhost",
    )
