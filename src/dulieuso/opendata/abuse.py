# SPDX-License-Identifier: AGPL-3.0-or-later
"""Abuse reports on user content (requests, comments, feedback, reuses), as uData's
"signalements". A registered person reports once per item; the platform administrator
upholds the report, which hides the content with a written reason, or dismisses it.
Both decisions are audited, and the author of hidden content is told why."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, require
from dulieuso.db import Base, utcnow
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.opendata.requests import clean, notify_users, parse_uuid, participant
from dulieuso.opendata.voice_events import VoiceEvent
from dulieuso.opendata.voice_models import (
    AbuseReason,
    AbuseReport,
    AbuseStatus,
    AbuseTarget,
    DataRequest,
    DataRequestComment,
    DatasetFeedback,
    Showcase,
)
from dulieuso.opendata.voice_permissions import VoiceAction

MODELS: dict[AbuseTarget, type[DataRequest | DataRequestComment | DatasetFeedback | Showcase]] = {
    AbuseTarget.DATA_REQUEST: DataRequest,
    AbuseTarget.COMMENT: DataRequestComment,
    AbuseTarget.FEEDBACK: DatasetFeedback,
    AbuseTarget.SHOWCASE: Showcase,
}
REASON_LABELS: dict[AbuseReason, Msg] = {
    AbuseReason.PERSONAL_DATA: Msg("Personal data"),
    AbuseReason.EXPLICIT_CONTENT: Msg("Offensive or explicit content"),
    AbuseReason.ILLEGAL_CONTENT: Msg("Illegal content"),
    AbuseReason.SECURITY: Msg("Security risk"),
    AbuseReason.SPAM: Msg("Spam or advertising"),
    AbuseReason.OTHER: Msg("Other"),
}


def _target(session: Session, target_type: AbuseTarget, target_id: uuid.UUID) -> DataRequest | DataRequestComment | DatasetFeedback | Showcase:
    found = session.get(MODELS[target_type], target_id)
    if found is None:
        raise NotFound(Msg("The reported content was not found."), code="target_not_found")
    return found


def report(session: Session, actor: Actor, target_type: str, target_id: str | uuid.UUID, reason: str, details: str = "") -> AbuseReport:
    """Report a piece of content; one report per account and item (409 on a second)."""
    user_id = participant(actor, VoiceAction.ABUSE_REPORT)
    errors: dict[str, list[Msg]] = {}
    try:
        kind = AbuseTarget(target_type)
    except ValueError:
        errors["target_type"] = [Msg("Unknown value {value}.", value=target_type)]
    try:
        why = AbuseReason(reason)
    except ValueError:
        errors["reason"] = [Msg("Choose a reason.")]
    ident = parse_uuid(target_id)
    if ident is None:
        errors["target_id"] = [Msg("Wrong type of value.")]
    if errors:
        raise Invalid(fields=errors)
    assert ident is not None
    _target(session, kind, ident)
    entry = AbuseReport(target_type=kind, target_id=ident, reason=why, details=clean(details, 2000), reporter_id=user_id)
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        raise Conflict(Msg("You have already reported this."), code="already_reported") from None
    return entry


@dataclass(frozen=True)
class ReportView:
    report: AbuseReport
    excerpt: str
    link: str


def _link(session: Session, target: Base) -> str:
    if isinstance(target, DataRequest):
        return f"/data/requests/{target.id}"
    if isinstance(target, DataRequestComment):
        return f"/data/requests/{target.request_id}#c-{target.id}"
    if isinstance(target, DatasetFeedback):
        from dulieuso.opendata.models import Dataset

        dataset = session.get(Dataset, target.dataset_id)
        return f"/datasets/{dataset.name}/feedback" if dataset else "/data/showcase"
    return "/data/showcase"


def _excerpt(target: Base) -> str:
    if isinstance(target, DataRequest | Showcase):
        return target.title
    return getattr(target, "body", "")[:300]


def list_reports(session: Session, actor: Actor, *, status: str = "open") -> list[ReportView]:
    """Reports for the moderator, oldest first."""
    require(actor, VoiceAction.ABUSE_MODERATE)
    stmt = select(AbuseReport)
    if status:
        stmt = stmt.where(AbuseReport.status == status)
    out = []
    for entry in session.scalars(stmt.order_by(AbuseReport.created_at, AbuseReport.id)):
        target = session.get(MODELS[entry.target_type], entry.target_id)
        if target is None:
            continue
        out.append(ReportView(entry, _excerpt(target), _link(session, target)))
    return out


def moderate(session: Session, actor: Actor, report_id: str | uuid.UUID, *, uphold: bool, reason: str) -> AbuseReport:
    """Uphold (hide the content, with a reason) or dismiss a report. Other open reports on
    the same content are closed with it."""
    require(actor, VoiceAction.ABUSE_MODERATE)
    ident = parse_uuid(report_id)
    entry = session.get(AbuseReport, ident) if ident else None
    if entry is None:
        raise NotFound(Msg("Report not found."), code="report_not_found")
    if entry.status is not AbuseStatus.OPEN:
        raise Conflict(Msg("This report has already been decided."), code="already_decided")
    text = clean(reason, 2000)
    if uphold and not text:
        raise Invalid(fields={"reason": [Msg("Give the reason for hiding the content.")]})
    target = _target(session, entry.target_type, entry.target_id)
    before = snapshot(target)
    now = utcnow()
    siblings = list(session.scalars(select(AbuseReport).where(
        AbuseReport.target_type == entry.target_type, AbuseReport.target_id == entry.target_id,
        AbuseReport.status == AbuseStatus.OPEN,
    )))
    for sibling in siblings:
        sibling.status = AbuseStatus.UPHELD if uphold else AbuseStatus.DISMISSED
        sibling.moderated_at = now
        sibling.moderated_by = actor.label
        sibling.moderation_reason = text
    if uphold:
        target.hidden = True
        target.hidden_reason = text
    tag = VoiceEvent.ABUSE_UPHOLD if uphold else VoiceEvent.ABUSE_DISMISS
    record(session, actor, tag, entry, label=f"{entry.target_type.value}:{entry.target_id}",
           details={"reason": text, "target_type": entry.target_type.value, "target_id": str(entry.target_id),
                    "hidden": uphold, "target_before": before if uphold else None},
           covers=[target, *siblings])
    if uphold:
        author = getattr(target, "requester_id", None) or getattr(target, "author_id", None)
        notify_users(
            session, [author], kind="opendata:abuse:hidden",
            title=Msg("A moderator hid your content"), body=Msg("Reason: {reason}", reason=text),
            link=_link(session, target), exclude=actor.user_id,
        )
    return entry
