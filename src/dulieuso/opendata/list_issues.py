# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issued versions of the open-data list (Decree 47 Art. 17(2), kept as local policy).

The Chairman of the Provincial People's Committee issues the open-data list (danh mục
dữ liệu mở) and the publication plan by decision; the platform administrator records
the decision (number, date, signer) here, and the platform freezes every planned
dataset of the plan into an immutable ``ListIssue.snapshot``::

    {"items": [item_dict, ...], "issued": {"number", "decision_number", ...}}

Items are sorted by agency code, target date and title. Once issued, a version never
changes (an ORM guard refuses updates and deletes); ``open_data_list_issue_items``
repeats its planned-dataset ids for lookups.

The publication gate (``service.publication_blockers``) asks :func:`on_issued_list`
while the ``open_data_issued_list_required`` switch is on: a dataset may become public
only when a planned dataset linked to it is on the **latest** issued version. A later
issue never unpublishes a dataset that is already public; :func:`public_not_listed`
shows the plan page which public datasets the latest version does not cover.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso import decisions
from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record
from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.models import Database
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.opendata.models import Dataset, DatasetState
from dulieuso.opendata.voice_events import VoiceEvent
from dulieuso.opendata.voice_models import ListIssue, ListIssueItem, PlannedDataset, PlanPhase
from dulieuso.opendata.voice_permissions import VoiceAction
from dulieuso.policy import service as policy

#: The policy switch of the publication gate (1: only datasets on the issued list).
REQUIRED_KEY = "open_data_issued_list_required"
#: The fields of a snapshot item compared to tell what changed since an issue.
ITEM_FIELDS = ("agency_code", "agency_name", "title", "description", "target_date", "phase", "source_database", "dataset")


class ListIssueImmutable(RuntimeError):
    """An issued version of the open-data list was about to be changed or deleted."""


decisions.make_immutable(ListIssueImmutable, ListIssue, ListIssueItem)

#: The issuing decision (number, date, signer) as the administrator records it.
IssueInput = decisions.DecisionInput


# -- reading -------------------------------------------------------------------------------


def list_issues(session: Session, actor: Actor) -> list[ListIssue]:
    """Every issued version, newest first (public, like the plan)."""
    require(actor, VoiceAction.PLAN_VIEW)
    return list(session.scalars(select(ListIssue).order_by(ListIssue.number.desc())))


def get_issue(session: Session, actor: Actor, ident: int | str) -> ListIssue:
    """Issued version ``ident``: its number (``3``) or its UUID (public)."""
    require(actor, VoiceAction.PLAN_VIEW)
    issue = decisions.find(session, ListIssue, ident)
    if issue is None:
        raise NotFound(Msg("Version {n} of the open-data list not found.", n=str(ident).strip()[:40]), code="list_issue_not_found")
    return issue


def latest_issue(session: Session) -> ListIssue | None:
    return decisions.latest(session, ListIssue)


def issue_summary(issue: ListIssue) -> dict[str, Any]:
    """The version's header without its items (lists, API)."""
    return {
        "id": str(issue.id),
        "number": issue.number,
        "decision_number": issue.decision_number,
        "decision_date": issue.decision_date,
        "signer": issue.signer,
        "signer_title": issue.signer_title,
        "note": issue.note,
        "issued_at": issue.issued_at,
        "issued_by": issue.issued_by,
        "item_count": issue.item_count,
    }


def _is_public(dataset: Dataset | None) -> bool:
    return dataset is not None and dataset.state is DatasetState.ACTIVE and not dataset.private


def issued_items(session: Session, issue: ListIssue) -> list[dict[str, Any]]:
    """The version's items as shown to readers: the snapshot, except that a linked
    dataset's address name is given only while that dataset is public (a draft's name
    is not the public's to see, STYLE.md §8)."""
    items = [dict(i) for i in issue.snapshot.get("items", [])]
    slugs = {i["dataset"] for i in items if i.get("dataset")}
    public = set(session.scalars(select(Dataset.name).where(
        Dataset.name.in_(slugs), Dataset.state == DatasetState.ACTIVE, Dataset.private.is_(False)))) if slugs else set()
    for item in items:
        if item.get("dataset") not in public:
            item["dataset"] = None
    return items


def current_items(session: Session) -> list[dict[str, Any]]:
    """Every planned dataset now, in issue order (what the next version would contain)."""
    rows = list(session.scalars(select(PlannedDataset)))
    owners = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_({r.agency_id for r in rows})))} if rows else {}
    phases = {ident: number for ident, number in session.execute(select(PlanPhase.id, PlanPhase.number))}
    source_ids = {r.source_database_id for r in rows if r.source_database_id}
    codes = {ident: code for ident, code in session.execute(select(Database.id, Database.code).where(Database.id.in_(source_ids)))}
    dataset_ids = {r.dataset_id for r in rows if r.dataset_id}
    slugs = {ident: name for ident, name in session.execute(
        select(Dataset.id, Dataset.name).where(Dataset.id.in_(dataset_ids), Dataset.state != DatasetState.DELETED))}
    items = [
        {
            "id": str(r.id),
            "agency_code": owners[r.agency_id].code,
            "agency_name": owners[r.agency_id].name_vi,
            "title": r.title,
            "description": r.description,
            "target_date": r.target_date.isoformat(),
            "phase": phases.get(r.phase_id) if r.phase_id else None,
            "source_database": codes.get(r.source_database_id) if r.source_database_id else None,
            "dataset": slugs.get(r.dataset_id) if r.dataset_id else None,
        }
        for r in rows
    ]
    return sorted(items, key=lambda i: (i["agency_code"], i["target_date"], i["title"], i["id"]))


