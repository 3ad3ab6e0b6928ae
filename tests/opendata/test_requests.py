# SPDX-License-Identifier: AGPL-3.0-or-later
"""Data requests: filing, votes, ranking, the life cycle, deadlines, notifications."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM
from dulieuso.errors import Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized
from dulieuso.notifications.models import Notification
from dulieuso.opendata import requests as svc
from dulieuso.opendata.voice_models import DataRequest, PlannedDataset, RequestStatus
from dulieuso.policy import service as policy
from tests.opendata.test_requests_support import Voice, voice  # noqa: F401  (fixture)


def _file(v: Voice, title: str = "Danh sách trường học theo xã", *, agency: bool = True, user=None) -> DataRequest:
    return svc.file_request(v.db, v.actor(user or v.citizen), svc.RequestInput(
        title=title, description="Cần danh sách trường, số học sinh.", use_case="Ứng dụng tra cứu",
        agency_code=v.agency.code if agency else "",
    ))


def _inbox(v: Voice, user) -> list[Notification]:
    return list(v.db.scalars(select(Notification).where(Notification.user_id == user.id)))


class TestFiling:
    def test_new_request_notifies_agency_staff_and_focal_point(self, voice: Voice):
        request = _file(voice)
        assert request.status is RequestStatus.NEW
        assert request.agency_id == voice.agency.id
        for user in (voice.staff, voice.agency_admin, voice.focal):
            assert [n.kind for n in _inbox(voice, user)] == ["opendata:data_request:new"]
        assert _inbox(voice, voice.other_staff) == []
        assert _inbox(voice, voice.citizen) == []

    def test_without_a_suggested_agency_it_goes_to_the_it_unit(self, voice: Voice):
        request = _file(voice, agency=False)
        assert request.agency_id == voice.it.id

    def test_anonymous_cannot_file(self, voice: Voice):
        with pytest.raises(Unauthorized):
            svc.file_request(voice.db, ANONYMOUS, svc.RequestInput(title="Tiêu đề đủ dài", description="x"))

    def test_missing_fields_are_reported_per_field(self, voice: Voice):
        with pytest.raises(Invalid) as error:
            svc.file_request(voice.db, voice.actor(voice.citizen), svc.RequestInput(title="ab", agency_code="KHONG-CO"))
        assert set(error.value.fields) == {"title", "description", "agency_code"}

    def test_filing_is_rate_limited(self, voice: Voice):
        for i in range(svc.DAILY_LIMIT):
            _file(voice, f"Yêu cầu số {i}")
        with pytest.raises(TooManyRequests) as error:
            _file(voice, "Một yêu cầu nữa")
        assert error.value.status == 429
        assert "24" in error.value.message.vi and "24 hours" in error.value.message.en

    def test_filing_is_audited(self, voice: Voice):
        request = _file(voice)
        tags = voice.db.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id == str(request.id))).all()
        assert tags == ["opendata:data_request:create"]


class TestDeadline:
    def test_due_in_working_days_across_a_holiday(self, voice: Voice):
        policy.set_day(voice.db, SYSTEM, date(2027, 3, 3), "holiday", "Nghỉ thử nghiệm")
        received = datetime(2027, 3, 1, 9, 0, tzinfo=policy.LOCAL_TZ)  # a Monday
        request = svc.file_request(voice.db, voice.actor(voice.citizen), svc.RequestInput(
            title="Yêu cầu có hạn", description="Mô tả"), received_at=received)
        # 15 working days from Tue 2 March, Wednesday 3 March off: Tuesday 23 March.
        assert request.due_on == date(2027, 3, 23)
        assert request.due_on == policy.add_working_days(voice.db, received, 15)

    def test_unanswered_past_due_is_overdue_until_answered(self, voice: Voice):
        request = _file(voice)
        request.due_on = date.today() - timedelta(days=1)
        assert svc.is_overdue(request)
        svc.answer(voice.db, voice.actor(voice.staff), request.id, "Đang xem xét")
        assert not svc.is_overdue(request)


class TestVotes:
    def test_one_vote_per_account(self, voice: Voice):
        request = _file(voice)
        svc.vote(voice.db, voice.actor(voice.citizen2), request.id)
        with pytest.raises(Conflict) as error:
            svc.vote(voice.db, voice.actor(voice.citizen2), request.id)
        assert error.value.code == "already_voted"
        assert request.vote_count == 1

    def test_unvote_takes_the_vote_back(self, voice: Voice):
        request = _file(voice)
        svc.vote(voice.db, voice.actor(voice.citizen2), request.id)
        svc.unvote(voice.db, voice.actor(voice.citizen2), request.id)
        assert request.vote_count == 0

    def test_anonymous_cannot_vote(self, voice: Voice):
        request = _file(voice)
        with pytest.raises(Unauthorized):
            svc.vote(voice.db, ANONYMOUS, request.id)

    def test_votes_are_not_audited(self, voice: Voice):
        request = _file(voice)
        svc.vote(voice.db, voice.actor(voice.citizen2), request.id)
        voice.db.commit()  # the audit guard would fail the commit if it needed a record
        count = len(voice.db.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(request.id))).all())
        assert count == 1

    def test_ranking_by_votes(self, voice: Voice):
        low = _file(voice, "Ít phiếu")
        high = _file(voice, "Nhiều phiếu")
        for user in (voice.citizen2, voice.staff, voice.other_staff):
            svc.vote(voice.db, voice.actor(user), high.id)
        svc.vote(voice.db, voice.actor(voice.citizen2), low.id)
        rows, _ = svc.list_requests(voice.db, ANONYMOUS, svc.RequestQuery(sort="votes"))
        ours = [r.id for r in rows if r.id in {low.id, high.id}]
        assert ours == [high.id, low.id]
        assert [r.id for r in svc.ranked(voice.db, agency_id=voice.agency.id)][:2] == [high.id, low.id]

    def test_search_ignores_diacritics(self, voice: Voice):
        request = _file(voice, "Danh sách trường học")
        rows, _ = svc.list_requests(voice.db, ANONYMOUS, svc.RequestQuery(q="truong hoc"))
        assert request.id in [r.id for r in rows]


class TestLifeCycle:
    def test_new_review_planned_published(self, voice: Voice):
        dataset = voice.dataset()
        request = _file(voice)
        staff = voice.actor(voice.staff)
        svc.change_status(voice.db, staff, request.id, svc.StatusChange("under_review"))
        planned_for = date.today() + timedelta(days=30)
        svc.change_status(voice.db, staff, request.id, svc.StatusChange("planned", planned_date=planned_for))
        item = voice.db.scalar(select(PlannedDataset).where(PlannedDataset.request_id == request.id))
        assert item is not None and item.target_date == planned_for and item.agency_id == voice.agency.id
        svc.change_status(voice.db, staff, request.id, svc.StatusChange("published", dataset=dataset.name))
        voice.db.commit()
        assert request.status is RequestStatus.PUBLISHED and request.dataset_id == dataset.id
        assert item.dataset_id == dataset.id
        history = [c.to_status for c in svc.status_history(voice.db, request)]
        assert history == ["new", "under_review", "planned", "published"]

    @pytest.mark.parametrize("path", [["published"], ["declined", "under_review"]])
    def test_illegal_transitions_are_refused(self, voice: Voice, path: list[str]):
        request = _file(voice)
        staff = voice.actor(voice.staff)
        *allowed, illegal = path
        for status in allowed:
            svc.change_status(voice.db, staff, request.id, svc.StatusChange(status, decline_reason="Trùng lặp"))
        with pytest.raises(Conflict) as error:
            svc.change_status(voice.db, staff, request.id, svc.StatusChange(illegal, dataset="x"))
        assert error.value.code == "illegal_transition"

    def test_decline_needs_a_reason(self, voice: Voice):
        request = _file(voice)
        with pytest.raises(Invalid) as error:
            svc.change_status(voice.db, voice.actor(voice.staff), request.id, svc.StatusChange("declined", decline_reason="  "))
        assert "decline_reason" in error.value.fields

    def test_decline_is_audited_with_its_reason(self, voice: Voice):
        request = _file(voice)
        svc.change_status(voice.db, voice.actor(voice.staff), request.id,
                          svc.StatusChange("declined", decline_reason="Dữ liệu thuộc bí mật nhà nước"))
        voice.db.commit()
        event = voice.db.scalar(select(AuditEvent).where(AuditEvent.tag == "opendata:data_request:decline",
                                                         AuditEvent.subject_id == str(request.id)))
        assert event.changes["diff"]["decline_reason"] == [None, "Dữ liệu thuộc bí mật nhà nước"]

    def test_published_needs_an_existing_public_dataset(self, voice: Voice):
        request = _file(voice)
        staff = voice.actor(voice.staff)
        svc.change_status(voice.db, staff, request.id, svc.StatusChange("under_review"))
        draft = voice.dataset(public=False)
        for ref in ("khong-ton-tai", draft.name, ""):
            with pytest.raises(Invalid) as error:
                svc.change_status(voice.db, staff, request.id, svc.StatusChange("published", dataset=ref))
            assert "dataset" in error.value.fields

    def test_planned_needs_a_future_date(self, voice: Voice):
        request = _file(voice)
        with pytest.raises(Invalid):
            svc.change_status(voice.db, voice.actor(voice.staff), request.id,
                              svc.StatusChange("planned", planned_date=date.today() - timedelta(days=1)))

    def test_staff_of_another_agency_cannot_answer(self, voice: Voice):
        request = _file(voice)
        with pytest.raises(Forbidden):
            svc.answer(voice.db, voice.actor(voice.other_staff), request.id, "Không phải việc của tôi")
        with pytest.raises(Forbidden):
            svc.change_status(voice.db, voice.actor(voice.other_staff), request.id, svc.StatusChange("under_review"))
        with pytest.raises(Forbidden):
            svc.answer(voice.db, voice.actor(voice.citizen2), request.id, "Tôi trả lời")

    def test_answer_notifies_requester_and_followers(self, voice: Voice):
        request = _file(voice)
        svc.follow(voice.db, voice.actor(voice.citizen2), request.id)
        svc.answer(voice.db, voice.actor(voice.staff), request.id, "Sở sẽ công bố trong quý tới.")
        voice.db.commit()
        assert request.status is RequestStatus.UNDER_REVIEW
        for user in (voice.citizen, voice.citizen2):
            assert "opendata:data_request:answer" in [n.kind for n in _inbox(voice, user)]
        assert voice.db.scalar(select(AuditEvent).where(AuditEvent.tag == "opendata:data_request:answer")) is not None

    def test_status_change_notifies_followers_not_those_who_unfollowed(self, voice: Voice):
        request = _file(voice)
        svc.follow(voice.db, voice.actor(voice.citizen2), request.id)
        svc.follow(voice.db, voice.actor(voice.citizen2), request.id, on=False)
        svc.change_status(voice.db, voice.actor(voice.staff), request.id, svc.StatusChange("under_review"))
        assert [n.kind for n in _inbox(voice, voice.citizen)] == ["opendata:data_request:status"]
        assert _inbox(voice, voice.citizen2) == []

    def test_closed_requests_take_no_votes(self, voice: Voice):
        request = _file(voice)
        svc.change_status(voice.db, voice.actor(voice.staff), request.id, svc.StatusChange("declined", decline_reason="Trùng"))
        with pytest.raises(Conflict):
            svc.vote(voice.db, voice.actor(voice.citizen2), request.id)


class TestQueue:
    def test_agency_sees_its_queue_most_urgent_first(self, voice: Voice):
        later = _file(voice, "Yêu cầu sau")
        first = _file(voice, "Yêu cầu trước")
        first.due_on = later.due_on - timedelta(days=3)
        _file(voice, "Yêu cầu cho IT", agency=False)
        rows = svc.queue(voice.db, voice.actor(voice.staff))
        assert [r.id for r in rows] == [first.id, later.id]

    def test_staff_cannot_read_another_agencys_queue(self, voice: Voice):
        with pytest.raises(Forbidden):
            svc.queue(voice.db, voice.actor(voice.other_staff), voice.agency.id)

    def test_it_unit_and_admin_see_every_agency(self, voice: Voice):
        from dulieuso.auth.models import Role
        from tests.opendata.test_requests_support import make_user

        ours = _file(voice)
        it_staff = make_user(voice.db, Role.AGENCY_EDITOR, voice.it)
        assert ours.id in [r.id for r in svc.queue(voice.db, voice.actor(it_staff))]
        assert ours.id in [r.id for r in svc.queue(voice.db, voice.actor(voice.admin))]


def test_received_time_is_kept_in_utc(voice: Voice):
    request = _file(voice)
    assert request.received_at.tzinfo is not None
    assert abs(request.received_at - datetime.now(UTC)) < timedelta(minutes=1)
