# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes of the public's voice and the open-data plan (mounted under ``/api/v1``).

Reading needs no login; taking part needs an account (a session cookie with the CSRF
header, or a bearer token). The shapes here are also the view models of the pages
(``voice_views``), so a page and its JSON twin cannot disagree.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor
from dulieuso.opendata import abuse, feedback, list_issues, plan, showcase
from dulieuso.opendata import requests as data_requests
from dulieuso.opendata.models import Dataset
from dulieuso.opendata.voice_models import (
    DataRequest,
    DataRequestComment,
    DatasetFeedback,
    Showcase,
)
from dulieuso.web.deps import ActorDep, DbDep, LoginDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["open data: requests, feedback, plan"], responses=ERROR_RESPONSES)


# -- shapes ---------------------------------------------------------------------------------


class AgencyRef(BaseModel):
    code: str
    name: str


def _agency(db: Session, agency_id: uuid.UUID | None) -> AgencyRef | None:
    agency = db.get(Agency, agency_id) if agency_id else None
    return AgencyRef(code=agency.code, name=agency.name_vi) if agency else None


class DatasetRef(BaseModel):
    name: str
    title: str


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    note: str
    at: datetime


class RequestPublic(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    use_case: str
    status: str
    suggested_agency: AgencyRef | None
    agency: AgencyRef | None
    requester: str
    received_at: datetime
    due_on: date
    overdue: bool
    planned_date: date | None
    dataset: DatasetRef | None
    decline_reason: str | None
    answer: str
    answered_at: datetime | None
    vote_count: int
    follower_count: int
    comment_count: int
    hidden: bool
    hidden_reason: str | None

    @classmethod
    def of(cls, db: Session, r: DataRequest) -> RequestPublic:
        dataset = db.get(Dataset, r.dataset_id) if r.dataset_id else None
        return cls(
            id=r.id, title=r.title, description=r.description, use_case=r.use_case, status=r.status.value,
            suggested_agency=_agency(db, r.suggested_agency_id), agency=_agency(db, r.agency_id),
            requester=r.requester_name, received_at=r.received_at, due_on=r.due_on,
            overdue=data_requests.is_overdue(r), planned_date=r.planned_date,
            dataset=DatasetRef(name=dataset.name, title=dataset.title) if dataset else None,
            decline_reason=r.decline_reason, answer=r.answer, answered_at=r.answered_at,
            vote_count=r.vote_count, follower_count=r.follower_count, comment_count=r.comment_count,
            hidden=r.hidden, hidden_reason=r.hidden_reason,
        )


class CommentPublic(BaseModel):
    id: uuid.UUID
    author: str
    for_agency: bool
    body: str | None  # withheld when hidden
    created_at: datetime
    hidden: bool
    hidden_reason: str | None

    @classmethod
    def of(cls, c: DataRequestComment) -> CommentPublic:
        return cls(id=c.id, author=c.author_name, for_agency=c.agency_id is not None, body=None if c.hidden else c.body,
                   created_at=c.created_at, hidden=c.hidden, hidden_reason=c.hidden_reason)


class RequestDetail(RequestPublic):
    history: list[StatusChangeOut]
    comments: list[CommentPublic]
    voted: bool
    following: bool
    may_answer: bool

    @classmethod
    def of_detail(cls, db: Session, actor: Actor, r: DataRequest) -> RequestDetail:
        base = RequestPublic.of(db, r).model_dump()
        return cls(
            **base,
            history=[StatusChangeOut(from_status=c.from_status, to_status=c.to_status, note=c.note, at=c.at)
                     for c in data_requests.status_history(db, r)],
            comments=[CommentPublic.of(c) for c in data_requests.comments(db, actor, r)],
            voted=data_requests.has_voted(db, actor, r), following=data_requests.is_following(db, actor, r),
            may_answer=data_requests.may_answer(db, actor, r),
        )


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=300)
    description: str = Field("", max_length=8000)
    use_case: str = Field("", max_length=4000)
    agency_code: str = Field("", max_length=40, description="Suggested agency (code); empty: the IT unit routes it")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(description="under_review | planned | published | declined")
    note: str = Field("", max_length=4000)
    planned_date: date | None = None
    dataset: str = Field("", max_length=100, description="Id or name of the public dataset (published)")
    decline_reason: str = Field("", max_length=4000)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(max_length=8000)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=4000)


class VotesOut(BaseModel):
    vote_count: int
    voted: bool


