# SPDX-License-Identifier: AGPL-3.0-or-later
"""The working-day engine: add_working_days, is_working_day, working_days_between, deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import SYSTEM
from dulieuso.errors import Invalid
from dulieuso.policy import service
from dulieuso.policy.models import DayKind


class TestTet:
    def test_connection_account_received_friday_before_tet_binh_ngo_is_due_tuesday_after(self, seeded: Session) -> None:
        # 16–20/02/2026 are the Tết holidays (holidays.csv); 21–22 are a weekend.
        due = service.deadline(seeded, "connection_account_deadline", date(2026, 2, 13))

        assert due == date(2026, 2, 24)
        assert due.weekday() == 1

    def test_friday_before_tet_at_ty_plus_two_working_days_is_tuesday_4_february_2025(self, seeded: Session) -> None:
        assert [d.day for d in service.list_days(seeded, 2025) if d.day.month == 1][1:] == [
            date(2025, 1, 27),
            date(2025, 1, 28),
            date(2025, 1, 29),
            date(2025, 1, 30),
            date(2025, 1, 31),
        ]

        assert service.add_working_days(seeded, date(2025, 1, 24), 2) == date(2025, 2, 4)

    def test_no_day_of_the_tet_break_is_a_working_day(self, seeded: Session) -> None:
        break_days = [date(2026, 2, 14) + timedelta(days=i) for i in range(9)]

        assert [service.is_working_day(seeded, d) for d in break_days] == [False] * 9


class TestSwapsAndCompensatoryDays:
    def test_saturday_10_january_2026_is_a_make_up_working_day(self, seeded: Session) -> None:
        assert service.is_working_day(seeded, date(2026, 1, 10))
        assert service.add_working_days(seeded, date(2026, 1, 9), 1) == date(2026, 1, 10)

    def test_2_january_2026_is_a_day_off(self, seeded: Session) -> None:
        assert not service.is_working_day(seeded, date(2026, 1, 2))
        assert service.add_working_days(seeded, date(2025, 12, 31), 1) == date(2026, 1, 5)

    def test_gio_to_compensatory_monday_27_april_2026_is_a_day_off(self, seeded: Session) -> None:
        assert not service.is_working_day(seeded, date(2026, 4, 27))
        assert service.add_working_days(seeded, date(2026, 4, 24), 1) == date(2026, 4, 28)

    def test_planned_suspension_notice_of_7_working_days_skips_30_april_and_1_may(self, seeded: Session) -> None:
        # Notice on Tue 28/04/2026: 29/4 (1), 30/4 and 1/5 off, weekend, 4–8/5 (2–6), 11/5 (7).
        earliest_start = service.deadline(seeded, "planned_suspension_notice", date(2026, 4, 28))

        assert earliest_start == date(2026, 5, 11)
        assert service.add_working_days(seeded, earliest_start, -7) == date(2026, 4, 28)


class TestCounting:
    def test_counting_starts_the_day_after_a_weekend_start(self, seeded: Session) -> None:
        assert service.add_working_days(seeded, date(2026, 3, 7), 1) == date(2026, 3, 9)

    def test_zero_working_days_is_the_start_itself(self, seeded: Session) -> None:
        assert service.add_working_days(seeded, date(2026, 3, 7), 0) == date(2026, 3, 7)

    def test_a_utc_timestamp_counts_by_its_date_in_lai_chau(self, seeded: Session) -> None:
        # 18:00 UTC on Thursday 12/02 is 01:00 on Friday 13/02 in Lai Châu (UTC+7).
        received = datetime(2026, 2, 12, 18, 0, tzinfo=UTC)

        assert service.add_working_days(seeded, received, 2) == date(2026, 2, 24)

    def test_a_naive_timestamp_is_taken_as_local_time(self, seeded: Session) -> None:
        assert service.add_working_days(seeded, datetime(2026, 2, 13, 23, 30), 2) == date(2026, 2, 24)

    @pytest.mark.parametrize("n", [service.MAX_WORKING_DAYS + 1, -service.MAX_WORKING_DAYS - 1])
    def test_a_number_of_working_days_out_of_bounds_is_rejected(self, seeded: Session, n: int) -> None:
        with pytest.raises(Invalid) as caught:
            service.add_working_days(seeded, date(2026, 1, 1), n)
        assert "n" in caught.value.fields

    def test_working_days_between_counts_after_start_up_to_end(self, seeded: Session) -> None:
        assert service.working_days_between(seeded, date(2026, 2, 13), date(2026, 2, 24)) == 2
        assert service.working_days_between(seeded, date(2026, 2, 24), date(2026, 2, 13)) == -2
        assert service.working_days_between(seeded, date(2026, 2, 13), date(2026, 2, 13)) == 0

    def test_crossing_into_the_next_year_reads_both_years(self, seeded: Session) -> None:
        # 31/12/2026 is Thursday; 1/1/2027 is a holiday; 4/1/2027 is Monday.
        assert service.add_working_days(seeded, date(2026, 12, 31), 1) == date(2027, 1, 4)

    def test_one_computation_reads_the_table_with_one_query(self, seeded: Session) -> None:
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        bind = seeded.connection()
        event.listen(bind, "before_cursor_execute", count)
        try:
            service.add_working_days(seeded, date(2026, 2, 13), 15)
        finally:
            event.remove(bind, "before_cursor_execute", count)

        assert len(statements) == 1


class TestFallbackToTheHolidaysPackage:
    def test_a_year_beyond_the_table_uses_the_holidays_package(self, seeded: Session) -> None:
        # No rows for 2029; the package puts Tết Kỷ Dậu on 12–16/02/2029.
        assert not service.calendar_year(seeded, 2029).from_table

        assert service.add_working_days(seeded, date(2029, 2, 9), 1) == date(2029, 2, 19)

    def test_a_year_in_the_table_uses_the_table(self, seeded: Session) -> None:
        assert service.calendar_year(seeded, 2027).from_table

    def test_the_package_swap_of_a_fallback_year_counts_the_saturday_worked(self, db: Session) -> None:
        # Empty table: 2026 comes from the package, which knows the 22/08 ↔ 31/08 swap.
        assert service.is_working_day(db, date(2026, 8, 22))
        assert not service.is_working_day(db, date(2026, 8, 31))

    def test_the_fallback_days_are_listed_but_not_stored(self, seeded: Session) -> None:
        days = service.list_days(seeded, 2029)

        assert date(2029, 2, 13) in {d.day for d in days}
        assert all(d.source and d.source.startswith("python holidays") for d in days)
        assert service.get_day(seeded, date(2029, 2, 13)) is None


class TestEditingTheCalendarChangesResults:
    def test_a_new_day_off_moves_the_due_date(self, seeded: Session) -> None:
        before = service.add_working_days(seeded, date(2026, 3, 2), 1)

        service.set_day(seeded, SYSTEM, date(2026, 3, 3), DayKind.HOLIDAY, "Ngày nghỉ đột xuất")
        seeded.commit()
        after = service.add_working_days(seeded, date(2026, 3, 2), 1)

        assert (before, after) == (date(2026, 3, 3), date(2026, 3, 4))

    def test_deleting_a_day_off_makes_it_a_working_day_again(self, seeded: Session) -> None:
        service.delete_day(seeded, SYSTEM, date(2026, 1, 2))
        seeded.commit()

        assert service.add_working_days(seeded, date(2026, 1, 1), 1) == date(2026, 1, 2)

    def test_changing_a_day_off_into_a_make_up_day_is_refused_on_a_weekday(self, seeded: Session) -> None:
        with pytest.raises(Invalid) as caught:
            service.set_day(seeded, SYSTEM, date(2026, 1, 2), DayKind.MAKE_UP_WORKING_DAY, "Làm bù")
        assert "kind" in caught.value.fields


class TestDeadlineUnits:
    def test_changing_the_policy_value_changes_the_deadline(self, seeded: Session) -> None:
        service.update_policy(seeded, SYSTEM, "connection_account_deadline", value=5)
        seeded.commit()

        assert service.deadline(seeded, "connection_account_deadline", date(2026, 2, 13)) == date(2026, 2, 27)

    def test_the_superseded_decree_47_rule_still_counts_for_old_requests(self, seeded: Session) -> None:
        assert service.deadline(seeded, "connection_account_deadline_nd47", date(2025, 8, 1)) == date(2025, 8, 8)

    def test_calendar_day_keeps_the_time_of_day(self, seeded: Session) -> None:
        determined = datetime(2026, 2, 13, 9, 30, tzinfo=UTC)

        assert service.deadline(seeded, "violation_suspension_notice", determined) == determined + timedelta(days=1)

    def test_calendar_day_ignores_holidays(self, seeded: Session) -> None:
        assert service.deadline(seeded, "violation_suspension_notice", date(2026, 2, 15)) == date(2026, 2, 16)

    def test_months_clamp_to_the_end_of_the_month(self, seeded: Session) -> None:
        service.update_policy(seeded, SYSTEM, "open_data_update", value=1)

        assert service.deadline(seeded, "open_data_update", date(2026, 1, 31)) == date(2026, 2, 28)
        assert service.deadline(seeded, "open_data_update", date(2028, 1, 31)) == date(2028, 2, 29)

    def test_six_month_review_of_31_august_falls_on_28_february(self, seeded: Session) -> None:
        assert service.deadline(seeded, "default_sharing_list_review", date(2026, 8, 31)) == date(2027, 2, 28)

    def test_annual_assessment_counted_from_the_last_31_december_is_due_31_december(self, seeded: Session) -> None:
        assert service.deadline(seeded, "annual_assessment_report", date(2025, 12, 31)) == date(2026, 12, 31)

    def test_hours_from_a_date_count_from_local_midnight(self, seeded: Session) -> None:
        due = service.deadline(seeded, "personal_data_breach_notice", date(2026, 3, 2))

        assert isinstance(due, datetime)
        assert due.astimezone(service.LOCAL_TZ).replace(tzinfo=None) == datetime(2026, 3, 5, 0, 0)

    def test_hours_from_a_timestamp(self, seeded: Session) -> None:
        found = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)

        assert service.deadline(seeded, "personal_data_breach_notice", found) == found + timedelta(hours=72)


# -- properties ----------------------------------------------------------------------

starts = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
counts = st.integers(min_value=1, max_value=60)
PROPERTY_SETTINGS = settings(
    # The fixture only loads the shipped calendar; the examples read it and change nothing.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
    deadline=None,
    max_examples=150,
)


@PROPERTY_SETTINGS
@given(start=starts, n=counts)
def test_the_due_date_is_a_working_day_strictly_after_the_start(seeded: Session, start: date, n: int) -> None:
    due = service.add_working_days(seeded, start, n)

    assert due > start
    assert service.is_working_day(seeded, due)
    assert service.working_days_between(seeded, start, due) == n


@PROPERTY_SETTINGS
@given(start=starts, n=counts)
def test_counting_back_returns_the_last_working_day_not_after_the_start(seeded: Session, start: date, n: int) -> None:
    back = service.add_working_days(seeded, service.add_working_days(seeded, start, n), -n)

    assert back <= start
    assert service.is_working_day(seeded, back)
    assert service.working_days_between(seeded, back, start) == 0


@PROPERTY_SETTINGS
@given(start=starts, n=st.integers(min_value=0, max_value=30))
def test_one_more_working_day_is_never_earlier(seeded: Session, start: date, n: int) -> None:
    assert service.add_working_days(seeded, start, n + 1) > service.add_working_days(seeded, start, n)
