# SPDX-License-Identifier: AGPL-3.0-or-later
"""Exports of an issued catalog version, read only from its immutable snapshot.

XLSX (the template layout, so it can be re-imported unchanged), PDF (the appendix to
the decision, see ``pdf.py``), CSV (one row per data element) and JSON. Issued versions
are public; databases holding state secrets are left out for everyone but the platform
administrator (they are hidden from the public catalog, Art. 11 and the issue's rules).

Routes: ``GET /api/v1/catalog/issues/{id}/export.{xlsx,pdf,csv,json}`` (``id`` is the
issue's UUID or its number) and ``GET /api/v1/catalog/template.xlsx``.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import Actor
from dulieuso.catalog import spreadsheet
from dulieuso.catalog.models import CatalogIssue, UserType
from dulieuso.errors import Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.web.deps import ActorDep, DbDep

FORMATS = ("xlsx", "pdf", "csv", "json")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


@dataclass(frozen=True)
class IssueExport:
    """What every export format is built from: the issue's header and its visible entries."""

    id: str
    number: int
    decision_number: str
    decision_date: date
    signer: str
    signer_title: str
    note: str
    issued_at: str
    entries: list[dict[str, Any]]

    def header(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "decision_number": self.decision_number,
            "decision_date": self.decision_date.isoformat(),
            "signer": self.signer,
            "signer_title": self.signer_title,
            "note": self.note,
            "issued_at": self.issued_at,
            "entry_count": len(self.entries),
        }


def find_issue(session: Session, ident: str) -> CatalogIssue:
    """The issue whose UUID or number is ``ident``; ``NotFound`` otherwise."""
    ident = ident.strip()
    issue: CatalogIssue | None = None
    if ident.isdigit():
        issue = session.scalars(select(CatalogIssue).where(CatalogIssue.number == int(ident))).first()
    else:
        try:
            issue = session.get(CatalogIssue, uuid.UUID(ident))
        except ValueError:
            issue = None
    if issue is None:
        raise NotFound(Msg("Catalog version {ident} not found.", ident=ident[:60]), code="issue_not_found")
    return issue


def _sees_secrets(actor: Actor) -> bool:
    return actor.role is Role.PLATFORM_ADMIN


def load_export(session: Session, actor: Actor, ident: str) -> IssueExport:
    """Read an issued version for export (public; secret databases only for the administrator)."""
    issue = find_issue(session, ident)
    entries = [dict(e) for e in (issue.snapshot or {}).get("entries", [])]
    if not _sees_secrets(actor):
        entries = [e for e in entries if not e.get("contains_state_secret")]
    return IssueExport(
        id=str(issue.id),
        number=issue.number,
        decision_number=issue.decision_number,
        decision_date=issue.decision_date,
        signer=issue.signer,
        signer_title=issue.signer_title,
        note=issue.note,
        issued_at=issue.issued_at.isoformat() if issue.issued_at else "",
        entries=entries,
    )


# -- formats -------------------------------------------------------------------------


def to_json(export: IssueExport) -> bytes:
    return json.dumps({"issue": export.header(), "entries": export.entries}, ensure_ascii=False, indent=2).encode()


def to_xlsx(export: IssueExport) -> bytes:
    title = f"DANH MỤC CƠ SỞ DỮ LIỆU CỦA TỈNH LAI CHÂU — bản ban hành số {export.number} (QĐ {export.decision_number})"
    return spreadsheet.write_workbook(export.entries, title=title)


def to_pdf(export: IssueExport) -> bytes:
    from dulieuso.catalog.pdf import appendix_pdf

    return appendix_pdf(export)


