# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes for legal deadlines and the working-day calendar."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response

from dulieuso.policy import service
from dulieuso.policy.models import Policy, PolicyStatus
from dulieuso.policy.schemas import (
    CalendarDayPublic,
    CalendarDayPut,
    PolicyPublic,
    PolicyUpdate,
    WorkingDaysResult,
)
from dulieuso.web.deps import ActorDep, DbDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["policy"], responses=ERROR_RESPONSES)
_CITATIONS = {"citation", "citation_en"}


def policy_public(policy: Policy) -> PolicyPublic:
    stored = {name: getattr(policy, name) for name in PolicyPublic.model_fields.keys() - _CITATIONS}
    return PolicyPublic(**stored, citation=service.citation(policy, "vi"), citation_en=service.citation(policy, "en"))


@router.get("/policies", response_model=Page[PolicyPublic], summary="Legal deadlines and cadences (staff)")
def list_policies(db: DbDep, actor: ActorDep, status: PolicyStatus | None = None) -> Page[PolicyPublic]:
    policies = service.list_policies(db, actor, status=status)
    return Page(items=[policy_public(p) for p in policies], total=len(policies), limit=len(policies), offset=0)


@router.get("/policies/{key}", response_model=PolicyPublic, summary="One legal deadline (staff)")
def get_policy(key: str, db: DbDep, actor: ActorDep) -> PolicyPublic:
    return policy_public(service.view_policy(db, actor, key))


@router.patch("/policies/{key}", response_model=PolicyPublic, summary="Change a legal deadline (administrators)")
def update_policy(key: str, body: PolicyUpdate, db: DbDep, actor: ActorDep) -> PolicyPublic:
    policy = service.update_policy(db, actor, key, **body.model_dump(exclude_unset=True))
    db.commit()
    return policy_public(policy)


@router.get(
    "/calendar/add-working-days",
    response_model=WorkingDaysResult,
    summary="The n-th working day after a date (counting starts the next day)",
)
def add_working_days(db: DbDep, start: date, n: int = Query(description="Working days; negative counts back")) -> WorkingDaysResult:
    return WorkingDaysResult(start=start, n=n, due=service.add_working_days(db, start, n))


@router.get("/calendar", response_model=Page[CalendarDayPublic], summary="Holidays, days off and make-up working days of a year")
def list_days(db: DbDep, year: int | None = None) -> Page[CalendarDayPublic]:
    days = service.list_days(db, year if year is not None else service.today().year)
    return Page(items=[CalendarDayPublic.model_validate(d) for d in days], total=len(days), limit=len(days), offset=0)


@router.put("/calendar/{day}", response_model=CalendarDayPublic, summary="Add or change a special day (administrators)")
def put_day(day: date, body: CalendarDayPut, db: DbDep, actor: ActorDep) -> CalendarDayPublic:
    row = service.set_day(db, actor, day, body.kind, body.name_vi, body.name_en, body.source)
    db.commit()
    return CalendarDayPublic.model_validate(row)


@router.delete("/calendar/{day}", status_code=204, summary="Remove a special day (administrators)")
def delete_day(day: date, db: DbDep, actor: ActorDep) -> Response:
    service.delete_day(db, actor, day)
    db.commit()
    return Response(status_code=204)
