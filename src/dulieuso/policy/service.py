# SPDX-License-Identifier: AGPL-3.0-or-later
"""Legal deadlines as data, and the working-day calendar every deadline is counted on.

Other domains never hard-code a number of days: they call ``deadline(session, key,
start)`` (or ``add_working_days``), so an administrator who changes a policy or a
holiday changes every timer at once. Each policy carries its legal basis and status
(DECREE47.md §0 and NEW-16), and ``citation(policy, lang)`` is how pages cite it.

Working days (DECREE47.md §2.10): Monday to Friday, except the days off listed in the
``calendar_days`` table (holidays and compensatory days), plus the Saturdays listed as
make-up working days. A year with no rows in the table falls back to the Vietnamese
calendar of the ``holidays`` package.
"""

from __future__ import annotations

import calendar as gregorian
import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import EventTag, record, snapshot
from dulieuso.auth.permissions import Action, Actor, require
from dulieuso.errors import Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.policy.models import CalendarDay, DayKind, Policy, PolicyStatus, PolicyUnit
from dulieuso.policy.schemas import PolicySeed

DATA_DIR = Path(__file__).parent / "data"
POLICIES_FILE = DATA_DIR / "policies.yaml"
HOLIDAYS_FILE = DATA_DIR / "holidays.csv"

#: Deadlines are counted on the province's local dates, whatever zone a timestamp is in.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Larger than any legal deadline (about eight years of working days); it bounds the loop.
MAX_WORKING_DAYS = 2000
MAX_POLICY_VALUE = 10_000
DAYS_OFF = frozenset({DayKind.HOLIDAY, DayKind.COMPENSATORY})

EDITABLE_FIELDS = frozenset(
    {
        "value",
        "unit",
        "description_vi",
        "description_en",
        "legal_document",
        "legal_article",
        "legal_clause",
        "status",
        "replaced_by",
        "effective_from",
        "note",
    }
)
_REQUIRED_TEXT = {"description_vi": 4000, "description_en": 4000, "legal_document": 200}
_OPTIONAL_TEXT = {"legal_article": 40, "legal_clause": 40, "replaced_by": 200, "note": 4000}


