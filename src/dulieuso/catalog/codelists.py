# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared code lists (danh mục dùng chung, Decree 47 Art. 3(7), 9(2)), versioned.

A code list has versions; each version holds items (code, name, parent, valid from/to).
A new version is imported from CSV or XLSX rows with the columns ``code, name, parent,
valid_from, valid_to`` (Vietnamese headers ``mã, tên, mã cha, hiệu lực từ, hiệu lực
đến`` are accepted too). Elements of the catalog bind to a code list by its code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.events import CatalogEvent
from dulieuso.catalog.models import CodeList, CodeListItem, CodeListVersion, DataElement
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
MAX_ROWS = 50_000
MAX_BYTES = 5 * 1024 * 1024
HEADERS = {
    "code": "code", "ma": "code", "name": "name", "ten": "name", "parent": "parent", "ma cha": "parent",
    "parent_code": "parent", "valid_from": "valid_from", "hieu luc tu": "valid_from",
    "valid_to": "valid_to", "hieu luc den": "valid_to",
}


@dataclass
class CodeListInput:
    code: str
    name: str
    description: str = ""
    issuer: str = ""
    legal_basis: str = ""


@dataclass(frozen=True)
class ItemRow:
    code: str
    name: str
    parent: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


def list_code_lists(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every code list with its latest version and item count (public)."""
    require(actor, CatalogAction.VIEW)
    lists = session.scalars(select(CodeList).options(selectinload(CodeList.versions)).order_by(CodeList.code)).all()
    counts = dict(
        session.execute(
            select(CodeListItem.version_id, func.count()).group_by(CodeListItem.version_id)
        ).all()
    )
    out = []
    for code_list in lists:
        latest = code_list.versions[-1] if code_list.versions else None
        out.append(
            {
                "code": code_list.code,
                "name": code_list.name,
                "description": code_list.description,
                "issuer": code_list.issuer,
                "legal_basis": code_list.legal_basis,
                "version": latest.version if latest else None,
                "item_count": counts.get(latest.id, 0) if latest else 0,
            }
        )
    return out


def get_code_list(session: Session, actor: Actor, code: str, version: str | None = None) -> dict[str, Any]:
    """A code list with the items of one version (the latest by default) (public)."""
    require(actor, CatalogAction.VIEW)
    code_list = _find(session, code)
    versions = code_list.versions
    chosen = None
    if version:
        chosen = next((v for v in versions if v.version == version), None)
        if chosen is None:
            raise NotFound(Msg("Version {version} of code list {code} not found.", version=version, code=code))
    elif versions:
        chosen = versions[-1]
    items = list(chosen.items) if chosen else []
    return {
        "code": code_list.code,
        "name": code_list.name,
        "description": code_list.description,
        "issuer": code_list.issuer,
        "legal_basis": code_list.legal_basis,
        "versions": [
            {"version": v.version, "valid_from": _iso(v.valid_from), "valid_to": _iso(v.valid_to), "source": v.source}
            for v in versions
        ],
        "version": chosen.version if chosen else None,
        "items": [
            {
                "code": i.code, "name": i.name, "parent": i.parent_code,
                "valid_from": _iso(i.valid_from), "valid_to": _iso(i.valid_to),
            }
            for i in items
        ],
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _find(session: Session, code: str) -> CodeList:
    code_list = session.scalar(
        select(CodeList)
        .options(selectinload(CodeList.versions).selectinload(CodeListVersion.items))
        .where(CodeList.code == code.strip().lower())
    )
    if code_list is None:
        raise NotFound(Msg("Code list {code} not found.", code=code), code="code_list_not_found")
    return code_list


def create_code_list(session: Session, actor: Actor, data: CodeListInput) -> CodeList:
    """Register a new code list (its items come with ``import_version``)."""
    require(actor, CatalogAction.CODE_LIST_MANAGE)
    code = (data.code or "").strip().lower()
    errors: dict[str, list[Msg]] = {}
    if not CODE_RE.match(code):
        errors["code"] = [Msg("Use 2 to 60 lower-case letters, digits, '.', '_' or '-'.")]
    if not (data.name or "").strip():
        errors["name"] = [Msg("This field is required.")]
    if errors:
        raise Invalid(fields=errors)
    if session.scalar(select(CodeList.id).where(CodeList.code == code)) is not None:
        raise Conflict(
            Msg("A code list with code {code} already exists.", code=code), code="duplicate_code",
            fields={"code": [Msg("A code list with code {code} already exists.", code=code)]},
        )
    code_list = CodeList(
        code=code, name=data.name.strip(), description=(data.description or "").strip(),
        issuer=(data.issuer or "").strip(), legal_basis=(data.legal_basis or "").strip(),
    )
    session.add(code_list)
    session.flush()
    record(session, actor, CatalogEvent.CODE_LIST_CREATE, code_list, after=snapshot(code_list), label=code)
    return code_list


def update_code_list(session: Session, actor: Actor, code: str, data: CodeListInput) -> CodeList:
    """Change a code list's name, description, issuer or legal basis (its code stays)."""
    require(actor, CatalogAction.CODE_LIST_MANAGE)
    code_list = _find(session, code)
    if not (data.name or "").strip():
        raise Invalid(fields={"name": [Msg("This field is required.")]})
    before = snapshot(code_list)
    for key in ("name", "description", "issuer", "legal_basis"):
        value = (getattr(data, key) or "").strip()
        if getattr(code_list, key) != value:
            setattr(code_list, key, value)
    session.flush()
    after = snapshot(code_list)
    if before != after:
        record(session, actor, CatalogEvent.CODE_LIST_UPDATE, code_list, before=before, after=after, label=code_list.code)
    return code_list


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise ValueError(text)


def parse_rows(rows: Iterable[Sequence[Any]]) -> list[ItemRow]:
    """Rows (the first is the header) → items; every bad row is reported by line and column."""
    iterator = iter(rows)
    try:
        header = next(iterator)
    except StopIteration:
        raise Invalid(Msg("The file is empty."), fields={"file": [Msg("The file is empty.")]}) from None
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = HEADERS.get(fold(str(title or "")).replace("_", " ").strip()) or HEADERS.get(fold(str(title or "")))
        if key and key not in columns:
            columns[key] = index
    missing = [c for c in ("code", "name") if c not in columns]
    if missing:
        raise Invalid(
            Msg("The file must have the columns code and name (mã, tên)."),
            fields={"file": [Msg("Missing column: {column}.", column=m) for m in missing]},
        )
    errors: dict[str, list[Msg]] = {}
    items: list[ItemRow] = []
    seen: set[tuple[str, date | None]] = set()
    for line, row in enumerate(iterator, start=2):
        if line > MAX_ROWS + 1:
            raise Invalid(Msg("The file has more than {n} rows.", n=MAX_ROWS))
        cells = list(row)

        def cell(name: str, cells: list[Any] = cells) -> Any:
            index = columns.get(name)
            value = cells[index] if index is not None and index < len(cells) else None
            return value.strip() if isinstance(value, str) else value

        if all(c in (None, "") for c in cells):
            continue
        code = str(cell("code") or "").strip()
        name = str(cell("name") or "").strip()
        where = f"row {line}"
        if not code:
            errors.setdefault(where, []).append(Msg("Row {line}, column {column}: a value is required.", line=line, column="code"))
        if not name:
            errors.setdefault(where, []).append(Msg("Row {line}, column {column}: a value is required.", line=line, column="name"))
        dates: dict[str, date | None] = {}
        for column in ("valid_from", "valid_to"):
            try:
                dates[column] = _date(cell(column))
            except ValueError:
                errors.setdefault(where, []).append(
                    Msg("Row {line}, column {column}: not a date (use YYYY-MM-DD or DD/MM/YYYY).", line=line, column=column)
                )
                dates[column] = None
        if (code, dates["valid_from"]) in seen:
            errors.setdefault(where, []).append(Msg("Row {line}: the code {code} appears twice.", line=line, code=code))
        seen.add((code, dates["valid_from"]))
        if len(code) > 60 or len(name) > 300:
            errors.setdefault(where, []).append(Msg("Row {line}: a value is too long.", line=line))
        parent = str(cell("parent") or "").strip() or None
        items.append(ItemRow(code, name, parent, dates["valid_from"], dates["valid_to"]))
    if errors:
        raise Invalid(Msg("The file was not imported: {n} row(s) have errors.", n=len(errors)), fields=errors)
    if not items:
        raise Invalid(Msg("The file has no rows."), fields={"file": [Msg("The file has no rows.")]})
    return items


def read_file(filename: str, content: bytes) -> list[ItemRow]:
    """Parse an uploaded ``.csv`` (UTF-8, with or without BOM) or ``.xlsx`` code list."""
    if not content:
        raise Invalid(Msg("The file is empty."), fields={"file": [Msg("The file is empty.")]})
    if len(content) > MAX_BYTES:
        raise Invalid(Msg("The file is too large."), fields={"file": [Msg("The file is too large.")]})
    lower = filename.lower()
    if lower.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid(fields={"file": [Msg("The CSV file must be encoded in UTF-8.")]}) from None
        return parse_rows(csv.reader(io.StringIO(text)))
    if lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file
            raise Invalid(fields={"file": [Msg("The file is not a valid XLSX workbook.")]}) from None
        sheet = book.worksheets[0]
        return parse_rows(sheet.iter_rows(values_only=True))
    raise Invalid(fields={"file": [Msg("Upload a .csv or .xlsx file.")]})


def import_version(
    session: Session,
    actor: Actor,
    code: str,
    version: str,
    items: Sequence[ItemRow],
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
    source: str = "",
) -> CodeListVersion:
    """Add version ``version`` of code list ``code`` with ``items`` (all or nothing)."""
    require(actor, CatalogAction.CODE_LIST_MANAGE)
    code_list = _find(session, code)
    version = (version or "").strip()
    if not version or len(version) > 40:
        raise Invalid(fields={"version": [Msg("Give a version label of at most 40 characters.")]})
    if any(v.version == version for v in code_list.versions):
        raise Conflict(
            Msg("Version {version} of this code list already exists.", version=version), code="duplicate_version",
            fields={"version": [Msg("Version {version} of this code list already exists.", version=version)]},
        )
    if not items:
        raise Invalid(fields={"file": [Msg("The file has no rows.")]})
    entry = CodeListVersion(version=version, valid_from=valid_from, valid_to=valid_to, source=source.strip())
    code_list.versions.append(entry)
    for position, item in enumerate(items):
        entry.items.append(
            CodeListItem(
                code=item.code, name=item.name, parent_code=item.parent, valid_from=item.valid_from,
                valid_to=item.valid_to, position=position,
            )
        )
    session.flush()
    record(
        session, actor, CatalogEvent.CODE_LIST_IMPORT, code_list, label=code_list.code,
        details={"version": version, "items": len(items), "source": source},
    )
    return entry


def bound_elements(session: Session, code: str) -> int:
    code_list = session.scalar(select(CodeList).where(CodeList.code == code))
    if code_list is None:
        return 0
    return session.scalar(select(func.count()).where(DataElement.code_list_id == code_list.id)) or 0


def codes(session: Session) -> list[tuple[str, str]]:
    """``(code, name)`` of every code list, for select boxes."""
    return list(session.execute(select(CodeList.code, CodeList.name).order_by(CodeList.code)))


def item_mapping(rows: Iterable[Mapping[str, Any]]) -> list[ItemRow]:
    return [
        ItemRow(str(r["code"]), str(r["name"]), r.get("parent") or None, _date(r.get("valid_from")), _date(r.get("valid_to")))
        for r in rows
    ]
