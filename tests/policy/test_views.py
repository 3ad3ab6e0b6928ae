# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages: /admin/policies and /admin/calendar, driven through their real forms."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import login, make_user
from dulieuso.auth.models import Role
from dulieuso.policy import service


def _log_in(client: TestClient, db: Session, role: Role = Role.PLATFORM_ADMIN) -> str:
    user = make_user(db, role)
    db.commit()
    return login(client, user)


POLICY_FORM = {
    "value": "2",
    "unit": "working_day",
    "status": "in_force",
    "replaced_by": "",
    "effective_from": "2025-08-19",
    "legal_document": "Nghị định 194/2025/NĐ-CP",
    "legal_article": "40",
    "legal_clause": "3",
    "description_vi": "Tạo tài khoản kết nối",
    "description_en": "Create the connection account",
    "note": "",
}


def _field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="e-{name}">([^<]*)</p>', html)
    assert match, f"no error shown next to {name}"
    return match.group(1)


class TestPoliciesPage:
    def test_the_table_cites_the_legal_basis_in_vietnamese(self, client: TestClient, seeded: Session) -> None:
        _log_in(client, seeded, Role.AGENCY_EDITOR)

        response = client.get("/admin/policies")

        assert response.status_code == 200
        assert "Điều 40 khoản 3, Nghị định 194/2025/NĐ-CP" in response.text
        assert "2 ngày làm việc" in response.text
        assert "Được thay thế bởi Nghị định 194/2025/NĐ-CP, Điều 40 khoản 3" in response.text
        assert "19/08/2025" in response.text
        assert response.headers["link"] == '</api/v1/policies>; rel="alternate"; type="application/json"'

    def test_the_table_in_english(self, client: TestClient, seeded: Session) -> None:
        _log_in(client, seeded, Role.AGENCY_EDITOR)

        response = client.get("/admin/policies?lang=en")

        assert "Article 40(3), Decree 194/2025/NĐ-CP" in response.text
        assert "2 working days" in response.text
        assert "1 calendar day" in response.text
        assert "Create the connection account and notify the requester" in response.text

    def test_anonymous_visitors_are_sent_to_log_in(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/admin/policies", follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")

    def test_citizens_are_refused(self, client: TestClient, seeded: Session) -> None:
        _log_in(client, seeded, Role.CITIZEN)

        assert client.get("/admin/policies").status_code == 403

    def test_staff_see_a_policy_without_the_edit_form(self, client: TestClient, seeded: Session) -> None:
        _log_in(client, seeded, Role.AGENCY_EDITOR)

        response = client.get("/admin/policies/connection_account_deadline")

        assert response.status_code == 200
        assert 'action="/admin/policies/connection_account_deadline"' not in response.text


class TestEditingAPolicy:
    def test_saving_redirects_and_changes_the_value(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/policies/connection_account_deadline",
            data={**POLICY_FORM, "value": "3", "csrf_token": token},
            follow_redirects=False,
        )

        assert response.status_code == 303
        assert service.policy_value(seeded, "connection_account_deadline")[0] == 3
        page = client.get(response.headers["location"])
        assert "Đã lưu chính sách." in page.text
        assert "policy:policy:update" in page.text

    def test_a_zero_value_is_shown_next_to_the_field(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/policies/connection_account_deadline", data={**POLICY_FORM, "value": "0", "csrf_token": token}
        )

        assert response.status_code == 422
        assert "lớn hơn 0" in _field_error(response.text, "value")
        assert 'value="0"' in response.text
        assert service.policy_value(seeded, "connection_account_deadline")[0] == 2

    def test_text_in_the_value_and_a_bad_date_are_both_reported(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/policies/connection_account_deadline",
            data={**POLICY_FORM, "value": "hai", "effective_from": "19/08", "csrf_token": token},
        )

        assert response.status_code == 422
        assert _field_error(response.text, "value") == "Nhập một số nguyên."
        assert _field_error(response.text, "effective_from") == "Nhập một ngày (ngày/tháng/năm)."

    def test_replaced_by_on_a_rule_in_force_is_refused_next_to_the_field(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/policies/connection_account_deadline",
            data={**POLICY_FORM, "replaced_by": "Nghị định 278/2025/NĐ-CP", "csrf_token": token},
        )

        assert response.status_code == 422
        assert "không có văn bản thay thế" in _field_error(response.text, "replaced_by")

    def test_a_form_without_the_csrf_token_is_refused(self, client: TestClient, seeded: Session) -> None:
        _log_in(client, seeded)

        response = client.post("/admin/policies/connection_account_deadline", data={**POLICY_FORM, "value": "9"})

        assert response.status_code == 403
        assert service.policy_value(seeded, "connection_account_deadline")[0] == 2


