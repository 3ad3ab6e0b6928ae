# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sharing registry's rules, at the service layer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound
from dulieuso.notifications.models import Notification
from dulieuso.policy.service import LOCAL_TZ
from dulieuso.sharing import agreements, consumers, grants, issues, requests, services
from dulieuso.sharing.access import registry_access
from dulieuso.sharing.models import (
    AccountStatus,
    AgreementStatus,
    ConnectionAccount,
    GrantStatus,
    ImmutableRecord,
    IssueCategory,
    IssueStatus,
    RequestStatus,
    ServiceStatus,
    ServiceVersion,
    SharingForm,
    SuspensionKind,
    TerminationReason,
)
from tests.sharing.conftest import World, make_database, service_input


def _notifications(world: World, user) -> list[Notification]:
    return list(world.db.scalars(select(Notification).where(Notification.user_id == user.id)))


def _request(world: World, service_code: str = "dat-dai.thua-dat", **overrides) -> object:
    data = dict(service_code=service_code, purpose="Giải quyết thủ tục hành chính", frequency="100 lần/ngày",
                requested_fields=["parcel_id", "area_m2"], use_after_retrieval="Đối chiếu hồ sơ")
    data.update(overrides)
    return requests.submit(world.db, world.actor(world.c_editor), requests.RequestInput(**data))


class TestPublication:
    def test_incomplete_service_cannot_be_published(self, world: World):
        service = world.service(publish=False, description="", response_schema=None, rate_limit_per_minute=None)
        with pytest.raises(Invalid) as caught:
            services.publish(world.db, world.actor(world.p_approver), service.code)
        assert {"description", "response_schema", "rate_limit_per_minute"} <= set(caught.value.fields)

    def test_publishing_without_a_usage_regulation_fails(self, world: World):
        service = world.service(publish=False, regulation_code=None)
        with pytest.raises(Invalid) as caught:
            services.publish(world.db, world.actor(world.p_approver), service.code)
        assert "regulation_code" in caught.value.fields

    def test_the_regulation_must_cover_the_source_database(self, world: World):
        make_database(world.db, world.provider, "CSDL-KHAC")
        service = world.service(publish=False, database_codes=["CSDL-KHAC"])
        with pytest.raises(Invalid) as caught:
            services.publish(world.db, world.actor(world.p_approver), service.code)
        assert "regulation_code" in caught.value.fields

    def test_a_complete_service_is_published_as_version_1(self, world: World):
        service = world.service()
        assert service.status is ServiceStatus.PUBLISHED
        assert service.published_version == 1
        assert service.publication_due is not None

    def test_state_secret_database_cannot_get_a_service(self, world: World):
        make_database(world.db, world.provider, "CSDL-MAT", contains_state_secret=True)
        with pytest.raises(Invalid) as caught:
            services.create_service(world.db, world.actor(world.p_editor), service_input("x.secret", database_codes=["CSDL-MAT"]))
        assert "database_codes" in caught.value.fields

    def test_private_database_cannot_get_a_service(self, world: World):
        from dulieuso.catalog.models import SharingScope

        make_database(world.db, world.provider, "CSDL-RIENG", sharing_scope=SharingScope.PRIVATE)
        with pytest.raises(Invalid):
            services.create_service(world.db, world.actor(world.p_editor), service_input("x.private", database_codes=["CSDL-RIENG"]))

    def test_change_to_a_published_service_is_a_new_version_with_a_diff_and_subscribers_hear(self, world: World):
        service = world.service()
        services.subscribe(world.db, world.actor(world.c_admin), service.code)
        services.update_service(world.db, world.actor(world.p_editor), service.code,
                                service_input(service.code, description="Mô tả mới"))
        world.db.flush()
        versions = services.versions(world.db, world.actor(world.p_editor), service.code)
        assert [v.number for v in versions] == [2, 1]
        assert "description" in versions[0].diff
        assert any(n.kind == "sharing:service:changed" for n in _notifications(world, world.c_admin))

    def test_a_published_service_must_stay_complete(self, world: World):
        service = world.service()
        with pytest.raises(Invalid) as caught:
            services.update_service(world.db, world.actor(world.p_editor), service.code,
                                    service_input(service.code, regulation_code=None))
        assert "regulation_code" in caught.value.fields

    def test_published_versions_are_immutable(self, world: World):
        world.service()
        version = world.db.scalar(select(ServiceVersion))
        version.note = "sửa"
        with pytest.raises(ImmutableRecord):
            world.db.flush()

    def test_publication_after_the_due_day_alerts_the_it_unit(self, world: World):
        service = world.service(publish=False)
        services.mark_ready(world.db, world.actor(world.p_editor), service.code)
        service.publication_due = date(2026, 1, 2)
        world.db.flush()
        services.publish(world.db, world.actor(world.p_approver), service.code)
        assert service.breach_alerted_at is not None
        assert any(n.kind == "sharing:service:breach" for n in _notifications(world, world.it_admin))

    def test_drafts_are_hidden_from_other_agencies(self, world: World):
        service = world.service(publish=False)
        with pytest.raises(NotFound):
            services.get_service(world.db, world.actor(world.c_admin), service.code)

    def test_another_agency_cannot_create_a_service_for_the_provider(self, world: World):
        with pytest.raises(Forbidden):
            services.create_service(world.db, world.actor(world.c_admin), service_input("x.y", agency_code="T-SNNMT"))

    def test_admin_acting_for_an_agency_is_recorded(self, world: World):
        service = services.create_service(world.db, world.actor(world.admin), service_input("x.admin", agency_code="T-SNNMT"))
        event = world.db.scalar(select(AuditEvent).where(AuditEvent.tag == "sharing:service:create",
                                                          AuditEvent.subject_id == str(service.id)))
        assert event.acting_for_agency_id == world.provider.id


