# SPDX-License-Identifier: AGPL-3.0-or-later
"""Grants (quyền khai thác) with the storage the provider accepted (Art. 42), suspensions
(Art. 43) and terminations (Art. 44)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.policy.service import local_date
from dulieuso.sharing import consumers
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import (
    AccountStatus,
    Application,
    ConnectionAccount,
    DataService,
    Grant,
    GrantStatus,
    Suspension,
    SuspensionKind,
    SuspensionScope,
    Termination,
    TerminationReason,
)
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import (
    acting,
    agency_names,
    due_date,
    it_unit_id,
    notify_agency,
    notify_it_unit,
    now,
    require_fields,
    text,
)

# -- grants -----------------------------------------------------------------------------------


def _grant_parties(session: Session, grant: Grant) -> tuple[uuid.UUID, uuid.UUID]:
    application = session.get(Application, grant.application_id)
    service = session.get(DataService, grant.service_id)
    assert application is not None and service is not None
    return application.consumer_agency_id, service.provider_agency_id


def get_grant(session: Session, actor: Actor, grant_id: uuid.UUID) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(Msg("Grant not found."), code="grant_not_found")
    consumer_id, provider_id = _grant_parties(session, grant)
    if not (
        can(actor, SharingAction.GRANT_VIEW, consumer_id)
        or can(actor, SharingAction.GRANT_VIEW, provider_id)
        or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))
    ):
        raise NotFound(Msg("Grant not found."), code="grant_not_found")
    return grant


def list_grants(
    session: Session, actor: Actor, *, role: str = "any", service_code: str | None = None,
    status: GrantStatus | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[Grant], int]:
    """Grants the actor's agency holds (``consumer``) or gives (``provider``); all for
    administrators and the IT unit."""
    from sqlalchemy import func

    stmt = (
        select(Grant)
        .join(Application, Application.id == Grant.application_id)
        .join(DataService, DataService.id == Grant.service_id)
    )
    everything = can(actor, SharingAction.GRANT_VIEW, None) or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))
    if not everything:
        if actor.agency_id is None or not can(actor, SharingAction.GRANT_VIEW, actor.agency_id):
            return [], 0
        if role == "consumer":
            stmt = stmt.where(Application.consumer_agency_id == actor.agency_id)
        elif role == "provider":
            stmt = stmt.where(DataService.provider_agency_id == actor.agency_id)
        else:
            stmt = stmt.where(
                or_(Application.consumer_agency_id == actor.agency_id, DataService.provider_agency_id == actor.agency_id)
            )
    if service_code:
        stmt = stmt.where(DataService.code == service_code)
    if status is not None:
        stmt = stmt.where(Grant.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Grant.created_at.desc()).limit(limit).offset(offset))
    return list(rows), total


def grant_views(session: Session, grants: list[Grant]) -> list[dict[str, Any]]:
    apps = {a.id: a for a in session.scalars(select(Application).where(Application.id.in_([g.application_id for g in grants])))} if grants else {}
    services = {s.id: s for s in session.scalars(select(DataService).where(DataService.id.in_([g.service_id for g in grants])))} if grants else {}
    names = agency_names(
        session, [a.consumer_agency_id for a in apps.values()] + [s.provider_agency_id for s in services.values()]
    )
    at = now()
    views = []
    for grant in grants:
        app, service = apps[grant.application_id], services[grant.service_id]
        views.append({
            "id": grant.id,
            "application_id": app.id,
            "application": app.name,
            "consumer_agency_id": app.consumer_agency_id,
            "consumer_agency": names.get(app.consumer_agency_id),
            "service_code": service.code,
            "service_name": service.name,
            "provider_agency_id": service.provider_agency_id,
            "provider_agency": names.get(service.provider_agency_id),
            "operations": grant.operations,
            "allowed_fields": grant.allowed_fields,
            "purpose": grant.purpose,
            "valid_from": grant.valid_from,
            "valid_to": grant.valid_to,
            "expired": grant.valid_to is not None and grant.valid_to <= at,
            "quota_per_minute": grant.quota_per_minute,
            "quota_per_day": grant.quota_per_day,
            "status": grant.status.value,
            "request_id": grant.request_id,
            "agreement_id": grant.agreement_id,
            # Art. 42: what the consumer may keep, and the provider's permission to store
            # beyond the period of use (with its length, end and conditions).
            "storage_mode": grant.storage_mode.value,
            "storage_permitted": grant.storage_permitted,
            "storage_days": grant.storage_days,
            "storage_until": grant.storage_until,
            "storage_note": grant.storage_note,
        })
    return views


# -- suspensions ------------------------------------------------------------------------------


@dataclass
class SuspensionInput:
    service_code: str
    kind: SuspensionKind
    reason: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    consumer_agency_code: str | None = None
    grant_id: uuid.UUID | None = None
    violation: str = ""
    handling_plan: str = ""
    restore_conditions: str = ""
    violation_determined_at: datetime | None = None


def _service(session: Session, code: str) -> DataService:
    service = session.scalar(select(DataService).where(DataService.code == code))
    if service is None:
        raise Invalid(fields={"service_code": [Msg("Unknown data service.")]})
    return service


def suspend(session: Session, actor: Actor, data: SuspensionInput) -> Suspension:
    """Suspend a service for everyone (planned: public notice ≥ 7 working days ahead with
    the expected restoration; force majeure: at once) or for one consumer (violation or
    security, notified within 1 day with the violation and the conditions to restore)."""
    service = _service(session, data.service_code)
    actor = acting(actor, SharingAction.SUSPENSION_MANAGE, service.provider_agency_id)
    moment = now()
    starts_at = data.starts_at or moment
    errors = require_fields(vars(data), ["reason"])
    consumer: Agency | None = None
    scope = SuspensionScope.CONSUMER if data.kind in (SuspensionKind.VIOLATION, SuspensionKind.SECURITY) else SuspensionScope.ALL
    if data.ends_at is not None and data.ends_at <= starts_at:
        errors["ends_at"] = [Msg("The restoration must come after the start.")]
    if data.kind is SuspensionKind.PLANNED:
        if data.ends_at is None:
            errors["ends_at"] = [Msg("Give the expected restoration time (Art. 43(3)).")]
        earliest = due_date(session, "planned_suspension_notice", moment)
        if local_date(starts_at) < earliest:
            errors["starts_at"] = [
                Msg("A planned suspension needs public notice at least 7 working days ahead: start on {day} or later.",
                    day=earliest.strftime("%d/%m/%Y"))
            ]
    if scope is SuspensionScope.CONSUMER:
        errors.update(require_fields(vars(data), ["consumer_agency_code", "violation", "handling_plan", "restore_conditions"]))
        if data.consumer_agency_code:
            consumer = session.scalar(select(Agency).where(Agency.code == data.consumer_agency_code))
            if consumer is None:
                errors["consumer_agency_code"] = [Msg("Unknown agency code.")]
        if data.grant_id is not None:
            grant = session.get(Grant, data.grant_id)
            application = session.get(Application, grant.application_id) if grant else None
            if grant is None or grant.service_id != service.id or application is None or (
                consumer is not None and application.consumer_agency_id != consumer.id
            ):
                errors["grant_id"] = [Msg("Choose a grant of this consumer on this service.")]
    if errors:
        raise Invalid(fields=errors)
    suspension = Suspension(
        service_id=service.id,
        scope=scope,
        kind=data.kind,
        consumer_agency_id=consumer.id if consumer else None,
        grant_id=data.grant_id,
        starts_at=starts_at,
        ends_at=data.ends_at,
        notice_published_at=moment,
        reason=text(data.reason),
        violation=text(data.violation),
        handling_plan=text(data.handling_plan),
        restore_conditions=text(data.restore_conditions),
        violation_determined_at=(data.violation_determined_at or moment) if scope is SuspensionScope.CONSUMER else None,
    )
    session.add(suspension)
    record(session, actor, SharingTag.SUSPENSION_CREATE, suspension, after=snapshot(suspension), label=service.code)
    if consumer is not None:
        suspension.notified_at = moment
        for grant in _consumer_grants(session, service.id, consumer.id, data.grant_id, GrantStatus.ACTIVE):
            before = snapshot(grant)
            grant.status = GrantStatus.SUSPENDED
            record(session, actor, SharingTag.GRANT_SUSPEND, grant, before=before, after=snapshot(grant), label=service.code)
        notify_agency(
            session, consumer.id, kind="sharing:suspension:consumer",
            title=Msg("Your connection to {code} is suspended", code=service.code),
            body=Msg("Violation: {violation}. Handling: {plan}. To restore: {conditions}.",
                     violation=suspension.violation, plan=suspension.handling_plan,
                     conditions=suspension.restore_conditions),
            link="/sharing/grants",
        )
    else:
        for agency_id in _consumers_of(session, service.id):
            notify_agency(
                session, agency_id, kind="sharing:suspension:all",
                title=Msg("Service {code} will be suspended", code=service.code),
                body=Msg("From {start} until {end}. {reason}", start=_fmt(starts_at), end=_fmt(data.ends_at),
                         reason=suspension.reason),
                link="/sharing/notices",
            )
    return suspension


def _fmt(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    from dulieuso.policy.service import LOCAL_TZ

    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def _consumers_of(session: Session, service_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(Application.consumer_agency_id)
            .join(Grant, Grant.application_id == Application.id)
            .where(Grant.service_id == service_id, Grant.status != GrantStatus.TERMINATED)
            .distinct()
        )
    )


def _consumer_grants(
    session: Session, service_id: uuid.UUID, agency_id: uuid.UUID, grant_id: uuid.UUID | None, status: GrantStatus
) -> list[Grant]:
    stmt = (
        select(Grant)
        .join(Application, Application.id == Grant.application_id)
        .where(Grant.service_id == service_id, Application.consumer_agency_id == agency_id, Grant.status == status)
    )
    if grant_id is not None:
        stmt = stmt.where(Grant.id == grant_id)
    return list(session.scalars(stmt))


def late_notice(suspension: Suspension) -> bool:
    """Art. 43(5): the consumer must be told within 1 day of the violation being determined."""
    if suspension.violation_determined_at is None:
        return False
    told = suspension.notified_at or now()
    return told - suspension.violation_determined_at > timedelta(days=1)


def lift(session: Session, actor: Actor, suspension_id: uuid.UUID) -> Suspension:
    """End a suspension (service restored); a consumer's grants become active again."""
    suspension = session.get(Suspension, suspension_id)
    if suspension is None:
        raise NotFound(Msg("Suspension not found."))
    service = session.get(DataService, suspension.service_id)
    assert service is not None
    actor = acting(actor, SharingAction.SUSPENSION_MANAGE, service.provider_agency_id)
    if suspension.lifted_at or suspension.cancelled_at:
        raise Conflict(Msg("This suspension has already ended."))
    before = snapshot(suspension)
    moment = now()
    if suspension.starts_at > moment:
        suspension.cancelled_at = moment
        tag = SharingTag.SUSPENSION_CANCEL
    else:
        suspension.lifted_at = moment
        tag = SharingTag.SUSPENSION_LIFT
    record(session, actor, tag, suspension, before=before, after=snapshot(suspension), label=service.code)
    if suspension.consumer_agency_id is not None:
        for grant in _consumer_grants(session, service.id, suspension.consumer_agency_id, suspension.grant_id, GrantStatus.SUSPENDED):
            grant_before = snapshot(grant)
            grant.status = GrantStatus.ACTIVE
            record(session, actor, SharingTag.GRANT_RESTORE, grant, before=grant_before, after=snapshot(grant), label=service.code)
    return suspension


