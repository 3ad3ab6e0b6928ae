# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issues and disputes (Art. 47–49): the consumer reports to the provider, which answers
within 7 working days; unresolved or unanswered issues go to the IT unit, which has its
own 7 working days (policy keys ``issue_provider_answer`` and ``issue_it_unit_answer``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.policy.service import local_date
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import (
    ConnectionRequest,
    DataService,
    IssueCategory,
    IssueStatus,
    SharingAgreement,
    SharingIssue,
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
    own_agency,
    require_fields,
    text,
)


@dataclass
class IssueInput:
    category: IssueCategory
    title: str
    description: str
    service_code: str | None = None
    provider_code: str | None = None
    request_id: uuid.UUID | None = None
    agreement_code: str | None = None
    agency_code: str | None = None


def report(session: Session, actor: Actor, data: IssueInput, *, received_at: datetime | None = None) -> SharingIssue:
    """A consumer raises an issue with the provider (level 1)."""
    agency = own_agency(session, actor, data.agency_code)
    actor = acting(actor, SharingAction.ISSUE_REPORT, agency.id)
    errors = require_fields(vars(data), ["title", "description"])
    provider_id = None
    service = None
    if data.service_code:
        service = session.scalar(select(DataService).where(DataService.code == data.service_code))
        if service is None:
            errors["service_code"] = [Msg("Unknown data service.")]
        else:
            provider_id = service.provider_agency_id
    if data.provider_code and provider_id is None:
        from dulieuso.agencies.models import Agency

        provider_id = session.scalar(select(Agency.id).where(Agency.code == data.provider_code))
        if provider_id is None:
            errors["provider_code"] = [Msg("Unknown agency code.")]
    request = session.get(ConnectionRequest, data.request_id) if data.request_id else None
    if request is not None and provider_id is None:
        req_service = session.get(DataService, request.service_id)
        provider_id = req_service.provider_agency_id if req_service else None
        service = req_service
    agreement = None
    if data.agreement_code:
        agreement = session.scalar(select(SharingAgreement).where(SharingAgreement.code == data.agreement_code))
        if agreement is None:
            errors["agreement_code"] = [Msg("Unknown agreement.")]
    if provider_id is None and not errors:
        errors["service_code"] = [Msg("Name the service or the providing agency.")]
    if errors:
        raise Invalid(fields=errors)
    assert provider_id is not None
    received = received_at or now()
    issue = SharingIssue(
        category=data.category,
        title=text(data.title, 300),
        description=text(data.description),
        reporter_agency_id=agency.id,
        provider_agency_id=provider_id,
        service_id=service.id if service else None,
        request_id=request.id if request else None,
        agreement_id=agreement.id if agreement else None,
        status=IssueStatus.OPEN,
        received_at=received,
        provider_due_on=due_date(session, "issue_provider_answer", received),
    )
    session.add(issue)
    record(session, actor, SharingTag.ISSUE_CREATE, issue, after=snapshot(issue), label=issue.title)
    notify_agency(
        session, provider_id, kind="sharing:issue:reported",
        title=Msg("New sharing issue: {title}", title=issue.title),
        body=Msg("Answer by {due} (Decree 47 Art. 49(1)).", due=issue.provider_due_on.strftime("%d/%m/%Y")),
        link=f"/sharing/issues/{issue.id}",
    )
    return issue


def _can_view(session: Session, actor: Actor, issue: SharingIssue) -> bool:
    return (
        can(actor, SharingAction.ISSUE_VIEW, issue.reporter_agency_id)
        or can(actor, SharingAction.ISSUE_VIEW, issue.provider_agency_id)
        or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))
    )


def get_issue(session: Session, actor: Actor, issue_id: uuid.UUID) -> SharingIssue:
    issue = session.get(SharingIssue, issue_id)
    if issue is None or not _can_view(session, actor, issue):
        raise NotFound(Msg("Issue not found."), code="issue_not_found")
    return issue


def answer(session: Session, actor: Actor, issue_id: uuid.UUID, text_: str) -> SharingIssue:
    """The provider answers or guides (Art. 49(1))."""
    issue = get_issue(session, actor, issue_id)
    actor = acting(actor, SharingAction.ISSUE_ANSWER, issue.provider_agency_id)
    if issue.status is not IssueStatus.OPEN:
        raise Conflict(Msg("This issue is no longer with the provider."))
    if not text_.strip():
        raise Invalid(fields={"answer": [Msg("This field is required.")]})
    before = snapshot(issue)
    issue.status = IssueStatus.ANSWERED
    issue.provider_answer = text(text_)
    issue.answered_at = now()
    record(session, actor, SharingTag.ISSUE_ANSWER, issue, before=before, after=snapshot(issue), label=issue.title)
    notify_agency(session, issue.reporter_agency_id, kind="sharing:issue:answered",
                  title=Msg("Your issue was answered: {title}", title=issue.title),
                  body=Msg("Answer: {answer}", answer=issue.provider_answer), link=f"/sharing/issues/{issue.id}")
    return issue


