# SPDX-License-Identifier: AGPL-3.0-or-later
"""The spreadsheet import: the template, parsing with located errors, legacy encodings,
limits, all-or-nothing saving, the preview, the staged upload, the pages and the API."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog import exports, import_views, imports, service
from dulieuso.catalog.entries import CategoryData, ElementData
from dulieuso.catalog.legacy import decode_tcvn3, decode_vni, detect
from dulieuso.catalog.models import Database, ElementType, SharingForm, UpdateFrequency, UserType
from dulieuso.catalog.spreadsheet import (
    DATABASE_SHEET,
    ELEMENT_SHEET,
    HELP_SHEET,
    LIST_SHEET,
    MAX_ROWS,
    ImportErrors,
    parse_workbook,
    template_bytes,
    write_workbook,
)
from dulieuso.catalog.imports import comparable
from dulieuso.errors import Forbidden, NotFound, PayloadTooLarge

from conftest import bearer, login, make_user

from .conftest import complete_entry

DATA = Path(__file__).parent / "data"
AGENCY = "T-SNNMT"


def entry_dict(code: str, name: str = "Cơ sở dữ liệu thử", agency: str = AGENCY, **extra: object) -> dict:
    """A minimal ``entry_dict``-shaped entry, as the exports write it."""
    return {
        "code": code, "name": name, "owner_agency": {"code": agency, "name": ""},
        "purpose": "Quản lý", "scope": "Toàn tỉnh", "content": "Thửa đất", "collection_mechanism": "Số hóa",
        "update_mechanism": "Khi có biến động", "update_frequency": "on_change", "data_sources": "Hồ sơ",
        "level": "local_shared", "sharing_scope": "shared", "importance": "other",
        "categories": [{"name": "Thửa đất", "availability": {"province_agencies": "default"},
                        "elements": [{"name": "Số hiệu thửa", "data_type": "text"}]}],
        **extra,
    }


def edited(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    book = load_workbook(io.BytesIO(data))
    change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_declared_size(data: bytes, ref: str) -> bytes:
    """``data`` with every sheet's ``<dimension ref=…>`` replaced by ``ref``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = source.read(member)
            if member.filename.startswith("xl/worksheets/"):
                content = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), content)
            target.writestr(member, content)
    return out.getvalue()


def errors_of(excinfo: pytest.ExceptionInfo[ImportErrors]) -> list[str]:
    return [e.message.vi for e in excinfo.value.errors]


def count_databases(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(Database)) or 0


# -- the template --------------------------------------------------------------------