class FollowOut(BaseModel):
    follower_count: int
    following: bool


class FeedbackPublic(BaseModel):
    id: uuid.UUID
    dataset: DatasetRef | None
    agency: AgencyRef | None
    category: str
    body: str | None
    author: str
    status: str
    received_at: datetime
    due_on: date
    overdue: bool
    answer: str
    answered_at: datetime | None
    hidden: bool
    hidden_reason: str | None

    @classmethod
    def of(cls, db: Session, f: DatasetFeedback) -> FeedbackPublic:
        dataset = db.get(Dataset, f.dataset_id)
        return cls(
            id=f.id, dataset=DatasetRef(name=dataset.name, title=dataset.title) if dataset else None,
            agency=_agency(db, f.agency_id), category=f.category.value, body=None if f.hidden else f.body,
            author=f.author_name, status=f.status.value, received_at=f.received_at, due_on=f.due_on,
            overdue=feedback.is_overdue(f), answer=f.answer, answered_at=f.answered_at, hidden=f.hidden,
            hidden_reason=f.hidden_reason,
        )


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(max_length=100, description="Id or name of a public dataset")
    category: str = Field(description="quality | usability | format | compliance | other")
    body: str = Field(max_length=4000)


class ShowcasePublic(BaseModel):
    id: uuid.UUID
    title: str
    kind: str
    url: str
    description: str
    author: str
    created_at: datetime
    datasets: list[DatasetRef]

    @classmethod
    def of(cls, s: Showcase, datasets: list[tuple[str, str]]) -> ShowcasePublic:
        return cls(id=s.id, title=s.title, kind=s.kind.value, url=s.url, description=s.description,
                   author=s.author_name, created_at=s.created_at,
                   datasets=[DatasetRef(name=n, title=t) for n, t in datasets])


class ShowcaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=300)
    kind: str = Field(description="application | article | visualization | api | paper | other")
    url: str = Field(max_length=1000)
    description: str = Field("", max_length=4000)
    datasets: list[str] = Field(default_factory=list, max_length=50, description="Ids or names of public datasets")


class AbuseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: str = Field(description="data_request | comment | feedback | showcase")
    target_id: uuid.UUID
    reason: str = Field(description="personal_data | explicit_content | illegal_content | security | spam | other")
    details: str = Field("", max_length=2000)


class AbuseOut(BaseModel):
    id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    reason: str
    details: str
    status: str
    created_at: datetime
    moderation_reason: str
    excerpt: str = ""
    link: str = ""


def _abuse_out(entry: Any, excerpt: str = "", link: str = "") -> AbuseOut:
    return AbuseOut(id=entry.id, target_type=entry.target_type.value, target_id=entry.target_id, reason=entry.reason.value,
                    details=entry.details, status=entry.status.value, created_at=entry.created_at,
                    moderation_reason=entry.moderation_reason, excerpt=excerpt, link=link)


class ModerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(pattern="^(uphold|dismiss)$", description="uphold (hide the content) | dismiss")
    reason: str = Field("", max_length=2000)


class PhaseOut(BaseModel):
    number: int
    name: str
    starts_on: date
    ends_on: date
    target: int
    planned: int
    published: int
    percent: int


class AgencyProgressOut(BaseModel):
    code: str
    name: str
    planned: int
    published: int
    late: int
    review_due: date | None
    review_overdue: bool


class ItemOut(BaseModel):
    id: uuid.UUID
    agency_code: str
    agency_name: str
    title: str
    description: str
    target_date: date
    phase: int | None
    source_database: str | None
    dataset: str | None
    request_id: uuid.UUID | None
    published: bool
    late: bool
    listed: bool = Field(description="On the latest issued version of the open-data list")


class PriorityOut(BaseModel):
    id: uuid.UUID
    title: str
    vote_count: int
    status: str
    agency: AgencyRef | None


class ListIssueOut(BaseModel):
    """An issued version of the open-data list (the PPC Chairman's decision)."""

    id: uuid.UUID
    number: int
    decision_number: str
    decision_date: date
    signer: str
    signer_title: str
    note: str
    issued_at: datetime
    issued_by: str
    item_count: int


class ListIssueItemOut(BaseModel):
    id: uuid.UUID
    agency_code: str
    agency_name: str
    title: str
    description: str = ""
    target_date: date
    phase: int | None
    source_database: str | None
    dataset: str | None = Field(description="Address name of the linked dataset, while it is public")


