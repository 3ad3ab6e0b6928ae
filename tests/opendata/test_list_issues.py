# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issued versions of the open-data list (Decree 47 Art. 17(2), kept as local policy):
who records them, what they freeze, and the publication gate that reads the latest one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.errors import Conflict, Forbidden, Invalid, Unauthorized
from dulieuso.opendata import list_issues, plan, service
from dulieuso.opendata.models import DatasetState
from dulieuso.opendata.voice_models import ListIssue, ListIssueItem, PlannedDataset
from dulieuso.policy import service as policy
from tests.conftest import bearer, login
from tests.opendata.test_requests_support import Voice, make_user, vclient, voice  # noqa: F401  (fixtures)

TODAY = policy.today()  # the province's date, which decisions are checked against
DECISION = list_issues.IssueInput(
    decision_number="1567/QĐ-UBND", decision_date=TODAY - timedelta(days=3),
    signer="Nguyễn Văn Mẫu", signer_title="Chủ tịch UBND tỉnh",
)


def _item(v: Voice, title: str = "Danh sách trường học", **fields):
    return plan.add_item(v.db, v.actor(v.staff), plan.ItemInput(title=title, target_date=TODAY + timedelta(days=60), **fields))


def _issue(v: Voice, **changes) -> ListIssue:
    data = list_issues.IssueInput(**{**vars(DECISION), **changes})
    return list_issues.issue_list(v.db, v.actor(v.admin), data)


def _linked_draft(v: Voice, title: str = "Danh sách trường học"):
    dataset = v.dataset(title, public=False)
    item = _item(v, title, dataset=dataset.name)
    return dataset, item


class TestIssuing:
    def test_only_the_platform_administrator_records_an_issue(self, voice: Voice):
        _item(voice)
        for user in (voice.staff, voice.agency_admin, voice.focal, voice.citizen):
            with pytest.raises(Forbidden):
                list_issues.issue_list(voice.db, voice.actor(user), DECISION)
        with pytest.raises(Unauthorized):
            list_issues.issue_list(voice.db, ANONYMOUS, DECISION)
        assert _issue(voice).number == 1

    def test_decision_number_date_and_signer_are_checked(self, voice: Voice):
        _item(voice)
        with pytest.raises(Invalid) as missing:
            _issue(voice, decision_number=" ", decision_date=None, signer="")
        assert set(missing.value.fields) == {"decision_number", "decision_date", "signer"}
        with pytest.raises(Invalid) as wrong:
            _issue(voice, decision_number="Q" * 121, decision_date=TODAY + timedelta(days=1))
        assert set(wrong.value.fields) == {"decision_number", "decision_date"}
        assert wrong.value.fields["decision_date"][0].en == "The date is in the future."
        assert _issue(voice, decision_number="Q" * 120, decision_date=TODAY).decision_number == "Q" * 120

    def test_the_snapshot_freezes_every_planned_dataset(self, voice: Voice):
        plan.save_phase(voice.db, voice.actor(voice.admin), plan.PhaseInput(
            1, "Giai đoạn 1", TODAY - timedelta(days=30), TODAY + timedelta(days=300), 4))
        dataset, linked = _linked_draft(voice)
        other = plan.add_item(voice.db, voice.actor(voice.admin), plan.ItemInput(
            title="Cơ sở y tế", target_date=TODAY + timedelta(days=90), agency_code=voice.other.code))
        issue = _issue(voice)
        snap = {i["id"]: i for i in issue.snapshot["items"]}
        assert issue.item_count == 2 and set(snap) == {str(linked.id), str(other.id)}
        assert snap[str(linked.id)] == {
            "id": str(linked.id), "agency_code": voice.agency.code, "agency_name": voice.agency.name_vi,
            "title": "Danh sách trường học", "description": "", "target_date": linked.target_date.isoformat(),
            "phase": 1, "source_database": None, "dataset": dataset.name,
        }
        assert snap[str(other.id)]["dataset"] is None
        assert issue.snapshot["issued"]["decision_number"] == "1567/QĐ-UBND"
        rows = voice.db.scalars(select(ListIssueItem.plan_item_id).where(ListIssueItem.issue_id == issue.id)).all()
        assert set(rows) == {linked.id, other.id}
        tags = voice.db.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id == str(issue.id))).all()
        assert tags == ["opendata:list_issue:create"]

    def test_an_issued_version_cannot_be_changed_or_deleted(self, voice: Voice):
        _item(voice)
        issue = _issue(voice)
        voice.db.commit()
        issue.decision_number = "9999/QĐ-UBND"
        with pytest.raises(list_issues.ListIssueImmutable):
            voice.db.flush()
        voice.db.rollback()
        issue = voice.db.scalars(select(ListIssue)).one()
        voice.db.delete(issue)
        with pytest.raises(list_issues.ListIssueImmutable):
            voice.db.flush()

    def test_an_unchanged_or_empty_plan_is_not_issued_again(self, voice: Voice):
        with pytest.raises(Conflict):
            _issue(voice)
        item = _item(voice)
        _issue(voice)
        with pytest.raises(Conflict) as error:
            _issue(voice)
        assert error.value.code == "nothing_to_issue"
        plan.update_item(voice.db, voice.actor(voice.staff), item.id, plan.ItemInput(
            title="Danh sách trường học (bổ sung)", target_date=item.target_date))
        assert [c.change for c in list_issues.changes_since(voice.db)] == ["changed"]
        assert _issue(voice).number == 2
        with pytest.raises(Invalid) as older:
            _item(voice, "Danh sách chợ")
            _issue(voice, decision_date=TODAY - timedelta(days=30))
        assert "decision_date" in older.value.fields


