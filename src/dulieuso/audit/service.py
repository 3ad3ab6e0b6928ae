"""Recording and reading the audit trail.

Services call ``record(session, actor, tag, subject, ...)`` in the same transaction as
the change. ``install_guard`` makes a commit fail when an audited object was written
without an audit event about it, so no change can slip through unrecorded.
"""

from __future__ import annotations

import csv
import json
import enum
import io
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import Action, Actor, require
from dulieuso.db import Base
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg


class EventTag(StrEnum):
    """Audit tags, shaped ``source:subject:action``. Documented in docs/audit.md."""

    AGENCY_CREATE = "agencies:agency:create"
    AGENCY_UPDATE = "agencies:agency:update"
    AGENCY_MERGE = "agencies:agency:merge"
    AGENCY_RETIRE = "agencies:agency:retire"
    AGENCY_HANDOVER = "agencies:agency:handover"
    FOCAL_POINT_ASSIGN = "agencies:focal_point:assign"
    FOCAL_POINT_CLOSE = "agencies:focal_point:close"
    USER_CREATE = "auth:user:create"
    USER_UPDATE = "auth:user:update"
    USER_DISABLE = "auth:user:disable"
    USER_CONFIRM_EMAIL = "auth:user:confirm_email"
    USER_PASSWORD_CHANGE = "auth:user:password_change"
    TOKEN_CREATE = "auth:token:create"
    TOKEN_REVOKE = "auth:token:revoke"
    POLICY_CREATE = "policy:policy:create"
    POLICY_UPDATE = "policy:policy:update"
    CALENDAR_DAY_CREATE = "policy:calendar_day:create"
    CALENDAR_DAY_UPDATE = "policy:calendar_day:update"
    CALENDAR_DAY_DELETE = "policy:calendar_day:delete"


#: Every tag enum in use: EventTag here, plus each domain's own (``register_tags``).
TAG_ENUMS: list[type[StrEnum]] = [EventTag]


def register_tags(tags: type[StrEnum]) -> type[StrEnum]:
    """Add a domain's audit tags (documented in docs/audit.md or docs/<domain>.md)."""
    if tags not in TAG_ENUMS:
        TAG_ENUMS.append(tags)
    return tags


def all_tags() -> list[str]:
    return [tag.value for enum_ in TAG_ENUMS for tag in enum_]


class AuditMissing(RuntimeError):
    """A commit wrote audited objects without recording an audit event about them."""


def to_jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return value


SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "secret_hash", "search_text"})


