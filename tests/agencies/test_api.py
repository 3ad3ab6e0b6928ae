# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes under /api/v1/agencies: public reads, permissioned writes, one error shape."""

from __future__ import annotations

from datetime import date

from conftest import bearer, make_user
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dulieuso.agencies import service
from dulieuso.agencies.models import Agency
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import SYSTEM

from .conftest import NewAgency, focal_point_input

FOCAL_POINT = {
    "full_name": "Nguyễn Văn Hùng",
    "position": "Phó Giám đốc Trung tâm Chuyển đổi số",
    "function": "Đầu mối kết nối, chia sẻ dữ liệu",
    "phone": "0913 280 416",
    "email": "hungnv@laichau.gov.vn",
}


def assert_error(body: dict, code: str) -> dict:
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert error["message"] and error["message_en"]
    return error


class TestPublicReads:
    def test_list_needs_no_login_and_shows_the_focal_point_object(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency("Sở Tài chính tỉnh Lai Châu", short_name="Sở Tài chính")
        service.assign_focal_point(db, SYSTEM, agency, focal_point_input("Phạm Quang Huy"))
        db.commit()

        response = client.get("/api/v1/agencies", params={"q": "so tai chinh"})

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"items", "total", "limit", "offset"}
        assert body["total"] == 1 and body["limit"] == 50 and body["offset"] == 0
        [item] = body["items"]
        assert item["code"] == agency.code and item["status"] == "active"
        assert item["focal_point"] == {
            "name": "Phạm Quang Huy",
            "position": "Phó Giám đốc Trung tâm Chuyển đổi số",
            "function": "Tiếp nhận, điều phối việc kết nối, chia sẻ dữ liệu",
            "phone": "0912345678",
            "email": "an.nv@laichau.gov.vn",
            "valid_from": "2025-07-01",
            "valid_to": None,
        }

    def test_one_agency_shows_its_neighbours_in_tree_and_history(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        successor = new_agency("Sở Khoa học và Công nghệ")
        child = new_agency(
            "Trung tâm Chuyển đổi số", type="don_vi_su_nghiep", parent_code=successor.code
        )
        old = new_agency("Sở Thông tin và Truyền thông")
        service.merge_agencies(db, SYSTEM, source_codes=[old.code], successor_code=successor.code)
        db.commit()

        body = client.get(f"/api/v1/agencies/{successor.code}").json()
        former = client.get(f"/api/v1/agencies/{old.code}").json()

        assert [c["code"] for c in body["children"]] == [child.code]
        assert [p["code"] for p in body["predecessors"]] == [old.code]
        assert body["focal_point"] is None
        assert (former["status"], former["successor_code"]) == ("former", successor.code)

    def test_unknown_code_is_a_404_in_the_error_shape(self, client: TestClient) -> None:
        response = client.get("/api/v1/agencies/KHONG-CO")

        assert response.status_code == 404
        error = assert_error(response.json(), "agency_not_found")
        assert error["message"] == "Không tìm thấy cơ quan KHONG-CO."
        assert error["message_en"] == "Agency KHONG-CO not found."

    def test_former_filter_and_limit_bounds(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        gone = new_agency(valid_from=date(2000, 1, 1), valid_to=date(2025, 6, 30))
        db.commit()

        former = client.get("/api/v1/agencies", params={"status": "former"}).json()
        too_many = client.get("/api/v1/agencies", params={"limit": 501})

        assert gone.code in [i["code"] for i in former["items"]]
        assert too_many.status_code == 422
        assert "limit" in assert_error(too_many.json(), "invalid")["fields"]

    def test_tree_lists_roots_with_children(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        parent = new_agency()
        child = new_agency(parent_code=parent.code)
        db.commit()

        roots = client.get("/api/v1/agencies/tree").json()

        node = next(n for n in roots if n["code"] == parent.code)
        assert [c["code"] for c in node["children"]] == [child.code]


class TestWrites:
    def test_platform_administrator_creates_an_agency(
        self, client: TestClient, db: Session
    ) -> None:
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))
        body = {
            "code": "LCU-SNGV",
            "name_vi": "Sở Ngoại vụ tỉnh Lai Châu",
            "type": "co_quan_chuyen_mon",
        }

        response = client.post("/api/v1/agencies", json=body, headers=headers)

        assert response.status_code == 201
        assert response.json()["code"] == "LCU-SNGV"
        assert client.get("/api/v1/agencies/LCU-SNGV").status_code == 200

    def test_writes_need_a_login(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        db.commit()

        response = client.patch(f"/api/v1/agencies/{agency.code}", json={"phone": "0912345678"})

        assert response.status_code == 401
        assert_error(response.json(), "unauthorized")

    def test_malformed_json_is_a_400(self, client: TestClient, db: Session) -> None:
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))

        response = client.post(
            "/api/v1/agencies",
            content=b'{"code": "X",',
            headers={**headers, "Content-Type": "application/json"},
        )

        assert response.status_code == 400
        assert_error(response.json(), "malformed_json")

    def test_wrong_types_are_a_422_naming_the_fields(self, client: TestClient, db: Session) -> None:
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))

        response = client.post(
            "/api/v1/agencies",
            json={
                "code": 123,
                "name_vi": ["Sở"],
                "type": "ngan_hang",
                "valid_from": "hôm qua",
                "colour": "red",
            },
            headers=headers,
        )

        assert response.status_code == 422
        fields = assert_error(response.json(), "invalid")["fields"]
        assert {"code", "name_vi", "type", "valid_from", "colour"} <= set(fields)

    def test_rule_violations_are_a_422_with_vietnamese_field_messages(
        self, client: TestClient, db: Session
    ) -> None:
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))

        response = client.post(
            "/api/v1/agencies",
            json={
                "code": "lcu stc!",
                "name_vi": "Sở",
                "type": "co_quan_chuyen_mon",
                "website": "laichau.gov.vn",
            },
            headers=headers,
        )

        assert response.status_code == 422
        error = assert_error(response.json(), "invalid")
        assert set(error["fields"]) == {"code", "website"}
        assert error["fields"]["website"] == [
            "Nhập địa chỉ trang web bắt đầu bằng http:// hoặc https://."
        ]

    def test_agency_administrator_edits_own_contact_details(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        code = db.get(Agency, admin.agency_id).code  # type: ignore[union-attr]
        headers = bearer(db, admin)

        response = client.patch(
            f"/api/v1/agencies/{code}", json={"phone": "0213 3876 543"}, headers=headers
        )

        assert response.status_code == 200
        assert response.json()["phone"] == "02133876543"

    def test_agency_administrator_cannot_edit_another_agency(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        other = new_agency()
        headers = bearer(db, make_user(db, Role.AGENCY_ADMIN))

        response = client.patch(
            f"/api/v1/agencies/{other.code}", json={"phone": "0912345678"}, headers=headers
        )

        assert response.status_code == 403
        assert_error(response.json(), "forbidden.agency.update")

    def test_agency_administrator_cannot_rename_own_agency(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        code = db.get(Agency, admin.agency_id).code  # type: ignore[union-attr]
        headers = bearer(db, admin)

        response = client.patch(
            f"/api/v1/agencies/{code}", json={"name_vi": "Tên mới"}, headers=headers
        )

        assert response.status_code == 403
        assert_error(response.json(), "forbidden.agency.update_fields")

    def test_agency_administrator_cannot_merge(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        own = db.get(Agency, admin.agency_id)
        target = new_agency()
        headers = bearer(db, admin)

        response = client.post(
            "/api/v1/agencies/merge",
            json={"source_codes": [own.code], "successor_code": target.code},
            headers=headers,  # type: ignore[union-attr]
        )

        assert response.status_code == 403
        assert_error(response.json(), "forbidden.agency.merge")

    def test_focal_point_put_replaces_the_current_one(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        agency = db.get(Agency, admin.agency_id)
        assert agency is not None
        service.assign_focal_point(db, SYSTEM, agency, focal_point_input())
        headers = bearer(db, admin)

        response = client.put(
            f"/api/v1/agencies/{agency.code}/focal-point", json=FOCAL_POINT, headers=headers
        )

        assert response.status_code == 200
        assert response.json()["name"] == "Nguyễn Văn Hùng"
        public = client.get(f"/api/v1/agencies/{agency.code}").json()
        assert public["focal_point"]["phone"] == "0913280416"

    def test_focal_point_with_a_bad_phone_is_a_422(self, client: TestClient, db: Session) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        code = db.get(Agency, admin.agency_id).code  # type: ignore[union-attr]
        headers = bearer(db, admin)

        response = client.put(
            f"/api/v1/agencies/{code}/focal-point",
            json={**FOCAL_POINT, "phone": "12345"},
            headers=headers,
        )

        assert response.status_code == 422
        assert list(assert_error(response.json(), "invalid")["fields"]) == ["phone"]

    def test_merge_moves_staff_to_the_successor(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        source, successor = new_agency(), new_agency()
        staff = make_user(db, Role.AGENCY_EDITOR, agency=source)
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))

        response = client.post(
            "/api/v1/agencies/merge",
            json={
                "source_codes": [source.code],
                "successor_code": successor.code,
                "effective_date": "2026-01-01",
            },
            headers=headers,
        )

        assert response.status_code == 200
        body = response.json()
        assert {k: body["moved"][source.code][k] for k in ("users", "sub_agencies")} == {"users": 1, "sub_agencies": 0}
        assert set(body["moved"]) == {source.code}
        assert body["sources"][0]["successor_code"] == successor.code
        assert body["sources"][0]["valid_to"] == "2026-01-01"
        db.expire_all()
        assert db.get(User, staff.id).agency_id == successor.id  # type: ignore[union-attr]

    def test_retire_is_a_409_listing_what_remains(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        staff = make_user(db, Role.AGENCY_EDITOR, agency=agency)
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))

        response = client.post(f"/api/v1/agencies/{agency.code}/retire", json={}, headers=headers)

        assert response.status_code == 409
        error = assert_error(response.json(), "agency_not_empty")
        assert error["users"] == [staff.email] and error["children"] == []

    def test_retire_an_empty_agency(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        headers = bearer(db, make_user(db, Role.PLATFORM_ADMIN))

        response = client.post(
            f"/api/v1/agencies/{agency.code}/retire", json={"note": "Giải thể"}, headers=headers
        )

        assert response.status_code == 200
        assert response.json()["status"] == "former"


class TestHistory:
    def test_staff_of_the_agency_read_its_history(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        service.update_agency(db, SYSTEM, agency, {"phone": "0912345678"})
        headers = bearer(db, make_user(db, Role.AGENCY_EDITOR, agency=agency))

        response = client.get(f"/api/v1/agencies/{agency.code}/history", headers=headers)

        assert response.status_code == 200
        tags = [e["tag"] for e in response.json()["items"]]
        assert tags == ["agencies:agency:update", "agencies:agency:create"]

    def test_history_is_closed_to_visitors_and_other_agencies(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        outsider = bearer(db, make_user(db, Role.AGENCY_EDITOR))

        assert client.get(f"/api/v1/agencies/{agency.code}/history").status_code == 401
        assert (
            client.get(f"/api/v1/agencies/{agency.code}/history", headers=outsider).status_code
            == 403
        )
