# SPDX-License-Identifier: AGPL-3.0-or-later
"""Rebuild the awkward spreadsheets in this folder: ``python tests/catalog/data/make_files.py``.

Each file is a real .xlsx (or a real non-xlsx) that the import must refuse with a
located error. They are kept in git so that a person can open them in Excel too.
All rows belong to the test agency ``T-SNNMT`` of ``tests/catalog/conftest.py``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import load_workbook

from dulieuso.catalog.spreadsheet import DATABASE_SHEET, ELEMENT_SHEET, write_workbook

HERE = Path(__file__).parent
AGENCY = "T-SNNMT"


def entry(code: str, name: str, **extra: object) -> dict[str, object]:
    return {
        "code": code, "name": name, "owner_agency": {"code": AGENCY, "name": ""},
        "purpose": "Quản lý", "scope": "Toàn tỉnh", "content": "Thửa đất", "collection_mechanism": "Số hóa",
        "update_mechanism": "Khi có biến động", "update_frequency": "on_change", "data_sources": "Hồ sơ",
        "level": "local_shared", "sharing_scope": "shared", "importance": "other",
        "categories": [{"name": "Thửa đất", "availability": {"province_agencies": "default"},
                        "elements": [{"name": "Số hiệu thửa", "data_type": "text"}]}],
        **extra,
    }


def edit(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    book = load_workbook(io.BytesIO(data))
    change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    base = write_workbook([entry("T-MOT", "Cơ sở dữ liệu một"), entry("T-HAI", "Cơ sở dữ liệu hai")])

    def tcvn3(book):  # type: ignore[no-untyped-def]
        book[DATABASE_SHEET]["B3"] = "C¬ së d÷ liÖu ®Êt ®ai"

    def vni(book):  # type: ignore[no-untyped-def]
        book[ELEMENT_SHEET]["B3"] = "Thoâng tin chuû söû duïng"

    def merged(book):  # type: ignore[no-untyped-def]
        book[DATABASE_SHEET].merge_cells("D2:D3")

    def wrong_columns(book):  # type: ignore[no-untyped-def]
        sheet = book[DATABASE_SHEET]
        sheet["I1"] = "Tần suất"  # renamed: "Tần suất cập nhật" is then missing
        sheet.cell(row=1, column=sheet.max_column + 1, value="Ghi chú")

    def formula(book):  # type: ignore[no-untyped-def]
        book[DATABASE_SHEET]["N2"] = "=2000+18"

    (HERE / "tcvn3.xlsx").write_bytes(edit(base, tcvn3))
    (HERE / "vni.xlsx").write_bytes(edit(base, vni))
    (HERE / "merged-cells.xlsx").write_bytes(edit(base, merged))
    (HERE / "wrong-columns.xlsx").write_bytes(edit(base, wrong_columns))
    (HERE / "formula.xlsx").write_bytes(edit(base, formula))
    (HERE / "empty.xlsx").write_bytes(b"")
    (HERE / "not-excel.xlsx").write_bytes("Mã CSDL;Tên CSDL\nT-MOT;Cơ sở dữ liệu một\n".encode())

    # A zip bomb: a valid workbook plus a 210 MB member of zeros (about 200 KB packed).
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            out.writestr(item, source.read(item))
        with out.open("xl/media/padding.bin", "w") as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(210):
                member.write(block)
    (HERE / "zip-bomb.xlsx").write_bytes(bomb.getvalue())


if __name__ == "__main__":
    main()