class TestCalendarPage:
    def test_special_days_are_grouped_by_month_with_their_kind(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/admin/calendar?year=2026")

        assert response.status_code == 200
        assert '<th scope="rowgroup" colspan="3">Tháng 1</th>' in response.text
        assert "Thứ Bảy, 10/01/2026" in response.text
        assert "Ngày làm bù" in response.text
        assert "Thứ Hai, 27/04/2026" in response.text
        assert response.headers["link"] == '</api/v1/calendar?year=2026>; rel="alternate"; type="application/json"'

    def test_the_calculator_gives_the_due_date(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/admin/calendar?year=2026&start=2026-02-13&n=2")

        assert response.status_code == 200
        assert "hạn là Thứ Ba, 24/02/2026" in response.text

    def test_the_calculator_reports_bad_input(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/admin/calendar?year=2026&start=2026-02-13&n=hai")

        assert response.status_code == 422
        assert _field_error(response.text, "n") == "Nhập một số nguyên."

    def test_a_year_beyond_the_table_says_the_package_is_used(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/admin/calendar?year=2029")

        assert "thư viện holidays" in response.text
        assert "12/02/2029" in response.text

    def test_visitors_see_no_edit_forms(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/admin/calendar?year=2026")

        assert 'action="/admin/calendar"' in response.text  # the calculator (GET)
        assert 'method="post" action="/admin/calendar"' not in response.text


class TestEditingTheCalendar:
    def test_an_administrator_adds_a_day_and_it_moves_deadlines(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/calendar",
            data={"day": "2026-03-03", "kind": "holiday", "name_vi": "Nghỉ đột xuất", "name_en": "", "source": "", "csrf_token": token},
            follow_redirects=False,
        )

        assert response.status_code == 303
        page = client.get(response.headers["location"])
        assert "Nghỉ đột xuất" in page.text
        assert service.add_working_days(seeded, date(2026, 3, 2), 1) == date(2026, 3, 4)

    def test_the_edit_link_fills_the_form(self, client: TestClient, seeded: Session) -> None:
        _log_in(client, seeded)

        response = client.get("/admin/calendar?edit=2026-04-27")

        assert 'value="Nghỉ bù Giỗ Tổ Hùng Vương"' in response.text
        assert '<option value="compensatory" selected>' in response.text

    def test_an_impossible_day_is_reported_next_to_the_field(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/calendar",
            data={"day": "2026-03-03", "kind": "make_up_working_day", "name_vi": "", "csrf_token": token},
        )

        assert response.status_code == 422
        assert "ngày thường" in _field_error(response.text, "kind")
        assert _field_error(response.text, "name_vi") == "Trường này là bắt buộc."
        assert service.get_day(seeded, date(2026, 3, 3)) is None

    def test_a_bad_date_is_reported_next_to_the_field(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post(
            "/admin/calendar", data={"day": "3/3", "kind": "holiday", "name_vi": "X", "year": "2026", "csrf_token": token}
        )

        assert response.status_code == 422
        assert _field_error(response.text, "day")

    def test_an_administrator_deletes_a_day(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded)

        response = client.post("/admin/calendar/2026-01-02/delete", data={"csrf_token": token}, follow_redirects=False)

        assert response.status_code == 303
        assert service.is_working_day(seeded, date(2026, 1, 2))

    def test_staff_cannot_delete_a_day(self, client: TestClient, seeded: Session) -> None:
        token = _log_in(client, seeded, Role.AGENCY_ADMIN)

        response = client.post("/admin/calendar/2026-01-02/delete", data={"csrf_token": token})

        assert response.status_code == 403
        assert not service.is_working_day(seeded, date(2026, 1, 2))