class TestOnIssuedList:
    def test_a_linked_item_in_the_latest_issue_puts_the_dataset_on_the_list(self, voice: Voice):
        dataset, _ = _linked_draft(voice)
        assert not list_issues.on_issued_list(voice.db, dataset)  # nothing issued yet
        _issue(voice)
        assert list_issues.on_issued_list(voice.db, dataset)

    def test_an_item_only_in_an_older_issue_does_not_count(self, voice: Voice):
        dataset, item = _linked_draft(voice)
        first = _issue(voice)
        _item(voice, "Danh sách chợ")
        latest = _issue(voice)
        assert list_issues.on_issued_list(voice.db, dataset)
        # Every version freezes the whole plan, so a row that still exists is on each later
        # version; take it off the latest one directly to see that older versions do not count.
        voice.db.execute(delete(ListIssueItem).where(ListIssueItem.issue_id == latest.id, ListIssueItem.plan_item_id == item.id))
        assert voice.db.scalar(select(ListIssueItem).where(ListIssueItem.issue_id == first.id, ListIssueItem.plan_item_id == item.id))
        assert not list_issues.on_issued_list(voice.db, dataset)

    def test_an_unlinked_dataset_is_not_on_the_list(self, voice: Voice):
        _item(voice)
        _issue(voice)
        assert not list_issues.on_issued_list(voice.db, voice.dataset("Không có trong kế hoạch", public=False))


class TestLinking:
    def test_a_draft_of_the_same_agency_may_be_linked(self, voice: Voice):
        _, item = _linked_draft(voice)
        assert item.dataset_id is not None

    def test_another_agencys_or_a_deleted_dataset_may_not(self, voice: Voice):
        theirs = voice.dataset("Của Sở Y tế", agency=voice.other, public=False)
        gone = voice.dataset("Đã xóa", public=False)
        gone.state = DatasetState.DELETED
        for ref in (theirs.name, gone.name):
            with pytest.raises(Invalid) as error:
                _item(voice, "Liên kết sai", dataset=ref)
            assert "dataset" in error.value.fields


class TestPublicationGate:
    def _blockers(self, voice: Voice, dataset) -> set[str]:
        return {b.code for b in service.publication_blockers(voice.db, dataset)}

    def test_with_the_switch_on_a_dataset_off_the_list_is_blocked(self, voice: Voice):
        assert policy.switch_on(voice.db, list_issues.REQUIRED_KEY)  # seeded on
        dataset = voice.dataset("Chưa có trong danh mục", public=False)
        assert "not_on_issued_list" in self._blockers(voice, dataset)
        with pytest.raises(Conflict) as error:
            service.publish(voice.db, voice.actor(voice.admin), dataset.id)
        reasons = error.value.extra["reasons_en"]
        assert any("not on the issued open-data list" in r for r in reasons)
        vi = [r["message"] for r in error.value.extra["reasons"]]
        assert any("danh mục dữ liệu mở" in r for r in vi)

    def test_with_the_switch_on_a_listed_dataset_passes_that_check(self, voice: Voice):
        dataset, _ = _linked_draft(voice)
        _issue(voice)
        assert "not_on_issued_list" not in self._blockers(voice, dataset)

    def test_with_the_switch_off_the_list_is_not_checked(self, voice: Voice):
        policy.update_policy(voice.db, voice.actor(voice.admin), list_issues.REQUIRED_KEY, value=0)
        dataset = voice.dataset("Chưa có trong danh mục", public=False)
        assert "not_on_issued_list" not in self._blockers(voice, dataset)

    def test_a_later_issue_leaves_public_datasets_public_and_the_plan_lists_them(self, voice: Voice):
        public = voice.dataset("Đã công bố từ trước")
        _item(voice)
        _issue(voice)
        voice.db.refresh(public)
        assert public.private is False and public.state is DatasetState.ACTIVE
        view = plan.plan_view(voice.db, ANONYMOUS)
        assert [d.name for d in view.not_listed] == [public.name]
        assert view.latest_issue is not None and view.changed_since_issue == 0
        _item(voice, "Danh sách chợ")
        assert plan.plan_view(voice.db, ANONYMOUS).changed_since_issue == 1