class TestRequests:
    def test_due_date_is_two_working_days_across_tet(self, world: World):
        world.service()
        received = datetime(2026, 2, 13, 9, 0, tzinfo=LOCAL_TZ)  # Friday before Tết 2026
        request = requests.submit(
            world.db, world.actor(world.c_editor),
            requests.RequestInput(service_code="dat-dai.thua-dat", purpose="p", frequency="f", requested_fields=["parcel_id"]),
            received_at=received,
        )
        assert request.due_on == date(2026, 2, 24)

    def test_missing_fields_are_refused(self, world: World):
        world.service()
        with pytest.raises(Invalid) as caught:
            requests.submit(world.db, world.actor(world.c_editor),
                            requests.RequestInput(service_code="dat-dai.thua-dat", purpose="", frequency="", requested_fields=[]))
        assert {"purpose", "frequency", "requested_fields"} <= set(caught.value.fields)

    def test_fields_must_come_from_the_response_schema(self, world: World):
        world.service()
        with pytest.raises(Invalid) as caught:
            _request(world, requested_fields=["so_cccd"])
        assert "requested_fields" in caught.value.fields

    def test_submission_notifies_the_provider(self, world: World):
        world.service()
        _request(world)
        assert any(n.kind == "sharing:request:submitted" for n in _notifications(world, world.p_approver))

    def test_approval_issues_a_grant_and_an_account_and_notifies(self, world: World):
        world.service()
        request = _request(world)
        approval = requests.approve(world.db, world.actor(world.p_approver), request.id,
                                    requests.Decision(quota_per_minute=60, quota_per_day=1000))
        assert request.status is RequestStatus.APPROVED
        assert approval.grant.allowed_fields == ["parcel_id", "area_m2"]
        assert approval.issued is not None and approval.issued.client_secret.startswith("cs_")
        assert approval.issued.account.secret_hash != approval.issued.client_secret
        caller = registry_access.authenticate_client(world.db, approval.issued.account.client_id, approval.issued.client_secret)
        assert caller is not None and caller.consumer_agency_id == world.consumer.id
        assert any(n.kind == "sharing:request:approved" for n in _notifications(world, world.c_admin))

    def test_the_consumer_cannot_approve_its_own_request(self, world: World):
        world.service()
        request = _request(world)
        with pytest.raises((Forbidden, NotFound)):
            requests.approve(world.db, world.actor(world.c_admin), request.id)

    def test_refusal_needs_a_reason_and_a_legal_basis(self, world: World):
        world.service()
        request = _request(world)
        with pytest.raises(Invalid) as caught:
            requests.reject(world.db, world.actor(world.p_approver), request.id, reason="Không phù hợp", legal_basis="")
        assert "legal_basis" in caught.value.fields

    def test_refusal_is_copied_to_the_it_unit(self, world: World):
        world.service()
        request = _request(world)
        requests.reject(world.db, world.actor(world.p_approver), request.id, reason="Dữ liệu cá nhân",
                        legal_basis="Luật Bảo vệ dữ liệu cá nhân 2025, Điều 13")
        assert request.copied_to_it_unit_at is not None
        assert any(n.kind == "sharing:request:rejected" for n in _notifications(world, world.it_admin))
        assert any(n.kind == "sharing:request:rejected" for n in _notifications(world, world.c_admin))

    def test_special_request_service_needs_an_active_agreement(self, world: World):
        world.service(sharing_form=SharingForm.SPECIAL_REQUEST)
        request = _request(world)
        with pytest.raises(Conflict) as caught:
            requests.approve(world.db, world.actor(world.p_approver), request.id)
        assert caught.value.code == "agreement_required"
        agreement = _signed_agreement(world)
        agreements.transition(world.db, world.actor(world.p_approver), agreement.id, AgreementStatus.ACTIVE)
        approval = requests.approve(world.db, world.actor(world.p_approver), request.id,
                                    requests.Decision(agreement_code=agreement.code))
        assert approval.grant.agreement_id == agreement.id

    def test_overdue_requests_alert_once(self, world: World):
        world.service()
        request = _request(world)
        request.due_on = date(2026, 1, 2)
        world.db.flush()
        assert requests.alert_overdue_requests(world.db, world.actor(world.admin), datetime.now(UTC)) == 1
        assert requests.alert_overdue_requests(world.db, world.actor(world.admin), datetime.now(UTC)) == 0


