# SPDX-License-Identifier: AGPL-3.0-or-later
"""Storage declarations (Decree 47 Art. 42, D47-58) and usage reports (Art. 51(1)(b),
D47-69): the rules at the service layer, the JSON contracts and the pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound
from dulieuso.notifications.models import Notification
from dulieuso.policy.service import LOCAL_TZ, add_working_days
from dulieuso.sharing import requests, usage_reports
from dulieuso.sharing.models import (
    GrantStatus,
    RequestStatus,
    StorageMode,
    UsageReport,
    UsageReportStatus,
)
from dulieuso.sharing.service import sweep_deadlines
from tests.conftest import bearer, login
from tests.sharing.conftest import World

CODE = "dat-dai.thua-dat"


def _kinds(world: World, user) -> list[str]:
    return [n.kind for n in world.db.scalars(select(Notification).where(Notification.user_id == user.id))]


def _request(world: World, **overrides):
    data = dict(service_code=CODE, purpose="Đối chiếu hồ sơ đất đai", frequency="100 lần/ngày",
                requested_fields=["parcel_id", "area_m2"])
    data.update(overrides)
    return requests.submit(world.db, world.actor(world.c_editor), requests.RequestInput(**data))


def _beyond(world: World, days: int = 30):
    return _request(world, storage_mode=StorageMode.BEYOND_VALIDITY, storage_days=days,
                    storage_reason="Lưu hồ sơ giải quyết thủ tục hành chính theo quy định lưu trữ")


def _grant(world: World):
    world.service()
    return requests.approve(world.db, world.actor(world.p_approver), _request(world).id).grant


def _demand(world: World, grant, *, at: datetime | None = None, **overrides) -> UsageReport:
    data = dict(reason="Nghi ngờ sử dụng ngoài mục đích đã đăng ký")
    data.update(overrides)
    return usage_reports.demand(world.db, world.actor(world.p_editor), grant.id, usage_reports.DemandInput(**data),
                                requested_at=at)


ANSWER = usage_reports.AnswerInput(
    retrieved_data="Khoảng 3.000 lượt tra cứu thửa đất (mã thửa, diện tích)",
    purposes="Giải quyết thủ tục hành chính về đất đai",
    storage="Không lưu; chỉ hiển thị khi xử lý hồ sơ",
)


# -- storage declarations (Art. 42) ---------------------------------------------------------------


class TestStorageDeclaration:
    def test_a_cache_needs_no_permission(self, world: World):
        world.service()
        request = _request(world, storage_mode=StorageMode.CACHE)
        grant = requests.approve(world.db, world.actor(world.p_approver), request.id).grant
        assert (grant.storage_mode, grant.storage_permitted, grant.storage_until) == (StorageMode.CACHE, False, None)

    def test_storage_beyond_the_period_of_use_needs_its_days_and_reason(self, world: World):
        world.service()
        with pytest.raises(Invalid) as caught:
            _request(world, storage_mode=StorageMode.BEYOND_VALIDITY)
        assert {"storage_days", "storage_reason"} <= set(caught.value.fields)

    def test_a_period_within_the_period_of_use_is_a_cache(self, world: World):
        world.service()  # the regulation gives online queries 24 hours of use
        with pytest.raises(Invalid) as caught:
            _beyond(world, days=1)
        assert "storage_days" in caught.value.fields
        assert "24" in caught.value.fields["storage_days"][0].render("vi")

    def test_days_and_reason_are_dropped_when_nothing_is_stored(self, world: World):
        world.service()
        request = _request(world, storage_mode=StorageMode.NONE, storage_days=9, storage_reason="x")
        assert (request.storage_days, request.storage_reason) == (None, "")

    def test_approval_without_the_permission_is_refused(self, world: World):
        world.service()
        request = _beyond(world)
        with pytest.raises(Invalid) as caught:
            requests.approve(world.db, world.actor(world.p_approver), request.id)
        assert caught.value.code == "storage_permission_required" and "allow_storage" in caught.value.fields
        assert "Điều 42" in caught.value.message.vi and "Art. 42" in caught.value.message.en
        assert request.status is RequestStatus.SUBMITTED

    def test_approval_with_the_permission_records_it_on_the_grant(self, world: World):
        world.service()
        request = _beyond(world, days=30)
        approval = requests.approve(world.db, world.actor(world.p_approver), request.id, requests.Decision(
            valid_to=date(2099, 12, 31), allow_storage=True, storage_note="Mã hoá khi lưu; xoá khi hết hạn"))
        grant = approval.grant
        assert grant.storage_mode is StorageMode.BEYOND_VALIDITY and grant.storage_permitted
        assert grant.storage_days == 30
        assert grant.storage_until == date(2099, 12, 31) + timedelta(days=30)
        assert grant.storage_note == "Mã hoá khi lưu; xoá khi hết hạn"
        event = world.db.scalar(select(AuditEvent).where(AuditEvent.tag == "sharing:request:approve",
                                                          AuditEvent.subject_id == str(request.id)))
        assert event.changes["details"]["storage_permitted"] is True

    def test_the_approver_may_set_when_the_permission_ends(self, world: World):
        world.service()
        request = _beyond(world)
        grant = requests.approve(world.db, world.actor(world.p_approver), request.id, requests.Decision(
            allow_storage=True, storage_until=date(2099, 6, 30))).grant
        assert grant.storage_until == date(2099, 6, 30)

    def test_the_approver_may_refuse_instead(self, world: World):
        world.service()
        request = _beyond(world)
        requests.reject(world.db, world.actor(world.p_approver), request.id, reason="Không cho phép lưu trữ",
                        legal_basis="Quy chế QC-01, Điều 5")
        assert request.status is RequestStatus.REJECTED

    def test_there_is_nothing_to_permit_without_a_declaration(self, world: World):
        world.service()
        request = _request(world, storage_mode=StorageMode.CACHE)
        with pytest.raises(Invalid) as caught:
            requests.approve(world.db, world.actor(world.p_approver), request.id, requests.Decision(allow_storage=True))
        assert caught.value.code == "invalid" and "allow_storage" in caught.value.fields


# -- usage reports (Art. 51(1)(b)) ------------------------------------------------------------------


class TestUsageReports:
    @pytest.mark.parametrize(("requested", "due"), [
        (datetime(2026, 2, 13, 9, 0, tzinfo=LOCAL_TZ), date(2026, 3, 6)),  # Friday before Tết: 5 days off
        (datetime(2026, 3, 6, 16, 0, tzinfo=LOCAL_TZ), date(2026, 3, 20)),  # Friday: two weekends
    ])
    def test_due_date_counts_working_days(self, world: World, requested: datetime, due: date):
        report = _demand(world, _grant(world), at=requested)
        assert report.due_on == due == add_working_days(world.db, requested, 10)

    def test_the_consumer_is_told_and_answers(self, world: World):
        grant = _grant(world)
        report = _demand(world, grant)
        assert "sharing:usage_report:requested" in _kinds(world, world.c_editor)
        usage_reports.answer(world.db, world.actor(world.c_editor), report.id, ANSWER)
        assert report.status is UsageReportStatus.ANSWERED and report.answered_at is not None
        assert "sharing:usage_report:answered" in _kinds(world, world.p_approver)
        view = usage_reports.report_views(world.db, [report])[0]
        assert view["answered_late"] is False and view["incidents"] == ""

    def test_another_agency_cannot_answer_or_even_see_it(self, world: World):
        report = _demand(world, _grant(world))
        with pytest.raises(NotFound):
            usage_reports.answer(world.db, world.actor(world.o_admin), report.id, ANSWER)
        assert usage_reports.list_reports(world.db, world.actor(world.o_admin), usage_reports.ReportQuery()) == ([], 0)

    def test_the_provider_cannot_answer_its_own_demand(self, world: World):
        report = _demand(world, _grant(world))
        with pytest.raises(Forbidden):
            usage_reports.answer(world.db, world.actor(world.p_approver), report.id, ANSWER)

    def test_only_the_provider_demands(self, world: World):
        grant = _grant(world)
        with pytest.raises(Forbidden):
            usage_reports.demand(world.db, world.actor(world.c_admin), grant.id, usage_reports.DemandInput(reason="?"))
        with pytest.raises(NotFound):
            usage_reports.demand(world.db, world.actor(world.o_admin), grant.id, usage_reports.DemandInput(reason="?"))

    def test_a_demand_needs_a_reason_and_a_sane_period(self, world: World):
        grant = _grant(world)
        with pytest.raises(Invalid) as caught:
            _demand(world, grant, reason=" ", period_from=date(2026, 3, 1), period_to=date(2026, 2, 1),
                    at=datetime(2026, 4, 1, tzinfo=UTC))
        assert set(caught.value.fields) == {"reason", "period_to"}

    def test_an_answer_needs_its_parts_and_is_given_once(self, world: World):
        report = _demand(world, _grant(world))
        with pytest.raises(Invalid) as caught:
            usage_reports.answer(world.db, world.actor(world.c_editor), report.id,
                                 usage_reports.AnswerInput(retrieved_data="", purposes="", storage=""))
        assert set(caught.value.fields) == {"retrieved_data", "purposes", "storage"}
        usage_reports.answer(world.db, world.actor(world.c_editor), report.id, ANSWER)
        with pytest.raises(Conflict):
            usage_reports.answer(world.db, world.actor(world.c_admin), report.id, ANSWER)

    def test_overdue_demands_are_flagged_and_both_agencies_told_once(self, world: World):
        report = _demand(world, _grant(world))
        report.due_on = date(2026, 1, 2)
        world.db.flush()
        overdue, total = usage_reports.list_reports(world.db, world.actor(world.it_admin),
                                                    usage_reports.ReportQuery(overdue=True))
        assert total == 1 and usage_reports.report_views(world.db, overdue)[0]["overdue"] is True
        assert sweep_deadlines(world.db, world.actor(world.admin)).usage_reports == 1
        assert sweep_deadlines(world.db, world.actor(world.admin)).usage_reports == 0
        assert "sharing:usage_report:overdue" in _kinds(world, world.c_admin)
        assert "sharing:usage_report:overdue" in _kinds(world, world.p_admin)
        assert world.db.scalar(select(AuditEvent).where(AuditEvent.tag == "sharing:usage_report:breach")) is not None
        usage_reports.answer(world.db, world.actor(world.c_editor), report.id, ANSWER)
        assert usage_reports.report_views(world.db, [report])[0]["answered_late"] is True

    def test_the_it_unit_sees_every_report_and_each_side_its_own(self, world: World):
        report = _demand(world, _grant(world))
        for user in (world.it_admin, world.admin, world.c_editor, world.p_editor):
            rows, _ = usage_reports.list_reports(world.db, world.actor(user), usage_reports.ReportQuery())
            assert rows == [report]
        rows, _ = usage_reports.list_reports(world.db, world.actor(world.c_editor), usage_reports.ReportQuery(role="provider"))
        assert rows == []

    def test_an_administrator_acting_for_the_provider_is_recorded(self, world: World):
        grant = _grant(world)
        report = usage_reports.demand(world.db, world.actor(world.admin), grant.id,
                                      usage_reports.DemandInput(reason="Kiểm tra định kỳ"))
        event = world.db.scalar(select(AuditEvent).where(AuditEvent.tag == "sharing:usage_report:request",
                                                          AuditEvent.subject_id == str(report.id)))
        assert event.acting_for_agency_id == world.provider.id

    def test_a_terminated_grant_can_still_be_asked_about(self, world: World):
        from dulieuso.sharing import grants
        from dulieuso.sharing.models import TerminationReason

        grant = _grant(world)
        grants.terminate(world.db, world.actor(world.p_approver), grant.id, reason=TerminationReason.PURPOSE_MISMATCH)
        assert grant.status is GrantStatus.TERMINATED
        assert _demand(world, grant).status is UsageReportStatus.REQUESTED


# -- the JSON API -------------------------------------------------------------------------------------


def _api_request(client, headers, **extra):
    body = {"service_code": CODE, "purpose": "Đối chiếu", "frequency": "10 lần/ngày", "requested_fields": ["parcel_id"]}
    body.update(extra)
    response = client.post("/api/v1/connection-requests", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_api_storage_declaration_and_permission(client, world: World):
    world.service()
    consumer, provider = bearer(world.db, world.c_admin), bearer(world.db, world.p_approver)
    bad = client.post("/api/v1/connection-requests", headers=consumer, json={
        "service_code": CODE, "purpose": "p", "frequency": "f", "requested_fields": ["parcel_id"],
        "storage_mode": "beyond_validity"})
    assert bad.status_code == 422 and {"storage_days", "storage_reason"} <= set(bad.json()["error"]["fields"])
    request = _api_request(client, consumer, storage_mode="beyond_validity", storage_days=90, storage_reason="Lưu hồ sơ")
    assert (request["storage_mode"], request["storage_days"], request["storage_needs_permission"]) == ("beyond_validity", 90, True)
    assert request["period_of_use_hours"] == 24
    assert client.get(f"/api/v1/connection-requests/{request['id']}", headers=provider).json()["storage_reason"] == "Lưu hồ sơ"
    refused = client.post(f"/api/v1/connection-requests/{request['id']}/approve", headers=provider, json={})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "storage_permission_required" and "allow_storage" in error["fields"]
    assert "lưu trữ" in error["message"] and "storage" in error["message_en"]
    approved = client.post(f"/api/v1/connection-requests/{request['id']}/approve", headers=provider,
                           json={"allow_storage": True, "storage_until": "2099-01-31", "storage_note": "Mã hoá"})
    assert approved.status_code == 200, approved.text
    grant = client.get(f"/api/v1/grants/{approved.json()['grant']['id']}", headers=consumer).json()
    assert (grant["storage_mode"], grant["storage_permitted"], grant["storage_days"], grant["storage_until"]) == (
        "beyond_validity", True, 90, "2099-01-31")
    bad_mode = client.post("/api/v1/connection-requests", headers=consumer, json={
        "service_code": CODE, "purpose": "p", "frequency": "f", "requested_fields": ["parcel_id"], "storage_mode": "forever"})
    assert bad_mode.status_code == 422


def test_api_usage_report_flow(client, world: World):
    world.service()
    consumer, provider, other = bearer(world.db, world.c_editor), bearer(world.db, world.p_editor), bearer(world.db, world.o_admin)
    request = _api_request(client, consumer)
    grant_id = client.post(f"/api/v1/connection-requests/{request['id']}/approve",
                           headers=bearer(world.db, world.p_approver)).json()["grant"]["id"]
    assert client.post(f"/api/v1/grants/{grant_id}/usage-reports", headers=consumer, json={"reason": "?"}).status_code == 403
    assert client.post(f"/api/v1/grants/{grant_id}/usage-reports", headers=provider, json={"reason": ""}).status_code == 422
    created = client.post(f"/api/v1/grants/{grant_id}/usage-reports", headers=provider,
                          json={"reason": "Nghi ngờ khai thác quá mục đích", "period_from": "2026-01-01"})
    assert created.status_code == 201, created.text
    report = created.json()
    assert report["status"] == "requested" and report["due_on"] and report["working_days_left"] == 10
    listed = client.get("/api/v1/usage-reports?role=consumer", headers=consumer).json()
    assert set(listed) == {"items", "total", "limit", "offset"} and [r["id"] for r in listed["items"]] == [report["id"]]
    assert client.get(f"/api/v1/usage-reports?grant={grant_id}", headers=provider).json()["total"] == 1
    assert client.get(f"/api/v1/usage-reports/{report['id']}", headers=other).status_code == 404
    body = {"retrieved_data": "3.000 lượt tra cứu", "purposes": "Thủ tục hành chính", "storage": "Không lưu"}
    assert client.post(f"/api/v1/usage-reports/{report['id']}/answer", headers=other, json=body).status_code == 404
    assert client.post(f"/api/v1/usage-reports/{report['id']}/answer", headers=provider, json=body).status_code == 403
    missing = client.post(f"/api/v1/usage-reports/{report['id']}/answer", headers=consumer, json={**body, "storage": ""})
    assert missing.status_code == 422 and "storage" in missing.json()["error"]["fields"]
    answered = client.post(f"/api/v1/usage-reports/{report['id']}/answer", headers=consumer, json=body)
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert client.post(f"/api/v1/usage-reports/{report['id']}/answer", headers=consumer, json=body).status_code == 409
    assert client.get("/api/v1/usage-reports?status=answered", headers=provider).json()["total"] == 1


def test_api_sweep_counts_overdue_usage_reports(client, world: World):
    report = _demand(world, _grant(world))
    report.due_on = date(2026, 1, 2)
    world.db.commit()
    swept = client.post("/api/v1/sharing/deadlines:sweep", headers=bearer(world.db, world.admin))
    assert swept.status_code == 200 and swept.json()["usage_reports"] == 1


# -- the pages ------------------------------------------------------------------------------------------


def test_storage_through_the_request_and_approval_forms(client, world: World):
    world.service()
    world.db.commit()
    token = login(client, world.c_editor)
    form = client.get(f"/services/{CODE}/request")
    assert 'name="storage_mode"' in form.text and "24 giờ" in form.text
    bad = client.post(f"/services/{CODE}/request", data={
        "csrf_token": token, "purpose": "Hồ sơ", "frequency": "5 lần/ngày", "requested_fields": ["parcel_id"],
        "storage_mode": "beyond_validity"})
    assert bad.status_code == 422 and 'id="e-storage_days"' in bad.text and 'id="e-storage_reason"' in bad.text
    sent = client.post(f"/services/{CODE}/request", data={
        "csrf_token": token, "purpose": "Hồ sơ", "frequency": "5 lần/ngày", "requested_fields": ["parcel_id"],
        "storage_mode": "beyond_validity", "storage_days": "60", "storage_reason": "Lưu hồ sơ"}, follow_redirects=False)
    assert sent.status_code == 303
    request_path = sent.headers["location"].split("?")[0]
    assert "Lưu trữ quá thời hạn sử dụng" in client.get(request_path).text
    client.post("/logout", data={"csrf_token": token})

    token = login(client, world.p_approver)
    page = client.get(request_path)
    assert 'name="allow_storage"' in page.text
    refused = client.post(f"{request_path}/approve", data={"csrf_token": token})
    assert refused.status_code == 422 and 'id="e-allow_storage"' in refused.text and "Điều 42" in refused.text
    approved = client.post(f"{request_path}/approve", data={"csrf_token": token, "allow_storage": "1",
                                                           "storage_note": "Mã hoá khi lưu"})
    assert approved.status_code == 200
    grant_id = re.search(r'href="/sharing/grants/([0-9a-f-]{36})"', client.get(request_path).text).group(1)
    grant_page = client.get(f"/sharing/grants/{grant_id}")
    assert grant_page.status_code == 200 and "Mã hoá khi lưu" in grant_page.text and "60 ngày" in grant_page.text
    assert f"/api/v1/grants/{grant_id}" in grant_page.headers["link"]


def test_usage_report_through_the_pages(client, world: World):
    grant = _grant(world)
    world.db.commit()
    token = login(client, world.p_editor)
    page = client.get(f"/sharing/grants/{grant.id}")
    assert 'action="/sharing/grants/' in page.text and "Yêu cầu báo cáo tình hình khai thác" in page.text
    bad = client.post(f"/sharing/grants/{grant.id}/usage-reports", data={"csrf_token": token, "reason": ""})
    assert bad.status_code == 422 and 'id="e-reason"' in bad.text
    no_csrf = client.post(f"/sharing/grants/{grant.id}/usage-reports", data={"reason": "Kiểm tra"})
    assert no_csrf.status_code in (400, 403)
    sent = client.post(f"/sharing/grants/{grant.id}/usage-reports", data={"csrf_token": token, "reason": "Kiểm tra"},
                       follow_redirects=False)
    assert sent.status_code == 303
    report_path = sent.headers["location"].split("?")[0]
    assert "Chờ báo cáo" in client.get(report_path).text
    client.post("/logout", data={"csrf_token": token})

    token = login(client, world.o_admin)
    assert client.get(report_path).status_code == 404
    client.post("/logout", data={"csrf_token": token})

    token = login(client, world.c_editor)
    assert client.get("/sharing/usage-reports?role=consumer").status_code == 200
    page = client.get(report_path)
    assert 'name="retrieved_data"' in page.text
    bad = client.post(f"{report_path}/answer", data={"csrf_token": token, "retrieved_data": "x"})
    assert bad.status_code == 422 and 'id="e-purposes"' in bad.text
    done = client.post(f"{report_path}/answer", data={
        "csrf_token": token, "retrieved_data": "3.000 lượt", "purposes": "Thủ tục", "storage": "Không lưu"},
        follow_redirects=False)
    assert done.status_code == 303
    assert "3.000 lượt" in client.get(report_path).text
    again = client.post(f"{report_path}/answer", data={
        "csrf_token": token, "retrieved_data": "a", "purposes": "b", "storage": "c"})
    assert again.status_code == 409


def test_the_it_unit_queue_flags_overdue_usage_reports(client, world: World):
    report = _demand(world, _grant(world))
    report.due_on = date(2026, 1, 2)
    world.db.commit()
    login(client, world.it_admin)
    page = client.get("/sharing/it-unit")
    assert page.status_code == 200 and f"/sharing/usage-reports/{report.id}" in page.text
    assert "Quá hạn" in page.text
    listed = client.get("/sharing/usage-reports?overdue=true")
    assert f"/sharing/usage-reports/{report.id}" in listed.text