class TestTemplate:
    def test_has_the_data_sheets_instructions_and_hidden_lists(self):
        book = load_workbook(io.BytesIO(template_bytes()))
        assert book.sheetnames[0] == HELP_SHEET
        assert {DATABASE_SHEET, ELEMENT_SHEET, LIST_SHEET} <= set(book.sheetnames)
        assert book[LIST_SHEET].sheet_state == "hidden"

    def test_headers_are_vietnamese_and_cover_every_art_11_4_field(self):
        book = load_workbook(io.BytesIO(template_bytes()))
        headers = [c.value for c in book[DATABASE_SHEET][1]]
        for header in ("Mã CSDL", "Tên CSDL", "Mục đích", "Phạm vi", "Nội dung", "Cơ chế thu thập",
                       "Cơ chế cập nhật", "Tần suất cập nhật", "Nguồn dữ liệu", "Cấp CSDL", "Có bí mật nhà nước"):
            assert header in headers
        element_headers = [c.value for c in book[ELEMENT_SHEET][1]]
        assert "Khai thác: Cá nhân" in element_headers and "Kiểu dữ liệu" in element_headers

    def test_every_list_column_has_a_drop_down(self):
        book = load_workbook(io.BytesIO(template_bytes()))
        sheet = book[DATABASE_SHEET]
        headers = {c.value: c.column_letter for c in sheet[1]}
        rules = {str(r.sqref): r for r in sheet.data_validations.dataValidation}
        frequency = rules[f"{headers['Tần suất cập nhật']}2:{headers['Tần suất cập nhật']}2001"]
        assert frequency.type == "list" and LIST_SHEET in frequency.formula1
        lists = book[LIST_SHEET]
        column = re.search(r"\$([A-Z]+)\$2", frequency.formula1).group(1)  # type: ignore[union-attr]
        assert "Hằng tháng" in [c.value for c in lists[column]]
        matrix_rules = [r for r in book[ELEMENT_SHEET].data_validations.dataValidation if r.type == "list"]
        assert len(matrix_rules) >= 5 + 1 + 3  # five user types, the data type, three yes/no columns

    def test_instructions_explain_each_column_with_an_example(self):
        book = load_workbook(io.BytesIO(template_bytes()))
        text = "\n".join(str(c.value) for row in book[HELP_SHEET].iter_rows() for c in row if c.value)
        assert "Tần suất cập nhật" in text and "Khi có thay đổi" in text
        assert "TCVN3" in text and "gộp ô" in text

    def test_the_empty_template_is_refused_as_having_no_rows(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(template_bytes(), agency=AGENCY)
        assert "không có dòng dữ liệu" in errors_of(excinfo)[0]


# -- legacy encodings ------------------------------------------------------------------


class TestLegacyEncodings:
    @pytest.mark.parametrize(
        ("text", "encoding", "meant"),
        [
            ("C¬ së d÷ liÖu", "TCVN3", "Cơ sở dữ liệu"),
            ("Cô sôû döõ lieäu", "VNI", "Cơ sở dữ liệu"),
            ("TiÕng ViÖt", "TCVN3", "Tiếng Việt"),
            ("Tieáng Vieät", "VNI", "Tiếng Việt"),
            ("Së Th«ng tin vµ TruyÒn th«ng", "TCVN3", "Sở Thông tin và Truyền thông"),
            ("Sè l\xadîng", "TCVN3", "Số lượng"),  # ư is 0xAD, the soft hyphen in Latin-1
        ],
    )
    def test_detects_the_encoding_and_suggests_the_unicode_text(self, text, encoding, meant):
        found = detect(text)
        assert found is not None
        assert (found.encoding, found.suggestion) == (encoding, meant)

    @pytest.mark.parametrize(
        "text", ["Cơ sở dữ liệu", "Hà Nội", "25°C", "Độ ẩm ± 5%", "© 2024 ABC", "½ ha", "café", "naïve", "Dân số 3,5 km²", ""]
    )
    def test_leaves_real_unicode_and_symbols_alone(self, text):
        assert detect(text) is None

    def test_the_test_words_of_the_shared_table(self):
        assert decode_tcvn3(bytes.fromhex("43AC2073EB2064F7206C69D675").decode("latin-1")) == "Cơ sở dữ liệu"
        assert decode_vni("Cô sôû döõ lieäu") == "Cơ sở dữ liệu"


# -- parsing -----------------------------------------------------------------------------


class TestParse:
    def test_a_good_file_gives_entries_with_categories_elements_and_matrix(self):
        data = write_workbook([entry_dict("T-MOT"), entry_dict("T-HAI", name="Cơ sở dữ liệu hai")])
        parsed = parse_workbook(data, agency=AGENCY)
        assert [e.code for e in parsed.entries] == ["T-MOT", "T-HAI"]
        first = parsed.entries[0]
        assert first.update_frequency is UpdateFrequency.ON_CHANGE
        assert first.categories[0].availability == {UserType.PROVINCE_AGENCIES: SharingForm.DEFAULT}
        assert first.categories[0].elements[0].data_type is ElementType.TEXT
        assert parsed.rows["T-HAI"].row == 3

    def test_invalid_list_value_is_located_by_row_and_column(self):
        def bad(book):  # type: ignore[no-untyped-def]
            book[DATABASE_SHEET]["I3"] = "hàng giờ"

        data = edited(write_workbook([entry_dict("T-MOT"), entry_dict("T-HAI")]), bad)
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(data, agency=AGENCY)
        message = errors_of(excinfo)[0]
        assert message.startswith("Dòng 3, cột 'Tần suất cập nhật': giá trị không hợp lệ 'hàng giờ' (chọn một trong: ")
        assert "Hằng ngày" in message
        assert excinfo.value.errors[0].message.en.startswith("Row 3, column 'Tần suất cập nhật': invalid value")
        assert excinfo.value.body()["error"]["code"] == "import_invalid"

    def test_wrong_types_are_located(self):
        def bad(book):  # type: ignore[no-untyped-def]
            book[DATABASE_SHEET]["N2"] = "năm ngoái"  # Năm bắt đầu
            book[DATABASE_SHEET]["O2"] = "-5"  # Số bản ghi ước tính
            book[DATABASE_SHEET]["V2"] = "có lẽ"  # Có dữ liệu cá nhân

        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(edited(write_workbook([entry_dict("T-MOT")]), bad), agency=AGENCY)
        messages = errors_of(excinfo)
        assert "Dòng 2, cột 'Năm bắt đầu': cần một số nguyên, nhận được 'năm ngoái'." in messages
        assert any(m.startswith("Dòng 2, cột 'Số bản ghi ước tính'") for m in messages)
        assert any(m.startswith("Dòng 2, cột 'Có dữ liệu cá nhân': giá trị không hợp lệ 'có lẽ'") for m in messages)

    def test_numbers_with_vietnamese_thousand_separators_are_read(self):
        def grouped(book):  # type: ignore[no-untyped-def]
            book[DATABASE_SHEET]["O2"] = "1.250.000"

        parsed = parse_workbook(edited(write_workbook([entry_dict("T-MOT")]), grouped), agency=AGENCY)
        assert parsed.entries[0].record_count_estimate == 1_250_000

    def test_wrong_columns_are_refused(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "wrong-columns.xlsx").read_bytes(), agency=AGENCY)
        messages = errors_of(excinfo)
        assert any("cột không rõ 'Tần suất'" in m for m in messages)
        assert any("cột không rõ 'Ghi chú'" in m for m in messages)
        assert any("thiếu cột 'Tần suất cập nhật'" in m for m in messages)

    def test_a_missing_sheet_is_refused(self):
        book = Workbook()
        book.active.title = DATABASE_SHEET  # type: ignore[union-attr]
        out = io.BytesIO()
        book.save(out)
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(out.getvalue(), agency=AGENCY)
        assert "Thiếu trang 'Hạng mục - Trường'" in errors_of(excinfo)[0]

    def test_merged_cells_are_refused_and_located(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "merged-cells.xlsx").read_bytes(), agency=AGENCY)
        assert "ô D2:D3" in errors_of(excinfo)[0] and "gộp" in errors_of(excinfo)[0]

    def test_merged_cells_added_to_an_exported_file_are_refused(self):
        """The fast (read-only) reading cannot see merged cells: a merge must switch it off."""
        def merge(book):  # type: ignore[no-untyped-def]
            book[ELEMENT_SHEET].merge_cells("B3:B4")

        data = edited(write_workbook([entry_dict(f"T-{i:03d}") for i in range(5)]), merge)
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(data, agency=AGENCY)
        assert "ô B3:B4" in errors_of(excinfo)[0]

    def test_every_row_is_read_when_the_file_declares_a_wrong_size(self):
        """Some programs write a sheet's size as "A1"; the rows below it count all the same."""
        data = with_declared_size(write_workbook([entry_dict("T-MOT"), entry_dict("T-HAI")]), "A1")
        parsed = parse_workbook(data, agency=AGENCY)
        assert [e.code for e in parsed.entries] == ["T-MOT", "T-HAI"]
        assert [c.elements[0].name for c in parsed.entries[1].categories] == ["Số hiệu thửa"]

    def test_tcvn3_text_is_refused_with_the_suggested_unicode(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "tcvn3.xlsx").read_bytes(), agency=AGENCY)
        message = errors_of(excinfo)[0]
        assert message.startswith("Dòng 3, cột 'Tên CSDL': ")
        assert "TCVN3" in message and "Cơ sở dữ liệu đất đai" in message

    def test_vni_text_is_refused_with_the_suggested_unicode(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "vni.xlsx").read_bytes(), agency=AGENCY)
        message = errors_of(excinfo)[0]
        assert message.startswith("Dòng 3, cột 'Hạng mục dữ liệu': ")
        assert "VNI" in message and "Thông tin chủ sử dụng" in message

    def test_formulas_are_refused(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "formula.xlsx").read_bytes(), agency=AGENCY)
        assert errors_of(excinfo)[0].startswith("Dòng 2, cột 'Năm bắt đầu': không chấp nhận công thức")

    def test_duplicate_codes_in_the_file_are_refused(self):
        data = write_workbook([entry_dict("T-MOT"), entry_dict("t-mot", name="Trùng mã")])
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(data, agency=AGENCY)
        assert "Dòng 3, cột 'Mã CSDL': mã 'T-MOT' đã dùng ở dòng 2." in errors_of(excinfo)

    def test_elements_of_an_unknown_database_code_are_refused(self):
        def orphan(book):  # type: ignore[no-untyped-def]
            book[ELEMENT_SHEET]["A2"] = "T-KHONGCO"

        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(edited(write_workbook([entry_dict("T-MOT")]), orphan), agency=AGENCY)
        assert "Dòng 2, cột 'Mã CSDL': mã CSDL 'T-KHONGCO' không có ở trang 'CSDL'." in errors_of(excinfo)

    def test_rows_of_another_agency_are_refused(self):
        data = write_workbook([entry_dict("T-MOT", agency="T-STC")])
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook(data, agency=AGENCY)
        assert "thuộc cơ quan 'T-STC'" in errors_of(excinfo)[0]

    def test_empty_file_is_refused(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "empty.xlsx").read_bytes(), agency=AGENCY)
        assert errors_of(excinfo) == ["Tệp rỗng."]

    def test_a_file_that_is_not_xlsx_is_refused(self):
        with pytest.raises(ImportErrors) as excinfo:
            parse_workbook((DATA / "not-excel.xlsx").read_bytes(), agency=AGENCY)
        assert "không phải tệp Excel" in errors_of(excinfo)[0]

    def test_a_zip_bomb_is_refused_before_it_is_unpacked(self):
        data = (DATA / "zip-bomb.xlsx").read_bytes()
        assert len(data) < 1024 * 1024
        started = time.perf_counter()
        with pytest.raises(PayloadTooLarge):
            parse_workbook(data, agency=AGENCY)
        assert time.perf_counter() - started < 1

    def test_an_oversized_file_is_refused(self):
        with pytest.raises(PayloadTooLarge) as excinfo:
            parse_workbook(b"PK" + b"\0" * (10 * 1024 * 1024), agency=AGENCY)
        assert excinfo.value.code == "file_too_large"

    def test_too_many_rows_are_refused(self):
        book = load_workbook(io.BytesIO(template_bytes()))
        sheet = book[DATABASE_SHEET]
        for row in range(2, MAX_ROWS + 3):
            sheet.cell(row=row, column=1, value=f"T-{row}")
        out = io.BytesIO()
        book.save(out)
        with pytest.raises(PayloadTooLarge) as excinfo:
            parse_workbook(out.getvalue(), agency=AGENCY)
        assert excinfo.value.code == "too_many_rows"


