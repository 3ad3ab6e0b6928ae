# SPDX-License-Identifier: AGPL-3.0-or-later
"""The catalog spreadsheet: the XLSX template, exports in the same layout, and parsing.

One layout serves three purposes, so an exported version can be re-imported unchanged:

* sheet ``CSDL``: one row per database with every Art. 11(4) field and the rest of
  ``EntryData``;
* sheet ``Hạng mục - Trường``: one row per data element, keyed by database code and
  category name, with the category's availability matrix as one column per user type;
* sheet ``Hướng dẫn``: what each column means, with examples; and a hidden sheet
  ``_DanhMuc`` holding the drop-down lists.

The file format is Vietnamese and fixed: headers and list labels here are *data*, not
translated messages, so a file filled in English mode reads the same. Parsing also
accepts the enum values themselves ("daily") and ignores case and diacritics.

``parse_workbook`` turns a filled file into ``EntryData`` or raises ``Invalid`` listing
every problem as "Dòng N, cột '…': …" (row numbers as Excel shows them). It refuses
formulas, merged cells, legacy-font text, unknown or missing columns, duplicate codes,
and files that are too large, or whose zip members unpack too large (zip bombs).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from dulieuso.catalog.entries import CategoryData, ElementData, EntryData
from dulieuso.catalog.legacy import LegacyText, detect
from dulieuso.catalog.models import (
    DatabaseLevel,
    ElementType,
    Hosting,
    Importance,
    SharingForm,
    SharingScope,
    UpdateFrequency,
    UserType,
)
from dulieuso.errors import Invalid, PayloadTooLarge
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

#: Largest upload accepted (bytes of the .xlsx file itself).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Largest total size of the zip members once unpacked (a 10 MB file can hide gigabytes).
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
#: Most data rows accepted over both sheets.
MAX_ROWS = 20_000
#: Errors listed at most; the rest are counted.
MAX_ERRORS = 200
#: Rows the template prepares with drop-down lists.
TEMPLATE_ROWS = 2_000

DATABASE_SHEET = "CSDL"
ELEMENT_SHEET = "Hạng mục - Trường"
HELP_SHEET = "Hướng dẫn"
LIST_SHEET = "_DanhMuc"

YES, NO = "Có", "Không"

#: Vietnamese labels of the file format (stable: changing one breaks filled files).
ENUM_LABELS: dict[type[StrEnum], dict[str, str]] = {
    UpdateFrequency: {
        "realtime": "Thời gian thực",
        "daily": "Hằng ngày",
        "weekly": "Hằng tuần",
        "monthly": "Hằng tháng",
        "quarterly": "Hằng quý",
        "yearly": "Hằng năm",
        "on_change": "Khi có thay đổi",
        "irregular": "Không định kỳ",
    },
    DatabaseLevel: {
        "national": "CSDL quốc gia",
        "ministry": "CSDL của bộ, ngành",
        "sector": "CSDL chuyên ngành",
        "local_shared": "CSDL dùng chung của tỉnh",
        "internal": "CSDL nội bộ",
    },
    Hosting: {
        "agency_premises": "Tại cơ quan",
        "provincial_datacenter": "Trung tâm dữ liệu tỉnh",
        "national_datacenter": "Trung tâm dữ liệu quốc gia",
        "ministry_system": "Hệ thống của bộ, ngành",
        "cloud": "Điện toán đám mây",
        "paper": "Hồ sơ giấy",
    },
    SharingScope: {"shared": "Dùng chung", "private": "Dùng riêng", "open": "Mở"},
    Importance: {"core": "Cốt lõi", "important": "Quan trọng", "other": "Khác"},
    SharingForm: {
        "open_data": "Dữ liệu mở",
        "default": "Chia sẻ mặc định",
        "special_request": "Chia sẻ theo yêu cầu đặc thù",
        "not_shared": "Không chia sẻ",
    },
    ElementType: {
        "text": "Văn bản",
        "integer": "Số nguyên",
        "decimal": "Số thập phân",
        "date": "Ngày",
        "datetime": "Ngày giờ",
        "boolean": "Có/Không",
        "code": "Mã theo danh mục",
        "geometry": "Dữ liệu không gian",
        "file": "Tệp",
    },
}

USER_TYPE_HEADERS: dict[UserType, str] = {
    UserType.PROVINCE_AGENCIES: "Khai thác: Cơ quan trong tỉnh",
    UserType.CENTRAL_AGENCIES: "Khai thác: Bộ, cơ quan trung ương",
    UserType.OTHER_PROVINCES: "Khai thác: Tỉnh, thành phố khác",
    UserType.ORGANISATIONS: "Khai thác: Tổ chức",
    UserType.INDIVIDUALS: "Khai thác: Cá nhân",
}


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, how to read and write it, and its help text."""

    key: str
    header: str
    kind: str  # text | int | bool | enum | list
    help: str
    example: str = ""
    required: bool = False  # the cell must be filled
    enum: type[StrEnum] | None = None
    max_length: int | None = None
    optional_none: bool = False  # empty means None rather than ""
    width: int = 22


