# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes: /api/v1/policies and /api/v1/calendar."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import bearer, make_user
from dulieuso.auth.models import Role
from dulieuso.policy import service


def _headers(db: Session, role: Role) -> dict[str, str]:
    return bearer(db, make_user(db, role))


class TestPolicies:
    def test_staff_list_policies_in_the_page_envelope(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/policies", headers=_headers(seeded, Role.AGENCY_EDITOR))

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"items", "total", "limit", "offset"}
        assert body["total"] == len(body["items"]) > 10
        account = next(p for p in body["items"] if p["key"] == "connection_account_deadline")
        assert (account["value"], account["unit"], account["status"]) == (2, "working_day", "in_force")
        assert account["citation"] == "Điều 40 khoản 3, Nghị định 194/2025/NĐ-CP"
        assert account["citation_en"] == "Article 40(3), Decree 194/2025/NĐ-CP"

    def test_filter_by_status(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/policies?status=superseded", headers=_headers(seeded, Role.AGENCY_EDITOR))

        assert [p["key"] for p in response.json()["items"]] == ["connection_account_deadline_nd47"]

    def test_anonymous_callers_must_log_in(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/policies")

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"

    def test_citizens_are_refused(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/policies", headers=_headers(seeded, Role.CITIZEN))

        assert response.status_code == 403

    def test_one_policy(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/policies/violation_suspension_notice", headers=_headers(seeded, Role.AGENCY_ADMIN))

        assert response.status_code == 200
        assert response.json()["unit"] == "calendar_day"

    def test_an_unknown_policy_is_404_with_the_error_shape(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/policies/nope", headers=_headers(seeded, Role.AGENCY_ADMIN))

        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "policy_not_found"
        assert error["message"] == "Không tìm thấy chính sách nope."
        assert error["message_en"] == "Policy nope not found."

    def test_an_administrator_changes_a_value_and_the_deadline_follows(self, client: TestClient, seeded: Session) -> None:
        headers = _headers(seeded, Role.PLATFORM_ADMIN)

        response = client.patch("/api/v1/policies/connection_account_deadline", json={"value": 5}, headers=headers)

        assert response.status_code == 200
        assert response.json()["value"] == 5
        assert service.deadline(seeded, "connection_account_deadline", date(2026, 2, 13)) == date(2026, 2, 27)

    def test_superseding_through_the_api(self, client: TestClient, seeded: Session) -> None:
        response = client.patch(
            "/api/v1/policies/issue_provider_answer",
            json={"status": "superseded", "replaced_by": "Nghị định 278/2025/NĐ-CP"},
            headers=_headers(seeded, Role.PLATFORM_ADMIN),
        )

        assert response.status_code == 200
        assert response.json()["replaced_by"] == "Nghị định 278/2025/NĐ-CP"

    def test_a_zero_value_is_422_with_the_field(self, client: TestClient, seeded: Session) -> None:
        response = client.patch(
            "/api/v1/policies/connection_account_deadline", json={"value": 0}, headers=_headers(seeded, Role.PLATFORM_ADMIN)
        )

        assert response.status_code == 422
        assert list(response.json()["error"]["fields"]) == ["value"]

    def test_an_unknown_field_is_422(self, client: TestClient, seeded: Session) -> None:
        response = client.patch(
            "/api/v1/policies/connection_account_deadline", json={"key": "x"}, headers=_headers(seeded, Role.PLATFORM_ADMIN)
        )

        assert response.status_code == 422

    def test_agency_administrators_may_not_change_a_policy(self, client: TestClient, seeded: Session) -> None:
        response = client.patch(
            "/api/v1/policies/connection_account_deadline", json={"value": 5}, headers=_headers(seeded, Role.AGENCY_ADMIN)
        )

        assert response.status_code == 403


class TestCalendar:
    def test_the_special_days_of_2026_are_public(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/calendar?year=2026")

        assert response.status_code == 200
        days = {d["day"]: d for d in response.json()["items"]}
        assert days["2026-01-10"]["kind"] == "make_up_working_day"
        assert days["2026-04-27"]["kind"] == "compensatory"
        assert days["2026-02-17"]["kind"] == "holiday"

    def test_a_year_beyond_the_table_lists_the_package_days(self, client: TestClient, seeded: Session) -> None:
        items = client.get("/api/v1/calendar?year=2029").json()["items"]

        assert "2029-02-13" in {d["day"] for d in items}
        assert items[0]["source"].startswith("python holidays")

    def test_add_working_days_is_public(self, client: TestClient, seeded: Session) -> None:
        response = client.get("/api/v1/calendar/add-working-days?start=2026-02-13&n=2")

        assert response.status_code == 200
        assert response.json() == {"start": "2026-02-13", "n": 2, "due": "2026-02-24"}

    def test_add_working_days_with_a_bad_count_is_422(self, client: TestClient, seeded: Session) -> None:
        assert client.get("/api/v1/calendar/add-working-days?start=2026-02-13&n=two").status_code == 422
        too_many = client.get("/api/v1/calendar/add-working-days?start=2026-02-13&n=999999")
        assert too_many.status_code == 422
        assert "n" in too_many.json()["error"]["fields"]

    def test_an_administrator_adds_then_removes_a_day_off(self, client: TestClient, seeded: Session) -> None:
        headers = _headers(seeded, Role.PLATFORM_ADMIN)
        url = "/api/v1/calendar/add-working-days?start=2026-03-02&n=1"

        put = client.put(
            "/api/v1/calendar/2026-03-03",
            json={"kind": "holiday", "name_vi": "Nghỉ đột xuất", "source": "Quyết định của UBND tỉnh"},
            headers=headers,
        )
        moved = client.get(url).json()["due"]
        deleted = client.delete("/api/v1/calendar/2026-03-03", headers=headers)
        restored = client.get(url).json()["due"]

        assert put.status_code == 200
        assert put.json()["name_en"] == "Nghỉ đột xuất"
        assert (moved, restored) == ("2026-03-04", "2026-03-03")
        assert deleted.status_code == 204

    def test_removing_a_day_not_listed_is_404(self, client: TestClient, seeded: Session) -> None:
        response = client.delete("/api/v1/calendar/2026-03-03", headers=_headers(seeded, Role.PLATFORM_ADMIN))

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "calendar_day_not_found"

    def test_an_impossible_day_is_422(self, client: TestClient, seeded: Session) -> None:
        response = client.put(
            "/api/v1/calendar/2026-03-03",
            json={"kind": "make_up_working_day", "name_vi": "Làm bù"},
            headers=_headers(seeded, Role.PLATFORM_ADMIN),
        )

        assert response.status_code == 422
        assert "kind" in response.json()["error"]["fields"]

    def test_anonymous_callers_cannot_edit_the_calendar(self, client: TestClient, seeded: Session) -> None:
        response = client.put("/api/v1/calendar/2026-03-03", json={"kind": "holiday", "name_vi": "X"})

        assert response.status_code == 401

    def test_staff_cannot_edit_the_calendar(self, client: TestClient, seeded: Session) -> None:
        response = client.delete("/api/v1/calendar/2026-01-02", headers=_headers(seeded, Role.AGENCY_ADMIN))

        assert response.status_code == 403
