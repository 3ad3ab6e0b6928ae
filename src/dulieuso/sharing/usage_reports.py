# SPDX-License-Identifier: AGPL-3.0-or-later
"""Usage reports (Decree 47 Art. 51(1)(b)): a provider may demand that a consumer report
how it used the data of a grant — what it retrieved, for which purposes, how it stores
it, and any incident. The decree sets no deadline, so the answer is due in the policy
table's ``usage_report_response`` working days (a local choice, 10 WD), counted on the
working-day calendar. The consumer answers online; demands left unanswered past their
due date are flagged on the pages and the IT unit's queues, and the deadline sweep tells
both agencies once.

Who may do what is checked here, not in the routes: the provider's staff demand, the
consumer's staff answer, the IT unit and the administrators see every report, and anyone
else gets 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.policy.service import local_date, working_days_between
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.grants import get_grant
from dulieuso.sharing.models import Application, DataService, Grant, UsageReport, UsageReportStatus
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import (
    MAX_LIMIT,
    acting,
    agency_names,
    due_date,
    it_unit_id,
    notify_agency,
    now,
    require_fields,
    text,
)

DEADLINE_KEY = "usage_report_response"


@dataclass
class DemandInput:
    """What the provider asks: why, and the period the report must cover (empty = since
    the grant began)."""

    reason: str
    period_from: date | None = None
    period_to: date | None = None


@dataclass
class AnswerInput:
    """The consumer's report. ``incidents`` may stay empty: none to report."""

    retrieved_data: str
    purposes: str
    storage: str
    incidents: str = ""


@dataclass(frozen=True)
class Parties:
    consumer_id: uuid.UUID
    provider_id: uuid.UUID
    service: DataService
    application: Application


def _parties(session: Session, grant_id: uuid.UUID) -> Parties:
    """The grant's consumer and provider, read through the grant so that an agency merger
    that moves the service or the application moves the report too."""
    grant = session.get(Grant, grant_id)
    assert grant is not None
    application = session.get(Application, grant.application_id)
    service = session.get(DataService, grant.service_id)
    assert application is not None and service is not None
    return Parties(application.consumer_agency_id, service.provider_agency_id, service, application)


def demand(
    session: Session, actor: Actor, grant_id: uuid.UUID, data: DemandInput, *, requested_at: datetime | None = None
) -> UsageReport:
    """The provider demands a usage report about one of its grants; the consumer's staff
    are told the reason and the due date."""
    grant = get_grant(session, actor, grant_id)
    parties = _parties(session, grant.id)
    actor = acting(actor, SharingAction.USAGE_REPORT_REQUEST, parties.provider_id)
    errors = require_fields(vars(data), ["reason"])
    requested = requested_at or now()
    if data.period_from is not None and data.period_from > local_date(requested):
        errors["period_from"] = [Msg("The date is in the future.")]
    if data.period_from and data.period_to and data.period_to < data.period_from:
        errors["period_to"] = [Msg("The end date is before the start date.")]
    if errors:
        raise Invalid(fields=errors)
    report = UsageReport(
        grant_id=grant.id,
        reason=text(data.reason),
        period_from=data.period_from,
        period_to=data.period_to,
        status=UsageReportStatus.REQUESTED,
        requested_at=requested,
        requested_by=actor.label,
        due_on=due_date(session, DEADLINE_KEY, requested),
    )
    session.add(report)
    record(session, actor, SharingTag.USAGE_REPORT_REQUEST, report, after=snapshot(report), label=parties.service.code)
    names = agency_names(session, [parties.provider_id])
    notify_agency(
        session, parties.consumer_id, kind="sharing:usage_report:requested",
        title=Msg("{provider} asks for a report on your use of {code}", provider=names.get(parties.provider_id, ""),
                  code=parties.service.code),
        body=Msg("Answer by {due} (Decree 47 Art. 51(1)(b)). Reason: {reason}",
                 due=report.due_on.strftime("%d/%m/%Y"), reason=report.reason),
        link=f"/sharing/usage-reports/{report.id}",
    )
    return report


