# SPDX-License-Identifier: AGPL-3.0-or-later
"""Agencies (cơ quan, đơn vị) and their focal points (cán bộ đầu mối): the rules.

Functions that act for someone take ``(session, actor, ...)``, check the actor's
permission themselves and record every write in the audit trail, in the caller's
transaction (the caller commits). Pages and the API get view models (``AgencyView``,
``AgencyProfile``), never ORM objects.

A few small lookups (``get``, ``get_by_code``, ``names_by_id``, ``active_choices``,
``summary``) serve other domains and take no actor: the list of agencies is public.

Dates: ``valid_to`` is the first day an agency (or focal point) no longer acts; see
``status.py`` for when an agency counts as active.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.agencies import validation as check
from dulieuso.agencies.interfaces import handovers, register_handover
from dulieuso.agencies.models import Agency, AgencyType, FocalPoint
from dulieuso.agencies.status import (
    STATUSES,
    active_clause,
    is_active,
    today,
    type_rank,
)
from dulieuso.agencies.viewmodels import (
    AgencyProfile,
    AgencyView,
    FocalPointView,
    HistoryEntry,
    TreeNode,
    agency_ref,
    focal_point_view,
    public_view,
    public_views,
)
from dulieuso.audit import service as audit
from dulieuso.audit.service import EventTag, record, snapshot
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import Action, Actor, can, require
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

DATA_DIR = Path(__file__).parent / "data"
MAX_LIMIT = 500

#: Fields of an agency that ``update_agency`` may change.
UPDATABLE_FIELDS = frozenset(
    {
        "name_vi",
        "name_en",
        "short_name",
        "type",
        "parent_code",
        "address",
        "website",
        "email",
        "phone",
        "is_it_unit",
        "valid_from",
        "history_note",
    }
)
#: The fields an agency administrator may change on their own agency.
CONTACT_FIELDS = frozenset({"address", "website", "email", "phone"})


def label(agency: Agency) -> str:
    """How an agency is named in audit records: code and Vietnamese name."""
    return f"{agency.code} – {agency.name_vi}"


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


# -- small lookups for other domains ---------------------------------------------------


def get(session: Session, agency_id: uuid.UUID | None) -> Agency | None:
    return session.get(Agency, agency_id) if agency_id else None


def get_by_code(session: Session, code: str) -> Agency:
    """The agency with ``code`` (any case), or ``NotFound``."""
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise NotFound(Msg("Agency {code} not found.", code=code), code="agency_not_found")
    return agency


@dataclass(frozen=True)
class Summary:
    active_agencies: int
    former_agencies: int
    with_focal_point: int


def summary(session: Session) -> Summary:
    active = active_clause()
    total_active = session.scalar(select(func.count()).where(active)) or 0
    total = session.scalar(select(func.count()).select_from(Agency)) or 0
    with_fp = (
        session.scalar(
            select(func.count(func.distinct(FocalPoint.agency_id)))
            .join(Agency, Agency.id == FocalPoint.agency_id)
            .where(FocalPoint.valid_to.is_(None), active)
        )
        or 0
    )
    return Summary(
        active_agencies=total_active,
        former_agencies=total - total_active,
        with_focal_point=with_fp,
    )


def names_by_id(session: Session) -> dict[uuid.UUID, str]:
    return {
        agency_id: name for agency_id, name in session.execute(select(Agency.id, Agency.name_vi))
    }


def active_choices(session: Session) -> list[tuple[str, str]]:
    """``(code, name_vi)`` of every active agency, for select boxes."""
    rows = session.execute(
        select(Agency.code, Agency.name_vi)
        .where(active_clause())
        .order_by(type_rank(), Agency.name_vi, Agency.code)
    )
    return [(code, name) for code, name in rows]


def it_unit(session: Session) -> Agency | None:
    """The active provincial IT unit (đơn vị chuyên trách CNTT), if one is marked."""
    return session.scalar(
        select(Agency).where(Agency.is_it_unit.is_(True), active_clause()).order_by(Agency.code)
    )


def search_text_for(agency: Agency) -> str:
    """What ``q`` is matched against: code, names and short name, folded.

    A copy without punctuation follows, so "khcn" finds "Sở KH&CN".
    """
    parts = (agency.code, agency.name_vi, agency.name_en, agency.short_name)
    folded = fold(" ".join(p for p in parts if p))
    compact = " ".join(re.sub(r"[^a-z0-9 ]", "", folded).split())
    return folded if compact == folded else f"{folded} {compact}"


# -- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyQuery:
    #: Words to find in code, names or short name; diacritics and case are ignored.
    q: str | None = None
    type: AgencyType | str | None = None
    #: Code of the parent agency.
    parent: str | None = None
    status: str = "active"
    limit: int = 50
    offset: int = 0


def list_agencies(
    session: Session, actor: Actor, query: AgencyQuery = AgencyQuery()
) -> tuple[list[AgencyView], int]:
    """Agencies matching ``query`` in list order, and how many match in all."""
    require(actor, Action.AGENCY_VIEW)
    errors: dict[str, list[Msg]] = {}
    stmt = select(Agency)
    if query.status not in STATUSES:
        errors["status"] = [Msg("Choose active, former or all.")]
    elif query.status == "active":
        stmt = stmt.where(active_clause())
    elif query.status == "former":
        stmt = stmt.where(~active_clause())
    if query.type:
        try:
            stmt = stmt.where(Agency.type == AgencyType(query.type))
        except ValueError:
            errors["type"] = [Msg("Choose an agency type.")]
    if query.parent:
        parent_id = session.scalar(
            select(Agency.id).where(Agency.code == query.parent.strip().upper())
        )
        if parent_id is None:
            errors["parent"] = [Msg("Agency {code} not found.", code=query.parent)]
        stmt = stmt.where(Agency.parent_id == parent_id)
    if not 1 <= query.limit <= MAX_LIMIT:
        errors["limit"] = [Msg("Must be between 1 and {n}.", n=MAX_LIMIT)]
    if query.offset < 0:
        errors["offset"] = [Msg("Must be 0 or more.")]
    if errors:
        raise Invalid(fields=errors)
    for term in fold(query.q).split():
        stmt = stmt.where(Agency.search_text.contains(term, autoescape=True))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(type_rank(), Agency.name_vi, Agency.code)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return public_views(session, rows), total


def profile(session: Session, actor: Actor, code: str) -> AgencyProfile:
    """One agency with its sub-agencies and the agencies that merged into it."""
    require(actor, Action.AGENCY_VIEW)
    agency = get_by_code(session, code)
    on = today()
    order = (type_rank(), Agency.name_vi, Agency.code)
    children = session.scalars(
        select(Agency).where(Agency.parent_id == agency.id).order_by(*order)
    ).all()
    predecessors = session.scalars(
        select(Agency).where(Agency.successor_id == agency.id).order_by(*order)
    ).all()
    refs = [agency_ref(c, on) for c in children]
    return AgencyProfile(
        agency=public_view(session, agency),
        children=[r for r in refs if r.active],
        former_children=[r for r in refs if not r.active],
        predecessors=[agency_ref(p, on) for p in predecessors],
    )


def tree(session: Session, actor: Actor) -> list[TreeNode]:
    """Active agencies as a tree; those without an active parent are roots."""
    require(actor, Action.AGENCY_VIEW)
    on = today()
    rows = session.scalars(
        select(Agency).where(active_clause(on)).order_by(type_rank(), Agency.name_vi, Agency.code)
    ).all()
    nodes = {a.id: TreeNode(agency_ref(a, on)) for a in rows}
    roots: list[TreeNode] = []
    for a in rows:
        parent = nodes.get(a.parent_id) if a.parent_id else None
        (parent.children if parent else roots).append(nodes[a.id])
    return roots


def editable_fields(actor: Actor, agency: Agency) -> frozenset[str]:
    """The fields ``actor`` may change on ``agency`` (empty: none)."""
    if not can(actor, Action.AGENCY_UPDATE, agency.id):
        return frozenset()
    if actor.role is Role.PLATFORM_ADMIN:
        return UPDATABLE_FIELDS
    return CONTACT_FIELDS


# -- validation ----------------------------------------------------------------------


_FIELD_CHECKS: dict[str, Callable[[object], Any]] = {
    "code": check.clean_code,
    "name_vi": lambda v: check.clean_text(v, max_length=300, required=True),
    "name_en": lambda v: check.clean_text(v, max_length=300),
    "short_name": lambda v: check.clean_text(v, max_length=120),
    "type": check.clean_type,
    "address": lambda v: check.clean_text(v, max_length=400),
    "website": check.clean_website,
    "email": check.clean_email,
    "phone": check.clean_phone,
    "is_it_unit": check.clean_bool,
    "valid_from": check.clean_date,
    "valid_to": check.clean_date,
    "history_note": lambda v: check.clean_text(v, max_length=4000, multiline=True),
}


def _descends_from(session: Session, candidate: Agency, ancestor_id: uuid.UUID) -> bool:
    """Is ``candidate`` the agency ``ancestor_id`` or below it in the tree?"""
    seen: set[uuid.UUID] = set()
    node: Agency | None = candidate
    while node is not None and node.id not in seen:
        if node.id == ancestor_id:
            return True
        seen.add(node.id)
        node = session.get(Agency, node.parent_id) if node.parent_id else None
    return False


def _clean_agency(
    session: Session, values: Mapping[str, Any], agency: Agency | None
) -> dict[str, Any]:
    """Check ``values``; returns model attributes, or raises ``Invalid`` with every problem."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[Msg]] = {}
    for name, value in values.items():
        if name == "parent_code":
            continue
        try:
            cleaned[name] = _FIELD_CHECKS[name](value)
        except check.FieldError as error:
            errors.setdefault(name, []).append(error.message)
    if "code" in cleaned:
        taken = session.scalar(select(Agency.id).where(Agency.code == cleaned["code"]))
        if taken is not None and (agency is None or taken != agency.id):
            errors["code"] = [
                Msg("An agency with code {code} already exists.", code=cleaned["code"])
            ]
    if "parent_code" in values:
        try:
            parent_code = check.clean_text(values["parent_code"], max_length=40)
        except check.FieldError as error:
            errors["parent_code"] = [error.message]
            parent_code = None
        parent = None
        if parent_code:
            parent = session.scalar(select(Agency).where(Agency.code == parent_code.upper()))
            if parent is None:
                errors["parent_code"] = [Msg("Agency {code} not found.", code=parent_code)]
            elif not is_active(parent):
                errors["parent_code"] = [
                    Msg("{name} is a former agency; choose a current one.", name=parent.name_vi)
                ]
            elif agency is not None and _descends_from(session, parent, agency.id):
                errors["parent_code"] = [
                    Msg(
                        "An agency cannot be placed under itself or under one of its own sub-agencies."
                    )
                ]
        if "parent_code" not in errors:
            cleaned["parent_id"] = parent.id if parent else None
    start = cleaned.get("valid_from", agency.valid_from if agency else None)
    end = cleaned.get("valid_to", agency.valid_to if agency else None)
    if start and end and end <= start and not {"valid_from", "valid_to"} & set(errors):
        field_name = "valid_to" if "valid_to" in cleaned else "valid_from"
        errors[field_name] = [Msg("The end date must be after the start date.")]
    if errors:
        raise Invalid(fields=errors)
    return cleaned