DATABASE_COLUMNS: tuple[Column, ...] = (
    Column("code", "Mã CSDL", "text", "Mã duy nhất của cơ sở dữ liệu, không có dấu cách.",
           "LCU-DATDAI", required=True, max_length=60, width=16),
    Column("name", "Tên CSDL", "text", "Tên đầy đủ của cơ sở dữ liệu.",
           "Cơ sở dữ liệu đất đai tỉnh Lai Châu", required=True, max_length=300, width=36),
    Column("owner_agency", "Mã cơ quan chủ quản", "text",
           "Mã cơ quan quản lý CSDL; để trống là cơ quan đang nhập.", "STNMT", max_length=60, width=16),
    Column("purpose", "Mục đích", "text", "Mục đích xây dựng CSDL (Điều 11 khoản 4 điểm a).",
           "Quản lý thống nhất thông tin đất đai trên địa bàn tỉnh", width=36),
    Column("scope", "Phạm vi", "text", "Phạm vi thông tin, địa bàn (điểm a).", "Toàn tỉnh", width=24),
    Column("content", "Nội dung", "text", "Nội dung chính của CSDL (điểm a).",
           "Thửa đất, chủ sử dụng, quy hoạch, giá đất", width=36),
    Column("collection_mechanism", "Cơ chế thu thập", "text", "Cách dữ liệu được thu thập (điểm b).",
           "Số hóa hồ sơ địa chính; cập nhật qua biến động", width=30),
    Column("update_mechanism", "Cơ chế cập nhật", "text", "Cách dữ liệu được cập nhật (điểm b).",
           "Cập nhật khi đăng ký biến động", width=30),
    Column("update_frequency", "Tần suất cập nhật", "enum", "Chọn trong danh sách (điểm b).",
           "Khi có thay đổi", enum=UpdateFrequency, optional_none=True, width=18),
    Column("data_sources", "Nguồn dữ liệu", "text", "Nguồn hình thành dữ liệu (điểm c).",
           "Hồ sơ địa chính các xã, phường", width=30),
    Column("level", "Cấp CSDL", "enum", "Loại CSDL theo Điều 11 khoản 1; chọn trong danh sách.",
           "CSDL chuyên ngành", enum=DatabaseLevel, optional_none=True, width=22),
    Column("legal_basis", "Căn cứ pháp lý", "text", "Văn bản quy định việc xây dựng CSDL.",
           "Luật Đất đai 2024", width=30),
    Column("hosting", "Nơi lưu trữ", "enum", "Nơi đặt CSDL; chọn trong danh sách.",
           "Trung tâm dữ liệu tỉnh", enum=Hosting, optional_none=True, width=22),
    Column("start_year", "Năm bắt đầu", "int", "Năm bắt đầu xây dựng hoặc vận hành (số).",
           "2018", optional_none=True, width=12),
    Column("record_count_estimate", "Số bản ghi ước tính", "int", "Số bản ghi (ước tính), số nguyên.",
           "250000", optional_none=True, width=14),
    Column("contact_name", "Người liên hệ", "text", "Để trống: lấy cán bộ đầu mối của cơ quan.",
           "Nguyễn Văn A", max_length=200, optional_none=True, width=20),
    Column("contact_email", "Thư điện tử liên hệ", "text", "Địa chỉ thư điện tử của người liên hệ.",
           "nva@laichau.gov.vn", max_length=254, optional_none=True, width=24),
    Column("contact_phone", "Điện thoại liên hệ", "text", "Số điện thoại của người liên hệ.",
           "0213 3876 543", max_length=40, optional_none=True, width=16),
    Column("sharing_scope", "Phạm vi chia sẻ", "enum",
           "Dùng chung, dùng riêng hoặc mở (Luật Dữ liệu 2024 Điều 3).", "Dùng chung",
           required=True, enum=SharingScope, width=14),
    Column("importance", "Mức độ quan trọng", "enum", "Cốt lõi, quan trọng hoặc khác.", "Quan trọng",
           required=True, enum=Importance, width=14),
    Column("decision20_item", "Mục theo QĐ 20/2025/QĐ-TTg", "text",
           "Bắt buộc khi là dữ liệu cốt lõi hoặc quan trọng.", "Mục II.3", max_length=200,
           optional_none=True, width=18),
    Column("contains_personal_data", "Có dữ liệu cá nhân", "bool", "Có hoặc Không.", YES, width=12),
    Column("contains_state_secret", "Có bí mật nhà nước", "bool",
           "Có hoặc Không. CSDL có bí mật nhà nước không được công khai, không được mở.", NO, width=12),
    Column("is_original_data", "Là dữ liệu gốc", "bool", "Có hoặc Không.", YES, width=12),
    Column("systems", "Mã hệ thống thông tin", "list",
           "Mã các hệ thống thông tin chứa CSDL, cách nhau bởi dấu chấm phẩy (;).",
           "HTTT-DATDAI; HTTT-MOTCUA", width=24),
)