def list_suspensions(session: Session, actor: Actor, *, public: bool = True, service_code: str | None = None) -> list[Suspension]:
    """Public notices: suspensions for everyone not cancelled and not long over. With
    ``public=False``: also the per-consumer suspensions the actor may see."""
    stmt = select(Suspension).join(DataService, DataService.id == Suspension.service_id)
    if service_code:
        stmt = stmt.where(DataService.code == service_code)
    if public:
        cutoff = now() - timedelta(days=90)
        stmt = stmt.where(
            Suspension.scope == SuspensionScope.ALL,
            Suspension.cancelled_at.is_(None),
            or_(Suspension.ends_at.is_(None), Suspension.ends_at > cutoff),
        )
    elif not (can(actor, SharingAction.SUSPENSION_MANAGE, None) or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))):
        if actor.agency_id is None:
            return []
        stmt = stmt.where(
            or_(DataService.provider_agency_id == actor.agency_id, Suspension.consumer_agency_id == actor.agency_id)
        )
    return list(session.scalars(stmt.order_by(Suspension.starts_at.desc())))


def suspension_views(session: Session, suspensions: list[Suspension]) -> list[dict[str, Any]]:
    services = {s.id: s for s in session.scalars(select(DataService).where(DataService.id.in_({x.service_id for x in suspensions})))} if suspensions else {}
    names = agency_names(session, [s.consumer_agency_id for s in suspensions] + [s.provider_agency_id for s in services.values()])
    at = now()
    views = []
    for s in suspensions:
        service = services[s.service_id]
        ended = s.lifted_at is not None or s.cancelled_at is not None or (s.ends_at is not None and s.ends_at <= at)
        state = "cancelled" if s.cancelled_at else "ended" if ended else "active" if s.starts_at <= at else "scheduled"
        views.append({
            "id": s.id,
            "service_code": service.code,
            "service_name": service.name,
            "provider_agency": names.get(service.provider_agency_id),
            "scope": s.scope.value,
            "kind": s.kind.value,
            "consumer_agency": names.get(s.consumer_agency_id) if s.consumer_agency_id else None,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "notice_published_at": s.notice_published_at,
            "reason": s.reason,
            "violation": s.violation,
            "handling_plan": s.handling_plan,
            "restore_conditions": s.restore_conditions,
            "late_notice": late_notice(s),
            "state": state,
        })
    return views