# -- writing agencies ----------------------------------------------------------------


@dataclass
class AgencyInput:
    """A new agency. ``valid_to`` is for registering a historical agency."""

    code: str
    name_vi: str
    type: AgencyType | str
    name_en: str | None = None
    short_name: str | None = None
    parent_code: str | None = None
    address: str | None = None
    website: str | None = None
    email: str | None = None
    phone: str | None = None
    is_it_unit: bool = False
    valid_from: date | str | None = None
    valid_to: date | str | None = None
    history_note: str | None = None


def create_agency(session: Session, actor: Actor, data: AgencyInput) -> Agency:
    """Register an agency (platform administrator only)."""
    require(actor, Action.AGENCY_CREATE)
    cleaned = _clean_agency(session, asdict(data), None)
    agency = Agency(**cleaned)
    agency.search_text = search_text_for(agency)
    session.add(agency)
    session.flush()
    record(
        session, actor, EventTag.AGENCY_CREATE, agency, after=snapshot(agency), label=label(agency)
    )
    return agency


def update_agency(
    session: Session, actor: Actor, agency: Agency, changes: Mapping[str, Any]
) -> Agency:
    """Change some fields of ``agency``; keys are from ``UPDATABLE_FIELDS``.

    The platform administrator may change every field; an agency administrator only the
    contact fields (address, website, email, phone) of their own agency. The code is a
    stable identifier (URLs, other systems) and cannot change. A new ``name_vi`` (a
    rename) adds a dated line to the history note.
    """
    require(actor, Action.AGENCY_UPDATE, agency.id)
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if unknown:
        raise Invalid(fields={name: [Msg("Unknown field.")] for name in unknown})
    not_allowed = sorted(set(changes) - editable_fields(actor, agency))
    if not_allowed:
        raise Forbidden(
            Msg(
                "You may only change the contact details of your agency, not: {fields}.",
                fields=", ".join(not_allowed),
            ),
            code="forbidden.agency.update_fields",
        )
    cleaned = _clean_agency(session, changes, agency)
    before = snapshot(agency)
    old_name = agency.name_vi
    for key, value in cleaned.items():
        setattr(agency, key, value)
    if agency.name_vi != old_name:
        line = f"{_day(today())}: {old_name} → {agency.name_vi}"
        agency.history_note = f"{agency.history_note}\n{line}" if agency.history_note else line
    search_text = search_text_for(agency)
    after = snapshot(agency)
    if not audit.diff(before, after) and search_text == agency.search_text:
        return agency  # nothing changed: no audit event
    agency.search_text = search_text
    record(
        session,
        actor,
        EventTag.AGENCY_UPDATE,
        agency,
        before=before,
        after=after,
        label=label(agency),
    )
    return agency


