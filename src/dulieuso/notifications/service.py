# SPDX-License-Identifier: AGPL-3.0-or-later
"""Notifications: the in-app inbox, with an e-mail copy sent once the change is committed.

Other services call ``notify`` (or ``notify_agency_staff``) in the same transaction as
the change they announce. The notification row is written at once; the e-mail waits
until that transaction commits, so a rolled-back change never sends mail:

* ``notify`` puts the new id in ``session.info`` and marks it ``pending``;
* the ``after_commit`` hook (installed by ``configure_delivery``) sends the pending
  e-mails through the configured ``Mailer`` in a separate short transaction and records
  ``sent`` or ``failed``; a rollback drops the ids;
* ``deliver_pending`` does the same for anything still ``pending`` (a session whose
  factory was never configured, a crash between commit and send); run it from the CLI
  or a timer.

A failing mail server is recorded on the notification (``email_status='failed'``,
``email_error``) and never raised to the user whose action caused the notification.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, event, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import Action, Actor, require
from dulieuso.config import Settings
from dulieuso.db import utcnow
from dulieuso.errors import Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.notifications.backends import mailer_for
from dulieuso.notifications.compose import Letter, absolute_url, compose, section
from dulieuso.notifications.interfaces import Mailer
from dulieuso.notifications.models import Notification

log = logging.getLogger("dulieuso.notifications")

PENDING_KEY = "dulieuso.notifications.pending_mail"
MAX_LIMIT = 500


class EmailStatus(StrEnum):
    """``Notification.email_status`` values."""

    PENDING = "pending"  # waits for the transaction to commit
    SENDING = "sending"  # claimed by a sender (guards against sending twice)
    SENT = "sent"
    FAILED = "failed"  # the reason is in ``email_error``
    NONE = "none"  # no e-mail: no SMTP server, or the account cannot receive one


# -- delivery configuration -----------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    settings: Settings
    mailer: Mailer


#: Delivery per database bind (the engine; in tests, the per-test connection). Keyed by
#: bind rather than carried in ``session.info`` so that every session on that database
#: sends mail, including sessions created before ``configure_delivery`` was called.
_DELIVERIES: weakref.WeakKeyDictionary[Engine | Connection, Delivery] = weakref.WeakKeyDictionary()


def configure_delivery(
    session_factory: sessionmaker[Session], settings: Settings, mailer: Mailer | None = None
) -> Delivery:
    """Send notification e-mails after each commit of sessions made by ``session_factory``.

    Called once by ``create_app``; a malformed ``smtp_url`` fails here, at start-up.
    """
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine | Connection):
        raise TypeError("the session factory must be bound to an engine or a connection")
    install_hooks()
    delivery = Delivery(settings=settings, mailer=mailer or mailer_for(settings))
    _DELIVERIES[bind] = delivery
    return delivery


def delivery_for(session: Session) -> Delivery | None:
    try:
        bind = session.get_bind()
    except UnboundExecutionError:
        return None
    return _DELIVERIES.get(bind)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the enclosing transaction may still roll back
    pending: list[uuid.UUID] | None = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    delivery = delivery_for(session)
    if delivery is None:
        return  # left 'pending' for deliver_pending
    try:
        # The committed session cannot run SQL inside this hook; use a short one of our own.
        # ``create_savepoint`` only matters for a connection bind (tests), see SQLAlchemy's
        # "Joining a Session into an External Transaction".
        with Session(
            bind=session.get_bind(),
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        ) as mail_session:
            deliver_pending(mail_session, delivery.settings, mailer=delivery.mailer, ids=pending)
    except Exception:  # the user's change is committed; mail trouble must not turn it into an error
        log.exception(
            "sending notification e-mails failed",
            extra={"notifications": [str(i) for i in pending]},
        )


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
    # A rolled-back SAVEPOINT keeps its ids: delivery only sends rows that still exist.


def install_hooks() -> None:
    """Install the commit and rollback hooks on every session (idempotent)."""
    if event.contains(Session, "after_commit", _after_commit):
        return
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)


# -- creating notifications ------------------------------------------------------------


def _check_link(link: str | None) -> None:
    # Links are paths inside the platform: e-mails prefix them with base_url, and the
    # inbox follows them after marking read, which only accepts local paths.
    if link is not None and (not link.startswith("/") or link.startswith("//") or len(link) > 500):
        raise ValueError(f"notification link must be a local path, got {link!r}")


def _can_receive_mail(user: User) -> bool:
    # An unconfirmed address may be a typo or someone else's: it gets only the sign-up link.
    return user.is_active and user.email_confirmed_at is not None


def notify(
    session: Session,
    user_id: uuid.UUID,
    *,
    kind: str,
    title: Msg,
    body: Msg,
    link: str | None = None,
) -> Notification:
    """Put a notification in ``user_id``'s inbox and e-mail it after the commit.

    Called by services on the user's behalf, so there is no permission check here.
    ``kind`` is a stable machine name (``sharing:connection_request:submitted``);
    ``title`` and ``body`` are stored in Vietnamese and English; ``link`` is a local path.
    The returned object's ``email_status`` is not refreshed after delivery.
    """
    if not kind or len(kind) > 80:
        raise ValueError("notification kind must have 1 to 80 characters")
    _check_link(link)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(Msg("Account not found."))
    delivery = delivery_for(session)
    mail = _can_receive_mail(user) and (delivery is None or delivery.mailer.enabled)
    notification = Notification(
        user_id=user.id,
        kind=kind,
        title_vi=title.vi[:300],
        title_en=title.en[:300],
        body_vi=body.vi,
        body_en=body.en,
        link=link,
        email_status=EmailStatus.PENDING if mail else EmailStatus.NONE,
    )
    session.add(notification)
    session.flush()
    if mail:
        session.info.setdefault(PENDING_KEY, []).append(notification.id)
    return notification


def notify_agency_staff(
    session: Session,
    agency_id: uuid.UUID,
    roles: Iterable[Role],
    *,
    kind: str,
    title: Msg,
    body: Msg,
    link: str | None = None,
    exclude_user_id: uuid.UUID | None = None,
) -> list[Notification]:
    """Notify every active account of ``agency_id`` that has one of ``roles``.

    ``exclude_user_id`` leaves out the person who caused the event.
    """
    stmt = (
        select(User.id)
        .where(User.agency_id == agency_id, User.is_active.is_(True), User.role.in_(list(roles)))
        .order_by(User.email)
    )
    if exclude_user_id is not None:
        stmt = stmt.where(User.id != exclude_user_id)
    return [
        notify(session, user_id, kind=kind, title=title, body=body, link=link)
        for user_id in session.scalars(stmt).all()
    ]


# -- sending e-mail --------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def notification_letter(notification: Notification, settings: Settings) -> Letter:
    """The e-mail copy of a notification: both languages, with a link to open it."""
    url = absolute_url(settings.base_url, notification.link or "/inbox")
    parts = {
        lang: section(
            lang,
            getattr(notification, f"title_{lang}"),
            getattr(notification, f"body_{lang}").split("\n\n"),
            link=url,
            link_label=Msg("Open it on the platform:"),
        )
        for lang in ("vi", "en")
    }
    return compose(
        parts["vi"], parts["en"], site_name=settings.site_name, base_url=settings.base_url
    )


def deliver_pending(
    session: Session,
    settings: Settings,
    *,
    mailer: Mailer | None = None,
    ids: Iterable[uuid.UUID] | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Send the e-mails of ``pending`` notifications (all, or those in ``ids``).

    Commits after claiming and after sending each one, so two senders never send the
    same message and a crash never sends one twice. Mail errors are recorded, not raised.
    """
    mailer = mailer or mailer_for(settings)
    report = DeliveryReport()
    stmt = select(Notification.id).where(Notification.email_status == EmailStatus.PENDING)
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    candidates = list(session.scalars(stmt.order_by(Notification.created_at).limit(limit)))
    session.commit()
    for notification_id in candidates:
        claim = update(Notification).where(
            Notification.id == notification_id, Notification.email_status == EmailStatus.PENDING
        )
        result = cast(
            CursorResult[Any], session.execute(claim.values(email_status=EmailStatus.SENDING))
        )
        session.commit()
        if result.rowcount != 1:
            report.skipped += 1
            continue
        notification = session.get_one(Notification, notification_id)
        user = session.get_one(User, notification.user_id)
        if not mailer.enabled or not _can_receive_mail(user):
            notification.email_status = EmailStatus.NONE
            session.commit()
            report.skipped += 1
            continue
        letter = notification_letter(notification, settings)
        try:
            mailer.send(user.email, letter.subject, letter.text, letter.html)
        except Exception as error:  # noqa: BLE001  any mail failure is recorded, never raised
            notification.email_status = EmailStatus.FAILED
            notification.email_error = f"{type(error).__name__}: {error}"[:2000]
            report.failed += 1
            log.warning(
                "notification e-mail failed",
                extra={"notification": str(notification.id), "error": notification.email_error},
            )
        else:
            notification.email_status = EmailStatus.SENT
            notification.email_error = None
            report.sent += 1
        session.commit()
    return report


