# SPDX-License-Identifier: AGPL-3.0-or-later
"""The open-data list and plan (danh mục dữ liệu mở, kế hoạch cung cấp), Decree 47
Art. 17(2), 19(1) and 20(3), kept as local policy:

* phases with a minimum number of datasets each, and planned datasets per agency
  (title, description, optional source database, target date, phase); progress is
  planned against published (a plan row linked to a public dataset);
* reviews of each agency's part of the list, due ``open_data_list_review`` (6 months)
  after the last one (or after the agency's first plan row, when never reviewed);
* the update of each public dataset, due by its declared frequency and at the latest
  ``open_data_update`` (3 months) after its last data change;
* the overdue board: datasets past their update, lists past review, plan rows past
  their target date, requests and feedback past their answer deadline. The IT unit and
  administrators see every agency; agency staff their own.

Open requests ranked by votes are shown on the plan as priorities (Art. 19(4)(a)).
Issued versions of the list (the PPC Chairman's decisions, Art. 17(2)) and the
publication gate they feed are in ``list_issues``; the plan page shows the latest one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.agencies import service as agencies
from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.catalog.models import Database
from dulieuso.errors import DomainError, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.opendata import list_issues
from dulieuso.opendata import service as opendata_service
from dulieuso.opendata.models import Dataset, DatasetState, Resource
from dulieuso.opendata.permissions import OpenDataAction
from dulieuso.opendata.requests import clean, it_unit_id, parse_uuid, public_dataset, ranked, today
from dulieuso.opendata.voice_events import VoiceEvent
from dulieuso.opendata.voice_models import (
    DataRequest,
    DatasetFeedback,
    FeedbackStatus,
    ListIssue,
    ListIssueItem,
    ListReview,
    PlannedDataset,
    PlanPhase,
    RequestStatus,
)
from dulieuso.opendata.voice_permissions import VoiceAction
from dulieuso.policy import service as policy

REVIEW_KEY = "open_data_list_review"
UPDATE_KEY = "open_data_update"
DEMO_FILE = Path(__file__).parent / "data" / "voice_demo.yaml"
#: How often data of a declared frequency is due, in days (months for the longer ones).
FREQUENCY_DAYS = {"realtime": 1, "daily": 1, "weekly": 7}
FREQUENCY_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def _as_date(value: date | datetime) -> date:
    return policy.local_date(value) if isinstance(value, datetime) else value


def _by_policy(session: Session, key: str, start: date, fallback_months: int) -> date:
    try:
        return _as_date(policy.deadline(session, key, start))
    except DomainError:  # the policy row is missing: the decree's number
        return _as_date(policy.add_months(start, fallback_months))


# -- phases -------------------------------------------------------------------------------


@dataclass
class PhaseInput:
    number: int
    name: str
    starts_on: date | None
    ends_on: date | None
    target_count: int


def save_phase(session: Session, actor: Actor, data: PhaseInput) -> PlanPhase:
    """Create or change phase ``number`` (administrators: the plan is the province's)."""
    require(actor, VoiceAction.PLAN_PHASES)
    errors: dict[str, list[Msg]] = {}
    if data.number < 1:
        errors["number"] = [Msg("Enter a whole number greater than 0.")]
    if not clean(data.name, 200):
        errors["name"] = [Msg("This field is required.")]
    if data.starts_on is None:
        errors["starts_on"] = [Msg("This field is required.")]
    if data.ends_on is None:
        errors["ends_on"] = [Msg("This field is required.")]
    elif data.starts_on is not None and data.ends_on < data.starts_on:
        errors["ends_on"] = [Msg("The end must not be before the start.")]
    if data.target_count < 0:
        errors["target_count"] = [Msg("Enter a whole number of 0 or more.")]
    if errors:
        raise Invalid(fields=errors)
    assert data.starts_on is not None and data.ends_on is not None
    phase = session.scalar(select(PlanPhase).where(PlanPhase.number == data.number))
    before = snapshot(phase) if phase else None
    if phase is None:
        phase = PlanPhase(number=data.number)
        session.add(phase)
    phase.name = clean(data.name, 200)
    phase.starts_on = data.starts_on
    phase.ends_on = data.ends_on
    phase.target_count = data.target_count
    session.flush()
    record(session, actor, VoiceEvent.PHASE_SAVE, phase, before=before, after=snapshot(phase), label=phase.name)
    return phase


def phases(session: Session) -> list[PlanPhase]:
    return list(session.scalars(select(PlanPhase).order_by(PlanPhase.number)))


def _phase_for(session: Session, day: date) -> PlanPhase | None:
    return session.scalar(
        select(PlanPhase).where(PlanPhase.starts_on <= day, PlanPhase.ends_on >= day).order_by(PlanPhase.number)
    )


# -- planned datasets -------------------------------------------------------------------


@dataclass
class ItemInput:
    title: str
    target_date: date | None
    description: str = ""
    agency_code: str = ""  # administrators choose; staff plan for their own agency
    source_database: str = ""  # catalog code, optional
    phase: int | None = None  # number; empty: the phase the target date falls in
    dataset: str = ""  # id or slug, once published


def _item_values(session: Session, actor: Actor, data: ItemInput, current: PlannedDataset | None) -> dict[str, Any]:
    errors: dict[str, list[Msg]] = {}
    values: dict[str, Any] = {}
    if current is not None and not data.agency_code:
        agency_id = current.agency_id
    elif data.agency_code:
        try:
            agency_id = agencies.get_by_code(session, data.agency_code).id
        except NotFound:
            errors["agency_code"] = [Msg("Unknown agency.")]
            agency_id = None
    else:
        agency_id = actor.agency_id
        if agency_id is None:
            errors["agency_code"] = [Msg("This field is required.")]
    if agency_id is not None:
        require(actor, VoiceAction.PLAN_EDIT, agency_id)
    values["agency_id"] = agency_id
    values["title"] = clean(data.title, 300)
    if len(values["title"]) < 3:
        errors["title"] = [Msg("This field is required.")]
    values["description"] = clean(data.description, 4000)
    if data.target_date is None:
        errors["target_date"] = [Msg("This field is required.")]
    values["target_date"] = data.target_date
    values["source_database_id"] = None
    if data.source_database.strip():
        database = session.scalar(select(Database).where(Database.code == data.source_database.strip()))
        if database is None:
            errors["source_database"] = [Msg("Unknown database.")]
        else:
            values["source_database_id"] = database.id
    values["phase_id"] = None
    if data.phase is not None:
        phase = session.scalar(select(PlanPhase).where(PlanPhase.number == data.phase))
        if phase is None:
            errors["phase"] = [Msg("Unknown phase.")]
        else:
            values["phase_id"] = phase.id
    elif data.target_date is not None:
        found = _phase_for(session, data.target_date)
        values["phase_id"] = found.id if found else None
    values["dataset_id"] = current.dataset_id if current else None
    if data.dataset.strip():
        # A draft or private dataset may be linked too: with the issued-list gate on, it
        # must be on the list (through this link) before it can be published.
        dataset = opendata_service.find_dataset(session, data.dataset.strip())
        if (
            dataset is None or dataset.state is DatasetState.DELETED
            or (agency_id is not None and dataset.agency_id != agency_id)
            or not can(actor, OpenDataAction.EDIT, dataset.agency_id)
        ):
            errors["dataset"] = [Msg("Choose a dataset of the same agency that you may edit.")]
        else:
            values["dataset_id"] = dataset.id
    if errors:
        raise Invalid(fields=errors)
    return values


def add_item(session: Session, actor: Actor, data: ItemInput) -> PlannedDataset:
    """Plan a dataset for an agency (its editors and admins, or an administrator)."""
    item = PlannedDataset(**_item_values(session, actor, data, None))
    session.add(item)
    session.flush()
    record(session, actor, VoiceEvent.PLAN_ITEM_CREATE, item, after=snapshot(item), label=item.title)
    return item


def get_item(session: Session, item_id: uuid.UUID | str) -> PlannedDataset:
    ident = parse_uuid(item_id)
    item = session.get(PlannedDataset, ident) if ident else None
    if item is None:
        raise NotFound(Msg("Planned dataset not found."), code="plan_item_not_found")
    return item


def update_item(session: Session, actor: Actor, item_id: uuid.UUID | str, data: ItemInput) -> PlannedDataset:
    item = get_item(session, item_id)
    require(actor, VoiceAction.PLAN_EDIT, item.agency_id)
    before = snapshot(item)
    for key, value in _item_values(session, actor, data, item).items():
        setattr(item, key, value)
    session.flush()
    record(session, actor, VoiceEvent.PLAN_ITEM_UPDATE, item, before=before, after=snapshot(item), label=item.title)
    return item


def delete_item(session: Session, actor: Actor, item_id: uuid.UUID | str) -> None:
    item = get_item(session, item_id)
    require(actor, VoiceAction.PLAN_EDIT, item.agency_id)
    record(session, actor, VoiceEvent.PLAN_ITEM_DELETE, item, before=snapshot(item), label=item.title)
    session.delete(item)
    session.flush()


def is_published(session: Session, item: PlannedDataset) -> bool:
    return item.dataset_id is not None and public_dataset(session, item.dataset_id) is not None


# -- list reviews -------------------------------------------------------------------------


def record_review(session: Session, actor: Actor, agency_code: str, note: str = "", reviewed_on: date | None = None) -> ListReview:
    """Record that an agency reviewed its part of the open-data list; the next review is
    due ``open_data_list_review`` after it."""
    agency = agencies.get_by_code(session, agency_code)
    require(actor, VoiceAction.LIST_REVIEW, agency.id)
    day = reviewed_on or today()
    if day > today():
        raise Invalid(fields={"reviewed_on": [Msg("The date is in the future.")]})
    review = ListReview(
        agency_id=agency.id, reviewed_on=day, next_due=_by_policy(session, REVIEW_KEY, day, 6),
        note=clean(note, 4000), reviewed_by=actor.label,
    )
    session.add(review)
    session.flush()
    record(session, actor, VoiceEvent.LIST_REVIEW, review, after=snapshot(review), label=agencies.label(agency))
    return review


def review_due(session: Session, agency_id: uuid.UUID) -> tuple[date | None, ListReview | None]:
    """When the agency's list review is next due, and its last review."""
    last = session.scalar(
        select(ListReview).where(ListReview.agency_id == agency_id).order_by(ListReview.reviewed_on.desc(), ListReview.created_at.desc())
    )
    if last is not None:
        return last.next_due, last
    first = session.scalar(select(func.min(PlannedDataset.created_at)).where(PlannedDataset.agency_id == agency_id))
    if first is None:
        return None, None
    return _by_policy(session, REVIEW_KEY, _as_date(first), 6), None


# -- dataset updates ------------------------------------------------------------------------


def last_data_change(session: Session, dataset: Dataset) -> date | None:
    moments = [dataset.published_at] if dataset.published_at else []
    latest = session.scalar(select(func.max(Resource.last_modified)).where(Resource.dataset_id == dataset.id))
    if latest is not None and (not moments or latest > moments[0]):
        moments = [latest]
    return _as_date(moments[0]) if moments else None


def update_due(session: Session, dataset: Dataset) -> date | None:
    """When a public dataset's data must next be updated: by its frequency, and at the
    latest ``open_data_update`` after the last change (publication or a resource change).
    Without either, the stored ``next_update_due`` counts."""
    start = last_data_change(session, dataset)
    if start is None:
        return dataset.next_update_due
    due = _by_policy(session, UPDATE_KEY, start, 3)
    freq = dataset.update_frequency or ""
    if freq in FREQUENCY_DAYS:
        due = min(due, start + timedelta(days=FREQUENCY_DAYS[freq]))
    elif freq in FREQUENCY_MONTHS:
        due = min(due, _as_date(policy.add_months(start, FREQUENCY_MONTHS[freq])))
    return due


# -- progress and the plan page ---------------------------------------------------------------


@dataclass
class PhaseProgress:
    number: int
    name: str
    starts_on: date
    ends_on: date
    target: int
    planned: int
    published: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.published / self.target)) if self.target else 0