def _can_view(session: Session, actor: Actor, parties: Parties) -> bool:
    return (
        can(actor, SharingAction.USAGE_REPORT_VIEW, parties.consumer_id)
        or can(actor, SharingAction.USAGE_REPORT_VIEW, parties.provider_id)
        or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))
    )


def get_report(session: Session, actor: Actor, report_id: uuid.UUID) -> UsageReport:
    """A report its parties, the IT unit and the administrators may read; 404 for others."""
    report = session.get(UsageReport, report_id)
    if report is None or not _can_view(session, actor, _parties(session, report.grant_id)):
        raise NotFound(Msg("Usage report not found."), code="usage_report_not_found")
    return report


def can_answer(session: Session, actor: Actor, report: UsageReport) -> bool:
    """Whether ``actor`` may answer now (for pages: the form shows only then)."""
    parties = _parties(session, report.grant_id)
    return report.status is UsageReportStatus.REQUESTED and can(
        actor, SharingAction.USAGE_REPORT_ANSWER, parties.consumer_id
    )


def answer(session: Session, actor: Actor, report_id: uuid.UUID, data: AnswerInput) -> UsageReport:
    """The consumer answers online; the provider's staff are told. An answer after the due
    date is accepted and marked late."""
    report = get_report(session, actor, report_id)
    parties = _parties(session, report.grant_id)
    actor = acting(actor, SharingAction.USAGE_REPORT_ANSWER, parties.consumer_id)
    if report.status is not UsageReportStatus.REQUESTED:
        raise Conflict(Msg("This usage report has already been answered."), code="usage_report_answered")
    errors = require_fields(vars(data), ["retrieved_data", "purposes", "storage"])
    if errors:
        raise Invalid(fields=errors)
    before = snapshot(report)
    moment = now()
    report.retrieved_data = text(data.retrieved_data)
    report.purposes = text(data.purposes)
    report.storage = text(data.storage)
    report.incidents = text(data.incidents)
    report.status = UsageReportStatus.ANSWERED
    report.answered_at = moment
    report.answered_by = actor.label
    late = local_date(moment) > report.due_on
    record(session, actor, SharingTag.USAGE_REPORT_ANSWER, report, before=before, after=snapshot(report),
           label=parties.service.code, details={"late": late})
    names = agency_names(session, [parties.consumer_id])
    notify_agency(
        session, parties.provider_id, kind="sharing:usage_report:answered",
        title=Msg("Usage report on {code} received", code=parties.service.code),
        body=Msg("{agency} sent its report after the due date {due}.", agency=names.get(parties.consumer_id, ""),
                 due=report.due_on.strftime("%d/%m/%Y")) if late
        else Msg("{agency} sent its report.", agency=names.get(parties.consumer_id, "")),
        link=f"/sharing/usage-reports/{report.id}",
    )
    return report


@dataclass(frozen=True)
class ReportQuery:
    #: any (both sides) | consumer (demanded of my agency) | provider (demanded by my agency)
    role: str = "any"
    status: UsageReportStatus | None = None
    overdue: bool = False
    grant_id: uuid.UUID | None = None
    limit: int = 50
    offset: int = 0


def list_reports(session: Session, actor: Actor, query: ReportQuery) -> tuple[list[UsageReport], int]:
    """Reports the actor may see, soonest due first: its agency's as consumer or provider;
    every report for the IT unit and the administrators (``role`` then narrows to their
    own agency's side)."""
    if not 1 <= query.limit <= MAX_LIMIT or query.offset < 0:
        raise Invalid(Msg("limit must be between 1 and 500 and offset at least 0."))
    stmt = (
        select(UsageReport)
        .join(Grant, Grant.id == UsageReport.grant_id)
        .join(Application, Application.id == Grant.application_id)
        .join(DataService, DataService.id == Grant.service_id)
    )
    everything = can(actor, SharingAction.USAGE_REPORT_VIEW, None) or can(
        actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session)
    )
    if not everything and (actor.agency_id is None or not can(actor, SharingAction.USAGE_REPORT_VIEW, actor.agency_id)):
        return [], 0
    if query.role == "consumer" and actor.agency_id is not None:
        stmt = stmt.where(Application.consumer_agency_id == actor.agency_id)
    elif query.role == "provider" and actor.agency_id is not None:
        stmt = stmt.where(DataService.provider_agency_id == actor.agency_id)
    elif not everything:
        stmt = stmt.where(
            or_(Application.consumer_agency_id == actor.agency_id, DataService.provider_agency_id == actor.agency_id)
        )
    if query.status is not None:
        stmt = stmt.where(UsageReport.status == query.status)
    if query.overdue:
        stmt = stmt.where(UsageReport.status == UsageReportStatus.REQUESTED, UsageReport.due_on < local_date(now()))
    if query.grant_id is not None:
        stmt = stmt.where(UsageReport.grant_id == query.grant_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(UsageReport.due_on, UsageReport.requested_at).limit(query.limit).offset(query.offset)
    )
    return list(rows), total