def local_date(moment: date | datetime) -> date:
    """The date in Lai Châu of ``moment``; a naive datetime is taken as local time."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(LOCAL_TZ)
        return moment.date()
    return moment


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


# -- policies ----------------------------------------------------------------------


def get_policy(session: Session, key: str) -> Policy:
    """The policy ``key``, for services that compute deadlines (no permission needed)."""
    policy = session.get(Policy, key)
    if policy is None:
        raise NotFound(Msg("Policy {key} not found.", key=key), code="policy_not_found")
    return policy


def view_policy(session: Session, actor: Actor, key: str) -> Policy:
    """The policy ``key``, for a person reading the table (staff)."""
    require(actor, Action.POLICY_VIEW)
    return get_policy(session, key)


def policy_value(session: Session, key: str) -> tuple[int, PolicyUnit]:
    """``(value, unit)`` of the policy ``key``, e.g. ``(2, PolicyUnit.WORKING_DAY)``."""
    policy = get_policy(session, key)
    return policy.value, policy.unit


def list_policies(session: Session, actor: Actor, *, status: PolicyStatus | None = None) -> list[Policy]:
    """All policies (optionally of one status), ordered by key (staff)."""
    require(actor, Action.POLICY_VIEW)
    stmt = select(Policy).order_by(Policy.key)
    if status is not None:
        stmt = stmt.where(Policy.status == status)
    return list(session.scalars(stmt))


_DOCUMENT_TYPES_EN = {"Nghị định": "Decree", "Quyết định": "Decision", "Thông tư": "Circular", "Luật": "Law"}


def citation(policy: Policy, lang: str) -> str:
    """The legal basis as pages cite it: ``Điều 35 khoản 3, Nghị định 47/2020/NĐ-CP``."""
    document = policy.legal_document
    if lang == "en":
        for vi, en in _DOCUMENT_TYPES_EN.items():
            if document.startswith(vi + " ") and document[len(vi) + 1 : len(vi) + 2].isdigit():
                document = f"{en} {document[len(vi) + 1 :]}"
                break
        if not policy.legal_article:
            return document
        clause = f"({policy.legal_clause})" if policy.legal_clause else ""
        return f"Article {policy.legal_article}{clause}, {document}"
    if not policy.legal_article:
        return document
    clause = f" khoản {policy.legal_clause}" if policy.legal_clause else ""
    return f"Điều {policy.legal_article}{clause}, {document}"


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    return value


def _as_enum(enum: type[StrEnum], value: Any) -> Any:
    """``value`` as a member of ``enum`` when it names one; otherwise unchanged, for the
    validation to report."""
    try:
        return enum(value)
    except ValueError:
        return value


def _policy_errors(values: Mapping[str, Any]) -> dict[str, list[Msg]]:
    errors: dict[str, list[Msg]] = {}
    value = values["value"]
    if values["unit"] is PolicyUnit.SWITCH:
        if not isinstance(value, int) or isinstance(value, bool) or value not in (0, 1):
            errors["value"] = [Msg("A switch is 1 (on) or 0 (off).")]
    elif not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_POLICY_VALUE:
        errors["value"] = [Msg("Enter a whole number greater than 0 (at most {max}).", max=MAX_POLICY_VALUE)]
    if not isinstance(values["unit"], PolicyUnit):
        errors["unit"] = [Msg("Choose a value from the list.")]
    status = values["status"]
    if not isinstance(status, PolicyStatus):
        errors["status"] = [Msg("Choose a value from the list.")]
    if not isinstance(values["effective_from"], date) or isinstance(values["effective_from"], datetime):
        errors["effective_from"] = [Msg("Enter a date.")]
    for name, limit in _REQUIRED_TEXT.items():
        text = values[name]
        if not isinstance(text, str) or not text:
            errors[name] = [Msg("This field is required.")]
        elif len(text) > limit:
            errors[name] = [Msg("The value is too long.")]
    for name, limit in _OPTIONAL_TEXT.items():
        text = values[name]
        if text is not None and (not isinstance(text, str) or len(text) > limit):
            errors[name] = [Msg("The value is too long.")]
    replaced_by = values["replaced_by"]
    if status is PolicyStatus.IN_FORCE and replaced_by:
        errors.setdefault("replaced_by", []).append(
            Msg("A rule in force has no replacing document. Set the status to repealed or superseded, or clear this field.")
        )
    if status in (PolicyStatus.REPEALED, PolicyStatus.SUPERSEDED) and not replaced_by:
        errors.setdefault("replaced_by", []).append(
            Msg("Name the provision that repealed or superseded this rule.")
        )
    return errors


def update_policy(session: Session, actor: Actor, key: str, **changes: Any) -> Policy:
    """Change fields of the policy ``key`` (platform administrators).

    The value must be a whole number above 0, or, for a switch, 1 (on) or 0 (off). A
    switch stays a switch and a deadline a deadline: the code reads each key one way
    (``switch_on`` or ``deadline``), so the unit cannot cross between them. A rule
    ``in_force`` has no ``replaced_by``; a ``repealed`` or ``superseded`` one must name
    the provision that replaced it, so setting ``replaced_by`` needs one of those
    statuses. Any status may follow any other (a correction, or a repealed rule kept as
    local policy); only the pair (status, replaced_by) must agree. Empty optional texts
    are stored as null.
    """
    require(actor, Action.POLICY_UPDATE)
    policy = get_policy(session, key)
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise Invalid(fields={name: [Msg("Unknown field.")] for name in unknown})
    values = {name: getattr(policy, name) for name in EDITABLE_FIELDS}
    for name, value in changes.items():
        value = _clean_text(value)
        if name in _OPTIONAL_TEXT and value == "":
            value = None
        if name == "unit":
            value = _as_enum(PolicyUnit, value)
        if name == "status":
            value = _as_enum(PolicyStatus, value)
        values[name] = value
    errors = _policy_errors(values)
    if isinstance(values["unit"], PolicyUnit) and (values["unit"] is PolicyUnit.SWITCH) != (policy.unit is PolicyUnit.SWITCH):
        errors.setdefault("unit", []).append(
            Msg("A switch cannot become a deadline, nor a deadline a switch: the platform reads this key as one or the other.")
        )
    if errors:
        raise Invalid(fields=errors)
    before = snapshot(policy)
    for name, value in values.items():
        setattr(policy, name, value)
    after = snapshot(policy)
    if after != before:
        record(session, actor, EventTag.POLICY_UPDATE, policy, before=before, after=after, label=key)
    return policy


# -- the working-day calendar --------------------------------------------------------


@dataclass(frozen=True)
class YearCalendar:
    """The special days of one year: days off on weekdays and weekend days worked."""

    year: int
    days_off: frozenset[date]
    days_worked: frozenset[date]
    from_table: bool

    def is_working_day(self, day: date) -> bool:
        if day in self.days_worked:
            return True
        return day.weekday() < 5 and day not in self.days_off


@lru_cache(maxsize=1)
def _package_name() -> str:
    return f"python holidays {version('holidays')}"


@lru_cache(maxsize=256)
def _package_holidays(year: int, language: str) -> tuple[tuple[date, str], ...]:
    calendar = holidays.country_holidays("VN", years=year, language=language)
    return tuple(sorted((day, name) for day, name in calendar.items() if day.year == year))


@lru_cache(maxsize=256)
def _package_year(year: int) -> YearCalendar:
    # The package's calendar depends only on the year, so caching it in the process is
    # safe (unlike the table, which other processes can change).
    calendar = holidays.country_holidays("VN", years=year)
    return YearCalendar(
        year=year,
        days_off=frozenset(day for day in calendar if day.year == year),
        days_worked=frozenset(day for day in calendar.weekend_workdays if day.year == year),
        from_table=False,
    )


def fallback_days(year: int) -> list[CalendarDay]:
    """The special days the ``holidays`` package knows for ``year`` (not stored)."""
    names_vi = dict(_package_holidays(year, "vi"))
    source = _package_name()
    days = [
        CalendarDay(
            day=day,
            kind=DayKind.COMPENSATORY if "observed" in name or "substituted" in name else DayKind.HOLIDAY,
            name_vi=names_vi.get(day, name),
            name_en=name,
            source=source,
        )
        for day, name in _package_holidays(year, "en_US")
    ]
    days += [
        CalendarDay(
            day=day,
            kind=DayKind.MAKE_UP_WORKING_DAY,
            name_vi="Ngày làm bù",
            name_en="Make-up working day",
            source=source,
        )
        for day in _package_year(year).days_worked
    ]
    return sorted(days, key=lambda d: d.day)


class _CalendarReader:
    """Reads the calendar of the years one computation touches, each year at most once.

    The table is read on every call instead of being cached in the process: several
    workers (or app nodes) share one database, and an edit in one of them, or a rolled
    back transaction, must never leave another with a stale calendar. One indexed range
    query for three years of about 15 rows each costs well under a millisecond.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.years: dict[int, YearCalendar] = {}

    def year(self, year: int) -> YearCalendar:
        if year not in self.years:
            self._load(range(max(MINYEAR, year - 1), min(MAXYEAR, year + 1) + 1))
        return self.years[year]

    def is_working_day(self, day: date) -> bool:
        return self.year(day.year).is_working_day(day)

    def _load(self, years: range) -> None:
        wanted = [y for y in years if y not in self.years]
        rows = self.session.execute(
            select(CalendarDay.day, CalendarDay.kind).where(
                CalendarDay.day >= date(wanted[0], 1, 1), CalendarDay.day <= date(wanted[-1], 12, 31)
            )
        ).all()
        by_year: dict[int, list[tuple[date, DayKind]]] = {}
        for day, kind in rows:
            by_year.setdefault(day.year, []).append((day, kind))
        for year in wanted:
            listed = by_year.get(year)
            if not listed:
                self.years[year] = _package_year(year)
                continue
            self.years[year] = YearCalendar(
                year=year,
                days_off=frozenset(day for day, kind in listed if kind in DAYS_OFF),
                days_worked=frozenset(day for day, kind in listed if kind is DayKind.MAKE_UP_WORKING_DAY),
                from_table=True,
            )