class TestPagesAndApi:
    FORM = {"issue_decision_number": "1567/QĐ-UBND", "issue_decision_date": str(TODAY - timedelta(days=2)),
            "issue_signer": "Nguyễn Văn Mẫu", "issue_signer_title": "Chủ tịch UBND tỉnh"}

    def test_the_administrator_records_an_issue_through_the_plan_page(self, vclient: TestClient, voice: Voice):
        _item(voice, "Danh sách trường học")
        voice.db.commit()
        token = login(vclient, voice.admin)
        page = vclient.get("/data/plan")
        assert "Ghi nhận quyết định ban hành danh mục" in page.text
        bad = vclient.post("/data/plan/issues", data={**self.FORM, "issue_signer": "", "csrf_token": token})
        assert bad.status_code == 422 and 'id="e-issue_signer"' in bad.text
        done = vclient.post("/data/plan/issues", data={**self.FORM, "csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/data/plan/issues/1?issued=1"
        shown = vclient.get("/data/plan/issues/1")
        assert shown.status_code == 200 and "1567/QĐ-UBND" in shown.text and "Danh sách trường học" in shown.text
        assert "Phiên bản 1" in vclient.get("/data/plan").text
        assert "1567/QĐ-UBND" in vclient.get("/data/plan/issues").text

    def test_the_plan_form_links_a_draft_dataset(self, vclient: TestClient, voice: Voice):
        draft = voice.dataset("Bản nháp chờ danh mục", public=False)
        voice.db.commit()
        token = login(vclient, voice.staff)
        added = vclient.post("/data/plan/items", data={
            "title": "Bản nháp chờ danh mục", "target_date": str(TODAY + timedelta(days=30)), "agency_code": voice.agency.code,
            "dataset": draft.name, "csrf_token": token}, follow_redirects=False)
        assert added.status_code == 303
        voice.db.expire_all()
        assert voice.db.scalar(select(PlannedDataset.dataset_id).where(PlannedDataset.title == "Bản nháp chờ danh mục")) == draft.id

    def test_the_form_needs_the_csrf_token(self, vclient: TestClient, voice: Voice):
        _item(voice)
        voice.db.commit()
        login(vclient, voice.admin)
        refused = vclient.post("/data/plan/issues", data=self.FORM, follow_redirects=False)
        assert refused.status_code == 403
        assert voice.db.scalars(select(ListIssue)).all() == []

    def test_an_editor_may_not_record_an_issue(self, vclient: TestClient, voice: Voice):
        _item(voice)
        voice.db.commit()
        token = login(vclient, voice.staff)
        assert "Ghi nhận quyết định ban hành danh mục" not in vclient.get("/data/plan").text
        assert vclient.post("/data/plan/issues", data={**self.FORM, "csrf_token": token}).status_code == 403
        api = vclient.post("/api/v1/open-data-list/issues", headers=bearer(voice.db, voice.staff), json={
            "decision_number": "1/QĐ-UBND", "decision_date": str(TODAY), "signer": "X"})
        assert api.status_code == 403

    def test_json_round_trip(self, vclient: TestClient, voice: Voice):
        dataset, _ = _linked_draft(voice)
        voice.db.commit()
        admin = bearer(voice.db, voice.admin)
        invalid = vclient.post("/api/v1/open-data-list/issues", headers=admin, json={
            "decision_number": "", "decision_date": str(TODAY + timedelta(days=5)), "signer": ""})
        assert invalid.status_code == 422
        error = invalid.json()["error"]
        assert set(error["fields"]) == {"decision_number", "decision_date", "signer"}
        assert error["fields"]["decision_date"] == ["Ngày ở tương lai."]
        assert error["fields_en"]["decision_date"] == ["The date is in the future."]
        created = vclient.post("/api/v1/open-data-list/issues", headers=admin, json={
            "decision_number": "1567/QĐ-UBND", "decision_date": str(TODAY), "signer": "Nguyễn Văn Mẫu"})
        assert created.status_code == 201, created.text
        assert created.json()["number"] == 1 and created.json()["item_count"] == 1
        listed = vclient.get("/api/v1/open-data-list/issues").json()
        assert [i["number"] for i in listed["items"]] == [1]
        one = vclient.get("/api/v1/open-data-list/issues/1").json()
        assert [i["title"] for i in one["items"]] == ["Danh sách trường học"]
        assert one["items"][0]["dataset"] is None  # a draft's name is not shown to the public
        assert one["changes_since"] == []
        assert vclient.get("/api/v1/open-data-list/issues/7").status_code == 404
        plan_body = vclient.get("/api/v1/open-data-plan").json()
        assert plan_body["latest_issue"]["decision_number"] == "1567/QĐ-UBND"
        assert plan_body["issued_list_required"] is True and plan_body["items"][0]["listed"] is True