def _close_focal_point(session: Session, actor: Actor, agency: Agency, on: date) -> None:
    point = session.scalar(
        select(FocalPoint).where(FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None))
    )
    if point is None:
        return
    before = snapshot(point)
    point.valid_to = max(on, point.valid_from)
    record(
        session,
        actor,
        EventTag.FOCAL_POINT_CLOSE,
        point,
        before=before,
        after=snapshot(point),
        label=f"{agency.code}: {point.full_name}",
    )


def _check_end_date(effective: date, agencies: Sequence[Agency]) -> list[Msg]:
    if effective > today():
        return [
            Msg(
                "The date cannot be in the future: record the change on or after the day it takes effect."
            )
        ]
    late = [a for a in agencies if a.valid_from and a.valid_from >= effective]
    if late:
        return [
            Msg(
                "The date must be after the start of {name} ({date}).",
                name=late[0].name_vi,
                date=_day(late[0].valid_from),  # type: ignore[arg-type]
            )
        ]
    return []


# Built-in handovers: staff accounts and sub-agencies follow their agency into the
# successor. Other domains register theirs (see interfaces.py).


def _hand_over_users(session: Session, actor: Actor, source: Agency, successor: Agency) -> int:
    staff = session.scalars(select(User).where(User.agency_id == source.id)).all()
    for user in staff:
        user.agency_id = successor.id
    return len(staff)