# -- importing into the catalog -------------------------------------------------------------


def good_file(world, *codes: str) -> bytes:  # type: ignore[no-untyped-def]
    return write_workbook([entry_dict(code) for code in codes])


class TestImport:
    def test_a_good_file_creates_the_entries(self, world):
        result = imports.apply_import(world.db, world.a_editor, good_file(world, "T-MOT", "T-HAI"), AGENCY)
        world.db.commit()
        assert result.created == ["T-MOT", "T-HAI"]
        saved = service.find(world.db, "T-HAI")
        assert saved is not None and saved.categories[0].elements[0].name == "Số hiệu thửa"

    def test_a_file_with_one_bad_row_changes_nothing(self, world):
        entries = [entry_dict("T-MOT"), entry_dict("T-HAI"), entry_dict("T-BA")]
        entries[2]["categories"][0]["elements"][0]["code_list"] = "khong-co-danh-muc"
        before = count_databases(world.db)
        with pytest.raises(ImportErrors) as excinfo:
            imports.apply_import(world.db, world.a_editor, write_workbook(entries), AGENCY)
        world.db.commit()
        assert count_databases(world.db) == before
        assert len(errors_of(excinfo)) == 1
        assert errors_of(excinfo)[0].startswith("Dòng 4, cột 'Mã danh mục dùng chung': ")
        assert "khong-co-danh-muc" in errors_of(excinfo)[0]

    def test_the_preview_lists_the_errors_of_every_entry(self, world):
        entries = [entry_dict("T-MOT", systems=[{"code": "HTTT-KHONGCO"}]), entry_dict("T-HAI")]
        entries[1]["categories"][0]["elements"][0]["code_list"] = "khong-co"
        with pytest.raises(ImportErrors) as excinfo:
            imports.plan_import(world.db, world.a_editor, write_workbook(entries), AGENCY)
        messages = errors_of(excinfo)
        assert [m.split(":")[0] for m in messages] == [
            "Dòng 2, cột 'Mã hệ thống thông tin'", "Dòng 3, cột 'Mã danh mục dùng chung'",
        ]

    def test_a_rule_of_the_catalog_is_reported_on_its_row(self, world):
        entries = [entry_dict("T-MOT"), entry_dict("T-HAI", contains_state_secret=True, sharing_scope="open")]
        with pytest.raises(ImportErrors) as excinfo:
            imports.plan_import(world.db, world.a_editor, write_workbook(entries), AGENCY)
        assert errors_of(excinfo)[0].startswith("Dòng 3, cột 'Phạm vi chia sẻ': ")
        assert service.find(world.db, "T-MOT") is None

    def test_an_editor_cannot_import_for_another_agency(self, world):
        with pytest.raises(Forbidden):
            imports.plan_import(world.db, world.finance_editor, good_file(world, "T-MOT"), AGENCY)

    def test_a_code_owned_by_another_agency_is_refused(self, world):
        service.save_entry(world.db, world.finance_editor, complete_entry("T-MOT", world.finance.code))
        with pytest.raises(ImportErrors) as excinfo:
            imports.plan_import(world.db, world.a_editor, good_file(world, "T-MOT"), AGENCY)
        assert "thuộc một CSDL của cơ quan khác" in errors_of(excinfo)[0]

    def test_the_preview_shows_creates_updates_with_their_diff_and_unchanged(self, world):
        imports.apply_import(world.db, world.a_editor, good_file(world, "T-MOT", "T-HAI"), AGENCY)
        world.db.commit()
        entries = [entry_dict("T-MOT", purpose="Mục đích mới"), entry_dict("T-HAI"), entry_dict("T-BA")]
        _parsed, plan = imports.plan_import(world.db, world.a_editor, write_workbook(entries), AGENCY)
        actions = {e.code: e.action for e in plan.entries}
        assert actions == {"T-MOT": "update", "T-HAI": "unchanged", "T-BA": "create"}
        change = next(e for e in plan.entries if e.code == "T-MOT").changes
        assert [(c.path, c.before, c.after) for c in change] == [("purpose", "Quản lý", "Mục đích mới")]
        assert plan.counts() == {"create": 1, "update": 1, "unchanged": 1}

    def test_an_entry_saved_in_the_app_re_imports_unchanged(self, world):
        service.save_entry(world.db, world.a_editor, complete_entry("T-DATDAI", world.land.code))
        current = service.to_dict(world.db, service.find(world.db, "T-DATDAI"))
        _parsed, plan = imports.plan_import(world.db, world.a_editor, write_workbook([current]), AGENCY)
        assert [(e.action, e.changes) for e in plan.entries] == [("unchanged", [])]


