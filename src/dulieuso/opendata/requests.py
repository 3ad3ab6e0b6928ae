# SPDX-License-Identifier: AGPL-3.0-or-later
"""Data requests (yêu cầu dữ liệu): the public asks for a dataset, votes and follows;
the agency answers within the policy deadline.

Life cycle: ``new → under_review → planned (date) → published (a public dataset)``,
or ``declined`` with a reason, from any open state. A request goes to the agency the
requester suggested, else to the IT unit; it is due ``data_request_response`` working
days after it arrived (policy table). The first answer or status change is the
response that stops that clock.

Votes: one per account and request (the primary key enforces it); a second vote is a
``Conflict`` (409, code ``already_voted``), and ``unvote`` takes a vote back. Votes and
follows are not audited; every status change, answer and decline is. Filing is limited
to ``DAILY_LIMIT`` requests per account in 24 hours (429).

This module also holds the helpers the other voice modules share (the notification
fan-out to an agency's staff and focal point, deadlines, text cleaning).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dulieuso.agencies import service as agencies
from dulieuso.agencies.models import Agency, FocalPoint
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.db import utcnow
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from dulieuso.i18n import Msg
from dulieuso.notifications import service as notifications
from dulieuso.opendata.models import Dataset, DatasetState
from dulieuso.opendata.voice_events import VoiceEvent
from dulieuso.opendata.voice_models import (
    DataRequest,
    DataRequestComment,
    DataRequestFollow,
    DataRequestStatusChange,
    DataRequestVote,
    PlannedDataset,
    RequestStatus,
)
from dulieuso.opendata.voice_permissions import VoiceAction
from dulieuso.policy import service as policy
from dulieuso.vntext import fold

DEADLINE_KEY = "data_request_response"
DAILY_LIMIT = 10
MAX_LIMIT = 200
NOTIFIED_ROLES = (Role.AGENCY_ADMIN, Role.AGENCY_APPROVER, Role.AGENCY_EDITOR)
OPEN = frozenset({RequestStatus.NEW, RequestStatus.UNDER_REVIEW, RequestStatus.PLANNED})
#: Allowed moves; ``planned → planned`` changes the planned date.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.NEW: frozenset({RequestStatus.UNDER_REVIEW, RequestStatus.PLANNED, RequestStatus.DECLINED}),
    RequestStatus.UNDER_REVIEW: frozenset({RequestStatus.PLANNED, RequestStatus.PUBLISHED, RequestStatus.DECLINED}),
    RequestStatus.PLANNED: frozenset({RequestStatus.PLANNED, RequestStatus.PUBLISHED, RequestStatus.DECLINED}),
    RequestStatus.PUBLISHED: frozenset(),
    RequestStatus.DECLINED: frozenset(),
}
SORTS = ("votes", "newest", "status", "due")


# -- helpers shared by the voice modules ---------------------------------------------


def clean(value: object, limit: int) -> str:
    """Trimmed text, at most ``limit`` characters. Shown escaped, never as HTML."""
    return str(value or "").strip()[:limit]


def parse_uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def participant(actor: Actor, action: VoiceAction) -> uuid.UUID:
    """Check ``action`` for a registered person and return their account id."""
    require(actor, action)
    if actor.user_id is None:
        raise Forbidden(Msg("This needs a personal account."), code="account_required")
    return actor.user_id


def display_name(session: Session, actor: Actor) -> str:
    user = session.get(User, actor.user_id) if actor.user_id else None
    return user.full_name if user is not None else actor.label


def due_date(session: Session, start: datetime) -> date:
    value = policy.deadline(session, DEADLINE_KEY, start)
    return value.date() if isinstance(value, datetime) else value


def it_unit_id(session: Session) -> uuid.UUID | None:
    unit = agencies.it_unit(session)
    return unit.id if unit else None


def focal_point_user_id(session: Session, agency_id: uuid.UUID) -> uuid.UUID | None:
    """The account of the agency's focal point in office, found by e-mail (if any)."""
    email = session.scalar(
        select(FocalPoint.email).where(FocalPoint.agency_id == agency_id, FocalPoint.valid_to.is_(None))
    )
    if not email:
        return None
    return session.scalar(select(User.id).where(func.lower(User.email) == email.strip().lower(), User.is_active.is_(True)))