#: Characters that make a spreadsheet program run a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """``value`` as CSV text; a leading ``= + - @`` tab or CR gets an apostrophe first."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return spreadsheet.YES if value else spreadsheet.NO
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("database_code", "Mã CSDL"),
    ("database_name", "Tên CSDL"),
    ("agency_code", "Mã cơ quan chủ quản"),
    ("agency_name", "Cơ quan chủ quản"),
    ("level", "Cấp CSDL"),
    ("sharing_scope", "Phạm vi chia sẻ"),
    ("importance", "Mức độ quan trọng"),
    ("update_frequency", "Tần suất cập nhật"),
    ("category", "Hạng mục dữ liệu"),
    *((f"availability.{u.value}", h) for u, h in spreadsheet.USER_TYPE_HEADERS.items()),
    ("element", "Tên trường dữ liệu"),
    ("data_type", "Kiểu dữ liệu"),
    ("description", "Mô tả trường"),
    ("unit", "Đơn vị tính"),
    ("required", "Bắt buộc"),
    ("code_list", "Mã danh mục dùng chung"),
    ("is_master_data", "Dữ liệu chủ"),
    ("is_personal_data", "Dữ liệu cá nhân"),
)


def _label(enum_name: str, value: Any) -> str:
    enums = {e.__name__: e for e in spreadsheet.ENUM_LABELS}
    return spreadsheet.ENUM_LABELS[enums[enum_name]].get(str(value), str(value)) if value else ""


def csv_rows(entries: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """One row per data element (one per empty category, one per database without any)."""
    for entry in entries:
        agency = entry.get("owner_agency") or {}
        base = {
            "database_code": entry["code"],
            "database_name": entry["name"],
            "agency_code": agency.get("code"),
            "agency_name": agency.get("name"),
            "level": _label("DatabaseLevel", entry.get("level")),
            "sharing_scope": _label("SharingScope", entry.get("sharing_scope")),
            "importance": _label("Importance", entry.get("importance")),
            "update_frequency": _label("UpdateFrequency", entry.get("update_frequency")),
        }
        categories = entry.get("categories") or []
        if not categories:
            yield base
        for category in categories:
            availability = category.get("availability") or {}
            row = {
                **base,
                "category": category["name"],
                **{f"availability.{u.value}": _label("SharingForm", availability.get(u.value) or "not_shared") for u in UserType},
            }
            elements = category.get("elements") or []
            if not elements:
                yield row
            for element in elements:
                yield {
                    **row,
                    "element": element["name"],
                    "data_type": _label("ElementType", element.get("data_type")),
                    "description": element.get("description"),
                    "unit": element.get("unit"),
                    "required": bool(element.get("required")),
                    "code_list": element.get("code_list"),
                    "is_master_data": bool(element.get("is_master_data")),
                    "is_personal_data": bool(element.get("is_personal_data")),
                }


def to_csv(export: IssueExport) -> bytes:
    """UTF-8 with a BOM (so Excel reads the diacritics), formula-looking cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in CSV_COLUMNS])
    for row in csv_rows(export.entries):
        writer.writerow([neutralise(row.get(key)) for key, _ in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


RENDERERS = {"xlsx": to_xlsx, "pdf": to_pdf, "csv": to_csv, "json": to_json}


def render(export: IssueExport, fmt: str) -> bytes:
    """The bytes of ``export`` in format ``fmt`` (one of ``FORMATS``)."""
    if fmt not in RENDERERS:
        raise Invalid(Msg("Unknown export format '{fmt}' (choose one of: {choices}).", fmt=fmt[:20], choices=", ".join(FORMATS)),
                      code="bad_format")
    return RENDERERS[fmt](export)


def filename(export: IssueExport, fmt: str) -> str:
    return f"danh-muc-csdl-lai-chau-ban-{export.number}.{fmt}"


# -- routes --------------------------------------------------------------------------

router = APIRouter(tags=["catalog"])


@router.get("/catalog/template.xlsx", response_class=Response, summary="The empty import template")
def template() -> Response:
    return Response(
        spreadsheet.template_bytes(),
        media_type=MEDIA_TYPES["xlsx"],
        headers={"Content-Disposition": 'attachment; filename="mau-danh-muc-csdl.xlsx"'},
    )


@router.get("/catalog/issues/{ident}/export.{fmt}", response_class=Response, summary="Export an issued version")
def export_issue(ident: str, fmt: str, db: DbDep, actor: ActorDep) -> Response:
    if fmt not in FORMATS:
        raise NotFound(Msg("Unknown export format '{fmt}' (choose one of: {choices}).", fmt=fmt[:20], choices=", ".join(FORMATS)))
    export = load_export(db, actor, ident)
    return Response(
        render(export, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename(export, fmt)}"'},
    )
