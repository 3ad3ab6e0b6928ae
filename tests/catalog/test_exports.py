# SPDX-License-Identifier: AGPL-3.0-or-later
"""Exports of an issued version (XLSX round trip, PDF appendix, CSV, JSON) and the
``dulieuso catalog import|export`` commands run as real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from dulieuso.agencies.models import Agency, AgencyType
from dulieuso.audit.service import EventTag, record
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog import exports, import_views, imports, issues, service
from dulieuso.catalog.entries import CategoryData, ElementData
from dulieuso.catalog.models import Database, ElementType, SharingForm, UserType
from dulieuso.catalog.imports import comparable, comparable_dict
from dulieuso.catalog.spreadsheet import parse_workbook, write_workbook
from dulieuso.errors import Forbidden
from dulieuso.db import make_engine, make_sessionmaker, transaction
from dulieuso.vntext import fold

from .conftest import complete_entry

ISSUE = issues.IssueInput(
    decision_number="1234/QĐ-UBND", decision_date="2026-03-15", signer="Lê Văn Ký", signer_title="CHỦ TỊCH"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def export_client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    if "/api/v1/catalog/template.xlsx" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(exports.router, prefix="/api/v1")
        app.include_router(import_views.api_router, prefix="/api/v1")
    with TestClient(app) as client:
        yield client


@pytest.fixture
def issued(world):  # type: ignore[no-untyped-def]
    """Version 1: two entries of the land agency, one with formula-looking text."""
    world.accepted("T-DATDAI")
    world.accepted(
        "T-CONGTHUC",
        name="Cơ sở dữ liệu kiểm tra công thức",
        categories=[
            CategoryData(
                name="=HYPERLINK(\"http://example.com\",\"bấm\")",
                elements=[
                    ElementData(name="@SUM(A1:A9)", data_type=ElementType.TEXT, description="+84 213 3876"),
                    ElementData(name="-1+2", data_type=ElementType.INTEGER, description="=cmd|' /C calc'!A0"),
                ],
                availability={ut: SharingForm.DEFAULT for ut in UserType},
            )
        ],
    )
    issue = issues.issue_catalog(world.db, world.a_admin, ISSUE)
    world.db.commit()
    return issue


class TestJsonAndRoutes:
    def test_json_holds_the_decision_and_the_snapshot(self, issued, export_client):
        response = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.json")
        assert response.status_code == 200
        body = response.json()
        assert body["issue"]["decision_number"] == "1234/QĐ-UBND"
        assert [e["code"] for e in body["entries"]] == [e["code"] for e in issued.snapshot["entries"]]

    def test_issues_are_found_by_number_or_id(self, issued, export_client):
        by_id = export_client.get(f"/api/v1/catalog/issues/{issued.id}/export.json")
        assert by_id.status_code == 200 and by_id.json()["issue"]["number"] == issued.number

    def test_an_unknown_issue_is_not_found_in_the_error_shape(self, world, export_client):
        response = export_client.get("/api/v1/catalog/issues/999/export.csv")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "issue_not_found"

    def test_an_unknown_format_is_not_found(self, issued, export_client):
        assert export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.docx").status_code == 404

    def test_downloads_are_attachments_with_a_readable_name(self, issued, export_client):
        response = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.xlsx")
        assert response.headers["content-type"] == XLSX
        assert "danh-muc-csdl-lai-chau-ban-1.xlsx" in response.headers["content-disposition"]


class TestXlsxRoundTrip:
    def test_an_exported_version_re_imports_with_no_differences(self, world, issued, export_client):
        response = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.xlsx")
        assert response.status_code == 200
        parsed = parse_workbook(response.content, agency=world.land.code)
        snapshot = issued.snapshot["entries"]
        assert [comparable(e) for e in parsed.entries] == [comparable_dict(e) for e in snapshot]
        _parsed, plan = imports.plan_import(world.db, world.a_editor, response.content, world.land.code)
        assert [(e.code, e.action, e.changes) for e in plan.entries] == [
            (e["code"], "unchanged", []) for e in snapshot
        ]

    def test_a_version_of_several_agencies_re_imports_for_every_agency(self, world, export_client):
        world.accepted("T-DATDAI")
        service.save_entry(world.db, world.finance_editor, complete_entry("T-NGANSACH", world.finance.code))
        service.submit(world.db, world.finance_editor, "T-NGANSACH")
        service.accept(world.db, world.a_admin, "T-NGANSACH")
        issue = issues.issue_catalog(world.db, world.a_admin, ISSUE)
        world.db.commit()
        content = export_client.get(f"/api/v1/catalog/issues/{issue.number}/export.xlsx").content
        _parsed, plan = imports.plan_import(world.db, world.a_admin, content, imports.EVERY_AGENCY)
        assert sorted((e.code, e.action) for e in plan.entries) == [("T-DATDAI", "unchanged"), ("T-NGANSACH", "unchanged")]
        with pytest.raises(Forbidden):
            imports.plan_import(world.db, world.a_editor, content, imports.EVERY_AGENCY)

    def test_re_importing_the_export_saves_no_new_revision(self, world, issued, export_client):
        content = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.xlsx").content
        result = imports.apply_import(world.db, world.a_editor, content, world.land.code)
        assert result.created == [] and result.updated == []
        assert issues.reissue_changes(world.db) == []


class TestPdf:
    def test_is_the_appendix_with_title_decision_and_agency_names(self, world, issued, export_client):
        response = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        reader = PdfReader(io.BytesIO(response.content))
        text = "\n".join(page.extract_text() for page in reader.pages)
        assert "DANH MỤC CƠ SỞ DỮ LIỆU CỦA TỈNH LAI CHÂU" in text
        assert "Quyết định số 1234/QĐ-UBND ngày 15 tháng 3 năm 2026 của Chủ tịch UBND tỉnh" in text
        assert "I. Sở Nông nghiệp và Môi trường thử nghiệm" in text
        flat = " ".join(text.split())  # table cells wrap their text
        assert "Cơ sở dữ liệu đất đai tỉnh Lai Châu" in flat
        assert "Đối tượng khai thác" in flat and "Cá nhân" in flat
        assert f"Trang 1/{len(reader.pages)}" in text

    def test_is_landscape_a4(self, issued, export_client):
        reader = PdfReader(io.BytesIO(export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.pdf").content))
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (842, 595)

    def test_embeds_a_font_that_covers_vietnamese(self, issued, export_client):
        content = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.pdf").content
        fonts = {str(f) for page in PdfReader(io.BytesIO(content)).pages for f in page["/Resources"]["/Font"].values()}
        assert fonts
        assert b"DejaVu" in content


class TestCsv:
    def test_is_utf8_with_bom_one_row_per_element(self, issued, export_client):
        response = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.csv")
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        elements = sum(len(c["elements"]) for e in issued.snapshot["entries"] for c in e["categories"])
        assert len(rows) == elements
        assert {"Mã CSDL", "Hạng mục dữ liệu", "Khai thác: Cá nhân", "Tên trường dữ liệu"} <= set(rows[0])
        assert any(r["Cơ quan chủ quản"] == "Sở Nông nghiệp và Môi trường thử nghiệm" for r in rows)

    def test_formula_injection_is_neutralised(self, issued, export_client):
        text = export_client.get(f"/api/v1/catalog/issues/{issued.number}/export.csv").content.decode("utf-8-sig")
        rows = [r for r in csv.DictReader(io.StringIO(text)) if r["Mã CSDL"] == "T-CONGTHUC"]
        assert rows[0]["Hạng mục dữ liệu"].startswith("'=HYPERLINK")
        assert {r["Tên trường dữ liệu"] for r in rows} == {"'@SUM(A1:A9)", "'-1+2"}
        assert {r["Mô tả trường"] for r in rows} == {"'+84 213 3876", "'=cmd|' /C calc'!A0"}
        for row in rows:
            for value in row.values():
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))

    @pytest.mark.parametrize(("value", "expected"), [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
        ("Sở Tài chính", "Sở Tài chính"), (None, ""), (True, "Có"), (12, "12"),
    ])
    def test_neutralise(self, value, expected):
        assert exports.neutralise(value) == expected


class TestTemplateRoute:
    def test_anyone_can_download_the_template(self, export_client):
        response = export_client.get("/api/v1/catalog/template.xlsx")
        assert response.status_code == 200 and response.content.startswith(b"PK")


# -- the command line ----------------------------------------------------------------------


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DULIEUSO_")}
    return subprocess.run(
        [sys.executable, "-m", "dulieuso.catalog.cli", *args, "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=180,
    )


def _entry(code: str, agency: str, name: str = "Cơ sở dữ liệu đất đai") -> dict:
    return {
        "code": code, "name": name, "owner_agency": {"code": agency, "name": ""},
        "purpose": "Quản lý", "scope": "Toàn tỉnh", "content": "Thửa đất", "collection_mechanism": "Số hóa",
        "update_mechanism": "Khi có biến động", "update_frequency": "on_change", "data_sources": "Hồ sơ",
        "level": "local_shared", "sharing_scope": "shared", "importance": "other",
        "categories": [{"name": "Thửa đất", "availability": {u.value: "default" for u in UserType},
                        "elements": [{"name": "Số hiệu thửa", "data_type": "text"}]}],
    }


def test_cli_import_then_export(tmp_path):
    data_dir = tmp_path / "data"
    first = _cli(data_dir, "export", "--issue", "1", "--format", "json")  # creates and migrates the data dir
    assert first.returncode == 2 and "Không tìm thấy bản danh mục 1" in first.stderr
    engine = make_engine(f"sqlite:///{data_dir / 'dulieuso.sqlite3'}")
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        agency = Agency(code="T-CLI", name_vi="Sở Khoa học và Công nghệ thử", type=AgencyType.DEPARTMENT,
                        search_text=fold("T-CLI Sở Khoa học và Công nghệ thử"))
        session.add(agency)
        record(session, SYSTEM, EventTag.AGENCY_CREATE, agency, label="T-CLI")
    good = tmp_path / "danh-muc.xlsx"
    good.write_bytes(write_workbook([_entry("T-CLI-MOT", "T-CLI"), _entry("T-CLI-HAI", "T-CLI", "Cơ sở dữ liệu hai")]))

    def count() -> int:
        with factory() as session:
            return session.scalar(select(func.count()).select_from(Database)) or 0

    dry = _cli(data_dir, "import", str(good), "--agency", "T-CLI", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "T-CLI-MOT" in dry.stdout and count() == 0

    bad = tmp_path / "bad.xlsx"
    entries = [_entry("T-CLI-MOT", "T-CLI"), _entry("T-CLI-HAI", "T-CLI", "C¬ së d÷ liÖu")]
    bad.write_bytes(write_workbook(entries))
    refused = _cli(data_dir, "import", str(bad), "--agency", "T-CLI")
    assert refused.returncode == 2
    assert "Dòng 3, cột 'Tên CSDL'" in refused.stderr and "TCVN3" in refused.stderr
    assert count() == 0

    done = _cli(data_dir, "import", str(good), "--agency", "T-CLI")
    assert done.returncode == 0, done.stderr
    assert count() == 2

    with transaction(factory) as session:
        for code in ("T-CLI-MOT", "T-CLI-HAI"):
            service.submit(session, SYSTEM, code)
            service.accept(session, SYSTEM, code)
        issues.issue_catalog(session, SYSTEM, ISSUE)
    pdf = tmp_path / "phu-luc.pdf"
    exported = _cli(data_dir, "export", "--issue", "1", "--format", "pdf", "--out", str(pdf))
    assert exported.returncode == 0, exported.stderr
    assert "Sở Khoa học và Công nghệ thử" in "".join(p.extract_text() for p in PdfReader(pdf).pages)
    as_json = _cli(data_dir, "export", "--issue", "1", "--format", "json", "--out", "-")
    assert as_json.returncode == 0, as_json.stderr
    assert [e["code"] for e in json.loads(as_json.stdout)["entries"]] == ["T-CLI-HAI", "T-CLI-MOT"]
    xlsx = tmp_path / "ban-1.xlsx"
    assert _cli(data_dir, "export", "--issue", "1", "--format", "xlsx", "--out", str(xlsx)).returncode == 0
    again = _cli(data_dir, "import", str(xlsx), "--agency", "T-CLI", "--dry-run")
    assert again.returncode == 0, again.stderr
    assert "tạo mới / create 0, cập nhật / update 0, không đổi / unchanged 2" in " ".join(again.stdout.split())
    engine.dispose()
