# SPDX-License-Identifier: AGPL-3.0-or-later
"""Feedback on datasets, the reuse showcase and abuse moderation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from dulieuso.notifications.models import Notification
from dulieuso.opendata import abuse, feedback, showcase
from dulieuso.opendata import requests as data_requests
from dulieuso.opendata.voice_models import AbuseStatus, FeedbackStatus
from tests.conftest import bearer, login
from tests.opendata.test_requests_support import Voice, vclient, voice  # noqa: F401  (fixtures)


def _kinds(v: Voice, user) -> list[str]:
    return [n.kind for n in v.db.scalars(select(Notification).where(Notification.user_id == user.id))]


class TestFeedback:
    def test_feedback_reaches_the_agency_staff_and_focal_point(self, voice: Voice):
        dataset = voice.dataset()
        entry = feedback.submit(voice.db, voice.actor(voice.citizen), dataset.name, "quality", "Thiếu số liệu năm 2025.")
        assert entry.agency_id == voice.agency.id and entry.status is FeedbackStatus.OPEN
        for user in (voice.staff, voice.agency_admin, voice.focal):
            assert _kinds(voice, user) == ["opendata:dataset_feedback:new"]
        assert _kinds(voice, voice.other_staff) == []

    def test_answer_goes_to_the_author_and_becomes_public(self, voice: Voice):
        dataset = voice.dataset()
        entry = feedback.submit(voice.db, voice.actor(voice.citizen), dataset.name, "format", "Xin thêm bản CSV.")
        assert feedback.for_dataset(voice.db, ANONYMOUS, dataset) == []
        feedback.answer(voice.db, voice.actor(voice.focal), entry.id, "Đã bổ sung bản CSV.")
        voice.db.commit()
        assert entry.status is FeedbackStatus.ANSWERED
        assert "opendata:dataset_feedback:answer" in _kinds(voice, voice.citizen)
        assert [f.id for f in feedback.for_dataset(voice.db, ANONYMOUS, dataset)] == [entry.id]
        tags = voice.db.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id == str(entry.id))).all()
        assert set(tags) == {"opendata:dataset_feedback:create", "opendata:dataset_feedback:answer"}

    def test_another_agency_cannot_answer(self, voice: Voice):
        entry = feedback.submit(voice.db, voice.actor(voice.citizen), voice.dataset().name, "usability", "Khó đọc.")
        with pytest.raises(Forbidden):
            feedback.answer(voice.db, voice.actor(voice.other_staff), entry.id, "Không phải của tôi")

    def test_needs_an_account_a_category_and_a_public_dataset(self, voice: Voice):
        dataset = voice.dataset()
        with pytest.raises(Unauthorized):
            feedback.submit(voice.db, ANONYMOUS, dataset.name, "quality", "Ẩn danh")
        with pytest.raises(Invalid) as error:
            feedback.submit(voice.db, voice.actor(voice.citizen), dataset.name, "nonsense", "x")
        assert set(error.value.fields) == {"category", "body"}
        with pytest.raises(NotFound):
            feedback.submit(voice.db, voice.actor(voice.citizen), voice.dataset(public=False).name, "quality", "Bản nháp")

    def test_feedback_page_renders_in_vietnamese_and_takes_the_form(self, vclient: TestClient, voice: Voice):
        dataset = voice.dataset()
        voice.db.commit()
        page = vclient.get(f"/datasets/{dataset.name}/feedback")
        assert page.status_code == 200 and "Phản hồi về bộ dữ liệu" in page.text
        token = login(vclient, voice.citizen)
        bad = vclient.post(f"/datasets/{dataset.name}/feedback", data={"category": "", "body": "", "csrf_token": token})
        assert bad.status_code == 422 and 'id="e-category"' in bad.text
        sent = vclient.post(f"/datasets/{dataset.name}/feedback",
                            data={"category": "compliance", "body": "Có số điện thoại cá nhân.", "csrf_token": token},
                            follow_redirects=False)
        assert sent.status_code == 303

    def test_api_feedback_and_agency_queue(self, vclient: TestClient, voice: Voice):
        dataset = voice.dataset()
        voice.db.commit()
        created = vclient.post("/api/v1/dataset-feedback", json={"dataset": dataset.name, "category": "quality", "body": "Sai số liệu"},
                               headers=bearer(voice.db, voice.citizen))
        assert created.status_code == 201, created.text
        staff = bearer(voice.db, voice.staff)
        queue = vclient.get("/api/v1/dataset-feedback?queue=true", headers=staff).json()
        assert [i["id"] for i in queue["items"]] == [created.json()["id"]]
        answered = vclient.post(f"/api/v1/dataset-feedback/{created.json()['id']}/answer", json={"answer": "Đã sửa."}, headers=staff)
        assert answered.status_code == 200 and answered.json()["status"] == "answered"
        public = vclient.get(f"/api/v1/dataset-feedback?dataset={dataset.name}").json()
        assert public["total"] == 1 and public["items"][0]["answer"] == "Đã sửa."


class TestShowcase:
    def test_a_reuse_of_a_public_dataset_is_listed(self, voice: Voice):
        dataset = voice.dataset()
        entry = showcase.submit(voice.db, voice.actor(voice.citizen), showcase.ShowcaseInput(
            title="Bản đồ trường học Lai Châu", kind="application", url="https://vi-du.vn/ban-do", datasets=[dataset.name]))
        rows, total = showcase.list_showcases(voice.db, ANONYMOUS, dataset=dataset.name)
        assert [r.id for r in rows] == [entry.id] and total == 1
        assert showcase.datasets_of(voice.db, rows)[entry.id] == [(dataset.name, dataset.title)]

    def test_bad_input_is_refused_per_field(self, voice: Voice):
        draft = voice.dataset(public=False)
        with pytest.raises(Invalid) as error:
            showcase.submit(voice.db, voice.actor(voice.citizen), showcase.ShowcaseInput(
                title="", kind="x", url="javascript:alert(1)", datasets=[draft.name]))
        assert set(error.value.fields) == {"title", "kind", "url", "datasets"}

    def test_showcase_page_renders(self, vclient: TestClient, voice: Voice):
        page = vclient.get("/data/showcase")
        assert page.status_code == 200 and "Sản phẩm tái sử dụng dữ liệu" in page.text


class TestAbuse:
    def _request(self, voice: Voice):
        return data_requests.file_request(voice.db, voice.actor(voice.citizen), data_requests.RequestInput(
            title="Nội dung quảng cáo", description="Mua bán ...", agency_code=voice.agency.code))

    def test_moderation_hides_a_request_with_a_reason(self, voice: Voice):
        request = self._request(voice)
        report = abuse.report(voice.db, voice.actor(voice.citizen2), "data_request", request.id, "spam", "Quảng cáo")
        abuse.moderate(voice.db, voice.actor(voice.admin), report.id, uphold=True, reason="Quảng cáo, không phải yêu cầu dữ liệu")
        voice.db.commit()
        assert request.hidden and request.hidden_reason.startswith("Quảng cáo")
        assert report.status is AbuseStatus.UPHELD
        with pytest.raises(NotFound):
            data_requests.get_request(voice.db, ANONYMOUS, request.id)
        rows, _ = data_requests.list_requests(voice.db, ANONYMOUS, data_requests.RequestQuery())
        assert request.id not in [r.id for r in rows]
        assert "opendata:abuse:hidden" in _kinds(voice, voice.citizen)
        event = voice.db.scalar(select(AuditEvent).where(AuditEvent.tag == "opendata:abuse_report:uphold"))
        assert event.changes["details"]["reason"].startswith("Quảng cáo")

    def test_hidden_comment_keeps_its_place_without_its_text(self, voice: Voice):
        request = self._request(voice)
        comment = data_requests.add_comment(voice.db, voice.actor(voice.citizen2), request.id, "Lời lẽ xúc phạm")
        report = abuse.report(voice.db, voice.actor(voice.citizen), "comment", comment.id, "explicit_content")
        abuse.moderate(voice.db, voice.actor(voice.admin), report.id, uphold=True, reason="Lời lẽ không phù hợp")
        voice.db.commit()
        from dulieuso.opendata.voice_api import CommentPublic

        shown = CommentPublic.of(comment)
        assert shown.hidden and shown.body is None and shown.hidden_reason == "Lời lẽ không phù hợp"

    def test_only_the_platform_admin_moderates_and_uphold_needs_a_reason(self, voice: Voice):
        request = self._request(voice)
        report = abuse.report(voice.db, voice.actor(voice.citizen2), "data_request", request.id, "spam")
        with pytest.raises(Forbidden):
            abuse.moderate(voice.db, voice.actor(voice.staff), report.id, uphold=True, reason="x")
        with pytest.raises(Invalid):
            abuse.moderate(voice.db, voice.actor(voice.admin), report.id, uphold=True, reason=" ")

    def test_one_report_per_account_and_dismissal(self, voice: Voice):
        request = self._request(voice)
        report = abuse.report(voice.db, voice.actor(voice.citizen2), "data_request", request.id, "spam")
        with pytest.raises(Conflict):
            abuse.report(voice.db, voice.actor(voice.citizen2), "data_request", request.id, "other")
        abuse.moderate(voice.db, voice.actor(voice.admin), report.id, uphold=False, reason="")
        voice.db.commit()
        assert report.status is AbuseStatus.DISMISSED and not request.hidden

    def test_anonymous_cannot_report(self, voice: Voice):
        request = self._request(voice)
        with pytest.raises(Unauthorized):
            abuse.report(voice.db, ANONYMOUS, "data_request", request.id, "spam")

    def test_moderation_page_through_the_form(self, vclient: TestClient, voice: Voice):
        request = self._request(voice)
        report = abuse.report(voice.db, voice.actor(voice.citizen2), "data_request", request.id, "spam")
        voice.db.commit()
        token = login(vclient, voice.admin)
        page = vclient.get("/data/moderation")
        assert page.status_code == 200 and "Kiểm duyệt" in page.text
        missing = vclient.post(f"/data/moderation/{report.id}", data={"decision": "uphold", "reason": "", "csrf_token": token})
        assert missing.status_code == 422
        done = vclient.post(f"/data/moderation/{report.id}", data={"decision": "uphold", "reason": "Quảng cáo", "csrf_token": token},
                            follow_redirects=False)
        assert done.status_code == 303
        vclient.post("/logout", data={"csrf_token": token})
        assert vclient.get(f"/data/requests/{request.id}").status_code == 404


def test_report_form_on_a_request(vclient: TestClient, voice: Voice):
    request = data_requests.file_request(voice.db, voice.actor(voice.citizen), data_requests.RequestInput(
        title="Yêu cầu có nội dung lạ", description="x"))
    voice.db.commit()
    token = login(vclient, voice.citizen2)
    form = vclient.get(f"/data/report?target_type=data_request&target_id={request.id}&next=//evil.example")
    assert form.status_code == 200 and "Báo cáo vi phạm" in form.text and "//evil.example" not in form.text
    data = {"target_type": "data_request", "target_id": str(request.id), "reason": "", "next": "/data/requests",
            "csrf_token": token}
    assert vclient.post("/data/report", data=data).status_code == 422
    sent = vclient.post("/data/report", data={**data, "reason": "spam"})
    assert sent.status_code == 200 and "Cảm ơn bạn" in sent.text
    assert vclient.post("/data/report", data={**data, "reason": "spam"}).status_code == 409
