# SPDX-License-Identifier: AGPL-3.0-or-later
"""Usage regulations (quy chế khai thác, sử dụng; Decree 47 Art. 22, 40(1), 41, 45(3))."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can
from dulieuso.catalog.models import Database
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import RegulationScope, RegulationStatus, UsageRegulation
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import MAX_LIMIT, acting, own_agency, require_fields, text


@dataclass
class RegulationInput:
    code: str
    title: str
    decision_number: str
    decision_date: date | None
    scope: RegulationScope = RegulationScope.DATABASES
    agency_code: str | None = None
    signer: str = ""
    topic_group: str = ""
    summary: str = ""
    document_url: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    period_online_query_hours: int | None = None
    period_sync_days: int | None = None
    period_package_days: int | None = None
    log_retention_days: int = 1825
    allows_anonymous: bool = False
    status: RegulationStatus = RegulationStatus.IN_FORCE
    database_codes: list[str] = field(default_factory=list)


def _databases(session: Session, codes: list[str]) -> tuple[list[Database], list[str]]:
    found = list(session.scalars(select(Database).where(Database.code.in_(codes)))) if codes else []
    missing = sorted(set(codes) - {d.code for d in found})
    return found, missing


def _validate(session: Session, data: RegulationInput) -> tuple[dict[str, list[Msg]], list[Database]]:
    errors = require_fields(vars(data), ["code", "title", "decision_number", "decision_date"])
    databases, missing = _databases(session, data.database_codes)
    if missing:
        errors["database_codes"] = [Msg("Unknown database codes: {codes}", codes=", ".join(missing))]
    if data.scope is RegulationScope.DATABASES and not data.database_codes:
        errors.setdefault("database_codes", []).append(Msg("List the databases the regulation covers."))
    if data.scope is RegulationScope.TOPIC_GROUP and not data.topic_group.strip():
        errors["topic_group"] = [Msg("Name the data-topic group the regulation covers.")]
    if data.status is RegulationStatus.IN_FORCE and not (data.document_url or "").strip():
        errors["document_url"] = [Msg("A regulation in force must be public: give the document's address.")]
    if data.document_url and not data.document_url.startswith(("http://", "https://", "/")):
        errors["document_url"] = [Msg("Enter an http(s) address.")]
    for name in ("period_online_query_hours", "period_sync_days", "period_package_days"):
        value = getattr(data, name)
        if value is not None and value <= 0:
            errors[name] = [Msg("Enter a whole number greater than 0.")]
    if data.log_retention_days <= 0:
        errors["log_retention_days"] = [Msg("Enter a whole number greater than 0.")]
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        errors["valid_to"] = [Msg("The end date is before the start date.")]
    return errors, databases


def _apply(regulation: UsageRegulation, data: RegulationInput, databases: list[Database]) -> None:
    regulation.title = text(data.title, 400)
    regulation.decision_number = text(data.decision_number, 120)
    assert data.decision_date is not None
    regulation.decision_date = data.decision_date
    regulation.signer = text(data.signer, 200)
    regulation.scope = data.scope
    regulation.topic_group = text(data.topic_group, 300)
    regulation.summary = text(data.summary)
    regulation.document_url = text(data.document_url, 500) or None
    regulation.valid_from = data.valid_from
    regulation.valid_to = data.valid_to
    regulation.period_online_query_hours = data.period_online_query_hours
    regulation.period_sync_days = data.period_sync_days
    regulation.period_package_days = data.period_package_days
    regulation.log_retention_days = data.log_retention_days
    regulation.allows_anonymous = data.allows_anonymous
    regulation.status = data.status
    regulation.databases = databases


def create_regulation(session: Session, actor: Actor, data: RegulationInput) -> UsageRegulation:
    """Register a usage regulation issued by an agency (the PPC or a department)."""
    agency = own_agency(session, actor, data.agency_code)
    actor = acting(actor, SharingAction.REGULATION_MANAGE, agency.id)
    errors, databases = _validate(session, data)
    if errors:
        raise Invalid(fields=errors)
    if session.scalar(select(UsageRegulation).where(UsageRegulation.code == data.code.strip())):
        raise Conflict(Msg("A regulation with this code already exists."), fields={"code": [Msg("Already used.")]})
    regulation = UsageRegulation(code=text(data.code, 60), issuing_agency_id=agency.id)
    _apply(regulation, data, databases)
    session.add(regulation)
    record(session, actor, SharingTag.REGULATION_CREATE, regulation, after=snapshot(regulation), label=regulation.code)
    return regulation


def update_regulation(session: Session, actor: Actor, code: str, data: RegulationInput) -> UsageRegulation:
    regulation = get_regulation(session, actor, code)
    actor = acting(actor, SharingAction.REGULATION_MANAGE, regulation.issuing_agency_id)
    data.code = regulation.code
    errors, databases = _validate(session, data)
    if errors:
        raise Invalid(fields=errors)
    before = snapshot(regulation)
    _apply(regulation, data, databases)
    record(session, actor, SharingTag.REGULATION_UPDATE, regulation, before=before, after=snapshot(regulation),
           label=regulation.code)
    return regulation


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOCUMENT_TYPES = {b"%PDF": ".pdf"}


def document_path(storage_dir: Path, regulation: UsageRegulation) -> Path | None:
    """Where the regulation's uploaded document is stored, if it has one."""
    if not regulation.document_file:
        return None
    return storage_dir / "regulations" / regulation.document_file


