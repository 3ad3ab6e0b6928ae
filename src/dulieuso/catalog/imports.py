# SPDX-License-Identifier: AGPL-3.0-or-later
"""Spreadsheet import of catalog entries: plan (preview), stage between preview and
confirm, and apply, all or nothing.

``plan_import`` parses the file (``spreadsheet.parse_workbook``), runs the catalog's own
validation (``service.validate``) on every entry and maps each error back to its row
and column, then compares each entry with what is saved now: *create*, *update* (with
the changed fields) or *unchanged*. ``apply_import`` saves every entry through
``service.save_entries`` (the checks of ``service.save_entry``, made for the whole
file before anything is written) inside one SAVEPOINT: a single failure rolls all of
it back and nothing is saved.

Between the preview page and the confirmation the upload waits in the storage folder
under a random id, bound to the user who sent it and kept for at most an hour
(``stage`` / ``take_staged``). Pages, the JSON API and the CLI all call these functions.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency, FocalPoint
from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog import service
from dulieuso.catalog.entries import CategoryData, ElementData, EntryData
from dulieuso.catalog.lookups import Lookups
from dulieuso.catalog.models import ElementType, SharingForm, UserType
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.catalog.spreadsheet import (
    DATABASE_COLUMNS,
    DATABASE_SHEET,
    CellError,
    ImportErrors,
    ParsedWorkbook,
    database_row,
    parse_workbook,
)
from dulieuso.errors import DomainError, Forbidden, NotFound
from dulieuso.i18n import Msg

#: How long a staged upload waits for its confirmation.
STAGE_SECONDS = 3600
STAGE_FOLDER = "catalog-imports"
#: ``agency`` value meaning "each row's own agency" (a whole issued version, for the administrator).
EVERY_AGENCY = "*"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass
class PlannedEntry:
    """What importing one entry would do."""

    code: str
    name: str
    action: str  # create | update | unchanged
    row: int
    changes: list[Change] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "action": self.action,
            "row": self.row,
            "changes": [{"field": c.path, "before": c.before, "after": c.after} for c in self.changes],
            "notices": self.notices,
        }


@dataclass
class ImportPlan:
    agency: str
    entries: list[PlannedEntry]
    database_rows: int
    element_rows: int

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0}
        for entry in self.entries:
            counts[entry.action] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "counts": self.counts(),
            "database_rows": self.database_rows,
            "element_rows": self.element_rows,
            "entries": [e.as_dict() for e in self.entries],
        }


@dataclass
class ImportResult:
    agency: str
    created: list[str]
    updated: list[str]
    unchanged: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "counts": {"create": len(self.created), "update": len(self.updated), "unchanged": len(self.unchanged)},
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


Progress = Callable[[int, int], None]


def _agency(session: Session, actor: Actor, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == (code or "").strip().upper()))
    if agency is None:
        raise NotFound(Msg("Agency {code} not found.", code=code), code="agency_not_found")
    require(actor, CatalogAction.EDIT, agency.id)
    return agency


def _prepare(
    session: Session, actor: Actor, data: bytes, agency_code: str, parsed: ParsedWorkbook | None = None
) -> tuple[ParsedWorkbook, dict[str, Agency], str]:
    """Parse the upload for one agency, or for ``EVERY_AGENCY`` (each row names its own);
    check that the actor may edit every agency concerned."""
    if (agency_code or "").strip() != EVERY_AGENCY:
        agency = _agency(session, actor, agency_code)
        if parsed is None:
            parsed = parse_workbook(data, agency=agency.code)
        return parsed, {agency.code: agency}, agency.code
    if parsed is None:
        parsed = parse_workbook(data, agency=None)
    owners = sorted({e.owner_agency for e in parsed.entries})
    agencies = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(owners)))}
    for agency in agencies.values():
        require(actor, CatalogAction.EDIT, agency.id)
    return parsed, agencies, EVERY_AGENCY


def _focal_contact(session: Session, agency: Agency) -> dict[str, Any]:
    point = session.scalar(select(FocalPoint).where(FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None)))
    if point is None:
        return {"contact_name": None, "contact_email": None, "contact_phone": None}
    return {"contact_name": point.full_name or None, "contact_email": point.email or None, "contact_phone": point.phone or None}


def _incoming(parsed_entry: Any, focal_contact: dict[str, Any]) -> dict[str, Any]:
    """The entry as it would be saved: the service fills an empty contact with the focal
    point and marks personal data when any element holds it."""
    data = comparable(parsed_entry)
    if not any(data.get(k) for k in ("contact_name", "contact_email", "contact_phone")):
        data.update(focal_contact)
    data["contains_personal_data"] = bool(data.get("contains_personal_data")) or any(
        e.get("is_personal_data") for c in data["categories"] for e in c["elements"]
    )
    return data


def _check(session: Session, parsed: ParsedWorkbook, agencies: dict[str, Agency]) -> list[PlannedEntry]:
    """Validate every entry like the service does; raise located errors, else plan."""
    errors: list[CellError] = []
    planned: list[PlannedEntry] = []
    focal_contacts: dict[str, dict[str, Any]] = {}
    # Agencies, systems, code lists and the saved entries: a few queries for the whole
    # file rather than several per entry (a round trip each on PostgreSQL).
    lookups = Lookups.for_entries(session, parsed.entries)
    saved = service.find_many(session, (e.code for e in parsed.entries))

    def located(code: str, path: str, message: Msg) -> CellError:
        sheet, row, column = parsed.locate(code, path)
        text = Msg("Row {row}, column '{column}': {problem}", row=row, column=column, problem=message)
        return CellError(sheet, row, column, "", text)

    for entry in parsed.entries:
        rows = parsed.rows[entry.code]
        existing = saved.get(entry.code)
        owner = agencies.get(entry.owner_agency)
        if existing is not None and owner is not None and existing.owner_agency_id != owner.id:
            errors.append(located(entry.code, "code", Msg(
                "the code '{code}' belongs to a database of another agency.", code=entry.code)))
            continue
        field_errors, notices, _agency_found, _lists, _systems = service.validate(session, entry, lookups)
        for path, messages in field_errors.items():
            errors.extend(located(entry.code, path, message) for message in messages)
        notice_list = []
        for notice in notices:
            sheet, row, column = parsed.locate(entry.code, notice.field)
            notice_list.append({"sheet": sheet, "row": row, "column": column,
                                "message": notice.message.vi, "message_en": notice.message.en})
        if existing is None or owner is None:
            planned.append(PlannedEntry(entry.code, entry.name, "create", rows.row, notices=notice_list))
            continue
        if owner.code not in focal_contacts:
            focal_contacts[owner.code] = _focal_contact(session, owner)
        after = _incoming(entry, focal_contacts[owner.code])
        before = comparable_dict(service.to_dict(session, existing, lookups))
        changes = diff_entries(before, after)
        planned.append(PlannedEntry(entry.code, entry.name, "update" if changes else "unchanged", rows.row,
                                    changes=changes, notices=notice_list))
    if errors:
        errors.sort(key=lambda e: (e.sheet != DATABASE_SHEET, e.row))
        raise ImportErrors(errors)
    return planned


def plan_import(session: Session, actor: Actor, data: bytes, agency_code: str) -> tuple[ParsedWorkbook, ImportPlan]:
    """Parse and check an upload for ``agency_code`` (or ``EVERY_AGENCY``); what it would
    create and change."""
    parsed, agencies, label = _prepare(session, actor, data, agency_code)
    planned = _check(session, parsed, agencies)
    return parsed, ImportPlan(label, planned, parsed.database_rows, parsed.element_rows)


def apply_import(
    session: Session,
    actor: Actor,
    data: bytes,
    agency_code: str,
    *,
    progress: Progress | None = None,
    parsed: ParsedWorkbook | None = None,
) -> ImportResult:
    """Save every entry of the upload, or none: the caller commits.

    ``service.save_entries`` checks every entry the way ``service.save_entry`` does
    before it writes any, so a file that previewed cleanly fails only if the catalog
    changed in between; the first refused entry is reported on its row and column. The
    writing runs in one SAVEPOINT, so an error while writing rolls back every entry too.
    The preview is not repeated here, it would double the time of a large import.
    ``parsed``: the result of ``plan_import`` on the same ``data`` in the same request
    (the CLI), which spares parsing the file twice.
    """
    parsed, _agencies, label = _prepare(session, actor, data, agency_code, parsed)
    result = ImportResult(label, [], [], [])
    with session.begin_nested():  # leaving it by an exception rolls every entry back
        try:
            saved = service.save_entries(session, actor, parsed.entries, progress=progress)
        except service.EntryRefused as refused:
            code = parsed.entries[refused.index].code
            raise ImportErrors(_located(parsed, code, refused.reason)) from refused.reason
    for entry, outcome in zip(parsed.entries, saved, strict=True):
        bucket = result.created if outcome.created else result.updated if outcome.changed else result.unchanged
        bucket.append(entry.code)
    return result


def _located(parsed: ParsedWorkbook, code: str, error: DomainError) -> list[CellError]:
    """A service error about entry ``code``, put on the rows and columns it concerns."""
    located: list[CellError] = []
    items = [(path, message) for path, messages in error.fields.items() for message in messages]
    if not items:
        items = [("code", error.message if error.status != 403 else Msg(
            "the code '{code}' belongs to a database of another agency.", code=code))]
    for path, message in items:
        sheet, row, column = parsed.locate(code, path)
        located.append(CellError(sheet, row, column, "", Msg(
            "Row {row}, column '{column}': {problem}", row=row, column=column, problem=message)))
    return located


# -- comparing -----------------------------------------------------------------------


def _blank(value: Any) -> Any:
    return None if value == "" else value


def comparable(entry: EntryData) -> dict[str, Any]:
    """``entry`` as plain data in the form ``comparable_dict`` gives, for diffs."""
    return {
        "code": entry.code,
        "name": entry.name,
        "owner_agency": entry.owner_agency,
        **{c.key: _blank(_plain(getattr(entry, c.key))) for c in DATABASE_COLUMNS if c.key not in {"code", "name", "owner_agency", "systems"}},
        "systems": sorted(entry.systems),
        "categories": [
            {
                "name": c.name,
                "description": _blank(c.description),
                "availability": {u.value: (c.availability.get(u) or SharingForm.NOT_SHARED).value for u in UserType},
                "elements": [
                    {k: _blank(_plain(v)) for k, v in vars(e).items()} for e in c.elements
                ],
            }
            for c in entry.categories
        ],
    }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


def comparable_dict(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An ``entry_dict`` (a snapshot entry or the current state) in ``comparable`` form."""
    row = database_row(entry)
    return {
        "code": entry["code"],
        "name": entry["name"],
        "owner_agency": row["owner_agency"],
        **{c.key: _blank(row.get(c.key)) for c in DATABASE_COLUMNS if c.key not in {"code", "name", "owner_agency", "systems"}},
        "systems": sorted(row["systems"]),
        "categories": [
            {
                "name": c["name"],
                "description": _blank(c.get("description")),
                "availability": {
                    u.value: (c.get("availability") or {}).get(u.value) or SharingForm.NOT_SHARED.value for u in UserType
                },
                "elements": [
                    {k: _blank(e.get(k)) for k in ElementData.__dataclass_fields__} for e in c.get("elements") or []
                ],
            }
            for c in entry.get("categories") or []
        ],
    }


