# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages: the public list and profile, and the forms, submitted like a browser does."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import login, make_user
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dulieuso.agencies import service
from dulieuso.agencies.models import Agency, AgencyType
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import SYSTEM

from .conftest import NewAgency, active_focal_points, focal_point_input

TODAY = date.today()


class TestListPage:
    def test_renders_in_vietnamese_with_focal_point_and_json_twin(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency("Sở Tài chính tỉnh Lai Châu", short_name="Sở Tài chính")
        service.assign_focal_point(
            db, SYSTEM, agency, focal_point_input("Phạm Quang Huy", phone="0968154327")
        )
        db.commit()

        response = client.get("/agencies")

        assert response.status_code == 200
        assert response.headers["content-language"] == "vi"
        assert response.headers["link"].startswith("</api/v1/agencies?")
        assert 'rel="alternate"' in response.headers["link"]
        page = response.text
        assert "<h1>Cơ quan, đơn vị</h1>" in page
        assert "Cơ quan chuyên môn (sở, ban, ngành)" in page
        assert "Cán bộ đầu mối" in page
        assert "Phạm Quang Huy" in page and "0968 154 327" in page

    def test_search_ignores_diacritics(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        new_agency("Sở Tài chính tỉnh Lai Châu")
        new_agency("Sở Y tế tỉnh Lai Châu")
        db.commit()

        page = client.get("/agencies", params={"q": "so tai chinh"}).text

        assert "Sở Tài chính tỉnh Lai Châu" in page
        assert "Sở Y tế tỉnh Lai Châu" not in page

    def test_former_agencies_link_to_their_successor(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        successor = new_agency("Sở Khoa học và Công nghệ", short_name="Sở KH&amp;CN")
        old = new_agency("Sở Thông tin và Truyền thông")
        service.merge_agencies(db, SYSTEM, source_codes=[old.code], successor_code=successor.code)
        db.commit()

        active = client.get("/agencies").text
        former = client.get("/agencies", params={"status": "former"}).text

        assert "Sở Thông tin và Truyền thông" not in active
        assert "Sở Thông tin và Truyền thông" in former
        assert "Đã sáp nhập vào" in former
        assert f'href="/agencies/{successor.code}"' in former

    def test_filter_by_type(self, client: TestClient, db: Session, new_agency: NewAgency) -> None:
        new_agency("UBND xã Bình Lư", type=AgencyType.COMMUNE_COMMITTEE)
        new_agency("Sở Công Thương")
        db.commit()

        page = client.get("/agencies", params={"type": "ubnd_xa"}).text

        assert "UBND xã Bình Lư" in page and "Sở Công Thương" not in page

    def test_english_on_request(self, client: TestClient) -> None:
        page = client.get("/agencies", params={"lang": "en"}).text

        assert "<h1>Agencies</h1>" in page


class TestAgencyPage:
    def test_shows_facts_focal_point_card_and_mergers(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        successor = new_agency("Sở Khoa học và Công nghệ")
        child = new_agency(
            "Trung tâm Chuyển đổi số", type=AgencyType.PUBLIC_UNIT, parent_code=successor.code
        )
        old = new_agency("Sở Thông tin và Truyền thông")
        service.merge_agencies(db, SYSTEM, source_codes=[old.code], successor_code=successor.code)
        service.assign_focal_point(db, SYSTEM, successor, focal_point_input("Nguyễn Văn Hùng"))
        db.commit()

        response = client.get(f"/agencies/{successor.code}")
        former = client.get(f"/agencies/{old.code}").text

        assert response.status_code == 200
        assert (
            response.headers["link"]
            == f'</api/v1/agencies/{successor.code}>; rel="alternate"; type="application/json"'
        )
        page = response.text
        assert "Cán bộ đầu mối kết nối, chia sẻ dữ liệu" in page and "Nguyễn Văn Hùng" in page
        assert f'href="/agencies/{child.code}"' in page
        assert (
            "Các cơ quan đã sáp nhập vào cơ quan này:" in page
            and f'href="/agencies/{old.code}"' in page
        )
        assert (
            "Cơ quan này đã sáp nhập vào" in former
            and f'href="/agencies/{successor.code}"' in former
        )

    def test_unknown_agency_is_a_404_page(self, client: TestClient) -> None:
        response = client.get("/agencies/KHONG-CO")

        assert response.status_code == 404
        assert "Không tìm thấy cơ quan KHONG-CO." in response.text

    def test_visitors_see_no_history_and_no_buttons(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        db.commit()

        page = client.get(f"/agencies/{agency.code}").text

        assert "Lịch sử thay đổi" not in page
        assert f"/agencies/{agency.code}/edit" not in page
        assert "/admin/agencies/merge" not in page

    def test_agency_administrator_sees_history_and_own_buttons_only(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        agency = db.get(Agency, admin.agency_id)
        assert agency is not None
        db.commit()
        login(client, admin)

        page = client.get(f"/agencies/{agency.code}").text

        assert "Lịch sử thay đổi" in page and "agencies:agency:create" in page
        assert f'href="/agencies/{agency.code}/edit"' in page
        assert f'href="/agencies/{agency.code}/focal-point"' in page
        assert f'href="/agencies/{agency.code}/retire"' not in page
        assert "/admin/agencies/merge" not in page


class TestForms:
    def test_create_form_with_csrf_token_creates_and_redirects(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        token = login(client, admin)
        assert client.get("/admin/agencies/new").status_code == 200

        response = client.post(
            "/admin/agencies/new",
            data={
                "csrf_token": token,
                "code": "LCU-SNGV",
                "name_vi": "Sở Ngoại vụ tỉnh Lai Châu",
                "type": "co_quan_chuyen_mon",
                "parent_code": "",
                "phone": "0213 3876 543",
            },
            follow_redirects=False,
        )

        assert response.status_code == 303
        assert response.headers["location"] == "/agencies/LCU-SNGV?saved=1"
        assert service.get_by_code(db, "LCU-SNGV").phone == "02133876543"

    def test_form_without_csrf_token_is_refused(self, client: TestClient, db: Session) -> None:
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        login(client, admin)

        response = client.post(
            "/admin/agencies/new",
            data={"code": "LCU-SNGV", "name_vi": "Sở Ngoại vụ", "type": "co_quan_chuyen_mon"},
            follow_redirects=False,
        )

        assert response.status_code == 403
        assert client.get("/api/v1/agencies/LCU-SNGV").status_code == 404

    def test_invalid_form_is_shown_again_with_errors_next_to_fields(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        token = login(client, admin)

        response = client.post(
            "/admin/agencies/new",
            data={
                "csrf_token": token,
                "code": "x",
                "name_vi": "Sở Mới",
                "type": "co_quan_chuyen_mon",
                "email": "khong-hop-le",
            },
        )

        assert response.status_code == 422
        page = response.text
        assert 'id="e-code"' in page and "Dùng từ 2 đến 40 ký tự" in page
        assert 'id="e-email"' in page and "Hãy nhập địa chỉ e-mail hợp lệ." in page
        assert 'value="Sở Mới"' in page  # what was typed is kept

    def test_agency_administrator_edits_contact_details_only(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        agency = db.get(Agency, admin.agency_id)
        assert agency is not None
        name = agency.name_vi
        db.commit()
        token = login(client, admin)

        form = client.get(f"/agencies/{agency.code}/edit").text
        response = client.post(
            f"/agencies/{agency.code}/edit",
            data={
                "csrf_token": token,
                "phone": "0912 345 678",
                "website": "https://stc.laichau.gov.vn",
                "name_vi": "Tên đã bị đổi",
            },
            follow_redirects=False,
        )

        assert 'name="name_vi"' not in form and 'name="phone"' in form
        assert response.status_code == 303
        db.refresh(agency)
        assert (agency.phone, agency.website, agency.name_vi) == (
            "0912345678",
            "https://stc.laichau.gov.vn",
            name,
        )

    def test_agency_administrator_cannot_open_another_agencys_form(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        other = new_agency()
        db.commit()
        token = login(client, admin)

        assert client.get(f"/agencies/{other.code}/edit").status_code == 403
        response = client.post(
            f"/agencies/{other.code}/edit", data={"csrf_token": token, "phone": "0912345678"}
        )
        assert response.status_code == 403

    def test_focal_point_form_replaces_the_focal_point(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        agency = db.get(Agency, admin.agency_id)
        assert agency is not None
        service.assign_focal_point(
            db, SYSTEM, agency, focal_point_input(valid_from=date(2025, 7, 1))
        )
        db.commit()
        token = login(client, admin)
        data = {
            "csrf_token": token,
            "full_name": "Lò Thị Hương",
            "position": "Chánh Văn phòng Sở",
            "function": "Đầu mối kết nối, chia sẻ dữ liệu",
            "phone": "0915632048",
            "email": "huonglt@laichau.gov.vn",
            "valid_from": TODAY.isoformat(),
        }

        bad = client.post(f"/agencies/{agency.code}/focal-point", data={**data, "phone": "123"})
        good = client.post(
            f"/agencies/{agency.code}/focal-point", data=data, follow_redirects=False
        )

        assert bad.status_code == 422 and 'id="e-phone"' in bad.text
        assert good.status_code == 303
        [current] = active_focal_points(db, agency)
        assert current.full_name == "Lò Thị Hương"

    def test_merge_form_merges_and_redirects_to_the_successor(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        first, second, successor = new_agency(), new_agency(), new_agency()
        staff = make_user(db, Role.AGENCY_EDITOR, agency=first)
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        token = login(client, admin)
        assert client.get(f"/admin/agencies/merge?source={first.code}").status_code == 200

        response = client.post(
            "/admin/agencies/merge",
            data={
                "csrf_token": token,
                "source_codes": [first.code, second.code],
                "successor_code": successor.code,
                "effective_date": (TODAY - timedelta(days=1)).isoformat(),
            },
            follow_redirects=False,
        )

        assert response.status_code == 303
        assert response.headers["location"] == f"/agencies/{successor.code}?merged=1"
        db.expire_all()
        assert db.get(User, staff.id).agency_id == successor.id  # type: ignore[union-attr]
        assert not service.is_active(db.get(Agency, second.id))  # type: ignore[arg-type]

    def test_merge_form_shows_what_is_wrong(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        source = new_agency()
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        token = login(client, admin)

        response = client.post(
            "/admin/agencies/merge",
            data={
                "csrf_token": token,
                "source_codes": [source.code],
                "successor_code": source.code,
                "effective_date": TODAY.isoformat(),
            },
        )

        assert response.status_code == 422
        assert 'id="e-successor_code"' in response.text

    def test_merge_form_is_for_the_platform_administrator(
        self, client: TestClient, db: Session
    ) -> None:
        admin = make_user(db, Role.AGENCY_ADMIN)
        db.commit()
        login(client, admin)

        assert client.get("/admin/agencies/merge").status_code == 403

    def test_retire_form_lists_remaining_staff(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        staff = make_user(db, Role.AGENCY_EDITOR, agency=agency)
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        token = login(client, admin)

        refused = client.post(
            f"/agencies/{agency.code}/retire",
            data={"csrf_token": token, "effective_date": TODAY.isoformat()},
        )

        assert refused.status_code == 409
        assert staff.email in refused.text and "Không thể giải thể" in refused.text

    def test_retire_form_retires_an_empty_agency(
        self, client: TestClient, db: Session, new_agency: NewAgency
    ) -> None:
        agency = new_agency()
        admin = make_user(db, Role.PLATFORM_ADMIN)
        db.commit()
        token = login(client, admin)
        assert client.get(f"/agencies/{agency.code}/retire").status_code == 200

        response = client.post(
            f"/agencies/{agency.code}/retire",
            data={
                "csrf_token": token,
                "effective_date": TODAY.isoformat(),
                "note": "Quyết định giải thể",
            },
            follow_redirects=False,
        )

        assert response.status_code == 303
        db.refresh(agency)
        assert agency.valid_to == TODAY
