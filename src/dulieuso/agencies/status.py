# SPDX-License-Identifier: AGPL-3.0-or-later
"""When an agency counts as active, and the order agencies are listed in.

``valid_to`` is the first day an agency no longer acts, so an agency is active on day D
when ``valid_to`` is empty or after D. A former agency whose end date was never confirmed
has a successor and no ``valid_to``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, case, or_

from dulieuso.agencies.models import Agency, AgencyType

STATUSES = ("active", "former", "all")

#: List order: the province first, then its bodies, then the communes, then outsiders.
TYPE_ORDER: dict[AgencyType, int] = {
    AgencyType.PROVINCIAL_COMMITTEE: 0,
    AgencyType.DEPARTMENT: 1,
    AgencyType.PUBLIC_UNIT: 2,
    AgencyType.PRESS: 3,
    AgencyType.DISTRICT_COMMITTEE: 4,
    AgencyType.COMMUNE_COMMITTEE: 5,
    AgencyType.MINISTRY: 6,
    AgencyType.OTHER_PROVINCE: 7,
}


def today() -> date:
    return date.today()


def is_active(agency: Agency, on: date | None = None) -> bool:
    on = on or today()
    if agency.valid_to is not None:
        return agency.valid_to > on
    return agency.successor_id is None


def active_clause(on: date | None = None) -> ColumnElement[bool]:
    on = on or today()
    return or_(
        and_(Agency.valid_to.is_(None), Agency.successor_id.is_(None)),
        Agency.valid_to > on,
    )


def type_rank() -> ColumnElement[int]:
    return case(*[(Agency.type == kind, rank) for kind, rank in TYPE_ORDER.items()], else_=99)