def _hand_over_sub_agencies(
    session: Session, actor: Actor, source: Agency, successor: Agency
) -> int:
    children = session.scalars(
        select(Agency).where(Agency.parent_id == source.id, active_clause())
    ).all()
    for child in children:
        before = snapshot(child)
        child.parent_id = successor.id
        record(
            session,
            actor,
            EventTag.AGENCY_UPDATE,
            child,
            before=before,
            after=snapshot(child),
            label=label(child),
            details={"handover_from": source.code, "to": successor.code},
        )
    return len(children)


register_handover("users", _hand_over_users)
register_handover("sub_agencies", _hand_over_sub_agencies)


@dataclass(frozen=True)
class MergeResult:
    successor: Agency
    sources: list[Agency]
    #: source code -> handover name -> how many moved
    moved: dict[str, dict[str, int]]


def merge_agencies(
    session: Session,
    actor: Actor,
    *,
    source_codes: Sequence[str],
    successor_code: str,
    effective: date | None = None,
) -> MergeResult:
    """Merge the source agencies into the successor on ``effective`` (default today).

    Each source ends (``valid_to``, ``successor``), its focal point is closed, and every
    registered handover moves what it owned to the successor, all in this transaction.
    """
    require(actor, Action.AGENCY_MERGE)
    effective = effective or today()
    errors: dict[str, list[Msg]] = {}
    codes = list(dict.fromkeys(c.strip().upper() for c in source_codes if c and c.strip()))
    sources: list[Agency] = []
    for code in codes:
        found = session.scalar(select(Agency).where(Agency.code == code))
        if found is None:
            errors.setdefault("source_codes", []).append(Msg("Agency {code} not found.", code=code))
        elif not is_active(found):
            errors.setdefault("source_codes", []).append(
                Msg("{name} is already a former agency.", name=found.name_vi)
            )
        else:
            sources.append(found)
    if not codes:
        errors["source_codes"] = [Msg("Choose at least one agency to merge.")]
    successor = session.scalar(
        select(Agency).where(Agency.code == (successor_code or "").strip().upper())
    )
    if successor is None:
        errors["successor_code"] = [Msg("Agency {code} not found.", code=successor_code)]
    elif not is_active(successor):
        errors["successor_code"] = [
            Msg("{name} is a former agency; choose a current one.", name=successor.name_vi)
        ]
    elif successor.code in codes:
        errors["successor_code"] = [Msg("The successor cannot also be merged.")]
    elif any(_descends_from(session, successor, s.id) for s in sources):
        errors["successor_code"] = [
            Msg("The successor cannot be a sub-agency of an agency being merged.")
        ]
    date_errors = _check_end_date(effective, sources)
    if date_errors:
        errors["effective_date"] = date_errors
    if errors or successor is None:
        raise Invalid(Msg("The merge could not be recorded."), fields=errors)

    for source in sources:
        before = snapshot(source)
        source.valid_to = effective
        source.successor_id = successor.id
        _close_focal_point(session, actor, source, effective)
        record(
            session,
            actor,
            EventTag.AGENCY_MERGE,
            source,
            before=before,
            after=snapshot(source),
            label=label(source),
            details={"successor": successor.code, "effective_date": effective},
        )
    moved: dict[str, dict[str, int]] = {}
    for source in sources:
        staff = list(session.scalars(select(User).where(User.agency_id == source.id)))
        counts = {name: fn(session, actor, source, successor) for name, fn in handovers()}
        moved[source.code] = counts
        record(
            session,
            actor,
            EventTag.AGENCY_HANDOVER,
            source,
            label=label(source),
            details={
                "successor": successor.code,
                "moved": counts,
                "users": [u.email for u in staff],
            },
            covers=staff,
        )
    record(
        session,
        actor,
        EventTag.AGENCY_MERGE,
        successor,
        label=label(successor),
        details={"merged_in": [s.code for s in sources], "effective_date": effective},
    )
    return MergeResult(successor=successor, sources=sources, moved=moved)