def calendar_year(session: Session, year: int) -> YearCalendar:
    """The calendar of ``year``: from the table, or from the package if it has no rows."""
    return _CalendarReader(session).year(year)


def is_working_day(session: Session, day: date | datetime) -> bool:
    """Is ``day`` (a local date) a working day?"""
    return _CalendarReader(session).is_working_day(local_date(day))


def add_working_days(session: Session, start: date | datetime, n: int) -> date:
    """The ``n``-th working day after ``start``: the due date of every working-day deadline.

    Counting starts the day after ``start`` (a request received on a day is due ``n``
    working days later), whatever kind of day ``start`` is; a timestamp counts by its
    local date in Lai Châu. A negative ``n`` counts back (the latest day to give a
    notice that must precede ``start`` by ``-n`` working days); ``0`` gives ``start``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or abs(n) > MAX_WORKING_DAYS:
        raise Invalid(
            Msg("The number of working days must be a whole number between -{max} and {max}.", max=MAX_WORKING_DAYS),
            fields={"n": [Msg("Enter a whole number between -{max} and {max}.", max=MAX_WORKING_DAYS)]},
        )
    day = local_date(start)
    reader = _CalendarReader(session)
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    try:
        while remaining:
            day += step
            if reader.is_working_day(day):
                remaining -= 1
    except OverflowError:
        raise Invalid(Msg("The date is out of range.")) from None
    return day


def working_days_between(session: Session, start: date | datetime, end: date | datetime) -> int:
    """Working days after ``start`` up to and including ``end`` (negative if ``end`` is earlier).

    ``working_days_between(s, add_working_days(s, n)) == n``: the count a deadline
    tracker shows as "working days used" or, with the dates swapped, "left".
    """
    first, last = local_date(start), local_date(end)
    if last < first:
        return -working_days_between(session, last, first)
    if (last - first).days > MAX_WORKING_DAYS * 2:
        raise Invalid(Msg("The period is too long."))
    reader = _CalendarReader(session)
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        count += reader.is_working_day(day)
    return count


def add_months(moment: date | datetime, months: int) -> date | datetime:
    """``moment`` plus ``months`` calendar months; 31/01 + 1 month is 28/02 (or 29/02)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise Invalid(Msg("The date is out of range."))
    day = min(moment.day, gregorian.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def deadline(session: Session, key: str, start: date | datetime) -> date | datetime:
    """When the policy ``key`` falls due for something that started at ``start``.

    working_day → ``add_working_days`` (a date); calendar_day → ``start`` + n days and
    month → ``start`` + n months (end of month clamped), both of the type of ``start``;
    hour → ``start`` + n hours, a datetime (a date counts from local midnight). The
    policy's status is not checked: a repealed rule kept as local policy still counts.
    A switch is refused (``Invalid``, code ``policy_is_a_switch``): read it with
    :func:`switch_on`.
    """
    value, unit = policy_value(session, key)
    if unit is PolicyUnit.SWITCH:
        raise Invalid(Msg("Policy {key} is an on/off switch, not a deadline.", key=key), code="policy_is_a_switch")
    try:
        if unit is PolicyUnit.WORKING_DAY:
            return add_working_days(session, start, value)
        if unit is PolicyUnit.CALENDAR_DAY:
            return start + timedelta(days=value)
        if unit is PolicyUnit.MONTH:
            return add_months(start, value)
        if not isinstance(start, datetime):
            start = datetime.combine(start, time(0), tzinfo=LOCAL_TZ)
        return start + timedelta(hours=value)
    except OverflowError:
        raise Invalid(Msg("The date is out of range.")) from None


def switch_on(session: Session, key: str, default: bool = False) -> bool:
    """Is the on/off policy ``key`` on (value 1)? ``default`` when the table has no such
    row (a database not seeded yet). Like ``deadline``, the status is not checked: a
    repealed rule kept as local policy still applies while it is on. A key that is not a
    switch is refused (``Invalid``, code ``policy_not_a_switch``).
    """
    policy = session.get(Policy, key)
    if policy is None:
        return default
    if policy.unit is not PolicyUnit.SWITCH:
        raise Invalid(Msg("Policy {key} is not an on/off switch.", key=key), code="policy_not_a_switch")
    return policy.value == 1


# -- editing the calendar ------------------------------------------------------------


def list_days(session: Session, year: int) -> list[CalendarDay]:
    """The special days of ``year`` in date order: the table's rows, or, for a year the
    table does not cover, the days of the ``holidays`` package (not stored)."""
    if not MINYEAR <= year <= MAXYEAR:
        raise Invalid(fields={"year": [Msg("Enter a year between {min} and {max}.", min=MINYEAR, max=MAXYEAR)]})
    rows = list(
        session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
            .order_by(CalendarDay.day)
        )
    )
    return rows or fallback_days(year)