FULL = dict(
    data_content="Thông tin thửa đất", place_of_use="Sở Tài chính", duration="2 năm",
    method_and_manner="Truy vấn trực tuyến qua LGSP", post_receipt_processing="Chỉ đối chiếu",
    conditions_limits="Không chuyển cho bên thứ ba", protection_commitment="Cam kết bảo vệ",
    security_measures="OAuth2, TLS", retention_requirements="Không lưu quá 24 giờ",
    deletion_method="Xoá tự động sau 24 giờ",
)


def _agreement(world: World, **content):
    return agreements.create_agreement(
        world.db, world.actor(world.p_admin),
        agreements.AgreementInput(code="TT-01", title="Thoả thuận chia sẻ dữ liệu đất đai",
                                  service_code="dat-dai.thua-dat", consumer_codes=["T-STC"], **content),
    )


def _signed_agreement(world: World):
    agreement = _agreement(world, **FULL)
    agreements.transition(world.db, world.actor(world.p_admin), agreement.id, AgreementStatus.DRAFTING)
    agreements.sign(world.db, world.actor(world.p_approver), agreement.id)
    return agreement


class TestAgreements:
    def test_illegal_transition_is_refused(self, world: World):
        world.service()
        agreement = _agreement(world, **FULL)
        agreements.transition(world.db, world.actor(world.p_admin), agreement.id, AgreementStatus.DRAFTING)
        with pytest.raises(Conflict) as caught:
            agreements.transition(world.db, world.actor(world.p_admin), agreement.id, AgreementStatus.ACTIVE)
        assert caught.value.code == "illegal_transition"

    def test_signing_with_an_empty_item_fails(self, world: World):
        world.service()
        agreement = _agreement(world, **{**FULL, "deletion_method": ""})
        agreements.transition(world.db, world.actor(world.p_admin), agreement.id, AgreementStatus.DRAFTING)
        with pytest.raises(Invalid) as caught:
            agreements.sign(world.db, world.actor(world.p_approver), agreement.id)
        assert set(caught.value.fields) == {"deletion_method"}

    def test_amendment_creates_v2_and_v1_stays(self, world: World):
        world.service()
        agreement = _signed_agreement(world)
        v2 = agreements.amend(
            world.db, world.actor(world.p_approver), agreement.id,
            agreements.AgreementInput(code="TT-01", title=agreement.title, **{**FULL, "duration": "3 năm"}),
            note="Gia hạn",
        )
        world.db.flush()
        history = agreements.versions(world.db, world.actor(world.c_admin), agreement.id)
        assert [v.number for v in history] == [1, 2] and v2.number == 2
        assert history[0].content["duration"] == "2 năm"
        assert history[1].diff["duration"] == ["2 năm", "3 năm"]
        history[0].note = "sửa"
        with pytest.raises(ImmutableRecord):
            world.db.flush()

    def test_a_non_party_cannot_read_it(self, world: World):
        world.service()
        agreement = _agreement(world, **FULL)
        with pytest.raises(NotFound):
            agreements.get_agreement(world.db, world.actor(world.o_admin), agreement.id)
        assert agreements.get_agreement(world.db, world.actor(world.it_admin), agreement.id) is agreement

    def test_an_agreement_past_its_end_expires_and_the_parties_hear(self, world: World):
        world.service()
        agreement = _signed_agreement(world)
        agreements.transition(world.db, world.actor(world.p_approver), agreement.id, AgreementStatus.ACTIVE)
        agreement.valid_to = date(2026, 1, 31)
        world.db.flush()
        assert agreements.expire_ended(world.db, world.actor(world.admin), datetime(2026, 2, 2, tzinfo=UTC)) == 1
        assert agreement.status is AgreementStatus.EXPIRED
        assert any(n.kind == "sharing:agreement:expired" for n in _notifications(world, world.c_admin))

    def test_joining_adds_a_party_by_amendment(self, world: World):
        world.service()
        agreement = _signed_agreement(world)
        join = agreements.ask_to_join(world.db, world.actor(world.o_admin), agreement.id, "Cần dữ liệu")
        agreements.decide_join(world.db, world.actor(world.p_approver), join.id, accept=True)
        assert world.other.id in agreements.party_ids(agreement)
        assert agreement.version == 2


