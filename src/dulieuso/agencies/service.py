"""Agencies and focal points: the rules. (Being completed: see the agencies helper task.)"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency, FocalPoint
from dulieuso.errors import NotFound
from dulieuso.i18n import Msg


def today() -> date:
    return date.today()


def is_active(agency: Agency, on: date | None = None) -> bool:
    on = on or today()
    return agency.valid_to is None or agency.valid_to > on


def get(session: Session, agency_id: uuid.UUID | None) -> Agency | None:
    return session.get(Agency, agency_id) if agency_id else None


def get_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code.strip()))
    if agency is None:
        raise NotFound(Msg("Agency {code} not found.", code=code), code="agency_not_found")
    return agency


@dataclass(frozen=True)
class Summary:
    active_agencies: int
    former_agencies: int
    with_focal_point: int


def summary(session: Session) -> Summary:
    now = today()
    active = Agency.valid_to.is_(None) | (Agency.valid_to > now)
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
    return Summary(active_agencies=total_active, former_agencies=total - total_active, with_focal_point=with_fp)


def names_by_id(session: Session) -> dict[uuid.UUID, str]:
    return dict(session.execute(select(Agency.id, Agency.name_vi)).tuples().all())


def active_choices(session: Session) -> list[tuple[str, str]]:
    now = today()
    rows = session.execute(
        select(Agency.code, Agency.name_vi)
        .where(Agency.valid_to.is_(None) | (Agency.valid_to > now))
        .order_by(Agency.name_vi)
    ).tuples()
    return list(rows)