def get_day(session: Session, day: date) -> CalendarDay | None:
    """The table's row for ``day``, if there is one."""
    return session.get(CalendarDay, day)


def _rows_in_year(session: Session, year: int) -> int:
    stmt = select(func.count()).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    return session.scalar(stmt) or 0


def _day_errors(day: date, kind: DayKind | str, name_vi: str, name_en: str, source: str | None) -> dict[str, list[Msg]]:
    errors: dict[str, list[Msg]] = {}
    if not isinstance(kind, DayKind):
        errors["kind"] = [Msg("Choose a value from the list.")]
    elif kind is DayKind.MAKE_UP_WORKING_DAY and day.weekday() < 5:
        errors["kind"] = [Msg("A make-up working day is a Saturday or Sunday worked; {day} is a weekday.", day=day.strftime("%d/%m/%Y"))]
    elif kind is DayKind.COMPENSATORY and day.weekday() >= 5:
        errors["kind"] = [Msg("A compensatory day off falls on a weekday; {day} is a weekend day.", day=day.strftime("%d/%m/%Y"))]
    if not name_vi:
        errors["name_vi"] = [Msg("This field is required.")]
    elif len(name_vi) > 200:
        errors["name_vi"] = [Msg("The value is too long.")]
    if len(name_en) > 200:
        errors["name_en"] = [Msg("The value is too long.")]
    if source is not None and len(source) > 4000:
        errors["source"] = [Msg("The value is too long.")]
    return errors