# -- what changed since an issue -------------------------------------------------------------


@dataclass
class ItemChange:
    id: str
    title: str
    agency_code: str
    change: Literal["added", "removed", "changed"]
    fields: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "agency_code": self.agency_code, "change": self.change, "fields": self.fields}


def diff_items(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[ItemChange]:
    """Planned datasets added, removed and changed (with the names of the changed fields)."""
    before = {i["id"]: i for i in old}
    after = {i["id"]: i for i in new}
    changes: list[ItemChange] = []
    for ident in sorted(set(before) | set(after)):
        a, b = before.get(ident), after.get(ident)
        if a is None:
            assert b is not None
            changes.append(ItemChange(ident, b["title"], b["agency_code"], "added"))
        elif b is None:
            changes.append(ItemChange(ident, a["title"], a["agency_code"], "removed"))
        else:
            fields = [name for name in ITEM_FIELDS if a.get(name) != b.get(name)]
            if fields:
                changes.append(ItemChange(ident, b["title"], b["agency_code"], "changed", fields))
    return sorted(changes, key=lambda c: (c.agency_code, c.title, c.id))


def changes_since(session: Session, issue: ListIssue | None = None) -> list[ItemChange]:
    """What changed in the plan since ``issue`` (default: the latest one); with no issue
    yet, every planned dataset is "added"."""
    issue = issue if issue is not None else latest_issue(session)
    issued = list(issue.snapshot.get("items", [])) if issue else []
    return diff_items(issued, current_items(session))


# -- the publication gate ----------------------------------------------------------------------


def required(session: Session) -> bool:
    """Is the gate on (policy ``open_data_issued_list_required``; off when not seeded)?"""
    return policy.switch_on(session, REQUIRED_KEY, default=False)


def on_issued_list(session: Session, dataset: Dataset) -> bool:
    """Is a planned dataset linked to ``dataset`` among the items of the latest issued
    version? (An item on an older version only does not count.)"""
    latest = latest_issue(session)
    if latest is None:
        return False
    stmt = (
        select(func.count())
        .select_from(PlannedDataset)
        .join(ListIssueItem, ListIssueItem.plan_item_id == PlannedDataset.id)
        .where(PlannedDataset.dataset_id == dataset.id, ListIssueItem.issue_id == latest.id)
    )
    return bool(session.scalar(stmt))


def public_not_listed(session: Session, agency_id: uuid.UUID | None = None) -> list[Dataset]:
    """Public datasets that no planned dataset on the latest issued version links to
    (published before the gate, or while it was off): they stay public, and the plan
    page lists them so the next decision can cover them."""
    latest = latest_issue(session)
    stmt = select(Dataset).where(Dataset.state == DatasetState.ACTIVE, Dataset.private.is_(False))
    if latest is not None:
        listed = (
            select(PlannedDataset.dataset_id)
            .join(ListIssueItem, ListIssueItem.plan_item_id == PlannedDataset.id)
            .where(ListIssueItem.issue_id == latest.id, PlannedDataset.dataset_id.is_not(None))
        )
        stmt = stmt.where(Dataset.id.not_in(listed))
    if agency_id is not None:
        stmt = stmt.where(Dataset.agency_id == agency_id)
    return list(session.scalars(stmt.order_by(Dataset.title)))


# -- issuing -----------------------------------------------------------------------------------


def issue_list(session: Session, actor: Actor, data: IssueInput) -> ListIssue:
    """Record an issued version: every planned dataset frozen with the decision's details
    (the platform administrator only).

    Refused (409 ``nothing_to_issue``) when the plan is empty or unchanged since the
    latest version; a decision older than the latest version's is a 422.
    """
    require(actor, VoiceAction.LIST_ISSUE)
    errors, when = decisions.decision_errors(data, latest_allowed=policy.today())
    if errors:
        raise Invalid(fields=errors)
    assert when is not None
    items = current_items(session)
    if not items:
        raise Conflict(Msg("The plan has no planned dataset to issue yet."), code="nothing_to_issue")
    latest = latest_issue(session)
    if latest is not None and not diff_items(list(latest.snapshot.get("items", [])), items):
        raise Conflict(
            Msg("The plan has not changed since version {n}: there is nothing new to issue.", n=latest.number),
            code="nothing_to_issue",
        )
    header = decisions.next_header(session, ListIssue, actor, data, when, latest)
    number = header["number"]
    issue = ListIssue(**decisions.version_fields(header), item_count=len(items), snapshot={"items": items, "issued": header})
    session.add(issue)
    session.flush()
    session.add_all(ListIssueItem(issue_id=issue.id, plan_item_id=uuid.UUID(i["id"])) for i in items)
    session.flush()
    record(
        session, actor, VoiceEvent.LIST_ISSUE, issue, after=header, label=f"#{number} {header['decision_number']}",
        details={"items": [i["id"] for i in items]},
    )
    return issue