ELEMENT_COLUMNS: tuple[Column, ...] = (
    Column("database", "Mã CSDL", "text", "Mã CSDL đã khai ở trang CSDL.", "LCU-DATDAI",
           required=True, max_length=60, width=16),
    Column("category", "Hạng mục dữ liệu", "text",
           "Tên hạng mục (Điều 11 khoản 4 điểm d). Các dòng cùng hạng mục đứng liền nhau.",
           "Thông tin thửa đất", required=True, max_length=300, width=28),
    Column("category_description", "Mô tả hạng mục", "text",
           "Ghi ở dòng đầu của hạng mục; các dòng sau để trống hoặc ghi giống hệt.",
           "Thông tin về thửa đất", width=28),
    *(
        Column(f"availability.{user_type.value}", header, "enum",
               "Hình thức chia sẻ với đối tượng này; để trống là không chia sẻ.", "Chia sẻ mặc định",
               enum=SharingForm, width=20)
        for user_type, header in USER_TYPE_HEADERS.items()
    ),
    Column("name", "Tên trường dữ liệu", "text",
           "Tên trường (mục tin). Để trống nếu hạng mục chưa có trường.", "Số hiệu thửa",
           max_length=300, width=26),
    Column("data_type", "Kiểu dữ liệu", "enum", "Chọn trong danh sách; bắt buộc khi có tên trường.",
           "Văn bản", enum=ElementType, width=16),
    Column("description", "Mô tả trường", "text", "Giải thích nội dung của trường.",
           "Số thứ tự thửa trên tờ bản đồ", width=28),
    Column("unit", "Đơn vị tính", "text", "Đơn vị đo, nếu có.", "m²", max_length=60,
           optional_none=True, width=12),
    Column("required", "Bắt buộc", "bool", "Có hoặc Không.", YES, width=10),
    Column("code_list", "Mã danh mục dùng chung", "text",
           "Mã danh mục dùng chung mà trường dùng (khi kiểu là 'Mã theo danh mục').", "DVHC",
           max_length=60, optional_none=True, width=18),
    Column("is_master_data", "Dữ liệu chủ", "bool", "Có hoặc Không.", NO, width=10),
    Column("is_personal_data", "Dữ liệu cá nhân", "bool", "Có hoặc Không.", NO, width=10),
    Column("dictionary_id", "Mã từ điển dữ liệu", "text",
           "Mã trường trong Từ điển dữ liệu dùng chung (QĐ 2439/QĐ-TTg), nếu có.", "",
           max_length=80, optional_none=True, width=16),
)

SHEETS: dict[str, tuple[Column, ...]] = {DATABASE_SHEET: DATABASE_COLUMNS, ELEMENT_SHEET: ELEMENT_COLUMNS}
_CATEGORY_KEYS = ("category_description", *(f"availability.{u.value}" for u in UserType))


# -- writing -------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_REQUIRED_FILL = PatternFill("solid", fgColor="9C2A00")


def _label(enum: type[StrEnum], value: Any) -> str:
    if value is None or value == "":
        return ""
    return ENUM_LABELS[enum].get(str(value), str(value))