def _adopt_fallback_year(session: Session, actor: Actor, year: int) -> None:
    """Copy the package's days of ``year`` into the table before its first edit.

    Without this, adding one day to a year the table does not cover would switch that
    year from the package's calendar to a table holding that single day, silently
    dropping Tết and every other holiday of the year.
    """
    for template in fallback_days(year):
        row = CalendarDay(
            day=template.day,
            kind=template.kind,
            name_vi=template.name_vi[:200],
            name_en=template.name_en[:200],
            source=template.source,
        )
        session.add(row)
        record(
            session,
            actor,
            EventTag.CALENDAR_DAY_CREATE,
            row,
            after=snapshot(row),
            label=row.day.isoformat(),
            details={"copied_from": template.source},
        )


def set_day(
    session: Session,
    actor: Actor,
    day: date,
    kind: DayKind | str,
    name_vi: str,
    name_en: str | None = None,
    source: str | None = None,
) -> CalendarDay:
    """Create or change the special day ``day`` (platform administrators).

    A make-up working day must be a weekend day and a compensatory day a weekday. An
    empty English name takes the Vietnamese one. The first edit of a year that had no
    rows first copies the ``holidays`` package's days of that year into the table.
    """
    require(actor, Action.CALENDAR_UPDATE)
    kind = _as_enum(DayKind, kind)
    name_vi = (name_vi or "").strip()
    name_en = (name_en or "").strip() or name_vi
    source = (source or "").strip() or None
    errors = _day_errors(day, kind, name_vi, name_en, source)
    if errors:
        raise Invalid(fields=errors)
    assert isinstance(kind, DayKind)
    if _rows_in_year(session, day.year) == 0:
        _adopt_fallback_year(session, actor, day.year)
    row = session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, kind=kind, name_vi=name_vi, name_en=name_en, source=source)
        session.add(row)
        record(session, actor, EventTag.CALENDAR_DAY_CREATE, row, after=snapshot(row), label=day.isoformat())
        return row
    before = snapshot(row)
    row.kind, row.name_vi, row.name_en, row.source = kind, name_vi, name_en, source
    after = snapshot(row)
    if after != before:
        record(session, actor, EventTag.CALENDAR_DAY_UPDATE, row, before=before, after=after, label=day.isoformat())
    return row


