# SPDX-License-Identifier: AGPL-3.0-or-later
"""The catalog's pages, driven by submitting their real forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import csrf_from, login, make_agency, make_user

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog import codelists, service

from .conftest import complete_entry


def entry_form(code: str, agency: str, **overrides: str) -> dict[str, str]:
    form = {
        "code": code, "name": "Cơ sở dữ liệu đất đai", "owner_agency": agency, "level": "local_shared",
        "purpose": "Quản lý đất đai", "scope": "Toàn tỉnh", "content": "Thửa đất",
        "collection_mechanism": "Số hóa", "update_mechanism": "Khi biến động", "update_frequency": "on_change",
        "data_sources": "Văn phòng đăng ký đất đai", "sharing_scope": "shared", "importance": "other",
        "categories[0].name": "Thửa đất",
        "categories[0].availability.province_agencies": "default",
        "categories[0].availability.central_agencies": "default",
        "categories[0].availability.other_provinces": "special_request",
        "categories[0].availability.organisations": "open_data",
        "categories[0].availability.individuals": "open_data",
        "categories[0].elements[0].name": "Số hiệu thửa",
        "categories[0].elements[0].data_type": "text",
        "categories[0].elements[0].is_master_data": "on",
        "categories[0].elements[1].name": "Giới tính chủ sử dụng",
        "categories[0].elements[1].data_type": "code",
        "categories[0].elements[1].code_list": "gioi-tinh",
    }
    form.update(overrides)
    return form


@pytest.fixture
def land(db: Any) -> Any:
    agency = make_agency(db, "T-SNNMT", name_vi="Sở Nông nghiệp và Môi trường thử nghiệm")
    gender = codelists.create_code_list(db, SYSTEM, codelists.CodeListInput(code="gioi-tinh", name="Giới tính"))
    codelists.import_version(db, SYSTEM, gender.code, "1", [codelists.ItemRow("1", "Nam"), codelists.ItemRow("2", "Nữ")])
    db.commit()
    return agency


def publish(db: Any, code: str, agency: str, **overrides: Any) -> None:
    service.save_entry(db, SYSTEM, complete_entry(code, agency, **overrides))
    service.submit(db, SYSTEM, code)
    service.accept(db, SYSTEM, code)
    db.commit()


class TestPublicPages:
    def test_search_ignores_diacritics_and_links_its_json_twin(self, client, db, land):
        publish(db, "T-DATDAI", land.code)
        page = client.get("/catalog", params={"q": "dat dai"})
        assert page.status_code == 200
        assert "Cơ sở dữ liệu đất đai tỉnh Lai Châu" in page.text
        assert page.headers["link"].startswith("</api/v1/databases?q=dat+dai>")
        assert "Danh mục cơ sở dữ liệu" in page.text  # Vietnamese by default

    def test_database_page_shows_the_availability_matrix(self, client, db, land):
        publish(db, "T-DATDAI", land.code)
        page = client.get("/catalog/databases/T-DATDAI")
        assert page.status_code == 200
        matrix = re.search(r'<table class="matrix">.*?</table>', page.text, re.S).group(0)
        assert "Thửa đất" in matrix and "Chủ sử dụng đất" in matrix
        assert "Dữ liệu mở" in matrix
        assert "Lịch sử thay đổi" not in page.text  # history is for staff

    def test_a_draft_is_404_for_the_public(self, client, db, land):
        service.save_entry(db, SYSTEM, complete_entry("T-NHAP", land.code))
        db.commit()
        assert client.get("/catalog/databases/T-NHAP").status_code == 404

    def test_derived_lists_and_issue_pages_render(self, client, db, land):
        publish(db, "T-DATDAI", land.code)
        assert "Thửa đất" in client.get("/catalog/default-sharing-list").text
        assert "Thửa đất" in client.get("/catalog/open-data-list").text
        assert client.get("/catalog/issues").status_code == 200
        assert client.get("/catalog/code-lists/gioi-tinh").status_code == 200
        assert client.get("/catalog/systems").status_code == 200


class TestAgencyForms:
    def test_an_editor_creates_an_entry_through_the_form(self, client, db, land):
        login(client, make_user(db, Role.AGENCY_EDITOR, land))
        token = csrf_from(client, "/catalog/new")
        response = client.post("/catalog/new", data={**entry_form("T-DATDAI", land.code), "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/catalog/databases/T-DATDAI")
        page = client.get("/catalog/databases/T-DATDAI")
        assert "Lịch sử thay đổi" in page.text
        assert service.find(db, "T-DATDAI").categories[0].elements[1].code_list_id is not None

    def test_errors_come_back_next_to_their_fields_with_422(self, client, db, land):
        login(client, make_user(db, Role.AGENCY_EDITOR, land))
        token = csrf_from(client, "/catalog/new")
        data = entry_form("T-DATDAI", land.code, **{"categories[0].elements[1].code_list": "khong-co"})
        response = client.post("/catalog/new", data={**data, "csrf_token": token})
        assert response.status_code == 422
        assert re.search(r'name="categories\[0\]\.elements\[1\]\.code_list".*?<p class="error">Không có danh mục dùng chung mã khong-co', response.text, re.S)

    def test_add_category_without_javascript_re_renders_the_form(self, client, db, land):
        login(client, make_user(db, Role.AGENCY_EDITOR, land))
        token = csrf_from(client, "/catalog/new")
        response = client.post("/catalog/new", data={**entry_form("T-X", land.code), "action": "add_category", "csrf_token": token})
        assert response.status_code == 200
        assert 'name="categories[1].name"' in response.text

    def test_the_htmx_partials_render_rows(self, client, db, land):
        login(client, make_user(db, Role.AGENCY_EDITOR, land))
        assert 'name="categories[3].elements[0].name"' in client.get("/catalog/_partials/category", params={"index": 3}).text
        assert 'name="categories[1].elements[4].name"' in client.get("/catalog/_partials/element", params={"category": 1, "index": 4}).text

    def test_an_editor_cannot_edit_another_agencys_entry(self, client, db, land):
        service.save_entry(db, SYSTEM, complete_entry("T-DATDAI", land.code))
        other = make_agency(db, "T-STC")
        db.commit()
        login(client, make_user(db, Role.AGENCY_EDITOR, other))
        assert client.get("/catalog/databases/T-DATDAI/edit").status_code == 404
        token = csrf_from(client, "/catalog/manage")
        response = client.post("/catalog/databases/T-DATDAI/edit", data={**entry_form("T-DATDAI", land.code), "csrf_token": token})
        assert response.status_code == 404

    def test_missing_fields_at_submission_are_listed(self, client, db, land):
        service.save_entry(db, SYSTEM, complete_entry("T-DATDAI", land.code, purpose=""))
        db.commit()
        login(client, make_user(db, Role.AGENCY_EDITOR, land))
        token = csrf_from(client, "/catalog/databases/T-DATDAI")
        response = client.post("/catalog/databases/T-DATDAI/submit", data={"csrf_token": token})
        assert response.status_code == 422
        assert "<code>purpose</code>" in response.text


class TestReviewAndIssue:
    def test_review_request_changes_accept_and_issue(self, client, db, land):
        service.save_entry(db, SYSTEM, complete_entry("T-DATDAI", land.code))
        service.submit(db, SYSTEM, "T-DATDAI")
        db.commit()
        login(client, make_user(db, Role.PLATFORM_ADMIN))
        queue = client.get("/catalog/review")
        assert "T-DATDAI" in queue.text
        token = csrf_from(client, "/catalog/databases/T-DATDAI/review")
        commented = client.post("/catalog/databases/T-DATDAI/comments",
                                data={"field": "scope", "comment": "Ghi rõ phạm vi", "csrf_token": token}, follow_redirects=False)
        assert commented.status_code == 303
        sent_back = client.post("/catalog/databases/T-DATDAI/request-changes", data={"note": "", "csrf_token": token}, follow_redirects=False)
        assert sent_back.status_code == 303
        db.expire_all()  # the request changed the entry through its own session
        service.submit(db, SYSTEM, "T-DATDAI")
        db.commit()
        accepted = client.post("/catalog/databases/T-DATDAI/accept", data={"csrf_token": token}, follow_redirects=False)
        assert accepted.status_code == 303
        bad = client.post("/catalog/issues/new", data={"decision_number": "", "decision_date": "", "signer": "", "csrf_token": token})
        assert bad.status_code == 422
        issued = client.post("/catalog/issues/new", data={"decision_number": "01/QĐ-UBND", "decision_date": "2026-03-01",
                                                          "signer": "Lê Văn Ký", "csrf_token": token}, follow_redirects=False)
        assert issued.status_code == 303
        page = client.get(issued.headers["location"])
        assert "01/QĐ-UBND" in page.text and "T-DATDAI" in page.text

    def test_an_agency_editor_cannot_open_the_issue_form(self, client, db, land):
        login(client, make_user(db, Role.AGENCY_EDITOR, land))
        assert client.get("/catalog/issues/new").status_code == 403

    def test_a_list_review_shows_the_next_due_date(self, client, db, land):
        login(client, make_user(db, Role.PLATFORM_ADMIN))
        token = csrf_from(client, "/catalog/open-data-list")
        response = client.post("/catalog/open-data-list/reviews", data={"reviewed_on": "2026-01-31", "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert "31/07/2026" in client.get("/catalog/open-data-list").text


def test_staff_see_suggestions_on_the_entry_page(client, db, land):
    data = complete_entry("T-DATDAI", land.code)
    from dulieuso.catalog.models import SharingForm

    data.categories[0].availability = {k: SharingForm.SPECIAL_REQUEST for k in data.categories[0].availability}
    service.save_entry(db, SYSTEM, data)
    db.commit()
    login(client, make_user(db, Role.AGENCY_EDITOR, land))
    page = client.get("/catalog/databases/T-DATDAI")
    assert "Gợi ý" in page.text and "categories[0].availability" in page.text