class TestStaging:
    def test_the_owner_gets_the_upload_back(self, world, tmp_path):
        token = imports.stage(tmp_path, world.a_editor, b"xlsx bytes", AGENCY, "danh-muc.xlsx")
        staged = imports.load_staged(tmp_path, world.a_editor, token)
        assert (staged.data, staged.agency, staged.filename) == (b"xlsx bytes", AGENCY, "danh-muc.xlsx")

    def test_someone_else_gets_not_found(self, world, tmp_path):
        token = imports.stage(tmp_path, world.a_editor, b"xlsx bytes", AGENCY, "a.xlsx")
        with pytest.raises(NotFound):
            imports.load_staged(tmp_path, world.land_admin, token)

    def test_an_expired_upload_is_gone(self, world, tmp_path):
        token = imports.stage(tmp_path, world.a_editor, b"xlsx bytes", AGENCY, "a.xlsx")
        assert imports.purge_expired(tmp_path, now=time.time() + imports.STAGE_SECONDS + 1) == 1
        with pytest.raises(NotFound):
            imports.load_staged(tmp_path, world.a_editor, token)

    @pytest.mark.parametrize("token", ["../../etc/passwd", "short", ""])
    def test_malformed_ids_are_not_found(self, world, tmp_path, token):
        with pytest.raises(NotFound):
            imports.load_staged(tmp_path, world.a_editor, token)