@dataclass
class AgencyProgress:
    agency_id: uuid.UUID
    code: str
    name: str
    planned: int = 0
    published: int = 0
    late: int = 0
    review_due: date | None = None
    review_overdue: bool = False


@dataclass
class ItemView:
    id: uuid.UUID
    agency_code: str
    agency_name: str
    title: str
    description: str
    target_date: date
    phase: int | None
    source_database: str | None
    dataset: str | None  # slug when published
    request_id: uuid.UUID | None
    published: bool
    late: bool
    listed: bool = False  # on the latest issued version of the list


@dataclass
class PlanView:
    phases: list[PhaseProgress]
    agencies: list[AgencyProgress]
    items: list[ItemView]
    priorities: list[DataRequest]
    planned: int = 0
    published: int = 0
    agency: Agency | None = None
    #: The latest issued version of the list, and how many planned datasets changed since.
    latest_issue: ListIssue | None = None
    changed_since_issue: int = 0
    #: Whether publishing needs the list (policy switch), and the public datasets the
    #: latest issued version does not cover (published earlier; they stay public).
    issued_list_required: bool = False
    not_listed: list[Dataset] = field(default_factory=list)


def plan_view(session: Session, actor: Actor, agency_code: str = "") -> PlanView:
    """The whole plan (or one agency's): progress per phase and per agency, its rows,
    and the open requests with the most votes."""
    require(actor, VoiceAction.PLAN_VIEW)
    agency = agencies.get_by_code(session, agency_code) if agency_code else None
    stmt = select(PlannedDataset)
    if agency is not None:
        stmt = stmt.where(PlannedDataset.agency_id == agency.id)
    rows = list(session.scalars(stmt.order_by(PlannedDataset.target_date, PlannedDataset.title)))
    all_agencies = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_({r.agency_id for r in rows})))}
    phase_list = phases(session)
    phase_numbers = {p.id: p.number for p in phase_list}
    db_codes = {ident: code for ident, code in session.execute(select(Database.id, Database.code).where(
        Database.id.in_({r.source_database_id for r in rows if r.source_database_id})))}
    slugs: dict[uuid.UUID, str] = {}
    for ident in {r.dataset_id for r in rows if r.dataset_id}:
        found = public_dataset(session, ident)
        if found is not None:
            slugs[ident] = found.name
    now = today()
    latest = list_issues.latest_issue(session)
    listed_ids = set(session.scalars(select(ListIssueItem.plan_item_id).where(ListIssueItem.issue_id == latest.id))) if latest else set()
    items: list[ItemView] = []
    by_agency: dict[uuid.UUID, AgencyProgress] = {}
    for row in rows:
        owner = all_agencies[row.agency_id]
        published = row.dataset_id in slugs
        late = not published and row.target_date < now
        items.append(ItemView(
            id=row.id, agency_code=owner.code, agency_name=owner.name_vi, title=row.title, description=row.description,
            target_date=row.target_date, phase=phase_numbers.get(row.phase_id) if row.phase_id else None,
            source_database=db_codes.get(row.source_database_id) if row.source_database_id else None,
            dataset=slugs.get(row.dataset_id) if row.dataset_id else None, request_id=row.request_id,
            published=published, late=late, listed=row.id in listed_ids,
        ))
        progress = by_agency.setdefault(owner.id, AgencyProgress(owner.id, owner.code, owner.name_vi))
        progress.planned += 1
        progress.published += published
        progress.late += late
    for progress in by_agency.values():
        progress.review_due, _ = review_due(session, progress.agency_id)
        progress.review_overdue = progress.review_due is not None and progress.review_due < now
    phase_views = []
    for phase in phase_list:
        in_phase = [i for i in items if i.phase == phase.number]
        phase_views.append(PhaseProgress(
            phase.number, phase.name, phase.starts_on, phase.ends_on, phase.target_count,
            len(in_phase), sum(i.published for i in in_phase),
        ))
    return PlanView(
        phases=phase_views,
        agencies=sorted(by_agency.values(), key=lambda p: p.name),
        items=items,
        priorities=ranked(session, agency_id=agency.id if agency else None, limit=10),
        planned=len(items),
        published=sum(i.published for i in items),
        agency=agency,
        latest_issue=latest,
        changed_since_issue=len(list_issues.changes_since(session, latest)) if latest else 0,
        issued_list_required=list_issues.required(session),
        # With nothing issued yet every public dataset is off the list: not worth listing.
        not_listed=list_issues.public_not_listed(session, agency.id if agency else None) if latest else [],
    )