class ItemChangeOut(BaseModel):
    id: uuid.UUID
    title: str
    agency_code: str
    change: str = Field(description="added | removed | changed")
    fields: list[str]


class ListIssueDetailOut(ListIssueOut):
    items: list[ListIssueItemOut]
    changes_since: list[ItemChangeOut] | None = Field(
        description="What changed in the plan since this version (the latest version only; otherwise null)")


def list_issue_detail(db: Session, issue: Any) -> ListIssueDetailOut:
    latest = list_issues.latest_issue(db)
    changes = list_issues.changes_since(db, issue) if latest is not None and latest.id == issue.id else None
    return ListIssueDetailOut(
        **list_issues.issue_summary(issue),
        items=[ListIssueItemOut(**i) for i in list_issues.issued_items(db, issue)],
        changes_since=[ItemChangeOut(**c.as_dict()) for c in changes] if changes is not None else None,
    )


class ListIssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision_number: str = Field(max_length=200, description="For example 1234/QĐ-UBND (at most 120 characters)")
    decision_date: date | None = Field(None, description="Not in the future")
    signer: str = Field(max_length=400)
    signer_title: str = Field("", max_length=400)
    note: str = Field("", max_length=8000)


class PlanOut(BaseModel):
    agency: AgencyRef | None
    planned: int
    published: int
    phases: list[PhaseOut]
    agencies: list[AgencyProgressOut]
    items: list[ItemOut]
    priorities: list[PriorityOut]
    latest_issue: ListIssueOut | None = Field(description="The latest issued version of the open-data list")
    changed_since_issue: int = Field(description="Planned datasets added, removed or changed since the latest issued version")
    issued_list_required: bool = Field(description="Publishing needs the latest issued list (policy open_data_issued_list_required)")
    not_listed: list[DatasetRef] = Field(description="Public datasets the latest issued version does not cover (they stay public)")

    @classmethod
    def of(cls, db: Session, view: plan.PlanView) -> PlanOut:
        return cls(
            agency=AgencyRef(code=view.agency.code, name=view.agency.name_vi) if view.agency else None,
            planned=view.planned, published=view.published,
            latest_issue=ListIssueOut(**list_issues.issue_summary(view.latest_issue)) if view.latest_issue else None,
            changed_since_issue=view.changed_since_issue, issued_list_required=view.issued_list_required,
            not_listed=[DatasetRef(name=d.name, title=d.title) for d in view.not_listed],
            phases=[PhaseOut(number=p.number, name=p.name, starts_on=p.starts_on, ends_on=p.ends_on, target=p.target,
                             planned=p.planned, published=p.published, percent=p.percent) for p in view.phases],
            agencies=[AgencyProgressOut(code=a.code, name=a.name, planned=a.planned, published=a.published, late=a.late,
                                        review_due=a.review_due, review_overdue=a.review_overdue) for a in view.agencies],
            items=[ItemOut(**vars(i)) for i in view.items],
            priorities=[PriorityOut(id=r.id, title=r.title, vote_count=r.vote_count, status=r.status.value,
                                    agency=_agency(db, r.agency_id)) for r in view.priorities],
        )


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=300)
    target_date: date
    description: str = Field("", max_length=4000)
    agency_code: str = Field("", max_length=40)
    source_database: str = Field("", max_length=60)
    phase: int | None = None
    dataset: str = Field("", max_length=100)


class PhaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int
    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    target_count: int


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency_code: str = Field(max_length=40)
    note: str = Field("", max_length=4000)
    reviewed_on: date | None = None


class ReviewOut(BaseModel):
    id: uuid.UUID
    agency_code: str
    reviewed_on: date
    next_due: date
    note: str


class OverdueOut(BaseModel):
    kind: str
    agency_code: str
    agency_name: str
    title: str
    due: date
    days_late: int
    link: str


class OverdueBoardOut(BaseModel):
    agency: AgencyRef | None
    items: list[OverdueOut]
    total: int


def overdue_out(board: plan.OverdueBoard) -> OverdueBoardOut:
    return OverdueBoardOut(
        agency=AgencyRef(code=board.scope.code, name=board.scope.name_vi) if board.scope else None,
        items=[OverdueOut(kind=e.kind, agency_code=e.agency_code, agency_name=e.agency_name, title=e.title, due=e.due,
                          days_late=e.days_late, link=e.link) for e in board.entries],
        total=len(board.entries),
    )


