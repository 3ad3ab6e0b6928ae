# SPDX-License-Identifier: AGPL-3.0-or-later
"""Request and response shapes of the agencies JSON API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dulieuso.agencies.models import AgencyType
from dulieuso.agencies.service import MergeResult
from dulieuso.agencies.viewmodels import (
    AgencyProfile,
    AgencyRef,
    AgencyView,
    FocalPointView,
    HistoryEntry,
    TreeNode,
)

Status = Literal["active", "former"]


class FocalPointPublic(BaseModel):
    """The agency's focal point for connection and sharing (Decree 47 Art. 7(1))."""

    name: str
    position: str
    function: str
    phone: str
    email: str
    valid_from: date
    valid_to: date | None = None

    @classmethod
    def of(cls, view: FocalPointView) -> FocalPointPublic:
        return cls(
            name=view.name,
            position=view.position,
            function=view.function,
            phone=view.phone,
            email=view.email,
            valid_from=view.valid_from,
            valid_to=view.valid_to,
        )


class AgencyRefPublic(BaseModel):
    code: str
    name_vi: str
    name_en: str | None
    short_name: str | None
    type: AgencyType
    status: Status

    @classmethod
    def of(cls, ref: AgencyRef) -> AgencyRefPublic:
        return cls(
            code=ref.code,
            name_vi=ref.name_vi,
            name_en=ref.name_en,
            short_name=ref.short_name,
            type=ref.type,
            status="active" if ref.active else "former",
        )


class AgencyPublic(BaseModel):
    id: uuid.UUID
    code: str
    name_vi: str
    name_en: str | None
    short_name: str | None
    type: AgencyType
    status: Status = Field(description="active, or former (merged into a successor or retired)")
    parent_code: str | None
    successor_code: str | None = Field(description="For a merged agency: the agency it merged into")
    address: str | None
    website: str | None
    email: str | None
    phone: str | None
    is_it_unit: bool = Field(description="The provincial specialised IT unit")
    valid_from: date | None
    valid_to: date | None = Field(description="First day the agency no longer acts")
    history_note: str | None
    focal_point: FocalPointPublic | None

    @classmethod
    def of(cls, view: AgencyView) -> AgencyPublic:
        return cls(**cls._fields(view))

    @staticmethod
    def _fields(view: AgencyView) -> dict[str, Any]:
        return {
            "id": view.id,
            "code": view.code,
            "name_vi": view.name_vi,
            "name_en": view.name_en,
            "short_name": view.short_name,
            "type": view.type,
            "status": view.status,
            "parent_code": view.parent_code,
            "successor_code": view.successor_code,
            "address": view.address,
            "website": view.website,
            "email": view.email,
            "phone": view.phone,
            "is_it_unit": view.is_it_unit,
            "valid_from": view.valid_from,
            "valid_to": view.valid_to,
            "history_note": view.history_note,
            "focal_point": FocalPointPublic.of(view.focal_point) if view.focal_point else None,
        }


class AgencyDetail(AgencyPublic):
    """One agency with its neighbours in the tree and in history."""

    children: list[AgencyRefPublic] = Field(description="Active sub-agencies")
    former_children: list[AgencyRefPublic]
    predecessors: list[AgencyRefPublic] = Field(description="Agencies that merged into this one")

    @classmethod
    def of_profile(cls, profile: AgencyProfile) -> AgencyDetail:
        return cls(
            **AgencyPublic._fields(profile.agency),
            children=[AgencyRefPublic.of(r) for r in profile.children],
            former_children=[AgencyRefPublic.of(r) for r in profile.former_children],
            predecessors=[AgencyRefPublic.of(r) for r in profile.predecessors],
        )


class TreeNodePublic(BaseModel):
    code: str
    name_vi: str
    short_name: str | None
    type: AgencyType
    children: list[TreeNodePublic]

    @classmethod
    def of(cls, node: TreeNode) -> TreeNodePublic:
        return cls(
            code=node.agency.code,
            name_vi=node.agency.name_vi,
            short_name=node.agency.short_name,
            type=node.agency.type,
            children=[cls.of(c) for c in node.children],
        )


class AgencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        max_length=40, description="2-40 capital letters, digits or hyphens, e.g. LCU-STC"
    )
    name_vi: str = Field(max_length=300)
    name_en: str | None = Field(None, max_length=300)
    short_name: str | None = Field(None, max_length=120)
    type: AgencyType
    parent_code: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=400)
    website: str | None = Field(None, max_length=400)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    is_it_unit: bool = False
    valid_from: date | None = None
    history_note: str | None = Field(None, max_length=4000)


class AgencyUpdate(BaseModel):
    """Only the fields sent are changed; agency administrators may send the contact fields."""

    model_config = ConfigDict(extra="forbid")

    name_vi: str | None = Field(None, max_length=300)
    name_en: str | None = Field(None, max_length=300)
    short_name: str | None = Field(None, max_length=120)
    type: AgencyType | None = None
    parent_code: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=400)
    website: str | None = Field(None, max_length=400)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    is_it_unit: bool | None = None
    valid_from: date | None = None
    history_note: str | None = Field(None, max_length=4000)


class FocalPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(max_length=200)
    position: str = Field(max_length=200, description="Chức vụ")
    function: str = Field(max_length=400, description="Chức năng, nhiệm vụ as focal point")
    phone: str = Field(max_length=40, description="0912 345 678, 0213 3876 543 or +84…")
    email: str = Field(max_length=254)
    valid_from: date | None = Field(None, description="Default: today")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_codes: list[str] = Field(min_length=1, max_length=50)
    successor_code: str = Field(max_length=40)
    effective_date: date | None = Field(None, description="Default: today; not in the future")


class MergeOut(BaseModel):
    successor: AgencyPublic
    sources: list[AgencyPublic]
    moved: dict[str, dict[str, int]] = Field(description="source code -> handover -> count moved")


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_date: date | None = Field(None, description="Default: today; not in the future")
    note: str | None = Field(None, max_length=2000)


class HistoryEventPublic(BaseModel):
    at: datetime
    actor: str
    tag: str
    action: str
    subject_type: str
    subject_id: str
    subject_label: str
    changes: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEventPublic:
        return cls(
            at=entry.at,
            actor=entry.actor_label,
            tag=entry.tag,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            subject_label=entry.subject_label,
            changes=entry.changes,
        )


def merge_out(result: MergeResult, views: list[AgencyView]) -> MergeOut:
    """``views``: the successor first, then the sources."""
    return MergeOut(
        successor=AgencyPublic.of(views[0]),
        sources=[AgencyPublic.of(v) for v in views[1:]],
        moved=result.moved,
    )