class TestGrantsSuspensionsTerminations:
    def _approved(self, world: World):
        world.service()
        request = _request(world)
        return requests.approve(world.db, world.actor(world.p_approver), request.id)

    def test_planned_suspension_needs_seven_working_days_notice(self, world: World):
        world.service()
        soon = datetime.now(UTC) + timedelta(days=3)
        with pytest.raises(Invalid) as caught:
            grants.suspend(world.db, world.actor(world.p_approver), grants.SuspensionInput(
                service_code="dat-dai.thua-dat", kind=SuspensionKind.PLANNED, reason="Nâng cấp",
                starts_at=soon, ends_at=soon + timedelta(hours=4)))
        assert "starts_at" in caught.value.fields

    def test_planned_suspension_with_notice_is_public(self, world: World):
        world.service()
        later = datetime.now(UTC) + timedelta(days=30)
        grants.suspend(world.db, world.actor(world.p_approver), grants.SuspensionInput(
            service_code="dat-dai.thua-dat", kind=SuspensionKind.PLANNED, reason="Nâng cấp",
            starts_at=later, ends_at=later + timedelta(hours=4)))
        notices = grants.suspension_views(world.db, grants.list_suspensions(world.db, world.actor(world.o_admin)))
        assert notices[0]["state"] == "scheduled" and notices[0]["ends_at"] is not None

    def test_consumer_suspension_needs_violation_and_conditions(self, world: World):
        self._approved(world)
        with pytest.raises(Invalid) as caught:
            grants.suspend(world.db, world.actor(world.p_approver), grants.SuspensionInput(
                service_code="dat-dai.thua-dat", kind=SuspensionKind.VIOLATION, reason="Vi phạm",
                consumer_agency_code="T-STC"))
        assert {"violation", "handling_plan", "restore_conditions"} <= set(caught.value.fields)

    def test_consumer_suspension_suspends_grants_and_notifies(self, world: World):
        approval = self._approved(world)
        suspension = grants.suspend(world.db, world.actor(world.p_approver), grants.SuspensionInput(
            service_code="dat-dai.thua-dat", kind=SuspensionKind.VIOLATION, reason="Vi phạm quy chế",
            consumer_agency_code="T-STC", violation="Khai thác quá mục đích", handling_plan="Tạm dừng 7 ngày",
            restore_conditions="Báo cáo khắc phục"))
        assert approval.grant.status is GrantStatus.SUSPENDED
        assert any(n.kind == "sharing:suspension:consumer" for n in _notifications(world, world.c_admin))
        grants.lift(world.db, world.actor(world.p_approver), suspension.id)
        assert approval.grant.status is GrantStatus.ACTIVE

    def test_termination_revokes_accounts(self, world: World):
        approval = self._approved(world)
        grants.terminate(world.db, world.actor(world.p_approver), approval.grant.id,
                         reason=TerminationReason.NO_LONGER_NEEDED, details="Hết nhu cầu")
        account = world.db.get(ConnectionAccount, approval.issued.account.id)
        assert account.status is AccountStatus.REVOKED
        assert approval.grant.status is GrantStatus.TERMINATED
        assert registry_access.authenticate_client(world.db, account.client_id, approval.issued.client_secret) is None