def retire_agency(
    session: Session,
    actor: Actor,
    agency: Agency,
    *,
    effective: date | None = None,
    note: str | None = None,
) -> Agency:
    """End ``agency`` without a successor. Refused while it has active staff or sub-agencies."""
    require(actor, Action.AGENCY_RETIRE)
    effective = effective or today()
    if not is_active(agency):
        raise Conflict(
            Msg("{name} is already a former agency.", name=agency.name_vi),
            code="agency_already_former",
        )
    errors: dict[str, list[Msg]] = {}
    date_errors = _check_end_date(effective, [agency])
    if date_errors:
        errors["effective_date"] = date_errors
    try:
        note = check.clean_text(note, max_length=2000, multiline=True)
    except check.FieldError as error:
        errors["note"] = [error.message]
    if errors:
        raise Invalid(fields=errors)
    # Disabled accounts cannot act, so they do not keep an agency alive.
    users = session.scalars(
        select(User.email)
        .where(User.agency_id == agency.id, User.is_active.is_(True))
        .order_by(User.email)
    ).all()
    children = session.scalars(
        select(Agency).where(Agency.parent_id == agency.id, active_clause()).order_by(Agency.code)
    ).all()
    if users or children:
        blocking: dict[str, list[Msg]] = {}
        if users:
            blocking["users"] = [
                Msg("Staff accounts still in this agency: {emails}.", emails=", ".join(users))
            ]
        if children:
            blocking["children"] = [
                Msg("Active sub-agencies: {names}.", names=", ".join(label(c) for c in children))
            ]
        raise Conflict(
            Msg(
                "{name} cannot be retired while it has staff accounts or active sub-agencies. "
                "Move them first, or merge the agency into its successor instead.",
                name=agency.name_vi,
            ),
            code="agency_not_empty",
            fields=blocking,
            extra={"users": list(users), "children": [c.code for c in children]},
        )
    before = snapshot(agency)
    agency.valid_to = effective
    if note:
        line = f"{_day(effective)}: {note}"
        agency.history_note = f"{agency.history_note}\n{line}" if agency.history_note else line
    _close_focal_point(session, actor, agency, effective)
    record(
        session,
        actor,
        EventTag.AGENCY_RETIRE,
        agency,
        before=before,
        after=snapshot(agency),
        label=label(agency),
        details={"effective_date": effective},
    )
    return agency