# -- the overdue board -----------------------------------------------------------------------


@dataclass
class OverdueEntry:
    kind: str  # dataset_update | list_review | plan_item | data_request | feedback
    agency_code: str
    agency_name: str
    title: str
    due: date
    link: str
    days_late: int = 0


@dataclass
class OverdueBoard:
    scope: Agency | None  # None: every agency
    entries: list[OverdueEntry] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[OverdueEntry]:
        return [e for e in self.entries if e.kind == kind]


def board_scope(session: Session, actor: Actor, agency_code: str = "") -> Agency | None:
    """Whose board ``actor`` may see: administrators and the IT unit any agency's (or all,
    ``None``), agency staff only their own."""
    require(actor, VoiceAction.OVERDUE_VIEW, actor.agency_id)
    unit = it_unit_id(session)
    sees_all = can(actor, VoiceAction.OVERDUE_VIEW) or (unit is not None and can(actor, VoiceAction.OVERDUE_VIEW, unit))
    if agency_code:
        agency = agencies.get_by_code(session, agency_code)
        if not sees_all:
            require(actor, VoiceAction.OVERDUE_VIEW, agency.id)
        return agency
    if sees_all:
        return None
    own = session.get(Agency, actor.agency_id) if actor.agency_id else None
    if own is None:
        raise NotFound(Msg("Agency not found."))
    return own