# -- pages and API --------------------------------------------------------------------------


@pytest.fixture
def import_app(app):  # type: ignore[no-untyped-def]
    """The app with the import and export routes mounted (until app.py includes them)."""
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/catalog/import" not in paths:
        app.include_router(import_views.router)
        app.include_router(import_views.api_router, prefix="/api/v1")
        app.include_router(exports.router, prefix="/api/v1")
    return app


@pytest.fixture
def import_client(import_app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(import_app) as client:
        yield client


@pytest.fixture
def editor_user(world):  # type: ignore[no-untyped-def]
    """An editor of the test agency who can log in and hold tokens."""
    user = make_user(world.db, Role.AGENCY_EDITOR, world.land)
    world.db.commit()
    return user


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TestApi:
    def test_dry_run_previews_and_saves_nothing(self, world, import_client, editor_user):
        headers = bearer(world.db, editor_user)
        response = import_client.post(
            "/api/v1/catalog/import?dry_run=true", headers=headers, data={"agency": AGENCY},
            files={"file": ("danh-muc.xlsx", good_file(world, "T-MOT"), XLSX)},
        )
        assert response.status_code == 200, response.text
        assert response.json()["counts"] == {"create": 1, "update": 0, "unchanged": 0}
        assert service.find(world.db, "T-MOT") is None

    def test_import_saves(self, world, import_client, editor_user):
        headers = bearer(world.db, editor_user)
        response = import_client.post(
            "/api/v1/catalog/import?dry_run=false", headers=headers, data={"agency": AGENCY},
            files={"file": ("danh-muc.xlsx", good_file(world, "T-MOT", "T-HAI"), XLSX)},
        )
        assert response.status_code == 200, response.text
        assert response.json()["created"] == ["T-MOT", "T-HAI"]
        world.db.expire_all()
        assert service.find(world.db, "T-HAI") is not None

    def test_errors_are_listed_by_sheet_row_and_column(self, world, import_client, editor_user):
        headers = bearer(world.db, editor_user)
        response = import_client.post(
            "/api/v1/catalog/import?dry_run=false", headers=headers, data={"agency": AGENCY},
            files={"file": ("tcvn3.xlsx", (DATA / "tcvn3.xlsx").read_bytes(), XLSX)},
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "import_invalid"
        assert error["errors"][0]["sheet"] == DATABASE_SHEET and error["errors"][0]["row"] == 3
        assert error["errors"][0]["column"] == "Tên CSDL"
        assert error["errors"][0]["message"].startswith("Dòng 3, cột 'Tên CSDL'")
        assert error["errors"][0]["message_en"].startswith("Row 3, column 'Tên CSDL'")

    def test_anonymous_callers_are_refused(self, world, import_client, editor_user):
        response = import_client.post(
            "/api/v1/catalog/import", data={"agency": AGENCY},
            files={"file": ("a.xlsx", good_file(world, "T-MOT"), XLSX)},
        )
        assert response.status_code == 401

    def test_the_template_downloads(self, import_client):
        response = import_client.get("/api/v1/catalog/template.xlsx")
        assert response.status_code == 200
        assert response.headers["content-type"] == XLSX
        book = load_workbook(io.BytesIO(response.content))
        assert book[DATABASE_SHEET].data_validations.dataValidation


class TestPages:
    def test_upload_preview_confirm_result(self, world, import_client, editor_user, settings):
        token = login(import_client, editor_user)
        page = import_client.get("/catalog/import")
        assert page.status_code == 200
        assert 'name="csrf_token"' in page.text and "/api/v1/catalog/template.xlsx" in page.text
        preview = import_client.post(
            "/catalog/import", data={"agency": AGENCY, "csrf_token": token},
            files={"file": ("danh-muc.xlsx", good_file(world, "T-MOT"), XLSX)},
        )
        assert preview.status_code == 200, preview.text
        assert "T-MOT" in preview.text and "Xem trước" in preview.text
        assert service.find(world.db, "T-MOT") is None
        staged = re.search(r'action="/catalog/import/([^/]+)/confirm"', preview.text).group(1)  # type: ignore[union-attr]
        done = import_client.post(f"/catalog/import/{staged}/confirm", data={"csrf_token": token})
        assert done.status_code == 200, done.text
        assert "T-MOT" in done.text
        world.db.expire_all()
        assert service.find(world.db, "T-MOT") is not None
        assert not list((settings.storage_dir / imports.STAGE_FOLDER).glob("*.xlsx"))
        again = import_client.post(f"/catalog/import/{staged}/confirm", data={"csrf_token": token})
        assert again.status_code == 404

    def test_a_bad_file_shows_the_located_errors_on_the_form(self, world, import_client, editor_user):
        token = login(import_client, editor_user)
        page = import_client.post(
            "/catalog/import", data={"agency": AGENCY, "csrf_token": token},
            files={"file": ("merged.xlsx", (DATA / "merged-cells.xlsx").read_bytes(), XLSX)},
        )
        assert page.status_code == 422
        assert "D2:D3" in page.text and 'name="csrf_token"' in page.text

    def test_the_upload_needs_the_csrf_token(self, world, import_client, editor_user):
        login(import_client, editor_user)
        response = import_client.post(
            "/catalog/import", data={"agency": AGENCY},
            files={"file": ("a.xlsx", good_file(world, "T-MOT"), XLSX)},
        )
        assert response.status_code == 403

    def test_the_administrator_may_import_for_every_agency_named_in_the_file(self, world, import_client):
        admin = make_user(world.db, Role.PLATFORM_ADMIN)
        world.db.commit()
        login(import_client, admin)
        page = import_client.get("/catalog/import")
        assert 'value="*"' in page.text and "Mọi cơ quan ghi trong tệp" in page.text

    def test_an_editor_is_offered_only_their_agency(self, world, import_client, editor_user):
        login(import_client, editor_user)
        page = import_client.get("/catalog/import")
        assert re.findall(r'<option value="([^"]+)"', page.text) == [AGENCY]

    def test_anonymous_visitors_are_sent_to_log_in(self, import_client):
        response = import_client.get("/catalog/import", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_parsed_entry_equals_its_comparable_form_after_saving(world):
    """The same content saved by the service and written back reads the same (the round trip's base)."""
    data = complete_entry("T-DATDAI", world.land.code, categories=[
        CategoryData("Thửa đất", "Mô tả", [ElementData("Số hiệu thửa", ElementType.TEXT, unit="thửa")],
                     {UserType.INDIVIDUALS: SharingForm.NOT_SHARED}),
    ])
    service.save_entry(world.db, SYSTEM, data)
    written = write_workbook([service.to_dict(world.db, service.find(world.db, "T-DATDAI"))])
    parsed = parse_workbook(written, agency=world.land.code).entries[0]
    assert comparable(parsed)["categories"] == comparable(data)["categories"]