# -- termination ------------------------------------------------------------------------------


def terminate(
    session: Session, actor: Actor, grant_id: uuid.UUID, *, reason: TerminationReason, details: str = "",
    consumer_obligations: str = "",
) -> Termination:
    """End a grant (Art. 44); the application's accounts with no other live grant are
    revoked, and the consumer and the IT unit are told the result (Art. 44(3))."""
    grant = get_grant(session, actor, grant_id)
    consumer_id, provider_id = _grant_parties(session, grant)
    actor = acting(actor, SharingAction.TERMINATION_MANAGE, provider_id)
    if grant.status is GrantStatus.TERMINATED:
        raise Conflict(Msg("This grant has already been terminated."))
    moment = now()
    before = snapshot(grant)
    grant.status = GrantStatus.TERMINATED
    grant.valid_to = moment if grant.valid_to is None or grant.valid_to > moment else grant.valid_to
    termination = Termination(
        grant_id=grant.id, reason=reason, details=text(details), consumer_obligations=text(consumer_obligations),
        terminated_at=moment, terminated_by=actor.label,
    )
    session.add(termination)
    record(session, actor, SharingTag.GRANT_TERMINATE, grant, before=before, after=snapshot(grant),
           details={"reason": reason.value}, covers=[termination])
    session.flush()
    others = session.scalar(
        select(Grant.id).where(
            Grant.application_id == grant.application_id, Grant.id != grant.id,
            Grant.status.in_((GrantStatus.ACTIVE, GrantStatus.SUSPENDED)),
        )
    )
    if others is None:
        accounts = session.scalars(
            select(ConnectionAccount.id).where(
                ConnectionAccount.application_id == grant.application_id, ConnectionAccount.status != AccountStatus.REVOKED
            )
        ).all()
        for account_id in accounts:
            consumers.revoke_account(session, actor, account_id, reason=f"termination ({reason.value})", check=False)
    service = session.get(DataService, grant.service_id)
    assert service is not None
    title = Msg("Access to {code} terminated", code=service.code)
    body = Msg("Reason (Art. 44(1)({reason})): {details}. Your obligations: {obligations}",
               reason=reason.value, details=termination.details or "—", obligations=termination.consumer_obligations or "—")
    notify_agency(session, consumer_id, kind="sharing:grant:terminated", title=title, body=body, link="/sharing/grants")
    notify_it_unit(session, kind="sharing:grant:terminated", title=title, body=body, link="/sharing/grants")
    return termination
