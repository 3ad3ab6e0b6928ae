# SPDX-License-Identifier: AGPL-3.0-or-later
"""notify(): stored in both languages, e-mailed only after the commit, failures recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from conftest import make_agency, make_user
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dulieuso.auth import service as auth_service
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import SYSTEM
from dulieuso.config import Settings
from dulieuso.errors import NotFound
from dulieuso.i18n import Msg
from dulieuso.notifications import service
from dulieuso.notifications.models import Notification

if TYPE_CHECKING:
    from notifications.mail_testing import SmtpServer

pytest_plugins = ("notifications.mail_testing",)  # the SMTP server fixtures

TITLE = Msg("Confirm your e-mail address")  # has a Vietnamese translation
BODY = Msg("Hello {name},", name="Lò Văn Pả")


def _notify(db: Session, user: User, **kwargs: object) -> Notification:
    fields: dict[str, object] = {
        "kind": "test:thing:happened",
        "title": TITLE,
        "body": BODY,
        "link": "/agencies",
    }
    fields.update(kwargs)
    return service.notify(db, user.id, **fields)  # type: ignore[arg-type]


def _status(db: Session, notification: Notification) -> tuple[str, str | None]:
    db.refresh(notification)
    return notification.email_status, notification.email_error


@pytest.fixture
def delivering(session_factory: sessionmaker[Session], mail_settings: Settings) -> Settings:
    service.configure_delivery(session_factory, mail_settings)
    return mail_settings


class TestNotify:
    def test_stores_title_and_body_in_both_languages(self, db: Session) -> None:
        user = make_user(db, Role.CITIZEN)
        notification = _notify(db, user)
        assert notification.title_vi == "Xác nhận địa chỉ e-mail"
        assert notification.title_en == "Confirm your e-mail address"
        assert notification.body_vi == "Xin chào Lò Văn Pả,"
        assert notification.body_en == "Hello Lò Văn Pả,"
        assert notification.read_at is None

    def test_unknown_user_is_not_found(self, db: Session) -> None:
        import uuid

        with pytest.raises(NotFound):
            service.notify(db, uuid.uuid4(), kind="k", title=TITLE, body=BODY)

    @pytest.mark.parametrize("link", ["https://example.com/x", "//evil.example/x", "agencies"])
    def test_link_must_be_a_local_path(self, db: Session, link: str) -> None:
        user = make_user(db, Role.CITIZEN)
        with pytest.raises(ValueError):
            _notify(db, user, link=link)


class TestEmailAfterCommit:
    def test_mail_is_sent_after_commit_not_before(
        self, db: Session, delivering: Settings, smtp_server: SmtpServer
    ) -> None:
        user = make_user(db, Role.AGENCY_EDITOR)
        notification = _notify(db, user)
        assert smtp_server.mailbox.messages == []
        db.commit()
        (received,) = smtp_server.mailbox.to(user.email)
        assert (
            received.message["Subject"] == "Xác nhận địa chỉ e-mail / Confirm your e-mail address"
        )
        text = received.text
        assert text.index("Xin chào Lò Văn Pả,") < text.index(
            "Hello Lò Văn Pả,"
        )  # Vietnamese first
        assert f"{delivering.base_url}/agencies" in text
        assert _status(db, notification) == ("sent", None)

    def test_rolled_back_change_sends_nothing(
        self, db: Session, delivering: Settings, smtp_server: SmtpServer
    ) -> None:
        user = make_user(db, Role.AGENCY_EDITOR)
        db.commit()
        _notify(db, user)
        db.rollback()
        db.commit()  # a later commit must not send the forgotten notification either
        assert smtp_server.mailbox.messages == []
        assert db.scalars(select(Notification).where(Notification.user_id == user.id)).all() == []

    def test_rolled_back_savepoint_sends_nothing(
        self, db: Session, delivering: Settings, smtp_server: SmtpServer
    ) -> None:
        user = make_user(db, Role.AGENCY_EDITOR)
        savepoint = db.begin_nested()
        _notify(db, user)
        savepoint.rollback()
        kept = _notify(db, user, link="/kept")
        db.commit()
        (received,) = smtp_server.mailbox.messages
        assert f"{delivering.base_url}/kept" in received.text
        assert _status(db, kept)[0] == "sent"

    def test_smtp_down_keeps_notification_and_records_failure(
        self,
        db: Session,
        session_factory: sessionmaker[Session],
        settings_for: Callable[[str | None], Settings],
        dead_smtp_url: str,
    ) -> None:
        service.configure_delivery(session_factory, settings_for(dead_smtp_url))
        user = make_user(db, Role.AGENCY_EDITOR)
        notification = _notify(db, user)
        db.commit()  # does not raise
        status, error = _status(db, notification)
        assert status == "failed"
        assert error and "Connection" in error
        items, total = service.inbox(db, auth_service.actor_for(user))
        assert total == 1 and items[0].id == notification.id

    def test_without_smtp_nothing_is_sent_and_status_is_none(
        self,
        db: Session,
        session_factory: sessionmaker[Session],
        settings_for: Callable[[str | None], Settings],
    ) -> None:
        service.configure_delivery(session_factory, settings_for(None))
        user = make_user(db, Role.AGENCY_EDITOR)
        notification = _notify(db, user)
        db.commit()
        assert _status(db, notification) == ("none", None)

    def test_unconfirmed_address_gets_no_mail(
        self, db: Session, delivering: Settings, smtp_server: SmtpServer
    ) -> None:
        user = auth_service.register_citizen(
            db,
            email="chua-xac-nhan@example.vn",
            full_name="Tòng Thị Hoa",
            password="mat-khau-du-dai",
        )
        notification = _notify(db, user)
        db.commit()
        assert smtp_server.mailbox.messages == []
        assert _status(db, notification)[0] == "none"

    def test_deliver_pending_sends_what_no_hook_sent(
        self, db: Session, mail_settings: Settings, smtp_server: SmtpServer
    ) -> None:
        # No configure_delivery: the commit leaves the e-mail pending.
        user = make_user(db, Role.AGENCY_EDITOR)
        notification = _notify(db, user)
        db.commit()
        assert _status(db, notification)[0] == "pending"
        report = service.deliver_pending(db, mail_settings)
        assert (report.sent, report.failed) == (1, 0)
        assert len(smtp_server.mailbox.to(user.email)) == 1
        assert _status(db, notification)[0] == "sent"
        assert service.deliver_pending(db, mail_settings).sent == 0  # never twice


class TestNotifyAgencyStaff:
    def test_notifies_active_staff_with_the_roles_only(self, db: Session) -> None:
        agency = make_agency(db)
        other_agency = make_agency(db)
        admin = make_user(db, Role.AGENCY_ADMIN, agency=agency)
        approver = make_user(db, Role.AGENCY_APPROVER, agency=agency)
        editor = make_user(db, Role.AGENCY_EDITOR, agency=agency)
        gone = make_user(db, Role.AGENCY_ADMIN, agency=agency)
        auth_service.disable_user(db, SYSTEM, gone)
        make_user(db, Role.AGENCY_ADMIN, agency=other_agency)
        notified = service.notify_agency_staff(
            db,
            agency.id,
            [Role.AGENCY_ADMIN, Role.AGENCY_APPROVER],
            kind="sharing:connection_request:submitted",
            title=TITLE,
            body=BODY,
            link="/agencies",
            exclude_user_id=approver.id,
        )
        assert [n.user_id for n in notified] == [admin.id]
        assert editor.id not in {n.user_id for n in notified}