def overdue(session: Session, actor: Actor, agency_code: str = "", *, on: date | None = None) -> OverdueBoard:
    """Everything past due, oldest first, for the IT unit (all agencies) or one agency."""
    scope = board_scope(session, actor, agency_code)
    day = on or today()
    board = OverdueBoard(scope=scope)
    names = {a.id: a for a in session.scalars(select(Agency))}

    def add(kind: str, agency_id: uuid.UUID | None, title: str, due: date, link: str) -> None:
        agency = names.get(agency_id) if agency_id else None
        board.entries.append(OverdueEntry(
            kind, agency.code if agency else "", agency.name_vi if agency else "", title, due, link, (day - due).days,
        ))

    def mine(agency_id: uuid.UUID | None) -> bool:
        return scope is None or agency_id == scope.id

    datasets = session.scalars(select(Dataset).where(Dataset.state == DatasetState.ACTIVE, Dataset.private.is_(False)))
    for dataset in datasets:
        if not mine(dataset.agency_id):
            continue
        due = update_due(session, dataset)
        if due is not None and due < day:
            add("dataset_update", dataset.agency_id, dataset.title, due, f"/datasets/{dataset.name}")
    agency_ids = {a for (a,) in session.execute(select(PlannedDataset.agency_id).distinct())}
    agency_ids |= {a for (a,) in session.execute(select(ListReview.agency_id).distinct())}
    for agency_id in agency_ids:
        if not mine(agency_id):
            continue
        due_on, _ = review_due(session, agency_id)
        if due_on is not None and due_on < day:
            code = names[agency_id].code
            add("list_review", agency_id, names[agency_id].name_vi, due_on, f"/data/plan/{code}")
    for item in session.scalars(select(PlannedDataset).where(PlannedDataset.target_date < day)):
        if mine(item.agency_id) and not is_published(session, item):
            add("plan_item", item.agency_id, item.title, item.target_date, f"/data/plan/{names[item.agency_id].code}")
    open_states = [RequestStatus.NEW.value, RequestStatus.UNDER_REVIEW.value, RequestStatus.PLANNED.value]
    for request in session.scalars(select(DataRequest).where(
        DataRequest.responded_at.is_(None), DataRequest.status.in_(open_states), DataRequest.due_on < day,
        DataRequest.hidden.is_(False),
    )):
        if mine(request.agency_id):
            add("data_request", request.agency_id, request.title, request.due_on, f"/data/requests/{request.id}")
    for feedback in session.scalars(select(DatasetFeedback).where(
        DatasetFeedback.status == FeedbackStatus.OPEN, DatasetFeedback.due_on < day, DatasetFeedback.hidden.is_(False),
    )):
        if mine(feedback.agency_id):
            add("feedback", feedback.agency_id, feedback.body[:120], feedback.due_on, "/data/feedback")
    board.entries.sort(key=lambda e: (e.due, e.kind, e.title))
    return board