def alert_overdue(session: Session, actor: Actor, at: datetime) -> int:
    """Tell the consumer and the provider, once, about demands unanswered past their due
    date (the same pattern as overdue connection requests)."""
    late = session.scalars(
        select(UsageReport).where(
            UsageReport.status == UsageReportStatus.REQUESTED,
            UsageReport.overdue_alerted_at.is_(None),
            UsageReport.due_on < local_date(at),
        )
    ).all()
    for report in late:
        parties = _parties(session, report.grant_id)
        before = snapshot(report)
        report.overdue_alerted_at = at
        record(session, actor, SharingTag.USAGE_REPORT_BREACH, report, before=before, after=snapshot(report),
               label=parties.service.code)
        title = Msg("Usage report on {code} is overdue", code=parties.service.code)
        body = Msg("It was due by {due} (Decree 47 Art. 51(1)(b)).", due=report.due_on.strftime("%d/%m/%Y"))
        link = f"/sharing/usage-reports/{report.id}"
        for agency_id in (parties.consumer_id, parties.provider_id):
            notify_agency(session, agency_id, kind="sharing:usage_report:overdue", title=title, body=body, link=link)
    return len(late)


def report_views(session: Session, reports: list[UsageReport]) -> list[dict[str, Any]]:
    """Plain dicts for pages and the API."""
    parties = {r.id: _parties(session, r.grant_id) for r in reports}
    grant_ids = {r.grant_id for r in reports}
    grants = {g.id: g for g in session.scalars(select(Grant).where(Grant.id.in_(grant_ids)))} if reports else {}
    names = agency_names(session, [p.consumer_id for p in parties.values()] + [p.provider_id for p in parties.values()])
    today = local_date(now())
    views = []
    for report in reports:
        p, grant = parties[report.id], grants[report.grant_id]
        open_ = report.status is UsageReportStatus.REQUESTED
        views.append({
            "id": report.id,
            "grant_id": report.grant_id,
            "service_code": p.service.code,
            "service_name": p.service.name,
            "application": p.application.name,
            "consumer_agency_id": p.consumer_id,
            "consumer_agency": names.get(p.consumer_id),
            "provider_agency_id": p.provider_id,
            "provider_agency": names.get(p.provider_id),
            "reason": report.reason,
            "period_from": report.period_from,
            "period_to": report.period_to,
            "status": report.status.value,
            "requested_at": report.requested_at,
            "requested_by": report.requested_by,
            "due_on": report.due_on,
            "overdue": open_ and report.due_on < today,
            #: Working days from today to the due date (negative once overdue); None once answered.
            "working_days_left": working_days_between(session, today, report.due_on) if open_ else None,
            "overdue_alerted_at": report.overdue_alerted_at,
            "retrieved_data": report.retrieved_data,
            "purposes": report.purposes,
            "storage": report.storage,
            "incidents": report.incidents,
            "answered_at": report.answered_at,
            "answered_by": report.answered_by,
            "answered_late": report.answered_at is not None and local_date(report.answered_at) > report.due_on,
            # What the grant allows, to read the consumer's storage answer against (Art. 42).
            "grant_storage_mode": grant.storage_mode.value,
            "grant_storage_permitted": grant.storage_permitted,
        })
    return views