class TestIssues:
    def test_unanswered_issue_escalates_after_seven_working_days(self, world: World):
        world.service()
        received = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_TZ)  # Monday
        issue = issues.report(world.db, world.actor(world.c_admin), issues.IssueInput(
            category=IssueCategory.DATA_QUALITY, title="Sai diện tích", description="Diện tích thửa sai",
            service_code="dat-dai.thua-dat"), received_at=received)
        assert issue.provider_due_on == date(2026, 3, 11)
        assert issues.escalate_overdue(world.db, world.actor(world.admin), datetime(2026, 3, 11, 12, tzinfo=LOCAL_TZ)) == 0
        assert issues.escalate_overdue(world.db, world.actor(world.admin), datetime(2026, 3, 12, 8, tzinfo=LOCAL_TZ)) == 1
        assert issue.status is IssueStatus.ESCALATED
        assert issue.it_unit_due_on == date(2026, 3, 23)
        assert any(n.kind == "sharing:issue:escalated" for n in _notifications(world, world.it_admin))

    def test_provider_answers_and_it_unit_resolves_escalation(self, world: World):
        world.service()
        issue = issues.report(world.db, world.actor(world.c_admin), issues.IssueInput(
            category=IssueCategory.INFRASTRUCTURE, title="Lỗi kết nối", description="Timeout", service_code="dat-dai.thua-dat"))
        issues.answer(world.db, world.actor(world.p_approver), issue.id, "Đã kiểm tra")
        issues.escalate(world.db, world.actor(world.c_admin), issue.id)
        with pytest.raises(Forbidden):
            issues.resolve(world.db, world.actor(world.p_approver), issue.id, "Xong")
        issues.resolve(world.db, world.actor(world.it_admin), issue.id, "Nâng timeout")
        assert issue.status is IssueStatus.RESOLVED


@pytest.fixture
def sharing_handover():
    from dulieuso.agencies.interfaces import unregister_handover
    from dulieuso.sharing import handover

    handover.install()
    yield
    unregister_handover("sharing")


