# SPDX-License-Identifier: AGPL-3.0-or-later
"""When agencies merge, what a merged agency held in the sharing registry passes to its
successor (``agencies.interfaces.register_handover``): the services it provides, its
applications (and so its accounts and grants), the regulations it issued, its places in
agreements, and its open requests, issues and per-consumer suspensions. Decided
requests and closed issues keep the agency that made them: they are history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.interfaces import register_handover
from dulieuso.auth.permissions import Actor

if TYPE_CHECKING:
    from dulieuso.agencies.models import Agency


def _move(session: Session, actor: Actor, rows: Any, column: str, successor: Agency, tag: str, source: Agency) -> int:
    from dulieuso.audit.service import record, snapshot

    moved = 0
    for row in rows:
        before = snapshot(row)
        setattr(row, column, successor.id)
        record(session, actor, tag, row, before=before, after=snapshot(row),
               details={"handover_from": source.code, "handover_to": successor.code})
        moved += 1
    return moved


def hand_over_sharing(session: Session, actor: Actor, source: Agency, successor: Agency) -> int:
    from dulieuso.sharing.events import SharingTag as T
    from dulieuso.sharing.models import (
        AgreementParty,
        Application,
        ConnectionRequest,
        DataService,
        IssueStatus,
        RequestStatus,
        SharingAgreement,
        SharingIssue,
        Suspension,
        UsageRegulation,
    )

    moved = 0
    moved += _move(session, actor, session.scalars(select(DataService).where(DataService.provider_agency_id == source.id)),
                   "provider_agency_id", successor, T.SERVICE_UPDATE, source)
    moved += _move(session, actor, session.scalars(select(Application).where(Application.consumer_agency_id == source.id)),
                   "consumer_agency_id", successor, T.APPLICATION_UPDATE, source)
    moved += _move(session, actor, session.scalars(select(UsageRegulation).where(UsageRegulation.issuing_agency_id == source.id)),
                   "issuing_agency_id", successor, T.REGULATION_UPDATE, source)
    moved += _move(session, actor, session.scalars(select(ConnectionRequest).where(
        ConnectionRequest.requesting_agency_id == source.id, ConnectionRequest.status == RequestStatus.SUBMITTED)),
        "requesting_agency_id", successor, T.REQUEST_SUBMIT, source)
    open_issues = (IssueStatus.OPEN, IssueStatus.ANSWERED, IssueStatus.ESCALATED)
    moved += _move(session, actor, session.scalars(select(SharingIssue).where(
        SharingIssue.reporter_agency_id == source.id, SharingIssue.status.in_(open_issues))),
        "reporter_agency_id", successor, T.ISSUE_CREATE, source)
    moved += _move(session, actor, session.scalars(select(SharingIssue).where(
        SharingIssue.provider_agency_id == source.id, SharingIssue.status.in_(open_issues))),
        "provider_agency_id", successor, T.ISSUE_CREATE, source)
    moved += _move(session, actor, session.scalars(select(Suspension).where(
        Suspension.consumer_agency_id == source.id, Suspension.lifted_at.is_(None), Suspension.cancelled_at.is_(None))),
        "consumer_agency_id", successor, T.SUSPENSION_CREATE, source)
    from dulieuso.audit.service import record

    for party in list(session.scalars(select(AgreementParty).where(AgreementParty.agency_id == source.id))):
        agreement = session.get(SharingAgreement, party.agreement_id)
        assert agreement is not None
        if any(p.agency_id == successor.id for p in agreement.parties):
            agreement.parties.remove(party)
        else:
            party.agency_id = successor.id
        record(session, actor, T.AGREEMENT_UPDATE, agreement,
               details={"handover_from": source.code, "handover_to": successor.code})
        moved += 1
    return moved


def install() -> None:
    """Register the handover (done on import; ``agencies.interfaces`` imports this module)."""
    register_handover("sharing", hand_over_sharing)


install()
