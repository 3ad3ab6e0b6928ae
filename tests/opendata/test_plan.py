# SPDX-License-Identifier: AGPL-3.0-or-later
"""The open-data plan: phases, planned datasets, progress, list reviews, update due
dates and the overdue board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM
from dulieuso.errors import Forbidden, Invalid, Unauthorized
from dulieuso.opendata import plan
from dulieuso.opendata import requests as data_requests
from dulieuso.opendata.models import Resource, UrlType
from dulieuso.opendata.voice_models import ListReview, PlannedDataset
from dulieuso.policy import service as policy
from tests.conftest import bearer, login
from tests.opendata.test_requests_support import Voice, make_user, vclient, voice  # noqa: F401  (fixtures)

#: Today in Lai Châu (UTC+7), as the plan counts: from 17:00 UTC it is already tomorrow there.
TODAY = policy.today()


def _item(v: Voice, title: str = "Danh sách trường học", days: int = 60, **fields) -> PlannedDataset:
    return plan.add_item(v.db, v.actor(v.staff), plan.ItemInput(title=title, target_date=TODAY + timedelta(days=days), **fields))


class TestPlan:
    def test_progress_counts_planned_against_published(self, voice: Voice):
        plan.save_phase(voice.db, voice.actor(voice.admin), plan.PhaseInput(
            1, "Giai đoạn 1", TODAY - timedelta(days=30), TODAY + timedelta(days=300), 4))
        dataset = voice.dataset()
        _item(voice, "Kế hoạch A")
        done = _item(voice, "Kế hoạch B")
        plan.update_item(voice.db, voice.actor(voice.staff), done.id, plan.ItemInput(
            title="Kế hoạch B", target_date=done.target_date, dataset=dataset.name))
        view = plan.plan_view(voice.db, ANONYMOUS)
        phase = view.phases[-1]
        assert (phase.target, phase.planned, phase.published, phase.percent) == (4, 2, 1, 25)
        ours = next(a for a in view.agencies if a.code == voice.agency.code)
        assert (ours.planned, ours.published, ours.late) == (2, 1, 0)

    def test_items_are_audited(self, voice: Voice):
        item = _item(voice)
        plan.delete_item(voice.db, voice.actor(voice.staff), item.id)
        voice.db.commit()
        tags = voice.db.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id == str(item.id))).all()
        assert set(tags) == {"opendata:plan_item:create", "opendata:plan_item:delete"}

    def test_staff_plan_only_for_their_agency(self, voice: Voice):
        with pytest.raises(Forbidden):
            plan.add_item(voice.db, voice.actor(voice.other_staff), plan.ItemInput(
                title="Của cơ quan khác", target_date=TODAY, agency_code=voice.agency.code))
        with pytest.raises(Unauthorized):
            plan.add_item(voice.db, ANONYMOUS, plan.ItemInput(title="Ẩn danh", target_date=TODAY, agency_code=voice.agency.code))

    def test_only_administrators_set_phases(self, voice: Voice):
        with pytest.raises(Forbidden):
            plan.save_phase(voice.db, voice.actor(voice.agency_admin), plan.PhaseInput(1, "x", TODAY, TODAY, 1))
        with pytest.raises(Invalid) as error:
            plan.save_phase(voice.db, voice.actor(voice.admin), plan.PhaseInput(0, "", TODAY, TODAY - timedelta(days=1), -1))
        assert set(error.value.fields) == {"number", "name", "ends_on", "target_count"}

    def test_unknown_source_database_is_refused(self, voice: Voice):
        with pytest.raises(Invalid) as error:
            _item(voice, source_database="KHONG-CO")
        assert "source_database" in error.value.fields

    def test_top_voted_requests_are_the_priorities(self, voice: Voice):
        ask = data_requests.file_request(voice.db, voice.actor(voice.citizen), data_requests.RequestInput(
            title="Danh sách nhà thuốc", description="x", agency_code=voice.agency.code))
        data_requests.vote(voice.db, voice.actor(voice.citizen2), ask.id)
        view = plan.plan_view(voice.db, ANONYMOUS, voice.agency.code)
        assert [r.id for r in view.priorities] == [ask.id]


class TestReviews:
    def test_next_review_is_due_after_the_policy_months(self, voice: Voice):
        reviewed = TODAY - timedelta(days=10)
        review = plan.record_review(voice.db, voice.actor(voice.agency_admin), voice.agency.code, "Rà soát định kỳ", reviewed)
        assert review.next_due == policy.add_months(reviewed, 6)
        assert plan.review_due(voice.db, voice.agency.id)[0] == review.next_due

    def test_editors_do_not_record_reviews(self, voice: Voice):
        with pytest.raises(Forbidden):
            plan.record_review(voice.db, voice.actor(voice.staff), voice.agency.code)

    def test_a_review_past_due_is_on_the_board(self, voice: Voice):
        plan.record_review(voice.db, voice.actor(voice.agency_admin), voice.agency.code, reviewed_on=TODAY - timedelta(days=200))
        board = plan.overdue(voice.db, voice.actor(voice.staff))
        assert [e.title for e in board.of_kind("list_review")] == [voice.agency.name_vi]


class TestUpdateDue:
    def test_at_least_every_three_months(self, voice: Voice):
        dataset = voice.dataset(published_days_ago=10, frequency="yearly")
        start = plan.last_data_change(voice.db, dataset)
        assert plan.update_due(voice.db, dataset) == policy.add_months(start, 3)

    def test_by_frequency_when_more_often(self, voice: Voice):
        dataset = voice.dataset(published_days_ago=10, frequency="monthly")
        start = plan.last_data_change(voice.db, dataset)
        assert plan.update_due(voice.db, dataset) == policy.add_months(start, 1)

    def test_a_new_resource_restarts_the_clock(self, voice: Voice):
        dataset = voice.dataset(published_days_ago=200)
        voice.db.add(Resource(dataset_id=dataset.id, name="mới", url_type=UrlType.LINK, url="https://vi-du.vn/a.csv",
                              last_modified=datetime.now(UTC) - timedelta(days=1)))
        voice.db.flush()
        assert plan.update_due(voice.db, dataset) == policy.add_months(TODAY - timedelta(days=1), 3)


class TestOverdueBoard:
    def test_a_dataset_past_its_update_is_listed(self, voice: Voice):
        stale = voice.dataset("Dữ liệu cũ", published_days_ago=150)
        fresh = voice.dataset("Dữ liệu mới", published_days_ago=5)
        board = plan.overdue(voice.db, voice.actor(voice.staff))
        titles = [e.title for e in board.of_kind("dataset_update")]
        assert "Dữ liệu cũ" in titles and "Dữ liệu mới" not in titles
        entry = next(e for e in board.of_kind("dataset_update") if e.title == "Dữ liệu cũ")
        assert entry.link == f"/datasets/{stale.name}" and entry.days_late > 0
        assert fresh is not None

    def test_late_plan_items_requests_and_feedback_are_listed(self, voice: Voice):
        from dulieuso.opendata import feedback
        from dulieuso.opendata.voice_models import DataRequest, DatasetFeedback

        _item(voice, "Kế hoạch trễ", days=-3)
        ask = data_requests.file_request(voice.db, voice.actor(voice.citizen), data_requests.RequestInput(
            title="Yêu cầu trễ hạn", description="x", agency_code=voice.agency.code))
        note = feedback.submit(voice.db, voice.actor(voice.citizen), voice.dataset().name, "quality", "Phản hồi trễ hạn")
        voice.db.execute(update(DataRequest).where(DataRequest.id == ask.id).values(due_on=TODAY - timedelta(days=1)))
        voice.db.execute(update(DatasetFeedback).where(DatasetFeedback.id == note.id).values(due_on=TODAY - timedelta(days=1)))
        voice.db.expire_all()
        board = plan.overdue(voice.db, voice.actor(voice.staff))
        assert [e.title for e in board.of_kind("plan_item")] == ["Kế hoạch trễ"]
        assert [e.title for e in board.of_kind("data_request")] == ["Yêu cầu trễ hạn"]
        assert [e.title for e in board.of_kind("feedback")] == ["Phản hồi trễ hạn"]

    def test_agency_staff_see_only_their_own_and_the_it_unit_all(self, voice: Voice):
        voice.dataset("Của Sở Y tế", agency=voice.other, published_days_ago=150)
        voice.dataset("Của Sở Giáo dục", published_days_ago=150)
        own = [e.title for e in plan.overdue(voice.db, voice.actor(voice.staff)).entries]
        assert "Của Sở Giáo dục" in own and "Của Sở Y tế" not in own
        with pytest.raises(Forbidden):
            plan.overdue(voice.db, voice.actor(voice.staff), voice.other.code)
        it_staff = make_user(voice.db, voice.staff.role, voice.it)
        everything = [e.title for e in plan.overdue(voice.db, voice.actor(it_staff)).entries]
        assert {"Của Sở Giáo dục", "Của Sở Y tế"} <= set(everything)
        with pytest.raises(Forbidden):
            plan.overdue(voice.db, voice.actor(voice.citizen))


class TestPages:
    def test_plan_page_renders_in_vietnamese(self, vclient: TestClient, voice: Voice):
        _item(voice, "Danh sách trường học")
        voice.db.commit()
        page = vclient.get("/data/plan")
        assert page.status_code == 200 and "Danh mục và kế hoạch dữ liệu mở" in page.text
        assert "Danh sách trường học" in page.text
        assert vclient.get(f"/data/plan/{voice.agency.code}").status_code == 200

    def test_plan_item_form_422_then_303(self, vclient: TestClient, voice: Voice):
        token = login(vclient, voice.staff)
        bad = vclient.post("/data/plan/items", data={"title": "", "target_date": "31/12/2026", "agency_code": voice.agency.code,
                                                     "csrf_token": token})
        assert bad.status_code == 422 and 'id="e-target_date"' in bad.text
        ok = vclient.post("/data/plan/items", data={"title": "Danh sách chợ", "target_date": str(TODAY + timedelta(days=9)),
                                                    "agency_code": voice.agency.code, "csrf_token": token}, follow_redirects=False)
        assert ok.status_code == 303

    def test_overdue_page_for_staff_and_json_twin(self, vclient: TestClient, voice: Voice):
        voice.dataset("Dữ liệu cũ", published_days_ago=150)
        voice.db.commit()
        login(vclient, voice.staff)
        page = vclient.get("/data/overdue")
        assert page.status_code == 200 and "Bộ dữ liệu quá hạn cập nhật" in page.text and "Dữ liệu cũ" in page.text
        body = vclient.get("/api/v1/open-data-plan/overdue", headers=bearer(voice.db, voice.staff)).json()
        assert "Dữ liệu cũ" in [i["title"] for i in body["items"]]

    def test_overdue_needs_login(self, vclient: TestClient, voice: Voice):
        assert vclient.get("/api/v1/open-data-plan/overdue").status_code == 401

    def test_plan_json_twin(self, vclient: TestClient, voice: Voice):
        _item(voice, "Danh sách chợ")
        voice.db.commit()
        body = vclient.get("/api/v1/open-data-plan").json()
        assert {"phases", "agencies", "items", "priorities", "planned", "published"} <= set(body)
        assert "Danh sách chợ" in [i["title"] for i in body["items"]]