def notify_agency(
    session: Session, agency_id: uuid.UUID, *, kind: str, title: Msg, body: Msg, link: str,
    exclude: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Notify the agency's staff and its focal point (once each); the ids notified."""
    sent = notifications.notify_agency_staff(
        session, agency_id, NOTIFIED_ROLES, kind=kind, title=title, body=body, link=link, exclude_user_id=exclude
    )
    users = [n.user_id for n in sent]
    focal = focal_point_user_id(session, agency_id)
    if focal is not None and focal not in users and focal != exclude:
        notifications.notify(session, focal, kind=kind, title=title, body=body, link=link)
        users.append(focal)
    return users


def notify_users(
    session: Session, user_ids: Iterable[uuid.UUID | None], *, kind: str, title: Msg, body: Msg, link: str,
    exclude: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    done: list[uuid.UUID] = []
    for user_id in user_ids:
        if user_id is None or user_id == exclude or user_id in done:
            continue
        notifications.notify(session, user_id, kind=kind, title=title, body=body, link=link)
        done.append(user_id)
    return done


def public_dataset(session: Session, ref: object) -> Dataset | None:
    """A public dataset by id or slug (``None`` when missing, draft, private or deleted)."""
    ident = parse_uuid(ref)
    dataset = session.get(Dataset, ident) if ident else None
    if dataset is None and ref:
        dataset = session.scalar(select(Dataset).where(Dataset.name == str(ref).strip().lower()))
    if dataset is None or dataset.state is not DatasetState.ACTIVE or dataset.private:
        return None
    return dataset


def today() -> date:
    return policy.today()


# -- filing and reading ----------------------------------------------------------------


@dataclass
class RequestInput:
    title: str
    description: str = ""
    use_case: str = ""
    agency_code: str = ""


def file_request(session: Session, actor: Actor, data: RequestInput, *, received_at: datetime | None = None) -> DataRequest:
    """File a request; notify the answering agency's staff and focal point."""
    user_id = participant(actor, VoiceAction.REQUEST_FILE)
    errors: dict[str, list[Msg]] = {}
    title = clean(data.title, 300)
    description = clean(data.description, 8000)
    if len(title) < 5:
        errors["title"] = [Msg("Enter a title of at least 5 characters.")]
    if not description:
        errors["description"] = [Msg("This field is required.")]
    suggested: Agency | None = None
    if data.agency_code.strip():
        try:
            suggested = agencies.get_by_code(session, data.agency_code)
        except NotFound:
            errors["agency_code"] = [Msg("Unknown agency.")]
    if errors:
        raise Invalid(fields=errors)
    received = received_at or utcnow()
    since = received - timedelta(hours=24)
    filed = session.scalar(
        select(func.count()).select_from(DataRequest).where(
            DataRequest.requester_id == user_id, DataRequest.received_at > since
        )
    ) or 0
    if filed >= DAILY_LIMIT:
        raise TooManyRequests(
            Msg("You have filed {n} data requests in the last 24 hours; please wait before filing more.", n=filed),
            code="request_rate_limited",
        )
    request = DataRequest(
        title=title,
        description=description,
        use_case=clean(data.use_case, 4000),
        suggested_agency_id=suggested.id if suggested else None,
        agency_id=suggested.id if suggested else it_unit_id(session),
        requester_id=user_id,
        requester_name=display_name(session, actor),
        status=RequestStatus.NEW,
        received_at=received,
        due_on=due_date(session, received),
        follower_count=1,
    )
    session.add(request)
    session.flush()
    session.add(DataRequestFollow(request_id=request.id, user_id=user_id))
    session.add(DataRequestStatusChange(request_id=request.id, from_status=None, to_status=RequestStatus.NEW.value, at=received))
    record(session, actor, VoiceEvent.REQUEST_CREATE, request, after=snapshot(request), label=title)
    if request.agency_id is not None:
        notify_agency(
            session, request.agency_id, kind="opendata:data_request:new",
            title=Msg("New data request: {title}", title=title),
            body=Msg("Answer by {due}.", due=request.due_on.strftime("%d/%m/%Y")),
            link=f"/data/requests/{request.id}", exclude=user_id,
        )
    return request


def _visible(actor: Actor, request: DataRequest) -> bool:
    if not request.hidden:
        return True
    return can(actor, VoiceAction.ABUSE_MODERATE) or (actor.user_id is not None and actor.user_id == request.requester_id)


def get_request(session: Session, actor: Actor, request_id: uuid.UUID | str) -> DataRequest:
    """A request anyone may read; a hidden one only its requester and moderators."""
    require(actor, VoiceAction.REQUEST_VIEW)
    ident = parse_uuid(request_id)
    request = session.get(DataRequest, ident) if ident else None
    if request is None or not _visible(actor, request):
        raise NotFound(Msg("Data request not found."), code="data_request_not_found")
    return request


@dataclass(frozen=True)
class RequestQuery:
    q: str = ""
    status: str = ""
    agency_code: str = ""
    sort: str = "votes"
    limit: int = 50
    offset: int = 0


_STATUS_ORDER = case(
    {s.value: i for i, s in enumerate(RequestStatus)}, value=DataRequest.status, else_=99
)


def list_requests(session: Session, actor: Actor, query: RequestQuery) -> tuple[list[DataRequest], int]:
    """The public board: filters, and sorts by votes (default), newest, status or due date."""
    require(actor, VoiceAction.REQUEST_VIEW)
    errors: dict[str, list[Msg]] = {}
    if query.sort not in SORTS:
        errors["sort"] = [Msg("Unknown value {value}.", value=query.sort)]
    if query.status and query.status not in {s.value for s in RequestStatus}:
        errors["status"] = [Msg("Unknown value {value}.", value=query.status)]
    if not 1 <= query.limit <= MAX_LIMIT or query.offset < 0:
        errors["limit"] = [Msg("limit must be between 1 and {max} and offset at least 0.", max=MAX_LIMIT)]
    if errors:
        raise Invalid(fields=errors)
    stmt = select(DataRequest).where(DataRequest.hidden.is_(False))
    if query.status:
        stmt = stmt.where(DataRequest.status == query.status)
    if query.agency_code:
        agency = session.scalar(select(Agency).where(Agency.code == query.agency_code.strip().upper()))
        stmt = stmt.where(DataRequest.agency_id == (agency.id if agency else None))
    words = fold(query.q).split()
    for word in words[:8]:
        stmt = stmt.where(DataRequest.id.in_(_folded_matches(session, word)))
    order = {
        "votes": (DataRequest.vote_count.desc(), DataRequest.received_at.desc()),
        "newest": (DataRequest.received_at.desc(),),
        "status": (_STATUS_ORDER, DataRequest.vote_count.desc(), DataRequest.received_at.desc()),
        "due": (DataRequest.due_on, DataRequest.received_at),
    }[query.sort]
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(*order, DataRequest.id).limit(query.limit).offset(query.offset)).all()
    return list(rows), total


def _folded_matches(session: Session, word: str) -> list[uuid.UUID]:
    # Requests are few (hundreds), so folding titles in Python is cheap and exact for
    # Vietnamese ("truong hoc" finds "Trường học") on SQLite and PostgreSQL alike.
    rows = session.execute(
        select(DataRequest.id, DataRequest.title, DataRequest.description).where(DataRequest.hidden.is_(False))
    )
    return [ident for ident, title, description in rows if word in fold(f"{title} {description}")]


def ranked(session: Session, *, agency_id: uuid.UUID | None = None, limit: int = 10) -> list[DataRequest]:
    """Open requests ranked by votes: the plan's priorities (Art. 19(4)(a))."""
    stmt = select(DataRequest).where(DataRequest.hidden.is_(False), DataRequest.status.in_([s.value for s in OPEN]))
    if agency_id is not None:
        stmt = stmt.where(DataRequest.agency_id == agency_id)
    stmt = stmt.order_by(DataRequest.vote_count.desc(), DataRequest.received_at).limit(limit)
    return list(session.scalars(stmt))


def is_overdue(request: DataRequest, on: date | None = None) -> bool:
    """Not yet answered and past its response deadline."""
    return request.responded_at is None and request.status in OPEN and request.due_on < (on or today())


def queue_scope(session: Session, actor: Actor, agency_id: uuid.UUID | None = None) -> uuid.UUID | None:
    """Whose queue ``actor`` may read: the agency asked for, or their own; ``None`` means
    every agency (administrators and the IT unit's staff, who follow up on all)."""
    unit = it_unit_id(session)
    sees_all = can(actor, VoiceAction.REQUEST_QUEUE, None) or (unit is not None and can(actor, VoiceAction.REQUEST_QUEUE, unit))
    if agency_id is None:
        if sees_all:
            return None
        require(actor, VoiceAction.REQUEST_QUEUE, actor.agency_id)
        return actor.agency_id
    if not sees_all:
        require(actor, VoiceAction.REQUEST_QUEUE, agency_id)
    return agency_id


def queue(session: Session, actor: Actor, agency_id: uuid.UUID | None = None, *, include_closed: bool = False) -> list[DataRequest]:
    """The requests an agency must answer, most urgent first (see ``queue_scope``)."""
    scope = queue_scope(session, actor, agency_id)
    stmt = select(DataRequest)
    if scope is not None:
        stmt = stmt.where(DataRequest.agency_id == scope)
    if not include_closed:
        stmt = stmt.where(DataRequest.status.in_([s.value for s in OPEN]))
    return list(session.scalars(stmt.order_by(DataRequest.due_on, DataRequest.vote_count.desc(), DataRequest.received_at)))


def may_answer(session: Session, actor: Actor, request: DataRequest) -> bool:
    """Only the agency the request is addressed to (or an administrator) answers it."""
    return can(actor, VoiceAction.REQUEST_ANSWER, request.agency_id)


def status_history(session: Session, request: DataRequest) -> list[DataRequestStatusChange]:
    return list(session.scalars(
        select(DataRequestStatusChange).where(DataRequestStatusChange.request_id == request.id)
        .order_by(DataRequestStatusChange.at, DataRequestStatusChange.id)
    ))


# -- the agency's side ----------------------------------------------------------------


def _answerable(session: Session, actor: Actor, request_id: uuid.UUID | str) -> DataRequest:
    request = get_request(session, actor, request_id)
    if not may_answer(session, actor, request):
        require(actor, VoiceAction.REQUEST_ANSWER, request.agency_id)
        raise Forbidden(code="forbidden.data_request.answer")
    return request


def _audience(session: Session, request: DataRequest) -> list[uuid.UUID | None]:
    followers = session.scalars(select(DataRequestFollow.user_id).where(DataRequestFollow.request_id == request.id))
    return [request.requester_id, *followers]


@dataclass
class StatusChange:
    status: str
    note: str = ""
    planned_date: date | None = None
    dataset: str = ""  # id or slug of the published dataset
    decline_reason: str = ""


def change_status(session: Session, actor: Actor, request_id: uuid.UUID | str, change: StatusChange) -> DataRequest:
    """Move a request along its life cycle (the answering agency, or an administrator)."""
    request = _answerable(session, actor, request_id)
    try:
        target = RequestStatus(change.status)
    except ValueError:
        raise Invalid(fields={"status": [Msg("Unknown value {value}.", value=change.status)]}) from None
    if target not in TRANSITIONS[request.status]:
        raise Conflict(
            Msg("A request that is {current} cannot become {target}.", current=STATUS_LABELS[request.status], target=STATUS_LABELS[target]),
            code="illegal_transition",
        )
    errors: dict[str, list[Msg]] = {}
    dataset: Dataset | None = None
    reason = clean(change.decline_reason, 4000)
    if target is RequestStatus.PLANNED:
        if change.planned_date is None:
            errors["planned_date"] = [Msg("Enter the date the dataset is planned for.")]
        elif change.planned_date < today():
            errors["planned_date"] = [Msg("The date is in the past.")]
    if target is RequestStatus.PUBLISHED:
        dataset = public_dataset(session, change.dataset) if change.dataset.strip() else None
        if dataset is None:
            errors["dataset"] = [Msg("Choose a published, public dataset (its id or address name).")]
    if target is RequestStatus.DECLINED and not reason:
        errors["decline_reason"] = [Msg("Give the reason for declining.")]
    if errors:
        raise Invalid(fields=errors)
    before = snapshot(request)
    previous = request.status
    now = utcnow()
    request.status = target
    request.updated_at = now
    if request.responded_at is None:
        request.responded_at = now
    note = clean(change.note, 4000)
    if target is RequestStatus.PLANNED:
        request.planned_date = change.planned_date
    if target is RequestStatus.PUBLISHED and dataset is not None:
        request.dataset_id = dataset.id
    if target is RequestStatus.DECLINED:
        request.decline_reason = reason
    session.add(DataRequestStatusChange(
        request_id=request.id, from_status=previous.value, to_status=target.value, at=now,
        note=reason if target is RequestStatus.DECLINED else note,
    ))
    covers = _sync_plan(session, request, dataset)
    tag = VoiceEvent.REQUEST_DECLINE if target is RequestStatus.DECLINED else VoiceEvent.REQUEST_STATUS
    record(session, actor, tag, request, before=before, after=snapshot(request), label=request.title,
           details={"note": note} if note else None, covers=covers)
    body = {
        RequestStatus.UNDER_REVIEW: Msg("The agency is reviewing it."),
        RequestStatus.PLANNED: Msg("Planned for {day}.", day=request.planned_date.strftime("%d/%m/%Y") if request.planned_date else ""),
        RequestStatus.PUBLISHED: Msg("The dataset is published."),
        RequestStatus.DECLINED: Msg("Declined: {reason}", reason=reason),
    }[target]
    notify_users(
        session, _audience(session, request), kind="opendata:data_request:status",
        title=Msg("Your followed data request is now {status}: {title}", status=STATUS_LABELS[target], title=request.title),
        body=body, link=f"/data/requests/{request.id}", exclude=actor.user_id,
    )
    return request


def _sync_plan(session: Session, request: DataRequest, dataset: Dataset | None) -> list[PlannedDataset]:
    """A planned request enters the agency's plan; a published one links its dataset."""
    if request.agency_id is None or request.status not in {RequestStatus.PLANNED, RequestStatus.PUBLISHED}:
        return []
    item = session.scalar(select(PlannedDataset).where(PlannedDataset.request_id == request.id))
    if item is None:
        if request.status is RequestStatus.PUBLISHED and dataset is None:
            return []
        item = PlannedDataset(
            agency_id=request.agency_id, title=request.title, description=request.description[:4000],
            target_date=request.planned_date or today(), request_id=request.id,
        )
        session.add(item)
    if request.status is RequestStatus.PLANNED and request.planned_date:
        item.target_date = request.planned_date
    if dataset is not None:
        item.dataset_id = dataset.id
    session.flush()
    return [item]


def answer(session: Session, actor: Actor, request_id: uuid.UUID | str, text: str) -> DataRequest:
    """The agency's public answer. Answering a new request puts it under review."""
    request = _answerable(session, actor, request_id)
    body = clean(text, 8000)
    if not body:
        raise Invalid(fields={"answer": [Msg("This field is required.")]})
    before = snapshot(request)
    now = utcnow()
    request.answer = body
    request.answered_at = now
    request.answered_by = actor.label
    request.updated_at = now
    if request.responded_at is None:
        request.responded_at = now
    if request.status is RequestStatus.NEW:
        request.status = RequestStatus.UNDER_REVIEW
        session.add(DataRequestStatusChange(
            request_id=request.id, from_status=RequestStatus.NEW.value, to_status=RequestStatus.UNDER_REVIEW.value, at=now,
        ))
    record(session, actor, VoiceEvent.REQUEST_ANSWER, request, before=before, after=snapshot(request), label=request.title)
    notify_users(
        session, _audience(session, request), kind="opendata:data_request:answer",
        title=Msg("The agency answered the data request: {title}", title=request.title),
        body=Msg("{answer}", answer=body[:500]), link=f"/data/requests/{request.id}", exclude=actor.user_id,
    )
    return request


# -- the public's side ----------------------------------------------------------------


def _recount(session: Session, request: DataRequest) -> None:
    request.vote_count = session.scalar(
        select(func.count()).select_from(DataRequestVote).where(DataRequestVote.request_id == request.id)
    ) or 0
    request.follower_count = session.scalar(
        select(func.count()).select_from(DataRequestFollow).where(DataRequestFollow.request_id == request.id)
    ) or 0


def vote(session: Session, actor: Actor, request_id: uuid.UUID | str) -> DataRequest:
    """One upvote per account; a second one is refused (409 ``already_voted``)."""
    user_id = participant(actor, VoiceAction.REQUEST_VOTE)
    request = get_request(session, actor, request_id)
    if request.status not in OPEN:
        raise Conflict(Msg("This request is closed; votes are no longer counted."), code="request_closed")
    if session.get(DataRequestVote, (request.id, user_id)) is not None:
        raise Conflict(Msg("You have already voted for this request."), code="already_voted")
    try:
        with session.begin_nested():
            session.add(DataRequestVote(request_id=request.id, user_id=user_id))
    except IntegrityError:  # a concurrent second vote by the same account
        raise Conflict(Msg("You have already voted for this request."), code="already_voted") from None
    _recount(session, request)
    return request


def unvote(session: Session, actor: Actor, request_id: uuid.UUID | str) -> DataRequest:
    user_id = participant(actor, VoiceAction.REQUEST_VOTE)
    request = get_request(session, actor, request_id)
    existing = session.get(DataRequestVote, (request.id, user_id))
    if existing is not None:
        session.delete(existing)
        session.flush()
        _recount(session, request)
    return request


def has_voted(session: Session, actor: Actor, request: DataRequest) -> bool:
    return actor.user_id is not None and session.get(DataRequestVote, (request.id, actor.user_id)) is not None


def is_following(session: Session, actor: Actor, request: DataRequest) -> bool:
    return actor.user_id is not None and session.get(DataRequestFollow, (request.id, actor.user_id)) is not None


def follow(session: Session, actor: Actor, request_id: uuid.UUID | str, on: bool = True) -> DataRequest:
    """Follow (or stop following) a request; idempotent."""
    user_id = participant(actor, VoiceAction.REQUEST_FOLLOW)
    request = get_request(session, actor, request_id)
    existing = session.get(DataRequestFollow, (request.id, user_id))
    if on and existing is None:
        try:
            with session.begin_nested():
                session.add(DataRequestFollow(request_id=request.id, user_id=user_id))
        except IntegrityError:
            pass
    elif not on and existing is not None:
        session.delete(existing)
        session.flush()
    _recount(session, request)
    return request


def add_comment(session: Session, actor: Actor, request_id: uuid.UUID | str, text: str) -> DataRequestComment:
    user_id = participant(actor, VoiceAction.REQUEST_COMMENT)
    request = get_request(session, actor, request_id)
    body = clean(text, 4000)
    if not body:
        raise Invalid(fields={"body": [Msg("This field is required.")]})
    comment = DataRequestComment(
        request_id=request.id, author_id=user_id, author_name=display_name(session, actor), body=body,
        agency_id=actor.agency_id if may_answer(session, actor, request) and actor.agency_id == request.agency_id else None,
    )
    session.add(comment)
    session.flush()
    request.comment_count = session.scalar(
        select(func.count()).select_from(DataRequestComment).where(DataRequestComment.request_id == request.id)
    ) or 0
    notify_users(
        session, _audience(session, request), kind="opendata:data_request:comment",
        title=Msg("New comment on the data request: {title}", title=request.title),
        body=Msg("{answer}", answer=body[:500]), link=f"/data/requests/{request.id}", exclude=user_id,
    )
    return comment


def comments(session: Session, actor: Actor, request: DataRequest) -> list[DataRequestComment]:
    """All comments in order; hidden ones stay in place (shown as hidden, body withheld)."""
    return list(session.scalars(
        select(DataRequestComment).where(DataRequestComment.request_id == request.id)
        .order_by(DataRequestComment.created_at, DataRequestComment.id)
    ))


def agency_names(session: Session, ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {ident: name for ident, name in session.execute(select(Agency.id, Agency.name_vi).where(Agency.id.in_(wanted)))}


STATUS_LABELS: dict[RequestStatus, Msg] = {
    RequestStatus.NEW: Msg("new"),
    RequestStatus.UNDER_REVIEW: Msg("under review"),
    RequestStatus.PLANNED: Msg("planned"),
    RequestStatus.PUBLISHED: Msg("published"),
    RequestStatus.DECLINED: Msg("declined"),
}