def _safe(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _put(sheet: Worksheet, row: int, col: int, value: Any) -> None:
    cell = sheet.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = _safe(value)
        # openpyxl reads a leading "=" as a formula; catalog text is never one.
        cell.data_type = "s"
    else:
        cell.value = value


def _cell_value(column: Column, value: Any) -> Any:
    if column.kind == "enum":
        assert column.enum is not None
        return _label(column.enum, value)
    if column.kind == "bool":
        return YES if value else NO
    if column.kind == "list":
        return "; ".join(value or [])
    if value is None:
        return ""
    return value


def database_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    row = {key: entry.get(key) for key in (c.key for c in DATABASE_COLUMNS)}
    agency = entry.get("owner_agency")
    row["owner_agency"] = agency.get("code") if isinstance(agency, Mapping) else agency
    contact = entry.get("contact") or {}
    for part in ("name", "email", "phone"):
        row[f"contact_{part}"] = contact.get(part)
    row["systems"] = [s["code"] if isinstance(s, Mapping) else s for s in entry.get("systems") or []]
    return row


def _element_rows(entry: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for category in entry.get("categories") or []:
        base: dict[str, Any] = {
            "database": entry["code"],
            "category": category["name"],
            "category_description": category.get("description") or "",
        }
        availability = category.get("availability") or {}
        for user_type in UserType:
            base[f"availability.{user_type.value}"] = availability.get(user_type.value)
        elements = category.get("elements") or []
        if not elements:
            yield {**base, "required": False, "is_master_data": False, "is_personal_data": False}
        for element in elements:
            yield {**base, **element}


def _write_sheet(sheet: Worksheet, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> int:
    for index, column in enumerate(columns, start=1):
        _put(sheet, 1, index, column.header)
        cell = sheet.cell(row=1, column=index)
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if column.required else _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    count = 0
    for count, row in enumerate(rows, start=1):
        for index, column in enumerate(columns, start=1):
            _put(sheet, count + 1, index, _cell_value(column, row.get(column.key)))
    return count


def _add_validations(sheet: Worksheet, columns: Sequence[Column], last_row: int, ranges: Mapping[type[StrEnum], str]) -> None:
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        area = f"{letter}2:{letter}{last_row}"
        if column.kind == "enum":
            assert column.enum is not None
            rule = DataValidation(type="list", formula1=ranges[column.enum], allow_blank=True)
        elif column.kind == "bool":
            rule = DataValidation(type="list", formula1=f'"{YES},{NO}"', allow_blank=True)
        elif column.kind == "int":
            rule = DataValidation(type="whole", operator="between", formula1="0", formula2="999999999999", allow_blank=True)
        else:
            continue
        rule.error = f"Giá trị không hợp lệ ở cột '{column.header}'. Chọn trong danh sách hoặc xem trang '{HELP_SHEET}'."
        rule.errorTitle = "Giá trị không hợp lệ"
        rule.showErrorMessage = True
        sheet.add_data_validation(rule)
        rule.add(area)


def _write_lists(book: Workbook) -> dict[type[StrEnum], str]:
    sheet = book.create_sheet(LIST_SHEET)
    sheet.sheet_state = "hidden"
    ranges: dict[type[StrEnum], str] = {}
    for index, (enum, labels) in enumerate(ENUM_LABELS.items(), start=1):
        letter = get_column_letter(index)
        _put(sheet, 1, index, enum.__name__)
        for row, text in enumerate(labels.values(), start=2):
            _put(sheet, row, index, text)
        ranges[enum] = f"'{LIST_SHEET}'!${letter}$2:${letter}${len(labels) + 1}"
    return ranges


def _write_help(book: Workbook, title: str) -> None:
    sheet = book.create_sheet(HELP_SHEET, 0)
    lines = [
        title,
        "",
        "Cách điền:",
        f"1. Trang '{DATABASE_SHEET}': mỗi dòng là một cơ sở dữ liệu (CSDL). Mã CSDL không được trùng.",
        f"2. Trang '{ELEMENT_SHEET}': mỗi dòng là một trường dữ liệu, thuộc một hạng mục của một CSDL. "
        "Các cột 'Khai thác: …' là ma trận khai thác của hạng mục theo từng đối tượng.",
        "3. Các cột có danh sách chọn: chọn giá trị trong danh sách, không gõ giá trị khác.",
        "4. Dùng phông chữ Unicode (Times New Roman, Arial). Không dùng phông TCVN3 (.VnTime) hay VNI: "
        "tệp có chữ theo bảng mã cũ sẽ bị từ chối (chuyển mã bằng Unikey trước khi tải lên).",
        "5. Không gộp ô (merge), không dùng công thức, không đổi tên hay thứ tự các cột tiêu đề.",
        f"6. Tệp tối đa {MAX_FILE_BYTES // (1024 * 1024)} MB và {MAX_ROWS:,} dòng dữ liệu.".replace(",", "."),
        "7. Nhập là 'tất cả hoặc không': chỉ cần một dòng sai thì không dòng nào được lưu; "
        "hệ thống báo dòng và cột cần sửa. Trước khi lưu, hệ thống hiển thị bản xem trước các thay đổi.",
        "8. CSDL đã có (cùng mã) sẽ được cập nhật theo đúng nội dung trong tệp, kể cả các hạng mục và trường.",
        "",
    ]
    for row, text in enumerate(lines, start=1):
        _put(sheet, row, 1, text)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    start = len(lines) + 1
    for index, header in enumerate(("Trang", "Cột", "Bắt buộc", "Giải thích", "Ví dụ", "Giá trị được chọn"), start=1):
        _put(sheet, start, index, header)
        sheet.cell(row=start, column=index).font = _HEADER_FONT
        sheet.cell(row=start, column=index).fill = _HEADER_FILL
    row = start
    for sheet_name, columns in SHEETS.items():
        for column in columns:
            row += 1
            allowed = ""
            if column.kind == "enum":
                assert column.enum is not None
                allowed = "; ".join(ENUM_LABELS[column.enum].values())
            elif column.kind == "bool":
                allowed = f"{YES}; {NO}"
            for index, value in enumerate(
                (sheet_name, column.header, YES if column.required else "", column.help, column.example, allowed),
                start=1,
            ):
                _put(sheet, row, index, value)
                sheet.cell(row=row, column=index).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEF", (18, 30, 10, 60, 34, 50), strict=True):
        sheet.column_dimensions[letter].width = width


def write_workbook(entries: Sequence[Mapping[str, Any]], *, title: str | None = None, template_rows: int = TEMPLATE_ROWS) -> bytes:
    """An XLSX in the template layout holding ``entries`` (``entry_dict`` shape); none = the template."""
    book = Workbook()
    databases = book.active
    assert databases is not None
    databases.title = DATABASE_SHEET
    elements = book.create_sheet(ELEMENT_SHEET)
    count = _write_sheet(databases, DATABASE_COLUMNS, (database_row(e) for e in entries))
    element_count = _write_sheet(elements, ELEMENT_COLUMNS, (r for e in entries for r in _element_rows(e)))
    ranges = _write_lists(book)
    _add_validations(databases, DATABASE_COLUMNS, max(count, template_rows) + 1, ranges)
    _add_validations(elements, ELEMENT_COLUMNS, max(element_count, template_rows) + 1, ranges)
    _write_help(book, title or "MẪU KÊ KHAI DANH MỤC CƠ SỞ DỮ LIỆU CỦA TỈNH LAI CHÂU")
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_bytes() -> bytes:
    """The empty template to download."""
    return write_workbook([])


# -- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class CellError:
    """One problem, located: sheet, Excel row number (0 = the whole sheet), column header."""

    sheet: str
    row: int
    column: str
    cell: str
    message: Msg

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "cell": self.cell,
            "message": self.message.vi,
            "message_en": self.message.en,
        }


@dataclass
class EntryRows:
    """Where an entry came from: its row on the database sheet, and the element-sheet
    rows of each category (first row) and element, in ``EntryData`` order."""

    row: int
    categories: list[int] = field(default_factory=list)
    elements: list[list[int]] = field(default_factory=list)


@dataclass
class ParsedWorkbook:
    """A parsed upload: the entries in file order, where each came from, and row counts."""

    entries: list[EntryData]
    rows: dict[str, EntryRows] = field(default_factory=dict)
    database_rows: int = 0
    element_rows: int = 0

    def locate(self, code: str, path: str) -> tuple[str, int, str]:
        """``(sheet, row, column header)`` of a service error path of entry ``code``,
        such as ``categories[1].elements[0].code_list`` or ``systems[2]``."""
        rows = self.rows[code]
        match = re.match(r"categories\[(\d+)\](?:\.elements\[(\d+)\])?\.?([\w.]*)", path)
        if match is None:
            key = re.sub(r"\[\d+\]$", "", path)
            key = {"contact": "contact_name"}.get(key, key)
            header = next((c.header for c in DATABASE_COLUMNS if c.key == key), DATABASE_COLUMNS[0].header)
            return DATABASE_SHEET, rows.row, header
        category, element, rest = int(match[1]), match[2], match[3]
        if category >= len(rows.categories):
            return DATABASE_SHEET, rows.row, DATABASE_COLUMNS[0].header
        if element is not None and int(element) < len(rows.elements[category]):
            key = rest or "name"
            header = next((c.header for c in ELEMENT_COLUMNS if c.key == key), "Tên trường dữ liệu")
            return ELEMENT_SHEET, rows.elements[category][int(element)], header
        if rest.startswith("availability"):
            user_type = rest.partition(".")[2] or UserType.PROVINCE_AGENCIES.value
            header = USER_TYPE_HEADERS.get(UserType(user_type), "") if user_type in set(UserType) else ""
            return ELEMENT_SHEET, rows.categories[category], header
        key = {"description": "category_description"}.get(rest, "category")
        header = next((c.header for c in ELEMENT_COLUMNS if c.key == key), "Hạng mục dữ liệu")
        return ELEMENT_SHEET, rows.categories[category], header


class ImportErrors(Invalid):
    """The file cannot be imported; ``errors`` lists every problem found."""

    code = "import_invalid"

    def __init__(self, errors: Sequence[CellError], total: int | None = None) -> None:
        total = total if total is not None else len(errors)
        shown = list(errors)[:MAX_ERRORS]
        fields: dict[str, list[Msg]] = {}
        for error in shown:
            key = f"{error.sheet}!{error.cell}" if error.cell else error.sheet or "file"
            fields.setdefault(key, []).append(error.message)
        super().__init__(
            Msg("The file has {count} error(s); nothing was imported.", count=total),
            fields=fields,
            extra={"errors": [e.as_dict() for e in shown], "error_count": total},
        )
        self.errors = shown
        self.total = total


def _file_error(message: Msg) -> ImportErrors:
    return ImportErrors([CellError("", 0, "", "", message)])


def check_archive(data: bytes) -> None:
    """Refuse empty, oversized, non-XLSX files and zip bombs before openpyxl reads them."""
    if not data:
        raise _file_error(Msg("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(
            Msg("The file is larger than {limit} MB.", limit=MAX_FILE_BYTES // (1024 * 1024)),
            code="file_too_large",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _file_error(Msg("This is not an Excel (.xlsx) file.")) from None
    with archive:
        members = archive.infolist()
        names = {m.filename for m in members}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise _file_error(Msg("This is not an Excel (.xlsx) file."))
        # Sizes are read from the zip directory; zipfile stops reading a member at its
        # declared size and checks its CRC, so a lying header cannot unpack more.
        unpacked = sum(m.file_size for m in members)
        if unpacked > MAX_UNPACKED_BYTES or len(members) > 10_000:
            raise PayloadTooLarge(
                Msg("The file unpacks to more than {limit} MB; it is refused.", limit=MAX_UNPACKED_BYTES // (1024 * 1024)),
                code="file_too_large",
            )


def _merges_cells(data: bytes) -> bool:
    """Whether an XML part of the file (an ``.xlsx``, checked by ``check_archive``)
    mentions merged cells (``<mergeCell ref=…>``); a false alarm, the word in a cell's
    text, only makes parsing take the slower full mode."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if not member.filename.endswith(".xml"):
                continue
            with archive.open(member) as part:
                tail = b""
                while block := part.read(1 << 20):
                    if b"mergeCell" in tail + block:
                        return True
                    tail = block[-16:]
    return False


def _norm_header(text: Any) -> str:
    return fold(str(text or "").replace("*", ""))


_INT_GROUPED = re.compile(r"^\d{1,3}(?:[., ]\d{3})+$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")
_TRUE = {"co", "x", "yes", "true", "1", "dung"}
_FALSE = {"khong", "no", "false", "0", "sai", ""}


@lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    """``fold`` for the few distinct values of list columns (thousands of cells, a dozen values)."""
    return fold(text)


def _lookup(enum: type[StrEnum]) -> dict[str, StrEnum]:
    from dulieuso.catalog import labels as display

    table: dict[str, StrEnum] = {}
    for member in enum:
        table[fold(member.value)] = member
        table[fold(member.value.replace("_", " "))] = member
    # The labels pages show (English and Vietnamese) are accepted too.
    for lang in ("en", "vi"):
        for value, text in display.choices(enum, lang):
            table.setdefault(fold(text), enum(value))
    for value, text in ENUM_LABELS[enum].items():
        table[fold(text)] = enum(value)
    return table


class _Reader:
    """Reads cells of one sheet into Python values, collecting located errors."""

    def __init__(
        self,
        errors: list[CellError],
        sheet: str,
        lookups: dict[type[StrEnum], dict[str, StrEnum]],
        legacy: dict[str, LegacyText | None],
    ) -> None:
        self.errors = errors
        self.sheet = sheet
        self.lookups = lookups
        #: ``detect`` per distinct text of this upload: a category's name and the list
        #: labels repeat on thousands of rows, and some plain words take its slow path.
        self.legacy = legacy

    def error(self, row: int, column: Column, cell: str, message: Msg) -> None:
        self.errors.append(
            CellError(self.sheet, row, column.header, cell,
                      Msg("Row {row}, column '{column}': {problem}", row=row, column=column.header, problem=message))
        )

    def value(self, row: int, column: Column, cell: str, raw: Any) -> Any:
        if isinstance(raw, str):
            raw = unicodedata.normalize("NFC", raw).strip()
            if raw in self.legacy:
                legacy = self.legacy[raw]
            else:
                legacy = self.legacy[raw] = detect(raw)
            if legacy is not None:
                self.error(row, column, cell, Msg(
                    "the text '{value}' is in the legacy {encoding} font encoding (did you mean '{suggestion}'?). "
                    "Convert the file to Unicode and upload it again.",
                    value=raw[:60], encoding=legacy.encoding, suggestion=legacy.suggestion[:60],
                ))
                return None
        empty = raw is None or raw == ""
        if empty and column.required:
            self.error(row, column, cell, Msg("a value is required."))
            return None
        reader: Callable[[int, Column, str, Any], Any] = getattr(self, f"_{column.kind}")
        return reader(row, column, cell, None if empty else raw)

    def _text(self, row: int, column: Column, cell: str, raw: Any) -> Any:
        if raw is None:
            return None if column.optional_none else ""
        if isinstance(raw, bool) or isinstance(raw, datetime | date):
            self.error(row, column, cell, Msg("expected text, got '{value}'.", value=raw))
            return None
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        text = str(raw)
        if column.max_length and len(text) > column.max_length:
            self.error(row, column, cell, Msg("the text is longer than {limit} characters.", limit=column.max_length))
        if column.key in {"code", "database", "owner_agency", "code_list"} and not _CODE.match(text):
            self.error(row, column, cell, Msg("invalid code '{value}' (letters, digits, . _ - / only, no spaces).", value=text[:60]))
        if column.key in {"code", "database", "owner_agency"}:
            text = text.upper()  # entry and agency codes are upper case (catalog.service.CODE_RE)
        return text

    def _int(self, row: int, column: Column, cell: str, raw: Any) -> Any:
        if raw is None:
            return None
        number: int | None = None
        if isinstance(raw, bool):
            number = None
        elif isinstance(raw, int):
            number = raw
        elif isinstance(raw, float) and raw.is_integer():
            number = int(raw)
        elif isinstance(raw, str):
            text = raw.strip()
            if text.isdigit():
                number = int(text)
            elif _INT_GROUPED.match(text):
                number = int(re.sub(r"[., ]", "", text))
        if number is None or number < 0:
            self.error(row, column, cell, Msg("expected a whole number, got '{value}'.", value=str(raw)[:60]))
            return None
        if column.key == "start_year" and not 1900 <= number <= 2100:
            self.error(row, column, cell, Msg("the year {value} is not plausible.", value=number))
            return None
        return number

    def _bool(self, row: int, column: Column, cell: str, raw: Any) -> Any:
        if raw is None:
            return False
        if isinstance(raw, bool):
            return raw
        key = _folded(str(raw))
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        self.error(row, column, cell, Msg("invalid value '{value}' (choose one of: {choices})", value=str(raw)[:60], choices=YES + ", " + NO))
        return None

    def _enum(self, row: int, column: Column, cell: str, raw: Any) -> Any:
        if raw is None:
            return None
        assert column.enum is not None
        member = self.lookups[column.enum].get(_folded(str(raw)))
        if member is None:
            choices = ", ".join(ENUM_LABELS[column.enum].values())
            self.error(row, column, cell, Msg("invalid value '{value}' (choose one of: {choices})", value=str(raw)[:60], choices=choices))
        return member

    def _list(self, row: int, column: Column, cell: str, raw: Any) -> Any:
        if raw is None:
            return []
        parts = [p.strip() for p in re.split(r"[;,\n]", str(raw)) if p.strip()]
        for part in parts:
            if not _CODE.match(part):
                self.error(row, column, cell, Msg("invalid code '{value}' (letters, digits, . _ - / only, no spaces).", value=part[:60]))
        return list(dict.fromkeys(p.upper() for p in parts))


def _sheet_rows(
    sheet: Worksheet | ReadOnlyWorksheet, columns: Sequence[Column], errors: list[CellError], budget: list[int]
) -> tuple[list[tuple[int, dict[str, Any], dict[str, str]]], bool]:
    """Check the header row and the merged cells, then yield ``(row number, raw values, cell refs)``."""
    name = sheet.title
    ok = True
    # A read-only sheet knows no merged cells: it is only used for files without any.
    for merged in sheet.merged_cells.ranges if isinstance(sheet, Worksheet) else ():
        errors.append(CellError(name, merged.min_row, "", merged.coord, Msg(
            "Sheet '{sheet}', cells {cells}: merged cells are not allowed; unmerge them and fill every cell.",
            sheet=name, cells=merged.coord)))
        ok = False
    header = [cell.value for cell in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    expected = {_norm_header(c.header): c for c in columns}
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        if text is None or str(text).strip() == "":
            continue
        column = expected.get(_norm_header(text))
        letter = get_column_letter(index + 1)
        if column is None:
            errors.append(CellError(name, 1, str(text), f"{letter}1", Msg(
                "Sheet '{sheet}', column {letter}: unknown column '{header}'.", sheet=name, letter=letter, header=str(text)[:80])))
            ok = False
        elif column.key in positions:
            errors.append(CellError(name, 1, column.header, f"{letter}1", Msg(
                "Sheet '{sheet}', column {letter}: the column '{header}' appears twice.", sheet=name, letter=letter, header=column.header)))
            ok = False
        else:
            positions[column.key] = index
    for column in columns:
        if column.key not in positions:
            errors.append(CellError(name, 1, column.header, "", Msg(
                "Sheet '{sheet}': the column '{header}' is missing.", sheet=name, header=column.header)))
            ok = False
    if not ok:
        return [], False
    rows: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    width = max(positions.values()) + 1
    for number, cells in enumerate(sheet.iter_rows(min_row=2), start=2):
        values: dict[str, Any] = {}
        refs: dict[str, str] = {}
        blank = True
        for column in columns:
            index = positions[column.key]
            cell = cells[index] if index < len(cells) else None
            value = cell.value if cell is not None else None
            if cell is not None and cell.data_type == "f":
                errors.append(CellError(name, number, column.header, cell.coordinate, Msg(
                    "Row {row}, column '{column}': {problem}", row=number, column=column.header,
                    problem=Msg("formulas are not accepted; paste the values instead."))))
                value = None
            if value is not None and not (isinstance(value, str) and not value.strip()):
                blank = False
            values[column.key] = value
            refs[column.key] = f"{get_column_letter(index + 1)}{number}"
        if any(c.value not in (None, "") for c in cells[width:]):
            blank = False  # data beyond the known columns is reported as unknown below
            extra = next(c for c in cells[width:] if c.value not in (None, ""))
            errors.append(CellError(name, number, "", extra.coordinate, Msg(
                "Row {row}: the cell {cell} is outside the template's columns.", row=number, cell=extra.coordinate)))
        if blank:
            continue
        budget[0] -= 1
        if budget[0] < 0:
            raise PayloadTooLarge(Msg("The file has more than {limit} data rows.", limit=MAX_ROWS), code="too_many_rows")
        rows.append((number, values, refs))
    return rows, True


def parse_workbook(data: bytes, *, agency: str | None = None) -> ParsedWorkbook:
    """Parse a filled template into entries, or raise ``ImportErrors`` (nothing half-read).

    ``agency`` is the code of the agency the import is for: an empty owner cell means
    that agency, and a row owned by another agency is an error.
    """
    check_archive(data)
    # Read-only mode streams the two data sheets and skips the rest of the workbook (the
    # help sheet, styles and drop-down lists of every row): a fifth less time on a large
    # file. It cannot list merged cells, so a file that has some is read in full.
    read_only = not _merges_cells(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=read_only, data_only=False)
    except Exception:  # openpyxl raises many types for a damaged file; all mean the same
        raise _file_error(Msg("The Excel file could not be read; it may be damaged.")) from None
    try:
        errors: list[CellError] = []
        missing = [name for name in SHEETS if name not in book.sheetnames]
        if missing:
            raise ImportErrors([
                CellError(name, 0, "", "", Msg("The sheet '{sheet}' is missing; use the downloaded template.", sheet=name))
                for name in missing
            ])
        budget = [MAX_ROWS]
        sheets = [book[DATABASE_SHEET], book[ELEMENT_SHEET]]
        for sheet in sheets:
            if isinstance(sheet, ReadOnlyWorksheet):
                # The size a file declares can be wrong (some programs write "A1");
                # read every row there is, as full mode does.
                sheet.reset_dimensions()
        db_rows, db_ok = _sheet_rows(sheets[0], DATABASE_COLUMNS, errors, budget)
        el_rows, el_ok = _sheet_rows(sheets[1], ELEMENT_COLUMNS, errors, budget)
    finally:
        book.close()  # a read-only workbook keeps the archive open until then
    lookups = {enum: _lookup(enum) for enum in ENUM_LABELS}
    legacy: dict[str, LegacyText | None] = {}
    if not (db_ok and el_ok):
        raise ImportErrors(errors)
    if not db_rows:
        errors.append(CellError(DATABASE_SHEET, 0, "", "", Msg("The sheet '{sheet}' has no data rows.", sheet=DATABASE_SHEET)))
        raise ImportErrors(errors)

    if agency:
        agency = agency.strip().upper()
    entries: dict[str, EntryData] = {}
    locations: dict[str, EntryRows] = {}
    first_row: dict[str, int] = {}
    reader = _Reader(errors, DATABASE_SHEET, lookups, legacy)
    by_key = {c.key: c for c in DATABASE_COLUMNS}
    for number, raw, refs in db_rows:
        values = {key: reader.value(number, by_key[key], refs[key], raw[key]) for key in by_key}
        code = values["code"]
        owner = values["owner_agency"] or agency or ""
        if agency and values["owner_agency"] and values["owner_agency"] != agency:
            reader.error(number, by_key["owner_agency"], refs["owner_agency"], Msg(
                "the database belongs to agency '{owner}', but this import is for '{agency}'.", owner=owner, agency=agency))
        if not owner:
            reader.error(number, by_key["owner_agency"], refs["owner_agency"], Msg("a value is required."))
        if code and code in first_row:
            reader.error(number, by_key["code"], refs["code"], Msg(
                "the code '{code}' is already used on row {other}.", code=code, other=first_row[code]))
            continue
        if code:
            first_row[code] = number
        if not code or not values["name"]:
            continue
        locations[code] = EntryRows(number)
        entries[code] = EntryData(
            code=code,
            name=values["name"],
            owner_agency=owner,
            **{k: v for k, v in values.items() if k not in {"code", "name", "owner_agency"} and v is not None},
        )

    reader = _Reader(errors, ELEMENT_SHEET, lookups, legacy)
    by_key = {c.key: c for c in ELEMENT_COLUMNS}
    categories: dict[tuple[str, str], tuple[CategoryData, int, dict[str, Any], int]] = {}
    element_rows: dict[tuple[str, str, str], int] = {}
    for number, raw, refs in el_rows:
        values = {key: reader.value(number, by_key[key], refs[key], raw[key]) for key in by_key}
        code, category_name, element_name = values["database"], values["category"], values["name"]
        if not code or not category_name:
            continue
        entry = entries.get(code)
        if entry is None:
            if code not in first_row:
                reader.error(number, by_key["database"], refs["database"], Msg(
                    "the database code '{code}' is not on the sheet '{sheet}'.", code=code, sheet=DATABASE_SHEET))
            continue
        category_values = {k: values[k] for k in _CATEGORY_KEYS}
        known = categories.get((code, category_name))
        if known is None:
            category = CategoryData(
                name=category_name,
                description=category_values["category_description"] or "",
                availability={
                    user_type: category_values[f"availability.{user_type.value}"]
                    for user_type in UserType
                    if category_values[f"availability.{user_type.value}"] is not None
                },
            )
            entry.categories.append(category)
            locations[code].categories.append(number)
            locations[code].elements.append([])
            index = len(entry.categories) - 1
            categories[(code, category_name)] = (category, number, category_values, index)
        else:
            category, first, first_values, index = known
            for key in _CATEGORY_KEYS:
                if category_values[key] not in (None, "") and category_values[key] != first_values[key]:
                    reader.error(number, by_key[key], refs[key], Msg(
                        "differs from row {other} of the same category; write it once, on the category's first row.", other=first))
        if not element_name:
            continue
        key = (code, category_name, fold(element_name))
        if key in element_rows:
            reader.error(number, by_key["name"], refs["name"], Msg(
                "the element '{name}' is already listed on row {other} in this category.", name=element_name, other=element_rows[key]))
            continue
        element_rows[key] = number
        if values["data_type"] is None:
            if raw["data_type"] in (None, ""):
                reader.error(number, by_key["data_type"], refs["data_type"], Msg("a value is required."))
            continue
        locations[code].elements[index].append(number)
        category.elements.append(ElementData(
            name=element_name,
            data_type=values["data_type"],
            description=values["description"] or "",
            unit=values["unit"],
            required=bool(values["required"]),
            code_list=values["code_list"],
            is_master_data=bool(values["is_master_data"]),
            is_personal_data=bool(values["is_personal_data"]),
            dictionary_id=values["dictionary_id"],
        ))
    if errors:
        errors.sort(key=lambda e: (e.sheet != DATABASE_SHEET, e.row))
        raise ImportErrors(errors)
    return ParsedWorkbook(list(entries.values()), locations, database_rows=len(db_rows), element_rows=len(el_rows))
