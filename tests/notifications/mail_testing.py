# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures: a real SMTP server on loopback (aiosmtpd) and an app that sends mail to it.

A test module loads them with ``pytest_plugins = ("notifications.mail_testing",)`` and
uses only fixtures from here (importing this module as well would defeat pytest's
assertion rewriting). They live here rather than in ``tests/notifications/conftest.py``:
conftest files outside packages share the module name ``conftest`` and would shadow
``tests/conftest.py`` for the ``from conftest import ...`` that tests use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from conftest import free_port
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dulieuso.app import create_app
from dulieuso.auth import signup
from dulieuso.config import Settings
from dulieuso.notifications.service import configure_delivery

BASE_URL = "https://dulieuso.laichau.example.vn"
LINK_RE = re.compile(r"https?://\S+/register/confirm\?token=[\w.\-]+")
SMTP_USER = "dulieuso"
SMTP_PASSWORD = "mat khau@smtp"  # smtplib only sends ASCII credentials


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]

    @property
    def confirmation_path(self) -> str:
        """The confirmation URL in the message, as a local path the test client can open."""
        match = LINK_RE.search(self.text)
        assert match, self.text
        url = urlsplit(match.group(0))
        return f"{url.path}?{url.query}"


@dataclass
class Mailbox:
    """Collects what the SMTP server receives; ``smtplib`` returns only once it has."""

    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    user: str = SMTP_USER
    password: str = SMTP_PASSWORD

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def url_with_login(self) -> str:
        return f"smtp://{quote(self.user, safe='')}:{quote(self.password, safe='')}@127.0.0.1:{self.port}"


def _authenticator(mailbox: Mailbox) -> Any:
    def check(
        server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == SMTP_USER
            and data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            mailbox.logins.append(SMTP_USER)
        return AuthResult(success=ok)

    return check


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port; accepts AUTH LOGIN/PLAIN without TLS."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator(mailbox),
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer(mailbox, port)
    finally:
        controller.stop()


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[[str | None], Settings]:
    """Settings for an SMTP URL (None: no e-mail), with a recognisable ``base_url``."""

    def make(smtp_url: str | None) -> Settings:
        return Settings(
            data_dir=tmp_path / "data",
            secret_key="test-secret-key-not-for-production",
            smtp_url=smtp_url,
            base_url=BASE_URL,
            mail_from="khong-tra-loi@laichau.example.vn",
        )

    return make


@pytest.fixture
def mail_settings(
    settings_for: Callable[[str | None], Settings], smtp_server: SmtpServer
) -> Settings:
    return settings_for(smtp_server.url)


@pytest.fixture
def dead_smtp_url() -> str:
    """An SMTP URL where nothing listens: connecting is refused at once."""
    return f"smtp://127.0.0.1:{free_port()}?timeout=2"


@pytest.fixture
def app_for(
    session_factory: sessionmaker[Session], engine: Engine
) -> Callable[[Settings], FastAPI]:
    """``create_app`` as in tests/conftest.py, plus the sign-up routes and mail delivery.

    create_app wires both once app.py mounts them; until then they are added here.
    """

    def make(settings: Settings) -> FastAPI:
        app = create_app(settings, session_factory=session_factory, migrate=False)
        app.state.engine = engine
        if not any(getattr(route, "path", None) == "/register" for route in app.routes):
            app.include_router(signup.api_router, prefix="/api/v1")
            app.include_router(signup.router)
        configure_delivery(session_factory, settings)
        return app

    return make


@pytest.fixture
def mail_app(app_for: Callable[[Settings], FastAPI], mail_settings: Settings) -> FastAPI:
    return app_for(mail_settings)


@pytest.fixture
def mail_client(mail_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(mail_app) as client:
        yield client