# -- the inbox -------------------------------------------------------------------------


def _own(actor: Actor) -> uuid.UUID | None:
    require(actor, Action.NOTIFICATION_READ_OWN)
    return actor.user_id


def inbox(
    session: Session,
    actor: Actor,
    *,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Notification], int]:
    """The actor's own notifications, newest first, with the total count."""
    user_id = _own(actor)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise Invalid(
            Msg("limit must be between 1 and {max} and offset at least 0.", max=MAX_LIMIT)
        )
    if user_id is None:
        return [], 0
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def unread_count(session: Session, actor: Actor) -> int:
    """How many of the actor's notifications are unread."""
    user_id = _own(actor)
    if user_id is None:
        return 0
    stmt = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return session.scalar(stmt) or 0


def get(session: Session, actor: Actor, notification_id: uuid.UUID) -> Notification:
    """One of the actor's notifications; anyone else's is reported as not found."""
    user_id = _own(actor)
    notification = session.get(Notification, notification_id)
    if notification is None or user_id is None or notification.user_id != user_id:
        raise NotFound(Msg("Notification not found."))
    return notification


def mark_read(session: Session, actor: Actor, notification_id: uuid.UUID) -> Notification:
    """Mark one of the actor's notifications read (again is fine)."""
    notification = get(session, actor, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark all the actor's notifications read; returns how many were unread."""
    user_id = _own(actor)
    if user_id is None:
        return 0
    stmt = (
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    result = cast(CursorResult[Any], session.execute(stmt))
    return result.rowcount
