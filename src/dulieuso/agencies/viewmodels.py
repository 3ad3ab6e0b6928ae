# SPDX-License-Identifier: AGPL-3.0-or-later
"""View models: what pages and the JSON API get instead of ORM objects.

Built by ``service`` (``public_views``, ``profile``, ``tree``, ``history``) in a few
queries, so rendering never lazy-loads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.labels import TYPE_LABELS
from dulieuso.agencies.models import Agency, AgencyType, FocalPoint
from dulieuso.agencies.status import is_active, today
from dulieuso.agencies.validation import format_phone


@dataclass(frozen=True)
class FocalPointView:
    """The published focal point (Decree 47 Art. 7(1)): name, position, function, phone, e-mail."""

    name: str
    position: str
    function: str
    phone: str
    email: str
    valid_from: date
    valid_to: date | None = None

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)


@dataclass(frozen=True)
class AgencyRef:
    id: uuid.UUID
    code: str
    name_vi: str
    name_en: str | None
    short_name: str | None
    type: AgencyType
    active: bool


@dataclass(frozen=True)
class AgencyView:
    id: uuid.UUID
    code: str
    name_vi: str
    name_en: str | None
    short_name: str | None
    type: AgencyType
    #: English msgid; translate where shown.
    type_label: str
    status: str
    parent: AgencyRef | None
    successor: AgencyRef | None
    address: str | None
    website: str | None
    email: str | None
    phone: str | None
    is_it_unit: bool
    valid_from: date | None
    valid_to: date | None
    history_note: str | None
    focal_point: FocalPointView | None

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def parent_code(self) -> str | None:
        return self.parent.code if self.parent else None

    @property
    def successor_code(self) -> str | None:
        return self.successor.code if self.successor else None


@dataclass(frozen=True)
class AgencyProfile:
    agency: AgencyView
    children: list[AgencyRef]
    former_children: list[AgencyRef]
    #: Agencies that merged into this one.
    predecessors: list[AgencyRef]


@dataclass(frozen=True)
class TreeNode:
    agency: AgencyRef
    children: list[TreeNode] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor_label: str
    tag: str
    action: str
    subject_type: str
    subject_id: str
    subject_label: str
    changes: dict[str, Any]


def focal_point_view(point: FocalPoint) -> FocalPointView:
    return FocalPointView(
        name=point.full_name,
        position=point.position,
        function=point.function,
        phone=point.phone,
        email=point.email,
        valid_from=point.valid_from,
        valid_to=point.valid_to,
    )


def agency_ref(agency: Agency, on: date) -> AgencyRef:
    return AgencyRef(
        id=agency.id,
        code=agency.code,
        name_vi=agency.name_vi,
        name_en=agency.name_en,
        short_name=agency.short_name,
        type=agency.type,
        active=is_active(agency, on),
    )


def public_views(session: Session, agencies: Sequence[Agency]) -> list[AgencyView]:
    """View models of ``agencies`` with parent, successor and current focal point (3 queries)."""
    if not agencies:
        return []
    on = today()
    ids = [a.id for a in agencies]
    points = {
        p.agency_id: p
        for p in session.scalars(
            select(FocalPoint).where(FocalPoint.agency_id.in_(ids), FocalPoint.valid_to.is_(None))
        )
    }
    related = {i for a in agencies for i in (a.parent_id, a.successor_id) if i is not None}
    refs: dict[uuid.UUID, AgencyRef] = {}
    if related:
        for other in session.scalars(select(Agency).where(Agency.id.in_(related))):
            refs[other.id] = agency_ref(other, on)
    views = []
    for a in agencies:
        point = points.get(a.id)
        views.append(
            AgencyView(
                id=a.id,
                code=a.code,
                name_vi=a.name_vi,
                name_en=a.name_en,
                short_name=a.short_name,
                type=a.type,
                type_label=TYPE_LABELS[a.type],
                status="active" if is_active(a, on) else "former",
                parent=refs.get(a.parent_id) if a.parent_id else None,
                successor=refs.get(a.successor_id) if a.successor_id else None,
                address=a.address,
                website=a.website,
                email=a.email,
                phone=a.phone,
                is_it_unit=a.is_it_unit,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                history_note=a.history_note,
                focal_point=focal_point_view(point) if point else None,
            )
        )
    return views


def public_view(session: Session, agency: Agency) -> AgencyView:
    return public_views(session, [agency])[0]