def snapshot(obj: Base) -> dict[str, Any]:
    """The column values of ``obj`` as JSON-able data, secrets left out."""
    mapper = inspect(type(obj))
    return {
        col.key: to_jsonable(getattr(obj, col.key))
        for col in mapper.column_attrs
        if col.key not in SECRET_COLUMNS
    }


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{field: [old, new]}`` for every field whose value changed."""
    before = before or {}
    after = after or {}
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = [old, new]
    return changed


def _subject_key(obj: Base) -> tuple[str, str]:
    ident = inspect(obj).identity
    value = ident[0] if ident and len(ident) == 1 else getattr(obj, "id", None)
    return obj.__tablename__, str(to_jsonable(value))  # type: ignore[attr-defined]


def _key_unknown(obj: Base) -> bool:
    return inspect(obj).identity is None and getattr(obj, "id", None) is None


def record(
    session: Session,
    actor: Actor,
    tag: EventTag | str,
    subject: Base,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    label: str = "",
    details: Mapping[str, Any] | None = None,
    covers: Iterable[Base] = (),
) -> AuditEvent:
    """Record a change of ``subject`` (and of the objects in ``covers``) by ``actor``.

    The event is flushed with the next flush, not here: a batch of changes then inserts
    its events in one statement. Only a subject whose key is not known yet (a new row
    with a database-made key) is flushed first."""
    if _key_unknown(subject):
        session.flush()
    subject_type, subject_id = _subject_key(subject)
    action = str(tag).rsplit(":", 1)[-1]
    changes: dict[str, Any] = {"diff": diff(before, after)}
    if details:
        changes["details"] = to_jsonable(dict(details))
    entry = AuditEvent(
        actor_id=actor.user_id,
        actor_label=actor.label,
        acting_for_agency_id=actor.acting_for_agency_id,
        tag=str(tag),
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=label[:400],
        changes=changes,
        request_id=actor.request_id,
    )
    session.add(entry)
    covered = session.info.setdefault("audit_covered", set())
    covered.add((subject_type, subject_id))
    for other in covers:
        if _key_unknown(other):
            session.flush()
        covered.add(_subject_key(other))
    return entry


# -- the guard ---------------------------------------------------------------------


def _after_flush(session: Session, _context: Any) -> None:
    changed = session.info.setdefault("audit_changed", set())
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Base) and type(obj).__audited__:
            if obj in session.dirty and not _has_audited_changes(obj):
                continue
            changed.add(_subject_key(obj))


def _has_audited_changes(obj: Base) -> bool:
    ignored = type(obj).__audit_ignore__
    state = inspect(obj)
    return any(
        attr.key not in ignored and attr.history.has_changes() for attr in state.attrs
    )


def _before_commit(session: Session) -> None:
    session.flush()
    changed: set[tuple[str, str]] = session.info.get("audit_changed", set())
    covered: set[tuple[str, str]] = session.info.get("audit_covered", set())
    missing = changed - covered
    if missing:
        raise AuditMissing(f"changes without an audit record: {sorted(missing)}")


def _clear(session: Session, *_args: Any) -> None:
    session.info.pop("audit_changed", None)
    session.info.pop("audit_covered", None)


def _forbid_audit_changes(_mapper: Any, _connection: Any, _target: Any) -> None:
    raise AuditMissing("the audit trail is append-only")


def install_guard() -> None:
    """Enforce, for every session, that audited writes come with an audit record."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _clear)
    event.listen(Session, "after_rollback", _clear)
    event.listen(AuditEvent, "before_update", _forbid_audit_changes)
    event.listen(AuditEvent, "before_delete", _forbid_audit_changes)


# -- reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    tag: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 50
    offset: int = 0


def _filtered(query: AuditQuery) -> Any:
    stmt = select(AuditEvent)
    if query.actor:
        stmt = stmt.where(AuditEvent.actor_label.ilike(f"%{query.actor}%"))
    if query.tag:
        stmt = stmt.where(AuditEvent.tag.startswith(query.tag))
    if query.subject_type:
        stmt = stmt.where(AuditEvent.subject_type == query.subject_type)
    if query.subject_id:
        stmt = stmt.where(AuditEvent.subject_id == query.subject_id)
    if query.since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(query.since, datetime.min.time()))
    if query.until:
        stmt = stmt.where(AuditEvent.at < datetime.combine(query.until, datetime.max.time()))
    return stmt


def search(session: Session, actor: Actor, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    """Audit events matching ``query``, newest first, with the total count (admin only)."""
    require(actor, Action.AUDIT_VIEW_ALL)
    if query.limit < 1 or query.limit > 1000 or query.offset < 0:
        raise Invalid(Msg("limit must be between 1 and 1000 and offset at least 0."))
    stmt = _filtered(query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id).limit(query.limit).offset(query.offset)
    ).all()
    return list(rows), total


def history(session: Session, subject_type: str, subject_id: str, limit: int = 200) -> list[AuditEvent]:
    """The history of one object, newest first. Callers check who may see it."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.at.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


CSV_COLUMNS = ("at", "actor", "acting_for", "tag", "subject_type", "subject_id", "subject", "changes")


def _csv_safe(value: str) -> str:
    # Neutralise spreadsheet formulas (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(session: Session, actor: Actor, query: AuditQuery) -> Iterator[str]:
    """Stream the matching events as CSV (UTF-8 with BOM so spreadsheets read Vietnamese)."""
    require(actor, Action.AUDIT_EXPORT)


    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    stmt = _filtered(query).order_by(AuditEvent.at, AuditEvent.id)
    for row in session.scalars(stmt).yield_per(500):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                row.at.isoformat(),
                _csv_safe(row.actor_label),
                str(row.acting_for_agency_id or ""),
                row.tag,
                row.subject_type,
                row.subject_id,
                _csv_safe(row.subject_label),
                _csv_safe(json.dumps(row.changes, ensure_ascii=False)),
            ]
        )
        yield buffer.getvalue()