def delete_day(session: Session, actor: Actor, day: date) -> None:
    """Remove ``day`` from the table (platform administrators). Removing the last row
    of a year hands that year back to the ``holidays`` package."""
    require(actor, Action.CALENDAR_UPDATE)
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound(Msg("The day {day} is not in the calendar.", day=day.strftime("%d/%m/%Y")), code="calendar_day_not_found")
    before = snapshot(row)
    session.delete(row)
    record(session, actor, EventTag.CALENDAR_DAY_DELETE, row, before=before, label=day.isoformat())


# -- seeding -------------------------------------------------------------------------


def load_policy_file(path: Path = POLICIES_FILE) -> list[PolicySeed]:
    """The policies of ``policies.yaml``, validated."""
    with path.open(encoding="utf-8") as handle:
        rows = yaml.safe_load(handle)
    seeds = [PolicySeed.model_validate(row) for row in rows]
    keys = [seed.key for seed in seeds]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate policy keys in {path.name}: {duplicates}")
    return seeds


def load_holiday_file(path: Path = HOLIDAYS_FILE) -> list[dict[str, Any]]:
    """The rows of ``holidays.csv`` (date, name_vi, name_en, kind, source), typed."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "day": date.fromisoformat(row["date"]),
                "kind": DayKind(row["kind"]),
                "name_vi": row["name_vi"],
                "name_en": row["name_en"],
                "source": row["source"] or None,
            }
            for row in csv.DictReader(handle)
        ]


def seed(session: Session, actor: Actor) -> int:
    """Load the shipped policies and calendar days the tables do not have yet.

    Policies are added by key. Calendar days are added only for the years that have no
    row in the table, so a day an administrator deleted does not come back at the next
    start, and an edited year is never mixed with the shipped file. A second run
    creates nothing. Returns the number of rows created; each gets an audit record.
    """
    require(actor, Action.POLICY_UPDATE)
    require(actor, Action.CALENDAR_UPDATE)
    created = 0
    known_keys = set(session.scalars(select(Policy.key)))
    for item in load_policy_file():
        if item.key in known_keys:
            continue
        policy = Policy(**item.model_dump())
        session.add(policy)
        record(
            session, actor, EventTag.POLICY_CREATE, policy, after=snapshot(policy), label=item.key,
            details={"source": POLICIES_FILE.name},
        )
        created += 1
    covered_years = {day.year for day in session.scalars(select(CalendarDay.day))}
    for item in load_holiday_file():
        if item["day"].year in covered_years:
            continue
        row = CalendarDay(**item)
        session.add(row)
        record(
            session, actor, EventTag.CALENDAR_DAY_CREATE, row, after=snapshot(row), label=item["day"].isoformat(),
            details={"source": HOLIDAYS_FILE.name},
        )
        created += 1
    return created
