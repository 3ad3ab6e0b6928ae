# SPDX-License-Identifier: AGPL-3.0-or-later
"""Policies as data: seeding, reading, changing, citing; editing the calendar; translations."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conftest import actor_of, make_user
from dulieuso.audit.models import AuditEvent
from dulieuso.audit.service import EventTag
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM
from dulieuso.errors import Forbidden, Invalid, NotFound, Unauthorized
from dulieuso.policy import service
from dulieuso.policy.models import CalendarDay, DayKind, Policy, PolicyStatus, PolicyUnit

POLICY_DIR = Path(service.__file__).parent
SHARED_HOLIDAYS = Path("/work/shared/data/vn-public-holidays.csv")


def _events(db: Session, tag: EventTag) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == tag)) or 0


class TestSeed:
    def test_first_run_loads_every_policy_and_day_with_an_audit_record(self, db: Session) -> None:
        created = service.seed(db, SYSTEM)
        db.commit()

        policies = len(service.load_policy_file())
        days = len(service.load_holiday_file())
        assert created == policies + days
        assert _events(db, EventTag.POLICY_CREATE) == policies
        assert _events(db, EventTag.CALENDAR_DAY_CREATE) == days

    def test_every_policy_of_the_file_is_in_the_policies_table(self, seeded: Session) -> None:
        assert seeded.scalar(select(func.count()).select_from(Policy)) == len(service.load_policy_file())

    def test_second_run_creates_nothing(self, seeded: Session) -> None:
        assert service.seed(seeded, SYSTEM) == 0
        seeded.commit()

    def test_an_edited_policy_is_not_overwritten(self, seeded: Session) -> None:
        service.update_policy(seeded, SYSTEM, "issue_provider_answer", value=5)
        seeded.commit()

        service.seed(seeded, SYSTEM)

        assert service.policy_value(seeded, "issue_provider_answer") == (5, PolicyUnit.WORKING_DAY)

    def test_a_deleted_day_does_not_come_back(self, seeded: Session) -> None:
        service.delete_day(seeded, SYSTEM, date(2027, 5, 3))
        seeded.commit()

        assert service.seed(seeded, SYSTEM) == 0
        assert service.get_day(seeded, date(2027, 5, 3)) is None

    def test_seeding_needs_an_administrator(self, db: Session) -> None:
        editor = actor_of(make_user(db, Role.AGENCY_EDITOR))

        with pytest.raises(Forbidden):
            service.seed(db, editor)


class TestShippedData:
    def test_holidays_csv_is_the_shared_reference_file(self) -> None:
        if not SHARED_HOLIDAYS.exists():
            pytest.skip("shared reference data not present")
        assert (POLICY_DIR / "data" / "holidays.csv").read_bytes() == SHARED_HOLIDAYS.read_bytes()

    def test_holidays_csv_has_the_documented_columns(self) -> None:
        with (POLICY_DIR / "data" / "holidays.csv").open(encoding="utf-8") as handle:
            assert csv.DictReader(handle).fieldnames == ["date", "name_vi", "name_en", "kind", "source"]

    def test_connection_account_deadline_is_two_working_days_under_decree_194(self, seeded: Session) -> None:
        policy = service.get_policy(seeded, "connection_account_deadline")

        assert (policy.value, policy.unit, policy.status) == (2, PolicyUnit.WORKING_DAY, PolicyStatus.IN_FORCE)
        assert (policy.legal_document, policy.legal_article, policy.legal_clause) == ("Nghị định 194/2025/NĐ-CP", "40", "3")
        assert policy.effective_from == date(2025, 8, 19)

    def test_the_former_five_working_days_are_kept_as_superseded(self, seeded: Session) -> None:
        policy = service.get_policy(seeded, "connection_account_deadline_nd47")

        assert (policy.value, policy.status) == (5, PolicyStatus.SUPERSEDED)
        assert service.citation(policy, "vi") == "Điều 35 khoản 3, Nghị định 47/2020/NĐ-CP"
        assert policy.replaced_by == "Nghị định 194/2025/NĐ-CP, Điều 40 khoản 3"

    @pytest.mark.parametrize(("key", "value"), [("open_data_list_review", 6), ("open_data_update", 3)])
    def test_open_data_rules_are_repealed_but_kept_as_local_policy(self, seeded: Session, key: str, value: int) -> None:
        policy = service.get_policy(seeded, key)

        assert (policy.value, policy.unit, policy.status) == (value, PolicyUnit.MONTH, PolicyStatus.REPEALED)
        assert policy.replaced_by == "Nghị định 194/2025/NĐ-CP, Điều 40 khoản 2 điểm b"
        assert policy.note and "local policy" in policy.note

    @pytest.mark.parametrize(
        ("key", "value", "unit", "article", "clause"),
        [
            ("service_publication_deadline", 1, PolicyUnit.WORKING_DAY, "25", "1"),
            ("default_sharing_list_review", 6, PolicyUnit.MONTH, "34", "2"),
            ("annual_assessment_report", 12, PolicyUnit.MONTH, "16", "4"),
            ("planned_suspension_notice", 7, PolicyUnit.WORKING_DAY, "43", "3"),
            ("violation_suspension_notice", 1, PolicyUnit.CALENDAR_DAY, "43", "5"),
            ("issue_provider_answer", 7, PolicyUnit.WORKING_DAY, "49", "1"),
            ("issue_it_unit_answer", 7, PolicyUnit.WORKING_DAY, "49", "2"),
            ("catalog_reissue", 6, PolicyUnit.MONTH, "55", "2"),
        ],
    )
    def test_decree_47_numbers_match_the_digest(
        self, seeded: Session, key: str, value: int, unit: PolicyUnit, article: str, clause: str
    ) -> None:
        policy = service.get_policy(seeded, key)

        assert (policy.value, policy.unit, policy.legal_article, policy.legal_clause) == (value, unit, article, clause)
        assert policy.legal_document == "Nghị định 47/2020/NĐ-CP"

    def test_the_data_request_deadline_is_flagged_as_a_local_choice(self, seeded: Session) -> None:
        policy = service.get_policy(seeded, "data_request_response")

        assert (policy.value, policy.unit) == (15, PolicyUnit.WORKING_DAY)
        assert policy.note and "Local choice" in policy.note

    def test_every_rule_no_longer_in_force_names_what_replaced_it(self, seeded: Session) -> None:
        for policy in service.list_policies(seeded, SYSTEM):
            assert (policy.status is PolicyStatus.IN_FORCE) == (policy.replaced_by is None), policy.key


class TestReading:
    def test_an_unknown_key_is_not_found(self, seeded: Session) -> None:
        with pytest.raises(NotFound):
            service.get_policy(seeded, "no_such_policy")

    def test_policy_value_gives_value_and_unit(self, seeded: Session) -> None:
        assert service.policy_value(seeded, "violation_suspension_notice") == (1, PolicyUnit.CALENDAR_DAY)

    def test_agency_staff_may_list_policies(self, seeded: Session) -> None:
        editor = actor_of(make_user(seeded, Role.AGENCY_EDITOR))

        keys = [p.key for p in service.list_policies(seeded, editor)]

        assert keys == sorted(keys)
        assert "connection_account_deadline" in keys

    def test_filtering_by_status(self, seeded: Session) -> None:
        repealed = service.list_policies(seeded, SYSTEM, status=PolicyStatus.REPEALED)

        assert {p.key for p in repealed} == {"open_data_list_review", "open_data_update", "open_data_issued_list_required"}

    def test_citizens_may_not_list_policies(self, seeded: Session) -> None:
        citizen = actor_of(make_user(seeded, Role.CITIZEN))

        with pytest.raises(Forbidden):
            service.list_policies(seeded, citizen)

    def test_anonymous_visitors_must_log_in(self, seeded: Session) -> None:
        with pytest.raises(Unauthorized):
            service.view_policy(seeded, ANONYMOUS, "connection_account_deadline")


class TestCitation:
    def test_vietnamese_and_english_citations(self, seeded: Session) -> None:
        policy = service.get_policy(seeded, "planned_suspension_notice")

        assert service.citation(policy, "vi") == "Điều 43 khoản 3, Nghị định 47/2020/NĐ-CP"
        assert service.citation(policy, "en") == "Article 43(3), Decree 47/2020/NĐ-CP"

    def test_without_a_clause_or_an_article(self, seeded: Session) -> None:
        risk = service.get_policy(seeded, "risk_assessment_review")
        local = service.get_policy(seeded, "data_request_response")

        assert service.citation(risk, "vi") == "Điều 15, Nghị định 165/2025/NĐ-CP"
        assert service.citation(local, "en") == local.legal_document


class TestUpdatePolicy:
    def test_an_administrator_changes_the_value_and_it_is_audited(self, seeded: Session) -> None:
        admin = actor_of(make_user(seeded, Role.PLATFORM_ADMIN))

        service.update_policy(seeded, admin, "issue_provider_answer", value=10)
        seeded.commit()

        event = seeded.scalars(select(AuditEvent).where(AuditEvent.tag == EventTag.POLICY_UPDATE)).one()
        assert event.subject_id == "issue_provider_answer"
        assert event.changes["diff"]["value"] == [7, 10]
        assert event.actor_label == admin.email

    @pytest.mark.parametrize("role", [Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.CITIZEN])
    def test_only_platform_administrators_may_change_a_policy(self, seeded: Session, role: Role) -> None:
        actor = actor_of(make_user(seeded, role))

        with pytest.raises(Forbidden):
            service.update_policy(seeded, actor, "issue_provider_answer", value=10)

    @pytest.mark.parametrize("value", [0, -3, True, "7", service.MAX_POLICY_VALUE + 1])
    def test_the_value_must_be_a_whole_number_above_zero(self, seeded: Session, value: object) -> None:
        with pytest.raises(Invalid) as caught:
            service.update_policy(seeded, SYSTEM, "issue_provider_answer", value=value)

        assert list(caught.value.fields) == ["value"]

    def test_replaced_by_is_refused_on_a_rule_in_force(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.update_policy(seeded, SYSTEM, "issue_provider_answer", replaced_by="Nghị định 278/2025/NĐ-CP")

        assert "replaced_by" in caught.value.fields

    def test_a_superseded_rule_must_name_what_superseded_it(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.update_policy(seeded, SYSTEM, "issue_provider_answer", status=PolicyStatus.SUPERSEDED)

        assert "replaced_by" in caught.value.fields

    def test_superseding_a_rule_with_its_replacement(self, seeded: Session) -> None:
        policy = service.update_policy(
            seeded,
            SYSTEM,
            "issue_provider_answer",
            status="superseded",
            replaced_by="  Nghị định 278/2025/NĐ-CP, Điều 23  ",
        )
        seeded.commit()

        assert policy.status is PolicyStatus.SUPERSEDED
        assert policy.replaced_by == "Nghị định 278/2025/NĐ-CP, Điều 23"

    def test_a_repealed_rule_can_be_put_back_in_force_by_clearing_replaced_by(self, seeded: Session) -> None:
        policy = service.update_policy(seeded, SYSTEM, "open_data_update", status=PolicyStatus.IN_FORCE, replaced_by="")

        assert (policy.status, policy.replaced_by) == (PolicyStatus.IN_FORCE, None)

    def test_an_unknown_status_or_unit_is_refused(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.update_policy(seeded, SYSTEM, "open_data_update", status="abolished", unit="week")

        assert {"status", "unit"} <= set(caught.value.fields)

    def test_required_texts_cannot_be_emptied(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.update_policy(seeded, SYSTEM, "open_data_update", legal_document="  ", description_vi="")

        assert {"legal_document", "description_vi"} <= set(caught.value.fields)

    def test_an_unknown_field_is_refused(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.update_policy(seeded, SYSTEM, "open_data_update", updated_at=date(2020, 1, 1))

        assert list(caught.value.fields) == ["updated_at"]

    def test_an_update_that_changes_nothing_records_nothing(self, seeded: Session) -> None:
        service.update_policy(seeded, SYSTEM, "open_data_update", value=3)
        seeded.commit()

        assert _events(seeded, EventTag.POLICY_UPDATE) == 0

    def test_an_unknown_policy_is_not_found(self, seeded: Session) -> None:
        with pytest.raises(NotFound):
            service.update_policy(seeded, SYSTEM, "nope", value=1)


class TestCalendarEditing:
    def test_setting_a_new_day_creates_it_with_an_audit_record(self, seeded: Session) -> None:
        row = service.set_day(seeded, SYSTEM, date(2026, 11, 24), "holiday", " Ngày Văn hóa Việt Nam ", "", None)
        seeded.commit()

        assert (row.kind, row.name_vi, row.name_en) == (DayKind.HOLIDAY, "Ngày Văn hóa Việt Nam", "Ngày Văn hóa Việt Nam")
        assert _events(seeded, EventTag.CALENDAR_DAY_CREATE) == len(service.load_holiday_file()) + 1

    def test_setting_an_existing_day_updates_it(self, seeded: Session) -> None:
        service.set_day(seeded, SYSTEM, date(2027, 5, 3), DayKind.COMPENSATORY, "Nghỉ bù 1/5", "Labour Day (observed)", "Điều 112")
        seeded.commit()

        assert service.get_day(seeded, date(2027, 5, 3)).name_en == "Labour Day (observed)"  # type: ignore[union-attr]
        assert _events(seeded, EventTag.CALENDAR_DAY_UPDATE) == 1

    def test_deleting_is_audited(self, seeded: Session) -> None:
        service.delete_day(seeded, SYSTEM, date(2027, 5, 3))
        seeded.commit()

        assert _events(seeded, EventTag.CALENDAR_DAY_DELETE) == 1

    def test_deleting_a_day_not_listed_is_not_found(self, seeded: Session) -> None:
        with pytest.raises(NotFound):
            service.delete_day(seeded, SYSTEM, date(2026, 3, 3))

    def test_only_platform_administrators_edit_the_calendar(self, seeded: Session) -> None:
        editor = actor_of(make_user(seeded, Role.AGENCY_ADMIN))

        with pytest.raises(Forbidden):
            service.set_day(seeded, editor, date(2026, 3, 3), DayKind.HOLIDAY, "X")
        with pytest.raises(Forbidden):
            service.delete_day(seeded, editor, date(2026, 1, 2))

    @pytest.mark.parametrize(
        ("day", "kind", "field"),
        [
            (date(2026, 3, 3), DayKind.MAKE_UP_WORKING_DAY, "kind"),
            (date(2026, 3, 7), DayKind.COMPENSATORY, "kind"),
            (date(2026, 3, 3), "festival", "kind"),
        ],
    )
    def test_impossible_days_are_refused(self, seeded: Session, day: date, kind: object, field: str) -> None:
        with pytest.raises(Invalid) as caught:
            service.set_day(seeded, SYSTEM, day, kind, "Tên")  # type: ignore[arg-type]

        assert field in caught.value.fields

    def test_the_vietnamese_name_is_required(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.set_day(seeded, SYSTEM, date(2026, 3, 3), DayKind.HOLIDAY, "  ")

        assert "name_vi" in caught.value.fields

    def test_first_edit_of_a_fallback_year_keeps_the_package_holidays(self, seeded: Session) -> None:
        service.set_day(seeded, SYSTEM, date(2029, 3, 5), DayKind.HOLIDAY, "Ngày nghỉ của tỉnh")
        seeded.commit()

        assert service.calendar_year(seeded, 2029).from_table
        assert service.get_day(seeded, date(2029, 2, 13)) is not None
        assert service.add_working_days(seeded, date(2029, 2, 9), 1) == date(2029, 2, 19)
        assert service.add_working_days(seeded, date(2029, 3, 2), 1) == date(2029, 3, 6)

    def test_list_days_of_a_table_year_are_the_rows_in_date_order(self, seeded: Session) -> None:
        days = service.list_days(seeded, 2026)

        assert [d.day for d in days] == sorted(d.day for d in days)
        assert len(days) == sum(1 for d in service.load_holiday_file() if d["day"].year == 2026)
        assert all(isinstance(d, CalendarDay) for d in days)

    def test_list_days_refuses_an_impossible_year(self, seeded: Session) -> None:
        with pytest.raises(Invalid):
            service.list_days(seeded, 0)


class TestTranslations:
    def test_every_message_of_the_policy_domain_has_a_vietnamese_translation(self) -> None:
        keywords = {"Msg": None, "N_": None, "_": None, "gettext": None, "ngettext": (1, 2)}
        method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
        used = {
            message if isinstance(message, str) else message[0]
            for _, _, message, _, _ in extract_from_dir(str(POLICY_DIR), method_map, keywords=keywords)
        }
        with (POLICY_DIR / "locale" / "vi.po").open("rb") as handle:
            catalogue = read_po(handle, locale="vi")
        translated = {
            (m.id if isinstance(m.id, str) else m.id[0])
            for m in catalogue
            if m.id and (m.string if isinstance(m.string, str) else all(m.string))
        }

        assert sorted(used - translated) == []
