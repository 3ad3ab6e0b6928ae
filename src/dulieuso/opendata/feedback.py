# SPDX-License-Identifier: AGPL-3.0-or-later
"""Feedback on a dataset (Decree 47 Art. 19(2)): quality, usability, format, legal
compliance. It goes to the dataset's agency: its staff and its focal point are notified,
and it is due an answer in ``data_request_response`` working days. Answered feedback is
public; open feedback is seen by its author, the agency and administrators."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.db import utcnow
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.opendata.models import Dataset
from dulieuso.opendata.requests import (
    clean,
    display_name,
    due_date,
    notify_agency,
    notify_users,
    parse_uuid,
    participant,
    public_dataset,
    queue_scope,
    today,
)
from dulieuso.opendata.voice_events import VoiceEvent
from dulieuso.opendata.voice_models import DatasetFeedback, FeedbackCategory, FeedbackStatus
from dulieuso.opendata.voice_permissions import VoiceAction

CATEGORY_LABELS: dict[FeedbackCategory, Msg] = {
    FeedbackCategory.QUALITY: Msg("Data quality"),
    FeedbackCategory.USABILITY: Msg("Usability"),
    FeedbackCategory.FORMAT: Msg("Format"),
    FeedbackCategory.COMPLIANCE: Msg("Legal compliance"),
    FeedbackCategory.OTHER: Msg("Other"),
}


def dataset_for_feedback(session: Session, ref: str | uuid.UUID) -> Dataset:
    dataset = public_dataset(session, ref)
    if dataset is None:
        raise NotFound(Msg("Dataset not found."), code="dataset_not_found")
    return dataset


def submit(session: Session, actor: Actor, dataset_ref: str | uuid.UUID, category: str, body: str) -> DatasetFeedback:
    """Give feedback on a public dataset; the agency's staff and focal point are told."""
    user_id = participant(actor, VoiceAction.FEEDBACK_SUBMIT)
    dataset = dataset_for_feedback(session, dataset_ref)
    errors: dict[str, list[Msg]] = {}
    try:
        kind = FeedbackCategory(category)
    except ValueError:
        errors["category"] = [Msg("Choose a category.")]
    text = clean(body, 4000)
    if len(text) < 5:
        errors["body"] = [Msg("Write at least 5 characters.")]
    if errors:
        raise Invalid(fields=errors)
    now = utcnow()
    feedback = DatasetFeedback(
        dataset_id=dataset.id, agency_id=dataset.agency_id, category=kind, body=text, author_id=user_id,
        author_name=display_name(session, actor), received_at=now, due_on=due_date(session, now),
    )
    session.add(feedback)
    session.flush()
    record(session, actor, VoiceEvent.FEEDBACK_CREATE, feedback, after=snapshot(feedback), label=dataset.name)
    notify_agency(
        session, dataset.agency_id, kind="opendata:dataset_feedback:new",
        title=Msg("New feedback on the dataset {title}", title=dataset.title),
        body=Msg("{category}. Answer by {due}.", category=CATEGORY_LABELS[kind], due=feedback.due_on.strftime("%d/%m/%Y")),
        link="/data/feedback", exclude=user_id,
    )
    return feedback


def answer(session: Session, actor: Actor, feedback_id: uuid.UUID | str, text: str) -> DatasetFeedback:
    """The agency answers; the answer (and the feedback) become public."""
    feedback = _get(session, feedback_id)
    require(actor, VoiceAction.FEEDBACK_ANSWER, feedback.agency_id)
    if feedback.hidden:
        raise Conflict(Msg("This feedback was hidden by a moderator."), code="hidden")
    body = clean(text, 8000)
    if not body:
        raise Invalid(fields={"answer": [Msg("This field is required.")]})
    before = snapshot(feedback)
    feedback.answer = body
    feedback.answered_at = utcnow()
    feedback.answered_by = actor.label
    feedback.status = FeedbackStatus.ANSWERED
    record(session, actor, VoiceEvent.FEEDBACK_ANSWER, feedback, before=before, after=snapshot(feedback), label=str(feedback.id))
    dataset = session.get(Dataset, feedback.dataset_id)
    notify_users(
        session, [feedback.author_id], kind="opendata:dataset_feedback:answer",
        title=Msg("The agency answered your feedback on {title}", title=dataset.title if dataset else ""),
        body=Msg("{answer}", answer=body[:500]),
        link=f"/datasets/{dataset.name}/feedback" if dataset else "/data/requests", exclude=actor.user_id,
    )
    return feedback


def _get(session: Session, feedback_id: uuid.UUID | str) -> DatasetFeedback:
    ident = parse_uuid(feedback_id)
    feedback = session.get(DatasetFeedback, ident) if ident else None
    if feedback is None:
        raise NotFound(Msg("Feedback not found."), code="feedback_not_found")
    return feedback


def may_see(actor: Actor, feedback: DatasetFeedback) -> bool:
    if can(actor, VoiceAction.ABUSE_MODERATE) or can(actor, VoiceAction.FEEDBACK_ANSWER, feedback.agency_id):
        return True
    if actor.user_id is not None and actor.user_id == feedback.author_id:
        return True
    return feedback.status is FeedbackStatus.ANSWERED and not feedback.hidden


def for_dataset(session: Session, actor: Actor, dataset: Dataset) -> list[DatasetFeedback]:
    """The feedback on a dataset ``actor`` may read, newest first."""
    rows = session.scalars(
        select(DatasetFeedback).where(DatasetFeedback.dataset_id == dataset.id).order_by(DatasetFeedback.received_at.desc())
    )
    return [f for f in rows if may_see(actor, f)]


def public_list(session: Session, *, dataset_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0) -> tuple[list[DatasetFeedback], int]:
    """Answered, visible feedback (what anyone may read)."""
    stmt = select(DatasetFeedback).where(DatasetFeedback.status == FeedbackStatus.ANSWERED, DatasetFeedback.hidden.is_(False))
    if dataset_id is not None:
        stmt = stmt.where(DatasetFeedback.dataset_id == dataset_id)
    rows = list(session.scalars(stmt.order_by(DatasetFeedback.answered_at.desc())))
    return rows[offset : offset + limit], len(rows)


def agency_queue(session: Session, actor: Actor, agency_id: uuid.UUID | None = None, *, include_answered: bool = False) -> list[DatasetFeedback]:
    """Feedback an agency must answer (its staff; the IT unit and administrators: any)."""
    # The request queue and the feedback queue have the same readers (voice_permissions).
    scope = queue_scope(session, actor, agency_id)
    stmt = select(DatasetFeedback)
    if scope is not None:
        stmt = stmt.where(DatasetFeedback.agency_id == scope)
    if not include_answered:
        stmt = stmt.where(DatasetFeedback.status == FeedbackStatus.OPEN)
    return list(session.scalars(stmt.order_by(DatasetFeedback.due_on, DatasetFeedback.received_at)))


def is_overdue(feedback: DatasetFeedback) -> bool:
    return feedback.status is FeedbackStatus.OPEN and not feedback.hidden and feedback.due_on < today()


def dataset_titles(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {i: (name, title) for i, name, title in session.execute(
        select(Dataset.id, Dataset.name, Dataset.title).where(Dataset.id.in_(wanted)))}
