# SPDX-License-Identifier: AGPL-3.0-or-later
"""The PDF of an issued version, laid out as the appendix to the Chairman's decision.

Landscape A4; title "DANH MỤC CƠ SỞ DỮ LIỆU CỦA TỈNH LAI CHÂU" and the decision
reference; one table grouped by owner agency (I, II, …), one row per data category with
the availability matrix (user type × sharing form) in the last five columns; page
numbers "Trang x/y". The font is DejaVu Sans, which covers every Vietnamese letter; it
ships inside matplotlib (``mpl-data/fonts/ttf``), with Debian's copy as a fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timezone
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, VAlign
from fpdf.fonts import FontFace

from dulieuso.catalog.models import DatabaseLevel, SharingForm, UpdateFrequency, UserType
from dulieuso.catalog.spreadsheet import ENUM_LABELS

if TYPE_CHECKING:
    from dulieuso.catalog.exports import IssueExport

# fpdf2 subsets the font with fontTools, which logs every step at INFO: keep it out of the JSON logs.
logging.getLogger("fontTools").setLevel(logging.WARNING)

TITLE = "DANH MỤC CƠ SỞ DỮ LIỆU CỦA TỈNH LAI CHÂU"
FONT = "DejaVu"
_STYLES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf", "BI": "DejaVuSans-BoldOblique.ttf"}
_FALLBACK_DIR = Path("/usr/share/fonts/truetype/dejavu")

#: Short matrix labels that fit a 12 mm column; the legend spells them out.
FORM_SHORT = {
    SharingForm.OPEN_DATA.value: "Mở",
    SharingForm.DEFAULT.value: "Mặc định",
    SharingForm.SPECIAL_REQUEST.value: "Đặc thù",
    SharingForm.NOT_SHARED.value: "Không",
}
USER_TYPE_SHORT = {
    UserType.PROVINCE_AGENCIES: "Cơ quan trong tỉnh",
    UserType.CENTRAL_AGENCIES: "Bộ, cơ quan TW",
    UserType.OTHER_PROVINCES: "Tỉnh, TP khác",
    UserType.ORGANISATIONS: "Tổ chức",
    UserType.INDIVIDUALS: "Cá nhân",
}
HEADINGS = (
    "STT",
    "Tên cơ sở dữ liệu",
    "Mục đích, phạm vi, nội dung",
    "Cơ chế thu thập, cập nhật; tần suất",
    "Nguồn dữ liệu",
    "Hạng mục dữ liệu",
)
COL_WIDTHS = (9, 42, 58, 42, 30, 34, *(12.4,) * len(UserType))
ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
         (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def roman(number: int) -> str:
    out = []
    for value, letters in ROMAN:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


@lru_cache
def font_files() -> dict[str, Path]:
    """The DejaVu Sans files: matplotlib's copy, else the system's."""
    folders = [_FALLBACK_DIR]
    spec = find_spec("matplotlib")  # located, not imported: importing it loads numpy
    if spec is not None and spec.submodule_search_locations:
        folders.insert(0, Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf")
    for folder in folders:
        paths = {style: folder / name for style, name in _STYLES.items()}
        if all(p.exists() for p in paths.values()):
            return paths
    raise RuntimeError("DejaVu Sans not found: install matplotlib (or fonts-dejavu-core)")


def decision_reference(number: str, day: Any) -> str:
    return (
        f"(Kèm theo Quyết định số {number} ngày {day.day} tháng {day.month} năm {day.year} "
        "của Chủ tịch UBND tỉnh)"
    )


class _Appendix(FPDF):
    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "I", 8)
        self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="C")


def _clip(text: Any, limit: int) -> str:
    """Long free text is shortened so that no table row outgrows a page (the XLSX has it whole)."""
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _database_text(entry: Mapping[str, Any]) -> str:
    level = ENUM_LABELS[DatabaseLevel].get(entry.get("level") or "", "")
    parts = [_clip(entry["name"], 300), f"Mã: {entry['code']}"]
    if level:
        parts.append(level)
    return "\n".join(parts)


def _purpose_text(entry: Mapping[str, Any]) -> str:
    parts = [
        ("Mục đích", entry.get("purpose")),
        ("Phạm vi", entry.get("scope")),
        ("Nội dung", entry.get("content")),
    ]
    return "\n".join(f"{label}: {_clip(text, 400)}" for label, text in parts if text)


def _mechanism_text(entry: Mapping[str, Any]) -> str:
    frequency = ENUM_LABELS[UpdateFrequency].get(entry.get("update_frequency") or "", "")
    parts = [
        ("Thu thập", entry.get("collection_mechanism")),
        ("Cập nhật", entry.get("update_mechanism")),
        ("Tần suất", frequency),
    ]
    return "\n".join(f"{label}: {_clip(text, 300)}" for label, text in parts if text)


def _grouped(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    groups: dict[str, tuple[str, list[Mapping[str, Any]]]] = {}
    for entry in entries:
        agency = entry.get("owner_agency") or {}
        key = agency.get("code") or ""
        groups.setdefault(key, (agency.get("name") or key, []))[1].append(entry)
    return sorted(groups.values(), key=lambda group: group[0])


def appendix_pdf(export: IssueExport) -> bytes:
    """The appendix PDF of ``export``.

    Each database's cells span its category rows; a database with so many categories
    that the span outgrows a page makes fpdf2 refuse, and then the document is laid out
    again with the database cells on the first category row only.
    """
    try:
        return _render(export, span=True)
    except ValueError:
        return _render(export, span=False)


def _render(export: IssueExport, *, span: bool) -> bytes:
    pdf = _Appendix(orientation="L", unit="mm", format="A4")
    for style, path in font_files().items():
        pdf.add_font(FONT, style, str(path))
    pdf.set_title(f"{TITLE} — {export.decision_number}")
    pdf.set_author("UBND tỉnh Lai Châu")
    pdf.set_creator("dulieuso")
    pdf.set_creation_date(datetime.combine(export.decision_date, time(), tzinfo=timezone.utc))
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=14)
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 6, "PHỤ LỤC", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 7, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "I", 10)
    pdf.cell(0, 6, decision_reference(export.decision_number, export.decision_date), align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    heading = FontFace(emphasis="BOLD", fill_color=(221, 230, 240))
    group_style = FontFace(emphasis="BOLD", fill_color=(242, 242, 242))
    pdf.set_font(FONT, "", 7.5)
    with pdf.table(
        col_widths=COL_WIDTHS,
        num_heading_rows=2,
        headings_style=heading,
        text_align="LEFT",
        v_align=VAlign.T,
        line_height=3.6,
        padding=1,
        cell_fill_mode=TableCellFillMode.NONE,
    ) as table:
        row = table.row()
        for text in HEADINGS:
            row.cell(text, rowspan=2, align="C", v_align=VAlign.M)
        row.cell("Đối tượng khai thác, sử dụng và hình thức chia sẻ", colspan=len(UserType), align="C")
        row = table.row()
        for user_type in UserType:
            row.cell(USER_TYPE_SHORT[user_type], align="C")

        number = 0
        for index, (agency_name, entries) in enumerate(_grouped(export.entries), start=1):
            row = table.row()
            row.cell(f"{roman(index)}. {agency_name}", colspan=len(COL_WIDTHS), style=group_style)
            for entry in entries:
                number += 1
                categories = list(entry.get("categories") or []) or [{"name": "", "availability": None}]
                rows = len(categories) if span else 1
                for position, category in enumerate(categories):
                    row = table.row()
                    if position == 0:
                        row.cell(str(number), rowspan=rows, align="C")
                        row.cell(_database_text(entry), rowspan=rows)
                        row.cell(_purpose_text(entry), rowspan=rows)
                        row.cell(_mechanism_text(entry), rowspan=rows)
                        row.cell(_clip(entry.get("data_sources"), 400), rowspan=rows)
                    elif not span:
                        for _ in range(5):
                            row.cell("")
                    row.cell(_clip(category["name"], 300))
                    availability = category.get("availability")
                    for user_type in UserType:
                        value = "" if availability is None else availability.get(user_type.value) or "not_shared"
                        row.cell(FORM_SHORT.get(value, value), align="C")
        if not export.entries:
            row = table.row()
            row.cell("(Không có cơ sở dữ liệu)", colspan=len(COL_WIDTHS), align="C")

    pdf.ln(3)
    pdf.set_font(FONT, "I", 8)
    legend = "; ".join(f"{FORM_SHORT[v]}: {label}" for v, label in ENUM_LABELS[SharingForm].items())
    pdf.multi_cell(0, 4, f"Ghi chú hình thức chia sẻ — {legend}.", new_x="LMARGIN", new_y="NEXT")
    if export.signer:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 10)
        signer = f"{export.signer_title}\n{export.signer}" if export.signer_title else export.signer
        pdf.set_x(pdf.w - pdf.r_margin - 90)
        pdf.multi_cell(90, 5, signer, align="C")
    return bytes(pdf.output())
