# SPDX-License-Identifier: AGPL-3.0-or-later
"""What checking and saving catalog entries looks up by code, loaded once for many entries.

An entry names its owner agency, its information systems and, per element, a code
list; saving it also needs the agency's focal point (an empty contact becomes the focal
point) and the codes of all code lists (to show each element's list). Looking these up
entry by entry costs a query each, which is a round trip each on PostgreSQL: a
spreadsheet of a thousand entries spent seconds on them. ``Lookups.for_entries`` loads
what a batch of entries names in a few queries (``CHUNK`` codes at a time), and
``catalog.service`` reads them from here for one entry and for many alike, so both
paths apply the same rules to the same data.

No permission checks here: this only reads reference data for ``catalog.service``.
Saving entries does not change that data, so the lazy loads skip the autoflush: a batch
being built in the session is flushed when the batch says so, not midway.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency, FocalPoint
from dulieuso.catalog.entries import EntryData
from dulieuso.catalog.models import CodeList, InformationSystem

#: Codes per ``IN (...)`` list: far below every database's limit on bound parameters.
CHUNK = 500

_T = TypeVar("_T")


def in_chunks(values: Iterable[_T], query: Callable[[list[_T]], Iterable[Any]]) -> list[Any]:
    """The rows of ``query(part)`` for each part of at most ``CHUNK`` distinct ``values``."""
    distinct = list(dict.fromkeys(values))
    rows: list[Any] = []
    for start in range(0, len(distinct), CHUNK):
        rows.extend(query(distinct[start : start + CHUNK]))
    return rows


def agency_key(code: str | None) -> str:
    """How entries name agencies: ``catalog.service`` strips and upper-cases the code."""
    return (code or "").strip().upper()


def system_keys(entry: EntryData) -> list[str]:
    """The information system codes ``entry`` names, as the service compares them."""
    return [s.strip().upper() for s in entry.systems if s and s.strip()]


def code_list_keys(entry: EntryData) -> set[str]:
    """The code list codes the elements of ``entry`` name (stripped, case kept)."""
    return {e.code_list.strip() for c in entry.categories for e in c.elements if e.code_list and e.code_list.strip()}


class Lookups:
    """Agencies, information systems and code lists by code, focal points by agency.

    Built by ``for_entries`` for the entries about to be checked or saved; a name that
    is not found here does not exist in the catalog (the service reports it as
    unknown). Focal points and the code list codes are loaded on first use only.
    """

    def __init__(
        self,
        session: Session,
        agencies: Sequence[Agency],
        systems: Sequence[InformationSystem],
        code_lists: dict[str, uuid.UUID],
    ) -> None:
        self._session = session
        self._agencies = {a.code: a for a in agencies}
        self._agencies_by_id = {a.id: a for a in agencies}
        self._systems = {s.code: s for s in systems}
        self._code_lists = code_lists
        self._code_list_codes: dict[uuid.UUID, str] | None = None
        self._focal_points: dict[uuid.UUID, FocalPoint | None] | None = None

    @classmethod
    def for_entries(cls, session: Session, entries: Sequence[EntryData]) -> Lookups:
        """Load what ``entries`` name, in one query per kind and ``CHUNK`` codes."""
        agency_codes = [agency_key(e.owner_agency) for e in entries if agency_key(e.owner_agency)]
        system_codes = [code for e in entries for code in system_keys(e)]
        list_codes = [code for e in entries for code in sorted(code_list_keys(e))]
        agencies = in_chunks(agency_codes, lambda part: session.scalars(select(Agency).where(Agency.code.in_(part))))
        systems = in_chunks(
            system_codes,
            lambda part: session.scalars(select(InformationSystem).where(InformationSystem.code.in_(part))),
        )
        code_lists = in_chunks(
            list_codes, lambda part: session.execute(select(CodeList.code, CodeList.id).where(CodeList.code.in_(part)))
        )
        return cls(session, agencies, systems, dict(code_lists))

    def agency(self, code: str | None) -> Agency | None:
        """The agency an entry names as its owner, or None when there is none by that code."""
        return self._agencies.get(agency_key(code))

    def agency_by_id(self, agency_id: uuid.UUID) -> Agency:
        """The owner of a saved entry (it may be an agency the new data no longer names)."""
        agency = self._agencies_by_id.get(agency_id)
        if agency is None:
            with self._session.no_autoflush:
                agency = self._session.get(Agency, agency_id)
            assert agency is not None  # owner_agency_id is a foreign key
            self._agencies_by_id[agency_id] = agency
        return agency

    def system(self, code: str) -> InformationSystem | None:
        return self._systems.get(code)

    def code_list_id(self, code: str) -> uuid.UUID | None:
        return self._code_lists.get(code)

    def code_list_codes(self) -> dict[uuid.UUID, str]:
        """Every code list's code by id (what ``entries.entry_dict`` shows per element)."""
        if self._code_list_codes is None:
            with self._session.no_autoflush:
                self._code_list_codes = dict(self._session.execute(select(CodeList.id, CodeList.code)).all())
        return self._code_list_codes

    def focal_point(self, agency: Agency) -> FocalPoint | None:
        """The focal point in office of ``agency`` (at most one: ``uq_focal_points_active_agency``)."""
        if self._focal_points is None:
            self._focal_points = dict.fromkeys(self._agencies_by_id)
            with self._session.no_autoflush:
                in_office = in_chunks(
                    self._focal_points,
                    lambda part: self._session.scalars(
                        select(FocalPoint).where(FocalPoint.agency_id.in_(part), FocalPoint.valid_to.is_(None))
                    ),
                )
            for point in in_office:
                if self._focal_points.get(point.agency_id) is None:
                    self._focal_points[point.agency_id] = point
        if agency.id not in self._focal_points:  # an agency loaded later, by id
            with self._session.no_autoflush:
                self._focal_points[agency.id] = self._session.scalar(
                    select(FocalPoint).where(FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None))
                )
        return self._focal_points[agency.id]