@dataclass
class Change:
    """One changed field of an entry: ``path`` like ``purpose`` or ``categories[Thửa đất].elements``."""

    path: str
    before: Any
    after: Any


def diff_entries(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[Change]:
    """Field-level differences between two ``comparable`` forms (``before`` None: a new entry)."""
    if before is None:
        return []
    changes: list[Change] = []
    for key in after:
        if key == "categories":
            continue
        if before.get(key) != after.get(key):
            changes.append(Change(key, before.get(key), after.get(key)))
    old = {c["name"]: c for c in before.get("categories", [])}
    new = {c["name"]: c for c in after.get("categories", [])}
    for name in old.keys() - new.keys():
        changes.append(Change(f"categories[{name}]", old[name], None))
    for name, category in new.items():
        if name not in old:
            changes.append(Change(f"categories[{name}]", None, category))
            continue
        for key in ("description", "availability"):
            if old[name].get(key) != category.get(key):
                changes.append(Change(f"categories[{name}].{key}", old[name].get(key), category.get(key)))
        old_elements = {e["name"]: e for e in old[name]["elements"]}
        new_elements = {e["name"]: e for e in category["elements"]}
        for element in old_elements.keys() - new_elements.keys():
            changes.append(Change(f"categories[{name}].elements[{element}]", old_elements[element], None))
        for element, values in new_elements.items():
            if old_elements.get(element) != values:
                changes.append(Change(f"categories[{name}].elements[{element}]", old_elements.get(element), values))
        if [e["name"] for e in old[name]["elements"]] != [e["name"] for e in category["elements"]] and not any(
            c.path.startswith(f"categories[{name}].elements[") for c in changes
        ):
            changes.append(Change(f"categories[{name}].order", [e["name"] for e in old[name]["elements"]],
                                  [e["name"] for e in category["elements"]]))
    if [c["name"] for c in before.get("categories", [])] != [c["name"] for c in after.get("categories", [])] and not any(
        c.path.startswith("categories[") for c in changes
    ):
        changes.append(Change("categories.order", [c["name"] for c in before.get("categories", [])],
                              [c["name"] for c in after.get("categories", [])]))
    return changes


def entry_from_dict(entry: Mapping[str, Any]) -> EntryData:
    """The ``EntryData`` an ``entry_dict`` (e.g. a snapshot entry) describes."""
    row = database_row(entry)
    return EntryData(
        code=entry["code"],
        name=entry["name"],
        owner_agency=row["owner_agency"],
        **{
            c.key: (c.enum(row[c.key]) if c.enum and row.get(c.key) else row.get(c.key))
            for c in DATABASE_COLUMNS
            if c.key not in {"code", "name", "owner_agency"} and row.get(c.key) is not None
        },
        categories=[
            CategoryData(
                name=c["name"],
                description=c.get("description") or "",
                availability={UserType(k): SharingForm(v) for k, v in (c.get("availability") or {}).items()},
                elements=[
                    ElementData(**{**e, "data_type": ElementType(e["data_type"])})
                    for e in c.get("elements") or []
                ],
            )
            for c in entry.get("categories") or []
        ],
    )


def field_label(path: str) -> str:
    """The Vietnamese column header for a diff path (``purpose`` → ``Mục đích``)."""
    for column in DATABASE_COLUMNS:
        if column.key == path:
            return column.header
    return path


# -- staging an upload between preview and confirmation ---------------------------------


def _owner(actor: Actor) -> str:
    return str(actor.user_id or actor.email or "")


def _folder(storage_dir: Path) -> Path:
    folder = storage_dir / STAGE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def purge_expired(storage_dir: Path, now: float | None = None) -> int:
    """Delete staged uploads older than an hour; how many were deleted."""
    now = now or time.time()
    removed = 0
    for path in _folder(storage_dir).glob("*.json"):
        try:
            meta = json.loads(path.read_text())
            expired = now - float(meta.get("created", 0)) > STAGE_SECONDS
        except (OSError, ValueError):
            expired = True
        if expired:
            path.unlink(missing_ok=True)
            path.with_suffix(".xlsx").unlink(missing_ok=True)
            removed += 1
    return removed


def stage(storage_dir: Path, actor: Actor, data: bytes, agency_code: str, filename: str) -> str:
    """Keep an upload for its confirmation; returns the random id that names it."""
    purge_expired(storage_dir)
    token = secrets.token_urlsafe(32)
    folder = _folder(storage_dir)
    (folder / f"{token}.xlsx").write_bytes(data)
    meta = {
        "owner": _owner(actor),
        "agency": agency_code,
        "filename": filename[:200],
        "created": time.time(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (folder / f"{token}.json").write_text(json.dumps(meta))
    return token


@dataclass
class Staged:
    token: str
    data: bytes
    agency: str
    filename: str


def _expired() -> NotFound:
    return NotFound(Msg("This upload has expired or was already used; upload the file again."), code="upload_expired")


def load_staged(storage_dir: Path, actor: Actor, token: str) -> Staged:
    """The staged upload ``token`` of this actor (404 when unknown, expired or someone else's)."""
    if not _TOKEN.match(token or ""):
        raise _expired()
    folder = _folder(storage_dir)
    meta_path, data_path = folder / f"{token}.json", folder / f"{token}.xlsx"
    try:
        meta = json.loads(meta_path.read_text())
        data = data_path.read_bytes()
    except (OSError, ValueError):
        raise _expired() from None
    if time.time() - float(meta.get("created", 0)) > STAGE_SECONDS:
        discard(storage_dir, token)
        raise _expired()
    if not _owner(actor) or meta.get("owner") != _owner(actor):
        raise _expired()  # 404, not 403: another person's upload is not theirs to see
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise Forbidden(Msg("The staged upload was altered; upload the file again."), code="upload_altered")
    return Staged(token, data, str(meta["agency"]), str(meta.get("filename", "")))


def discard(storage_dir: Path, token: str) -> None:
    if not _TOKEN.match(token or ""):
        return
    folder = _folder(storage_dir)
    (folder / f"{token}.json").unlink(missing_ok=True)
    (folder / f"{token}.xlsx").unlink(missing_ok=True)