# -- focal points --------------------------------------------------------------------


@dataclass
class FocalPointInput:
    full_name: str
    position: str
    function: str
    phone: str
    email: str
    #: Default: today.
    valid_from: date | str | None = None


def current_focal_point(session: Session, actor: Actor, agency: Agency) -> FocalPoint | None:
    """The focal point in office now (public, Decree 47 Art. 7(2))."""
    require(actor, Action.AGENCY_VIEW)
    return session.scalar(
        select(FocalPoint).where(FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None))
    )


def focal_point_history(session: Session, actor: Actor, agency: Agency) -> list[FocalPointView]:
    """Every focal point the agency has had, newest first (staff and administrators)."""
    require(actor, Action.AGENCY_HISTORY_VIEW, agency.id)
    points = session.scalars(
        select(FocalPoint)
        .where(FocalPoint.agency_id == agency.id)
        .order_by(FocalPoint.valid_from.desc(), FocalPoint.created_at.desc())
    )
    return [focal_point_view(p) for p in points]


def assign_focal_point(
    session: Session, actor: Actor, agency: Agency, data: FocalPointInput
) -> FocalPoint:
    """Designate the agency's focal point; the one in office until then is closed.

    An agency has exactly one focal point at a time (Decree 47 Art. 7(1)); the database
    enforces it too (``uq_focal_points_active_agency``).
    """
    require(actor, Action.FOCAL_POINT_ASSIGN, agency.id)
    if not is_active(agency):
        raise Invalid(
            Msg("{name} is a former agency; it cannot get a new focal point.", name=agency.name_vi),
            code="agency_former",
        )
    checks: dict[str, Callable[[object], Any]] = {
        "full_name": lambda v: check.clean_text(v, max_length=200, required=True),
        "position": lambda v: check.clean_text(v, max_length=200, required=True),
        "function": lambda v: check.clean_text(v, max_length=400, required=True),
        "phone": check.required_phone,
        "email": lambda v: check.clean_email(v, required=True),
        "valid_from": check.clean_date,
    }
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[Msg]] = {}
    for name, fn in checks.items():
        try:
            cleaned[name] = fn(getattr(data, name))
        except check.FieldError as error:
            errors[name] = [error.message]
    start: date = cleaned.get("valid_from") or today()
    current = session.scalar(
        select(FocalPoint).where(FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None))
    )
    if "valid_from" not in errors:
        if start > today():
            errors["valid_from"] = [Msg("The start date cannot be in the future.")]
        elif current is not None and start < current.valid_from:
            errors["valid_from"] = [
                Msg(
                    "The start date cannot be before the current focal point took office ({date}).",
                    date=_day(current.valid_from),
                )
            ]
    if errors:
        raise Invalid(fields=errors)
    if current is not None:
        _close_focal_point(session, actor, agency, start)
    point = FocalPoint(agency_id=agency.id, **{**cleaned, "valid_from": start})
    session.add(point)
    session.flush()
    record(
        session,
        actor,
        EventTag.FOCAL_POINT_ASSIGN,
        point,
        after=snapshot(point),
        label=f"{agency.code}: {point.full_name}",
    )
    return point