class TestHandover:
    def test_merged_agency_hands_its_services_and_applications_to_the_successor(self, world: World, sharing_handover):
        from dulieuso.agencies import service as agencies

        service = world.service()
        application = world.application()
        request = _request(world)
        agencies.merge_agencies(world.db, world.actor(world.admin), source_codes=["T-SNNMT"], successor_code="T-SYT")
        agencies.merge_agencies(world.db, world.actor(world.admin), source_codes=["T-STC"], successor_code="T-SKHCN")
        assert service.provider_agency_id == world.other.id
        assert application.consumer_agency_id == world.it_unit.id
        assert request.requesting_agency_id == world.it_unit.id
        world.db.commit()


class TestSweep:
    def test_sweep_alerts_and_escalates_once(self, world: World):
        from dulieuso.sharing.service import sweep_deadlines

        service = world.service(publish=False)
        services.mark_ready(world.db, world.actor(world.p_editor), service.code)
        service.publication_due = date(2026, 1, 2)
        world.service("khac.dich-vu")
        request = _request(world, "khac.dich-vu")
        request.due_on = date(2026, 1, 2)
        issue = issues.report(world.db, world.actor(world.c_admin), issues.IssueInput(
            category=IssueCategory.OTHER, title="Hỏi", description="Hỏi", service_code="khac.dich-vu"))
        issue.provider_due_on = date(2026, 1, 2)
        world.db.flush()
        result = sweep_deadlines(world.db, world.actor(world.admin))
        assert (result.services, result.requests, result.issues) == (1, 1, 1)
        again = sweep_deadlines(world.db, world.actor(world.admin))
        assert (again.services, again.requests, again.issues) == (0, 0, 0)
        world.db.commit()


class TestAccounts:
    def test_revoked_or_expired_accounts_do_not_authenticate(self, world: World):
        application = world.application()
        issued = consumers.issue_account(world.db, world.actor(world.c_admin), application.id, with_api_key=True)
        assert registry_access.authenticate_api_key(world.db, issued.api_key) is not None
        issued.account.valid_to = datetime.now(UTC) - timedelta(seconds=1)
        assert registry_access.authenticate_client(world.db, issued.account.client_id, issued.client_secret) is None
        issued.account.valid_to = None
        consumers.revoke_account(world.db, world.actor(world.c_admin), issued.account.id, "lộ mật khẩu")
        assert registry_access.authenticate_api_key(world.db, issued.api_key) is None
        world.db.commit()

    def test_another_agency_cannot_issue_accounts_for_an_application(self, world: World):
        application = world.application()
        with pytest.raises(Forbidden):
            consumers.issue_account(world.db, world.actor(world.o_admin), application.id)

    def test_lgsp_delegation_is_recorded(self, world: World):
        application = world.application()
        issued = consumers.issue_account(world.db, world.actor(world.admin), application.id, delegated_by_code="T-SKHCN")
        assert issued.account.delegated_by_agency_id == world.it_unit.id


class TestContact:
    def test_the_focal_point_is_the_default_contact(self, world: World):
        from dulieuso.agencies.models import FocalPoint
        from dulieuso.audit.service import record
        from dulieuso.auth.permissions import SYSTEM

        point = FocalPoint(agency_id=world.provider.id, full_name="Lò Văn Đầu Mối", position="Phó Giám đốc",
                           function="Đầu mối chia sẻ dữ liệu", phone="0912000111", email="daumoi@example.vn",
                           valid_from=date(2026, 1, 1))
        world.db.add(point)
        record(world.db, SYSTEM, "agencies:focal_point:assign", point)
        service = services.create_service(world.db, world.actor(world.p_editor),
                                          service_input("x.lien-he", contact_name="", contact_email=""))
        assert (service.contact_name, service.contact_email) == ("Lò Văn Đầu Mối", "daumoi@example.vn")