def _escalate(session: Session, actor: Actor, issue: SharingIssue, at: datetime) -> None:
    before = snapshot(issue)
    issue.status = IssueStatus.ESCALATED
    issue.escalated_at = at
    issue.it_unit_due_on = due_date(session, "issue_it_unit_answer", at)
    record(session, actor, SharingTag.ISSUE_ESCALATE, issue, before=before, after=snapshot(issue), label=issue.title)
    notify_it_unit(
        session, kind="sharing:issue:escalated",
        title=Msg("Sharing issue escalated: {title}", title=issue.title),
        body=Msg("Guide a solution by {due} (Decree 47 Art. 49(2)).", due=issue.it_unit_due_on.strftime("%d/%m/%Y")),
        link=f"/sharing/issues/{issue.id}",
    )


def escalate(session: Session, actor: Actor, issue_id: uuid.UUID) -> SharingIssue:
    """The reporter takes an unresolved issue to the IT unit (Art. 49(2))."""
    issue = get_issue(session, actor, issue_id)
    actor = acting(actor, SharingAction.ISSUE_REPORT, issue.reporter_agency_id)
    if issue.status not in (IssueStatus.OPEN, IssueStatus.ANSWERED):
        raise Conflict(Msg("This issue cannot be escalated now."))
    _escalate(session, actor, issue, now())
    return issue


def escalate_overdue(session: Session, actor: Actor, at: datetime) -> int:
    """Issues the provider left unanswered past the 7 working days go to the IT unit."""
    late = session.scalars(
        select(SharingIssue).where(SharingIssue.status == IssueStatus.OPEN, SharingIssue.provider_due_on < local_date(at))
    ).all()
    for issue in late:
        _escalate(session, actor, issue, at)
    return len(late)


def resolve(session: Session, actor: Actor, issue_id: uuid.UUID, resolution: str) -> SharingIssue:
    """Close an issue: the reporter accepts an answer, or the IT unit issues its solution."""
    issue = get_issue(session, actor, issue_id)
    if issue.status is IssueStatus.ESCALATED:
        actor = acting(actor, SharingAction.ISSUE_RESOLVE, it_unit_id(session))
    elif issue.status in (IssueStatus.ANSWERED, IssueStatus.OPEN):
        actor = acting(actor, SharingAction.ISSUE_REPORT, issue.reporter_agency_id)
    else:
        raise Conflict(Msg("This issue is already closed."))
    if not resolution.strip():
        raise Invalid(fields={"resolution": [Msg("This field is required.")]})
    before = snapshot(issue)
    issue.status = IssueStatus.RESOLVED
    issue.resolution = text(resolution)
    issue.resolved_at = now()
    issue.resolved_by = actor.label
    record(session, actor, SharingTag.ISSUE_RESOLVE, issue, before=before, after=snapshot(issue), label=issue.title)
    for agency_id in {issue.reporter_agency_id, issue.provider_agency_id}:
        notify_agency(session, agency_id, kind="sharing:issue:resolved",
                      title=Msg("Sharing issue resolved: {title}", title=issue.title),
                      body=Msg("Resolution: {answer}", answer=issue.resolution), link=f"/sharing/issues/{issue.id}")
    return issue


def list_issues(session: Session, actor: Actor, *, status: IssueStatus | None = None) -> list[SharingIssue]:
    stmt = select(SharingIssue)
    if not (can(actor, SharingAction.ISSUE_VIEW, None) or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))):
        if actor.agency_id is None or not can(actor, SharingAction.ISSUE_VIEW, actor.agency_id):
            return []
        stmt = stmt.where(
            or_(SharingIssue.reporter_agency_id == actor.agency_id, SharingIssue.provider_agency_id == actor.agency_id)
        )
    if status is not None:
        stmt = stmt.where(SharingIssue.status == status)
    return list(session.scalars(stmt.order_by(SharingIssue.received_at.desc())))


def issue_views(session: Session, issues: list[SharingIssue]) -> list[dict[str, Any]]:
    names = agency_names(session, [i.reporter_agency_id for i in issues] + [i.provider_agency_id for i in issues])
    today = local_date(now())
    views = []
    for issue in issues:
        due = issue.it_unit_due_on if issue.status is IssueStatus.ESCALATED else issue.provider_due_on
        views.append({
            "id": issue.id,
            "category": issue.category.value,
            "title": issue.title,
            "description": issue.description,
            "reporter_agency": names.get(issue.reporter_agency_id),
            "provider_agency": names.get(issue.provider_agency_id),
            "status": issue.status.value,
            "received_at": issue.received_at,
            "provider_due_on": issue.provider_due_on,
            "it_unit_due_on": issue.it_unit_due_on,
            "overdue": issue.status in (IssueStatus.OPEN, IssueStatus.ESCALATED) and due is not None and due < today,
            "provider_answer": issue.provider_answer,
            "answered_at": issue.answered_at,
            "escalated_at": issue.escalated_at,
            "resolution": issue.resolution,
            "resolved_at": issue.resolved_at,
        })
    return views
