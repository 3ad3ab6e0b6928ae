# SPDX-License-Identifier: AGPL-3.0-or-later
"""Data requests through the pages (real forms, CSRF) and the JSON API."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dulieuso.opendata.voice_models import DataRequest, DataRequestVote
from tests.conftest import bearer, csrf_from, login
from tests.opendata.test_requests_support import Voice, vclient, voice  # noqa: F401  (fixtures)


def _file(client: TestClient, token: str, **fields: str):
    data = {"title": "Danh sách trạm y tế xã", "description": "Địa chỉ, số điện thoại các trạm y tế.",
            "use_case": "Bản đồ y tế", "agency_code": "", "csrf_token": token, **fields}
    return client.post("/data/requests/new", data=data, follow_redirects=False)


class TestPages:
    def test_board_renders_in_vietnamese_for_anonymous(self, vclient: TestClient, voice: Voice):
        page = vclient.get("/data/requests")
        assert page.status_code == 200
        assert "Yêu cầu dữ liệu" in page.text
        assert 'rel="alternate"' in page.headers["link"]

    def test_new_request_needs_login(self, vclient: TestClient, voice: Voice):
        page = vclient.get("/data/requests/new", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")

    def test_file_vote_and_answer_through_forms(self, vclient: TestClient, voice: Voice):
        token = login(vclient, voice.citizen)
        created = _file(vclient, token, agency_code=voice.agency.code)
        assert created.status_code == 303
        path = created.headers["location"]
        request_id = uuid.UUID(path.rsplit("/", 1)[1])
        page = vclient.get(path)
        assert "Bỏ phiếu cho yêu cầu này" in page.text
        voted = vclient.post(f"{path}/vote", data={"on": "1", "csrf_token": token}, follow_redirects=False)
        assert voted.status_code == 303
        assert voice.db.get(DataRequest, request_id).vote_count == 1
        vclient.post("/logout", data={"csrf_token": token})
        token = login(vclient, voice.staff)
        answered = vclient.post(f"{path}/answer", data={"answer": "Sở sẽ công bố trong quý I.", "csrf_token": token},
                                follow_redirects=False)
        assert answered.status_code == 303
        page = vclient.get(path)
        assert "Sở sẽ công bố trong quý I." in page.text and "đang xem xét" in page.text

    def test_form_errors_are_shown_next_to_fields(self, vclient: TestClient, voice: Voice):
        token = login(vclient, voice.citizen)
        page = _file(vclient, token, title="", description="")
        assert page.status_code == 422
        assert 'id="e-title"' in page.text and 'id="e-description"' in page.text

    def test_user_content_is_escaped(self, vclient: TestClient, voice: Voice):
        token = login(vclient, voice.citizen)
        created = _file(vclient, token, title="<script>alert(1)</script> dữ liệu", description="<b>đậm</b>")
        page = vclient.get(created.headers["location"])
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;" in page.text and "&lt;b&gt;đậm&lt;/b&gt;" in page.text

    def test_decline_without_reason_shows_the_error(self, vclient: TestClient, voice: Voice):
        token = login(vclient, voice.citizen)
        path = _file(vclient, token, agency_code=voice.agency.code).headers["location"]
        vclient.post("/logout", data={"csrf_token": token})
        token = login(vclient, voice.staff)
        page = vclient.post(f"{path}/status", data={"status": "declined", "decline_reason": "", "csrf_token": token})
        assert page.status_code == 422
        assert 'id="e-decline_reason"' in page.text

    def test_agency_queue_highlights_overdue(self, vclient: TestClient, voice: Voice):
        token = login(vclient, voice.citizen)
        path = _file(vclient, token, agency_code=voice.agency.code).headers["location"]
        from datetime import date, timedelta

        # Move the deadline into the past (a plain UPDATE: the test is not a service).
        voice.db.execute(update(DataRequest).where(DataRequest.id == uuid.UUID(path.rsplit("/", 1)[1]))
                         .values(due_on=date.today() - timedelta(days=2)))
        voice.db.commit()
        vclient.post("/logout", data={"csrf_token": token})
        login(vclient, voice.staff)
        page = vclient.get("/data/requests/queue")
        assert page.status_code == 200
        assert re.search(r'<tr class="overdue">', page.text) and "Quá hạn" in page.text

    def test_queue_is_not_for_citizens(self, vclient: TestClient, voice: Voice):
        login(vclient, voice.citizen)
        assert vclient.get("/data/requests/queue").status_code == 403

    def test_without_csrf_a_logged_in_post_is_refused(self, vclient: TestClient, voice: Voice):
        login(vclient, voice.citizen)
        response = vclient.post("/data/requests/new", data={"title": "Tiêu đề", "description": "x"})
        assert response.status_code == 403


class TestApi:
    def test_list_envelope(self, vclient: TestClient, voice: Voice):
        body = vclient.get("/api/v1/data-requests?sort=newest&limit=5").json()
        assert set(body) == {"items", "total", "limit", "offset"} and body["limit"] == 5

    def test_every_sort_and_filter_works(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        for title in ("Danh sách chợ", "Danh sách trường"):
            vclient.post("/api/v1/data-requests", json={"title": title, "description": "x", "agency_code": voice.agency.code},
                         headers=headers)
        for sort in ("votes", "newest", "status", "due"):
            body = vclient.get(f"/api/v1/data-requests?sort={sort}&status=new&agency={voice.agency.code}").json()
            assert body["total"] == 2, sort
        bad = vclient.get("/api/v1/data-requests?sort=random")
        assert bad.status_code == 422 and "sort" in bad.json()["error"]["fields"]

    def test_pages_render_in_english_on_request(self, vclient: TestClient, voice: Voice):
        page = vclient.get("/data/requests?lang=en")
        assert "Data requests" in page.text and "Most votes" in page.text

    def test_second_vote_is_409_and_delete_takes_it_back(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        created = vclient.post("/api/v1/data-requests", json={"title": "Danh sách chợ", "description": "Các chợ"}, headers=headers)
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        voter = bearer(voice.db, voice.citizen2)
        first = vclient.post(f"/api/v1/data-requests/{request_id}/votes", headers=voter)
        assert first.status_code == 201 and first.json() == {"vote_count": 1, "voted": True}
        second = vclient.post(f"/api/v1/data-requests/{request_id}/votes", headers=voter)
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "already_voted"
        assert second.json()["error"]["message"] == "Bạn đã bỏ phiếu cho yêu cầu này."
        assert vclient.delete(f"/api/v1/data-requests/{request_id}/votes", headers=voter).json()["vote_count"] == 0
        assert voice.db.scalars(select(DataRequestVote)).all() == []

    def test_anonymous_cannot_vote_401(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        request_id = vclient.post("/api/v1/data-requests", json={"title": "Danh sách chợ", "description": "Các chợ"},
                                  headers=headers).json()["id"]
        assert vclient.post(f"/api/v1/data-requests/{request_id}/votes").status_code == 401
        assert vclient.get(f"/api/v1/data-requests/{request_id}").status_code == 200

    def test_rate_limit_is_a_429_in_both_languages(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        for i in range(10):
            assert vclient.post("/api/v1/data-requests", json={"title": f"Yêu cầu {i:02d}", "description": "x"},
                                headers=headers).status_code == 201
        refused = vclient.post("/api/v1/data-requests", json={"title": "Yêu cầu 11", "description": "x"}, headers=headers)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "request_rate_limited"
        assert "24 giờ" in error["message"] and "24 hours" in error["message_en"]

    def test_comments_follow_and_detail(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        request_id = vclient.post("/api/v1/data-requests", json={"title": "Danh sách chợ", "description": "Các chợ"},
                                  headers=headers).json()["id"]
        other = bearer(voice.db, voice.citizen2)
        assert vclient.put(f"/api/v1/data-requests/{request_id}/follow", headers=other).json()["following"] is True
        comment = vclient.post(f"/api/v1/data-requests/{request_id}/comments", json={"body": "Tôi cũng cần."}, headers=other)
        assert comment.status_code == 201
        detail = vclient.get(f"/api/v1/data-requests/{request_id}").json()
        assert detail["follower_count"] == 2 and detail["comment_count"] == 1
        assert [c["body"] for c in detail["comments"]] == ["Tôi cũng cần."]
        assert [h["to_status"] for h in detail["history"]] == ["new"]

    def test_status_change_by_the_agency_and_refused_for_another(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        request_id = vclient.post("/api/v1/data-requests", json={"title": "Danh sách chợ", "description": "Các chợ",
                                                                 "agency_code": voice.agency.code}, headers=headers).json()["id"]
        refused = vclient.post(f"/api/v1/data-requests/{request_id}/status", json={"status": "under_review"},
                               headers=bearer(voice.db, voice.other_staff))
        assert refused.status_code == 403
        ok = vclient.post(f"/api/v1/data-requests/{request_id}/status", json={"status": "under_review"},
                          headers=bearer(voice.db, voice.staff))
        assert ok.status_code == 200 and ok.json()["status"] == "under_review"
        illegal = vclient.post(f"/api/v1/data-requests/{request_id}/status", json={"status": "new"},
                               headers=bearer(voice.db, voice.staff))
        assert illegal.status_code == 409

    def test_queue_json_twin(self, vclient: TestClient, voice: Voice):
        headers = bearer(voice.db, voice.citizen)
        vclient.post("/api/v1/data-requests", json={"title": "Danh sách chợ", "description": "Các chợ",
                                                    "agency_code": voice.agency.code}, headers=headers)
        body = vclient.get("/api/v1/data-requests/queue", headers=bearer(voice.db, voice.staff)).json()
        assert [i["title"] for i in body["items"]] == ["Danh sách chợ"]


def test_csrf_helper_finds_the_token_on_the_form(vclient: TestClient, voice: Voice):
    login(vclient, voice.citizen)
    assert csrf_from(vclient, "/data/requests/new")
