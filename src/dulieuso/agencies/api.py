# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes for agencies and focal points. Reading is public; writing needs a login."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from dulieuso.agencies import service
from dulieuso.agencies.models import AgencyType
from dulieuso.agencies.schemas import (
    AgencyCreate,
    AgencyDetail,
    AgencyPublic,
    AgencyUpdate,
    FocalPointIn,
    FocalPointPublic,
    HistoryEventPublic,
    MergeIn,
    MergeOut,
    RetireIn,
    TreeNodePublic,
    merge_out,
)
from dulieuso.agencies.viewmodels import focal_point_view
from dulieuso.web.deps import ActorDep, DbDep, LoginDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(prefix="/agencies", tags=["agencies"], responses=ERROR_RESPONSES)


def _detail(db: DbDep, actor: ActorDep, code: str) -> AgencyDetail:
    return AgencyDetail.of_profile(service.profile(db, actor, code))


@router.get("", response_model=Page[AgencyPublic], summary="Agencies, with their focal points")
def list_agencies(
    db: DbDep,
    actor: ActorDep,
    q: str | None = Query(None, max_length=200, description="Words to find; diacritics ignored"),
    type: AgencyType | None = None,
    parent: str | None = Query(None, max_length=40, description="Code of the parent agency"),
    status: Literal["active", "former", "all"] = "active",
    limit: int = Query(50, ge=1, le=service.MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> Page[AgencyPublic]:
    query = service.AgencyQuery(
        q=q, type=type, parent=parent, status=status, limit=limit, offset=offset
    )
    views, total = service.list_agencies(db, actor, query)
    return Page(items=[AgencyPublic.of(v) for v in views], total=total, limit=limit, offset=offset)


@router.get("/tree", response_model=list[TreeNodePublic], summary="Active agencies as a tree")
def agency_tree(db: DbDep, actor: ActorDep) -> list[TreeNodePublic]:
    return [TreeNodePublic.of(node) for node in service.tree(db, actor)]


@router.post("", response_model=AgencyDetail, status_code=201, summary="Register an agency")
def create_agency(body: AgencyCreate, db: DbDep, actor: LoginDep) -> AgencyDetail:
    agency = service.create_agency(db, actor, service.AgencyInput(**body.model_dump()))
    db.commit()
    return _detail(db, actor, agency.code)


@router.post("/merge", response_model=MergeOut, summary="Merge agencies into a successor")
def merge_agencies(body: MergeIn, db: DbDep, actor: LoginDep) -> MergeOut:
    result = service.merge_agencies(
        db,
        actor,
        source_codes=body.source_codes,
        successor_code=body.successor_code,
        effective=body.effective_date,
    )
    db.commit()
    return merge_out(result, service.public_views(db, [result.successor, *result.sources]))


@router.get("/{code}", response_model=AgencyDetail, summary="One agency and its focal point")
def get_agency(code: str, db: DbDep, actor: ActorDep) -> AgencyDetail:
    return _detail(db, actor, code)


@router.patch("/{code}", response_model=AgencyDetail, summary="Change an agency")
def update_agency(code: str, body: AgencyUpdate, db: DbDep, actor: LoginDep) -> AgencyDetail:
    agency = service.get_by_code(db, code)
    service.update_agency(db, actor, agency, body.model_dump(exclude_unset=True))
    db.commit()
    return _detail(db, actor, agency.code)


@router.put(
    "/{code}/focal-point", response_model=FocalPointPublic, summary="Designate the focal point"
)
def assign_focal_point(
    code: str, body: FocalPointIn, db: DbDep, actor: LoginDep
) -> FocalPointPublic:
    agency = service.get_by_code(db, code)
    point = service.assign_focal_point(
        db, actor, agency, service.FocalPointInput(**body.model_dump())
    )
    db.commit()
    return FocalPointPublic.of(focal_point_view(point))


@router.get("/{code}/history", response_model=Page[HistoryEventPublic], summary="Change history")
def agency_history(code: str, db: DbDep, actor: LoginDep) -> Page[HistoryEventPublic]:
    entries = service.history(db, actor, service.get_by_code(db, code))
    items = [HistoryEventPublic.of(e) for e in entries]
    return Page(items=items, total=len(items), limit=len(items), offset=0)


@router.post(
    "/{code}/retire", response_model=AgencyDetail, summary="Retire an agency (no successor)"
)
def retire_agency(code: str, body: RetireIn, db: DbDep, actor: LoginDep) -> AgencyDetail:
    agency = service.get_by_code(db, code)
    service.retire_agency(db, actor, agency, effective=body.effective_date, note=body.note)
    db.commit()
    return _detail(db, actor, agency.code)
