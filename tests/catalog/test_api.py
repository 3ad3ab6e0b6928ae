# SPDX-License-Identifier: AGPL-3.0-or-later
"""The catalog's JSON API: contracts, errors and permissions over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import bearer, make_agency, make_user

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog import codelists


def entry_json(code: str, agency: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "Cơ sở dữ liệu đất đai",
        "owner_agency": agency,
        "purpose": "Quản lý đất đai",
        "scope": "Toàn tỉnh",
        "content": "Thửa đất và chủ sử dụng",
        "collection_mechanism": "Số hóa hồ sơ",
        "update_mechanism": "Cập nhật khi biến động",
        "update_frequency": "on_change",
        "data_sources": "Văn phòng đăng ký đất đai",
        "level": "local_shared",
        "categories": [
            {
                "name": "Thửa đất",
                "elements": [
                    {"name": "Số hiệu thửa", "data_type": "text", "is_master_data": True},
                    {"name": "Giới tính chủ sử dụng", "data_type": "code", "code_list": "gioi-tinh"},
                ],
                "availability": {
                    "province_agencies": "default", "central_agencies": "default",
                    "other_provinces": "special_request", "organisations": "open_data", "individuals": "open_data",
                },
            }
        ],
    }
    body.update(overrides)
    return body


class Setup:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.land = make_agency(db, "T-SNNMT", name_vi="Sở Nông nghiệp và Môi trường thử nghiệm")
        self.other = make_agency(db, "T-STC", name_vi="Sở Tài chính thử nghiệm")
        gender = codelists.create_code_list(db, SYSTEM, codelists.CodeListInput(code="gioi-tinh", name="Giới tính"))
        codelists.import_version(db, SYSTEM, gender.code, "1", [codelists.ItemRow("1", "Nam"), codelists.ItemRow("2", "Nữ")])
        self.admin = bearer(db, make_user(db, Role.PLATFORM_ADMIN))
        self.editor = bearer(db, make_user(db, Role.AGENCY_EDITOR, self.land))


@pytest.fixture
def s(db: Any) -> Setup:
    return Setup(db)


def publish(client: Any, s: Setup, code: str, **overrides: Any) -> None:
    assert client.post("/api/v1/databases", json=entry_json(code, "T-SNNMT", **overrides), headers=s.editor).status_code == 201
    assert client.post(f"/api/v1/databases/{code}/submit", headers=s.editor).status_code == 200
    assert client.post(f"/api/v1/databases/{code}/accept", headers=s.admin).status_code == 200


class TestDatabases:
    def test_create_returns_the_entry_and_notices(self, client, s):
        response = client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT"), headers=s.editor)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["entry"]["status"] == "draft"
        assert body["entry"]["categories"][0]["elements"][1]["code_list"] == "gioi-tinh"
        assert body["created"] is True

    def test_duplicate_code_is_409_located(self, client, s):
        client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT"), headers=s.editor)
        response = client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT"), headers=s.editor)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "duplicate_code"
        assert "code" in response.json()["error"]["fields"]

    def test_unknown_code_list_and_secret_open_are_422_located(self, client, s):
        body = entry_json("T-MAT", "T-SNNMT", contains_state_secret=True, sharing_scope="open")
        body["categories"][0]["elements"][1]["code_list"] = "khong-co"
        response = client.post("/api/v1/databases", json=body, headers=s.editor)
        assert response.status_code == 422
        fields = response.json()["error"]["fields"]
        assert "categories[0].elements[1].code_list" in fields
        assert "sharing_scope" in fields
        assert "Không" in response.json()["error"]["message"] or response.json()["error"]["message"] != response.json()["error"]["message_en"]

    def test_wrong_enum_value_is_422(self, client, s):
        response = client.post("/api/v1/databases", json=entry_json("T-X", "T-SNNMT", level="galactic"), headers=s.editor)
        assert response.status_code == 422
        assert "level" in response.json()["error"]["fields"]

    def test_malformed_json_is_400(self, client, s):
        response = client.post("/api/v1/databases", content=b"{", headers={**s.editor, "content-type": "application/json"})
        assert response.status_code == 400

    def test_anonymous_cannot_write(self, client, s):
        assert client.post("/api/v1/databases", json=entry_json("T-X", "T-SNNMT")).status_code == 401

    def test_an_editor_of_another_agency_gets_403(self, client, s, db):
        client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT"), headers=s.editor)
        other = bearer(db, make_user(db, Role.AGENCY_EDITOR, s.other))
        response = client.put("/api/v1/databases/T-DATDAI", json=entry_json("T-DATDAI", "T-SNNMT"), headers=other)
        assert response.status_code == 403

    def test_submission_with_missing_fields_names_each(self, client, s):
        client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT", purpose="", update_frequency=None), headers=s.editor)
        response = client.post("/api/v1/databases/T-DATDAI/submit", headers=s.editor)
        assert response.status_code == 422
        assert {"purpose", "update_frequency"} <= set(response.json()["error"]["fields"])

    def test_review_flow_and_public_detail_with_matrix(self, client, s):
        client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT"), headers=s.editor)
        assert client.get("/api/v1/databases/T-DATDAI").status_code == 404
        client.post("/api/v1/databases/T-DATDAI/submit", headers=s.editor)
        comment = client.post("/api/v1/databases/T-DATDAI/comments", json={"field": "scope", "comment": "Ghi rõ phạm vi"}, headers=s.admin)
        assert comment.status_code == 201
        assert client.post("/api/v1/databases/T-DATDAI/request-changes", json={}, headers=s.admin).json()["status"] == "changes_requested"
        queue = client.get("/api/v1/catalog/review-queue", headers=s.editor).json()
        assert [r["code"] for r in queue["waiting_on_agency"]] == ["T-DATDAI"]
        client.post("/api/v1/databases/T-DATDAI/submit", headers=s.editor)
        assert client.post("/api/v1/databases/T-DATDAI/accept", headers=s.admin).json()["status"] == "accepted"
        public = client.get("/api/v1/databases/T-DATDAI").json()
        assert public["working"] is False
        assert public["categories"][0]["availability"]["organisations"] == "open_data"
        assert public["comments"] == []

    def test_search_is_diacritic_insensitive_with_facets(self, client, s):
        publish(client, s, "T-DATDAI")
        body = client.get("/api/v1/databases", params={"q": "dat dai"}).json()
        assert set(body) == {"items", "total", "limit", "offset", "facets"}
        assert [i["code"] for i in body["items"]] == ["T-DATDAI"]
        assert body["facets"]["agency"][0]["value"] == "T-SNNMT"
        assert client.get("/api/v1/databases", params={"q": "so nong nghiep"}).json()["total"] == 1
        assert client.get("/api/v1/databases", params={"sharing_form": "open_data"}).json()["total"] == 1
        assert client.get("/api/v1/databases", params={"level": "national"}).json()["total"] == 0
        assert client.get("/api/v1/databases", params={"limit": 0}).status_code == 422

    def test_history_is_for_staff(self, client, s):
        client.post("/api/v1/databases", json=entry_json("T-DATDAI", "T-SNNMT"), headers=s.editor)
        events = client.get("/api/v1/databases/T-DATDAI/history", headers=s.editor).json()
        assert [e["tag"] for e in events] == ["catalog:database:create"]


class TestIssues:
    def test_only_the_administrator_issues_and_the_versions_are_listed(self, client, s):
        publish(client, s, "T-DATDAI")
        body = {"decision_number": "01/QĐ-UBND", "decision_date": "2026-02-01", "signer": "Lê Văn Ký"}
        assert client.post("/api/v1/catalog/issues", json=body, headers=s.editor).status_code == 403
        created = client.post("/api/v1/catalog/issues", json=body, headers=s.admin)
        assert created.status_code == 201
        assert created.json()["number"] == 1
        assert client.get("/api/v1/catalog/issues").json()["items"][0]["decision_number"] == "01/QĐ-UBND"
        detail = client.get("/api/v1/catalog/issues/1").json()
        assert [e["code"] for e in detail["entries"]] == ["T-DATDAI"]
        assert client.get(f"/api/v1/catalog/issues/{created.json()['uuid']}").status_code == 200
        assert client.get("/api/v1/catalog/issues/99").status_code == 404

    def test_a_change_after_issue_shows_in_needs_reissue_and_diff(self, client, s):
        publish(client, s, "T-DATDAI")
        client.post("/api/v1/catalog/issues", json={"decision_number": "01/QĐ-UBND", "decision_date": "2026-02-01", "signer": "Lê Văn Ký"}, headers=s.admin)
        assert client.get("/api/v1/catalog/needs-reissue").json()["needs_reissue"] is False
        client.put("/api/v1/databases/T-DATDAI", json=entry_json("T-DATDAI", "T-SNNMT", scope="Xã Mường Kim"), headers=s.editor)
        reissue = client.get("/api/v1/catalog/needs-reissue").json()
        assert reissue["needs_reissue"] is True
        assert reissue["changes"][0]["state"] == "pending"
        client.post("/api/v1/databases/T-DATDAI/submit", headers=s.editor)
        client.post("/api/v1/databases/T-DATDAI/accept", headers=s.admin)
        diff = client.get("/api/v1/catalog/diff", params={"from": 1}).json()
        assert diff["to"] == "current"
        assert diff["changes"][0]["fields"] == [{"field": "scope", "old": "Toàn tỉnh", "new": "Xã Mường Kim"}]

    def test_invalid_issue_input_is_422(self, client, s):
        response = client.post("/api/v1/catalog/issues", json={"decision_number": "", "decision_date": "x", "signer": "A"}, headers=s.admin)
        assert response.status_code == 422


class TestListsCodeListsSystems:
    def test_derived_lists(self, client, s):
        publish(client, s, "T-DATDAI")
        default = client.get("/api/v1/catalog/default-sharing-list").json()
        assert [(i["database_code"], i["category"]) for i in default["items"]] == [("T-DATDAI", "Thửa đất")]
        assert client.get("/api/v1/catalog/open-data-list").json()["total"] == 1
        reviewed = client.post("/api/v1/catalog/open-data-list/reviews", json={"reviewed_on": "2026-01-31"}, headers=s.admin)
        assert reviewed.status_code == 201
        assert reviewed.json()["next_review_due"] == "2026-07-31"

    def test_code_lists_and_csv_import(self, client, s):
        assert client.get("/api/v1/code-lists").json()["items"][0]["code"] == "gioi-tinh"
        assert client.get("/api/v1/code-lists/gioi-tinh").json()["items"][1]["name"] == "Nữ"
        created = client.post("/api/v1/code-lists", json={"code": "loai-dat", "name": "Loại đất"}, headers=s.admin)
        assert created.status_code == 201
        csv_bytes = "mã,tên,mã cha\nNNP,Nhóm đất nông nghiệp,\nLUA,Đất trồng lúa,NNP\n".encode()
        imported = client.post(
            "/api/v1/code-lists/loai-dat/versions", data={"version": "2024"},
            files={"file": ("loai-dat.csv", csv_bytes, "text/csv")}, headers=s.admin,
        )
        assert imported.status_code == 201, imported.text
        assert imported.json()["items"][1] == {"code": "LUA", "name": "Đất trồng lúa", "parent": "NNP", "valid_from": None, "valid_to": None}
        bad = client.post(
            "/api/v1/code-lists/loai-dat/versions", data={"version": "2025"},
            files={"file": ("x.csv", "code,name\n,Thiếu mã\n".encode(), "text/csv")}, headers=s.admin,
        )
        assert bad.status_code == 422
        assert "row 2" in bad.json()["error"]["fields"]
        assert client.post("/api/v1/code-lists", json={"code": "x1", "name": "X"}, headers=s.editor).status_code == 403
        renamed = client.put("/api/v1/code-lists/loai-dat", json={"code": "loai-dat", "name": "Loại đất (Luật Đất đai 2024)"}, headers=s.admin)
        assert renamed.json()["name"] == "Loại đất (Luật Đất đai 2024)"

    def test_information_systems_crud(self, client, s):
        body = {"code": "T-HTTT-DD", "name": "Hệ thống thông tin đất đai", "owner_agency": "T-SNNMT", "hosting": "provincial_datacenter"}
        assert client.post("/api/v1/information-systems", json=body, headers=s.editor).status_code == 201
        assert client.post("/api/v1/information-systems", json=body, headers=s.editor).status_code == 409
        publish(client, s, "T-DATDAI", systems=["T-HTTT-DD"])
        got = client.get("/api/v1/information-systems/T-HTTT-DD").json()
        assert got["databases"] == [{"code": "T-DATDAI", "name": "Cơ sở dữ liệu đất đai"}]
        changed = client.put("/api/v1/information-systems/T-HTTT-DD", json={**body, "status": "upgrading"}, headers=s.editor)
        assert changed.json()["status"] == "upgrading"
        assert client.delete("/api/v1/information-systems/T-HTTT-DD", headers=s.editor).status_code == 409