# -- history -------------------------------------------------------------------------


def history(session: Session, actor: Actor, agency: Agency) -> list[HistoryEntry]:
    """Audit events of the agency and of its focal points, newest first."""
    require(actor, Action.AGENCY_HISTORY_VIEW, agency.id)
    events = audit.history(session, "agencies", str(agency.id))
    point_ids = session.scalars(select(FocalPoint.id).where(FocalPoint.agency_id == agency.id))
    for point_id in point_ids:
        events.extend(audit.history(session, "focal_points", str(point_id)))
    events.sort(key=lambda e: e.at, reverse=True)
    return [
        HistoryEntry(
            at=e.at,
            actor_label=e.actor_label,
            tag=e.tag,
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            subject_label=e.subject_label,
            changes=dict(e.changes or {}),
        )
        for e in events
    ]


# -- demo data -----------------------------------------------------------------------


def _demo_agencies() -> list[dict[str, str]]:
    with (DATA_DIR / "agencies.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _demo_focal_points() -> list[dict[str, Any]]:
    with (DATA_DIR / "focal_points.yaml").open(encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["focal_points"])


def load_demo(session: Session, actor: Actor) -> int:
    """Load the Lai Châu demo agencies and focal points from ``agencies/data``.

    Agencies are created parent first, then former agencies get their successor, then
    focal points are assigned, each through the normal rules and with audit records.
    Anything already there (same code; an agency that has had a focal point) is left
    alone, so a second run changes nothing. Returns how many agencies and focal points
    were created.
    """
    require(actor, Action.AGENCY_CREATE)
    rows = _demo_agencies()
    known = set(session.scalars(select(Agency.code)))
    pending = [r for r in rows if r["code"] not in known]
    created = 0
    while pending:
        ready = [r for r in pending if not r["parent_code"] or r["parent_code"] in known]
        if not ready:
            missing = sorted({r["parent_code"] for r in pending})
            raise ValueError(f"demo agencies refer to unknown parents: {missing}")
        for row in ready:
            create_agency(
                session,
                actor,
                AgencyInput(
                    code=row["code"],
                    name_vi=row["name_vi"],
                    name_en=row["name_en"] or None,
                    short_name=row["short_name"] or None,
                    type=row["type"],
                    parent_code=row["parent_code"] or None,
                    is_it_unit=row["is_it_unit"].strip().lower() == "true",
                    valid_from=row["valid_from"] or None,
                    valid_to=row["valid_to"] or None,
                    history_note=row["history_note"] or None,
                ),
            )
            known.add(row["code"])
            created += 1
        pending = [r for r in pending if r["code"] not in known]
    for row in rows:
        if not row["successor_code"]:
            continue
        agency = get_by_code(session, row["code"])
        if agency.successor_id is not None:
            continue
        before = snapshot(agency)
        agency.successor_id = get_by_code(session, row["successor_code"]).id
        record(
            session,
            actor,
            EventTag.AGENCY_UPDATE,
            agency,
            before=before,
            after=snapshot(agency),
            label=label(agency),
            details={"source": "demo data"},
        )
    for entry in _demo_focal_points():
        agency = get_by_code(session, entry["agency"])
        had_one = session.scalar(
            select(FocalPoint.id).where(FocalPoint.agency_id == agency.id).limit(1)
        )
        if had_one is not None:
            continue
        assign_focal_point(
            session,
            actor,
            agency,
            FocalPointInput(
                full_name=entry["full_name"],
                position=entry["position"],
                function=entry["function"],
                phone=str(entry["phone"]),
                email=entry["email"],
                valid_from=entry.get("valid_from"),
            ),
        )
        created += 1
    return created