# -- demo data ---------------------------------------------------------------------------------


def load_demo_list(session: Session, actor: Actor, path: Path = DEMO_FILE) -> dict[str, int]:
    """Load the demo's plan phases and planned datasets (linked to the demo datasets that
    exist, drafts included) and record its issued version of the list when none is
    issued yet. Called by the open-data demo between creating its datasets and
    publishing them, so they are on the issued list when the gate asks. Rows that
    already exist are left alone."""
    data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    counts = {"phases": 0, "plan_items": 0, "list_issues": 0}
    for phase in data.get("phases", []):
        if session.scalar(select(PlanPhase).where(PlanPhase.number == phase["number"])) is None:
            save_phase(session, actor, PhaseInput(phase["number"], phase["name"], phase["starts_on"], phase["ends_on"], phase["target_count"]))
            counts["phases"] += 1
    for item in data.get("plan_items", []):
        try:
            agency = agencies.get_by_code(session, item["agency"])
        except NotFound:
            continue
        exists = session.scalar(select(PlannedDataset).where(PlannedDataset.agency_id == agency.id, PlannedDataset.title == item["title"]))
        if exists is None:
            source = item.get("source_database", "")
            linked = item.get("dataset", "")
            add_item(session, actor, ItemInput(
                title=item["title"], description=item.get("description", ""), agency_code=agency.code,
                target_date=item["target_date"], phase=item.get("phase"),
                source_database=source if source and session.scalar(select(Database.id).where(Database.code == source)) else "",
                dataset=linked if linked and opendata_service.find_dataset(session, linked) is not None else "",
            ))
            counts["plan_items"] += 1
    spec = data.get("issued_list")
    if spec and list_issues.latest_issue(session) is None and list_issues.current_items(session):
        list_issues.issue_list(session, actor, list_issues.IssueInput(
            decision_number=spec["decision_number"], decision_date=min(spec["decision_date"], today()),
            signer=spec["signer"], signer_title=spec.get("signer_title", ""), note=spec.get("note", ""),
        ))
        counts["list_issues"] += 1
    return counts


def load_demo(session: Session, actor: Actor, path: Path = DEMO_FILE) -> dict[str, int]:
    """Load the demo plan with its issued list (``load_demo_list``; usually the open-data
    demo has loaded it already, before publishing) and the sample requests (once: rows
    that already exist are left alone)."""
    from dulieuso.auth import service as auth
    from dulieuso.opendata import requests as data_requests

    data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    counts = {**load_demo_list(session, actor, path), "data_requests": 0}
    for entry in data.get("requests", []):
        if session.scalar(select(DataRequest).where(DataRequest.title == entry["title"])) is not None:
            continue
        user = auth.find_user_by_email(session, entry["requester"])
        if user is None:
            continue
        filer = auth.actor_for(user)
        request = data_requests.file_request(session, filer, data_requests.RequestInput(
            title=entry["title"], description=entry["description"], use_case=entry.get("use_case", ""),
            agency_code=entry.get("agency", ""),
        ))
        counts["data_requests"] += 1
        for email in entry.get("voters", []):
            voter = auth.find_user_by_email(session, email)
            if voter is not None and voter.id != user.id:
                data_requests.vote(session, auth.actor_for(voter), request.id)
    return counts