def attach_document(session: Session, actor: Actor, code: str, content: bytes, storage_dir: Path) -> UsageRegulation:
    """Store the signed regulation (a PDF) so that it is public with the regulation (Art. 22)."""
    regulation = get_regulation(session, actor, code)
    actor = acting(actor, SharingAction.REGULATION_MANAGE, regulation.issuing_agency_id)
    if not content:
        raise Invalid(fields={"document": [Msg("Choose a file.")]})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise Invalid(fields={"document": [Msg("The file is larger than 20 MB.")]})
    suffix = DOCUMENT_TYPES.get(content[:4])
    if suffix is None:
        raise Invalid(fields={"document": [Msg("Upload the document as a PDF file.")]})
    folder = storage_dir / "regulations"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{regulation.id.hex}{suffix}"
    temporary = folder / f".{name}.part"
    temporary.write_bytes(content)
    temporary.replace(folder / name)
    before = snapshot(regulation)
    regulation.document_file = name
    if not regulation.document_url:
        regulation.document_url = f"/regulations/{regulation.code}/document"
    record(session, actor, SharingTag.REGULATION_UPDATE, regulation, before=before, after=snapshot(regulation),
           label=regulation.code, details={"document_bytes": len(content)})
    return regulation


def _visible(actor: Actor, regulation: UsageRegulation) -> bool:
    return regulation.status is not RegulationStatus.DRAFT or can(
        actor, SharingAction.REGULATION_MANAGE, regulation.issuing_agency_id
    )


def get_regulation(session: Session, actor: Actor, code: str) -> UsageRegulation:
    """A regulation by code; drafts only for those who manage them (others get 404)."""
    regulation = session.scalar(select(UsageRegulation).where(UsageRegulation.code == code))
    if regulation is None or not _visible(actor, regulation):
        raise NotFound(Msg("Usage regulation not found."), code="regulation_not_found")
    return regulation


def list_regulations(
    session: Session, actor: Actor, *, q: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[UsageRegulation], int]:
    """Public regulations (Art. 22 requires them public), newest decision first."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise Invalid(Msg("limit must be between 1 and 500 and offset at least 0."))
    stmt = select(UsageRegulation)
    if not can(actor, SharingAction.REGULATION_MANAGE, None):
        visible = UsageRegulation.status != RegulationStatus.DRAFT
        if actor.agency_id is not None and can(actor, SharingAction.REGULATION_MANAGE, actor.agency_id):
            visible = or_(visible, UsageRegulation.issuing_agency_id == actor.agency_id)
        stmt = stmt.where(visible)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(UsageRegulation.title.ilike(like), UsageRegulation.code.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(UsageRegulation.decision_date.desc(), UsageRegulation.code).limit(limit).offset(offset))
    return list(rows), total