# -- data requests ----------------------------------------------------------------------------


@router.get("/data-requests", response_model=Page[RequestPublic], summary="The requests board")
def list_requests(
    db: DbDep, actor: ActorDep, q: str = Query("", max_length=200), status: str = Query("", max_length=20),
    agency: str = Query("", max_length=40), sort: str = Query("votes", description="votes | newest | status | due"),
    limit: int = 50, offset: int = 0,
) -> Page[RequestPublic]:
    rows, total = data_requests.list_requests(db, actor, data_requests.RequestQuery(
        q=q, status=status, agency_code=agency, sort=sort, limit=limit, offset=offset))
    return Page(items=[RequestPublic.of(db, r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("/data-requests", response_model=RequestPublic, status_code=201, summary="File a data request")
def file_request(body: RequestIn, db: DbDep, actor: LoginDep) -> RequestPublic:
    request = data_requests.file_request(db, actor, data_requests.RequestInput(**body.model_dump()))
    db.commit()
    return RequestPublic.of(db, request)


@router.get("/data-requests/queue", response_model=Page[RequestPublic], summary="An agency's queue, most urgent first")
def agency_queue(db: DbDep, actor: LoginDep, agency: str = Query("", max_length=40), closed: bool = False) -> Page[RequestPublic]:
    from dulieuso.agencies import service as agencies

    agency_id = agencies.get_by_code(db, agency).id if agency else None
    rows = data_requests.queue(db, actor, agency_id, include_closed=closed)
    return Page(items=[RequestPublic.of(db, r) for r in rows], total=len(rows), limit=len(rows), offset=0)


@router.get("/data-requests/{request_id}", response_model=RequestDetail, summary="One request with its history and comments")
def get_request(request_id: uuid.UUID, db: DbDep, actor: ActorDep) -> RequestDetail:
    return RequestDetail.of_detail(db, actor, data_requests.get_request(db, actor, request_id))


@router.post("/data-requests/{request_id}/status", response_model=RequestPublic, summary="Change the status (the agency)")
def change_status(request_id: uuid.UUID, body: StatusIn, db: DbDep, actor: LoginDep) -> RequestPublic:
    request = data_requests.change_status(db, actor, request_id, data_requests.StatusChange(**body.model_dump()))
    db.commit()
    return RequestPublic.of(db, request)


@router.post("/data-requests/{request_id}/answer", response_model=RequestPublic, summary="The agency's answer")
def answer_request(request_id: uuid.UUID, body: AnswerIn, db: DbDep, actor: LoginDep) -> RequestPublic:
    request = data_requests.answer(db, actor, request_id, body.answer)
    db.commit()
    return RequestPublic.of(db, request)


@router.post("/data-requests/{request_id}/votes", response_model=VotesOut, status_code=201,
             summary="Upvote (once per account; a second vote is 409 already_voted)")
def vote(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> VotesOut:
    request = data_requests.vote(db, actor, request_id)
    db.commit()
    return VotesOut(vote_count=request.vote_count, voted=True)


@router.delete("/data-requests/{request_id}/votes", response_model=VotesOut, summary="Take your vote back")
def unvote(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> VotesOut:
    request = data_requests.unvote(db, actor, request_id)
    db.commit()
    return VotesOut(vote_count=request.vote_count, voted=False)


@router.get("/data-requests/{request_id}/comments", response_model=Page[CommentPublic], summary="Comments")
def list_comments(request_id: uuid.UUID, db: DbDep, actor: ActorDep) -> Page[CommentPublic]:
    request = data_requests.get_request(db, actor, request_id)
    rows = [CommentPublic.of(c) for c in data_requests.comments(db, actor, request)]
    return Page(items=rows, total=len(rows), limit=len(rows), offset=0)


@router.post("/data-requests/{request_id}/comments", response_model=CommentPublic, status_code=201, summary="Comment")
def add_comment(request_id: uuid.UUID, body: CommentIn, db: DbDep, actor: LoginDep) -> CommentPublic:
    comment = data_requests.add_comment(db, actor, request_id, body.body)
    db.commit()
    return CommentPublic.of(comment)


@router.put("/data-requests/{request_id}/follow", response_model=FollowOut, summary="Follow (idempotent)")
def follow(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> FollowOut:
    request = data_requests.follow(db, actor, request_id, True)
    db.commit()
    return FollowOut(follower_count=request.follower_count, following=True)


@router.delete("/data-requests/{request_id}/follow", response_model=FollowOut, summary="Stop following")
def unfollow(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> FollowOut:
    request = data_requests.follow(db, actor, request_id, False)
    db.commit()
    return FollowOut(follower_count=request.follower_count, following=False)


# -- feedback, showcase, abuse -----------------------------------------------------------------


@router.get("/dataset-feedback", response_model=Page[FeedbackPublic], summary="Answered feedback (or an agency's queue)")
def list_feedback(
    db: DbDep, actor: ActorDep, dataset: str = Query("", max_length=100), queue: bool = False,
    agency: str = Query("", max_length=40), limit: int = 50, offset: int = 0,
) -> Page[FeedbackPublic]:
    if queue:
        from dulieuso.agencies import service as agencies

        agency_id = agencies.get_by_code(db, agency).id if agency else None
        rows = feedback.agency_queue(db, actor, agency_id)
        return Page(items=[FeedbackPublic.of(db, f) for f in rows], total=len(rows), limit=len(rows), offset=0)
    dataset_id = feedback.dataset_for_feedback(db, dataset).id if dataset else None
    rows, total = feedback.public_list(db, dataset_id=dataset_id, limit=limit, offset=offset)
    return Page(items=[FeedbackPublic.of(db, f) for f in rows], total=total, limit=limit, offset=offset)


@router.post("/dataset-feedback", response_model=FeedbackPublic, status_code=201, summary="Give feedback on a dataset")
def submit_feedback(body: FeedbackIn, db: DbDep, actor: LoginDep) -> FeedbackPublic:
    entry = feedback.submit(db, actor, body.dataset, body.category, body.body)
    db.commit()
    return FeedbackPublic.of(db, entry)


@router.post("/dataset-feedback/{feedback_id}/answer", response_model=FeedbackPublic, summary="The agency's answer")
def answer_feedback(feedback_id: uuid.UUID, body: AnswerIn, db: DbDep, actor: LoginDep) -> FeedbackPublic:
    entry = feedback.answer(db, actor, feedback_id, body.answer)
    db.commit()
    return FeedbackPublic.of(db, entry)


@router.get("/showcases", response_model=Page[ShowcasePublic], summary="Reuses of open data")
def list_showcases(
    db: DbDep, actor: ActorDep, dataset: str = Query("", max_length=100), kind: str = Query("", max_length=20),
    limit: int = 50, offset: int = 0,
) -> Page[ShowcasePublic]:
    rows, total = showcase.list_showcases(db, actor, dataset=dataset, kind=kind, limit=limit, offset=offset)
    used = showcase.datasets_of(db, rows)
    return Page(items=[ShowcasePublic.of(s, used[s.id]) for s in rows], total=total, limit=limit, offset=offset)


@router.post("/showcases", response_model=ShowcasePublic, status_code=201, summary="Add a reuse")
def add_showcase(body: ShowcaseIn, db: DbDep, actor: LoginDep) -> ShowcasePublic:
    entry = showcase.submit(db, actor, showcase.ShowcaseInput(**body.model_dump()))
    db.commit()
    return ShowcasePublic.of(entry, showcase.datasets_of(db, [entry])[entry.id])


@router.get("/abuse-reports", response_model=Page[AbuseOut], summary="Reports to moderate (administrators)")
def list_reports(db: DbDep, actor: LoginDep, status: str = Query("open", pattern="^(open|upheld|dismissed|)$")) -> Page[AbuseOut]:
    rows = abuse.list_reports(db, actor, status=status)
    return Page(items=[_abuse_out(v.report, v.excerpt, v.link) for v in rows], total=len(rows), limit=len(rows), offset=0)


@router.post("/abuse-reports", response_model=AbuseOut, status_code=201, summary="Report user content")
def report_abuse(body: AbuseIn, db: DbDep, actor: LoginDep) -> AbuseOut:
    entry = abuse.report(db, actor, body.target_type, body.target_id, body.reason, body.details)
    db.commit()
    return _abuse_out(entry)


@router.post("/abuse-reports/{report_id}/moderate", response_model=AbuseOut, summary="Uphold (hide) or dismiss")
def moderate(report_id: uuid.UUID, body: ModerateIn, db: DbDep, actor: LoginDep) -> AbuseOut:
    entry = abuse.moderate(db, actor, report_id, uphold=body.decision == "uphold", reason=body.reason)
    db.commit()
    return _abuse_out(entry)


# -- the plan ---------------------------------------------------------------------------------------


@router.get("/open-data-plan", response_model=PlanOut, summary="The open-data plan, progress and priorities")
def get_plan(db: DbDep, actor: ActorDep, agency: str = Query("", max_length=40)) -> PlanOut:
    return PlanOut.of(db, plan.plan_view(db, actor, agency))


@router.get("/open-data-plan/overdue", response_model=OverdueBoardOut, summary="The overdue board")
def get_overdue(db: DbDep, actor: LoginDep, agency: str = Query("", max_length=40)) -> OverdueBoardOut:
    return overdue_out(plan.overdue(db, actor, agency))


@router.post("/open-data-plan/items", response_model=ItemOut, status_code=201, summary="Plan a dataset")
def add_item(body: ItemIn, db: DbDep, actor: LoginDep) -> ItemOut:
    item = plan.add_item(db, actor, plan.ItemInput(**body.model_dump()))
    db.commit()
    return _item_out(db, actor, item.id)


@router.put("/open-data-plan/items/{item_id}", response_model=ItemOut, summary="Change a planned dataset")
def update_item(item_id: uuid.UUID, body: ItemIn, db: DbDep, actor: LoginDep) -> ItemOut:
    plan.update_item(db, actor, item_id, plan.ItemInput(**body.model_dump()))
    db.commit()
    return _item_out(db, actor, item_id)


@router.delete("/open-data-plan/items/{item_id}", status_code=204, summary="Remove a planned dataset")
def delete_item(item_id: uuid.UUID, db: DbDep, actor: LoginDep) -> Response:
    plan.delete_item(db, actor, item_id)
    db.commit()
    return Response(status_code=204)


def _item_out(db: Session, actor: Actor, item_id: uuid.UUID) -> ItemOut:
    item = plan.get_item(db, item_id)
    agency = db.get(Agency, item.agency_id)
    view = plan.plan_view(db, actor, agency.code if agency else "")
    return ItemOut(**vars(next(i for i in view.items if i.id == item_id)))


@router.post("/open-data-plan/phases", response_model=PhaseOut, summary="Create or change a phase (administrators)")
def save_phase(body: PhaseIn, db: DbDep, actor: LoginDep) -> PhaseOut:
    phase = plan.save_phase(db, actor, plan.PhaseInput(**body.model_dump()))
    db.commit()
    view = next(p for p in plan.plan_view(db, actor).phases if p.number == phase.number)
    return PhaseOut(number=view.number, name=view.name, starts_on=view.starts_on, ends_on=view.ends_on, target=view.target,
                    planned=view.planned, published=view.published, percent=view.percent)


@router.post("/open-data-plan/reviews", response_model=ReviewOut, status_code=201, summary="Record a review of the list")
def record_review(body: ReviewIn, db: DbDep, actor: LoginDep) -> ReviewOut:
    review = plan.record_review(db, actor, body.agency_code, body.note, body.reviewed_on)
    db.commit()
    return ReviewOut(id=review.id, agency_code=body.agency_code.upper(), reviewed_on=review.reviewed_on,
                     next_due=review.next_due, note=review.note)


# -- issued versions of the open-data list -------------------------------------------------------------


@router.get("/open-data-list/issues", response_model=Page[ListIssueOut], summary="Issued versions of the open-data list")
def get_list_issues(db: DbDep, actor: ActorDep) -> Page[ListIssueOut]:
    rows = [ListIssueOut(**list_issues.issue_summary(i)) for i in list_issues.list_issues(db, actor)]
    return Page(items=rows, total=len(rows), limit=len(rows), offset=0)


@router.post("/open-data-list/issues", response_model=ListIssueOut, status_code=201,
             summary="Record the decision issuing the open-data list (platform administrator)")
def create_list_issue(body: ListIssueIn, db: DbDep, actor: LoginDep) -> ListIssueOut:
    issue = list_issues.issue_list(db, actor, list_issues.IssueInput(**body.model_dump()))
    db.commit()
    return ListIssueOut(**list_issues.issue_summary(issue))


@router.get("/open-data-list/issues/{ident}", response_model=ListIssueDetailOut,
            summary="One issued version (number or UUID) with its planned datasets")
def get_list_issue(ident: str, db: DbDep, actor: ActorDep) -> ListIssueDetailOut:
    return list_issue_detail(db, list_issues.get_issue(db, actor, ident))
