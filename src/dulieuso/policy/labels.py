# SPDX-License-Identifier: AGPL-3.0-or-later
"""Display labels of policy units, statuses, calendar day kinds, months and weekdays."""

from __future__ import annotations

from dulieuso.i18n import N_, gettext
from dulieuso.policy.models import DayKind, PolicyStatus, PolicyUnit

UNIT_LABELS: dict[PolicyUnit, str] = {
    PolicyUnit.CALENDAR_DAY: N_("calendar days"),
    PolicyUnit.WORKING_DAY: N_("working days"),
    PolicyUnit.MONTH: N_("months"),
    PolicyUnit.HOUR: N_("hours"),
    PolicyUnit.SWITCH: N_("switch (on/off)"),
}

STATUS_LABELS: dict[PolicyStatus, str] = {
    PolicyStatus.IN_FORCE: N_("In force"),
    PolicyStatus.REPEALED: N_("Repealed"),
    PolicyStatus.SUPERSEDED: N_("Superseded"),
}

KIND_LABELS: dict[DayKind, str] = {
    DayKind.HOLIDAY: N_("Public holiday"),
    DayKind.COMPENSATORY: N_("Compensatory day off"),
    DayKind.MAKE_UP_WORKING_DAY: N_("Make-up working day"),
}

MONTH_LABELS: tuple[str, ...] = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)

WEEKDAY_LABELS: tuple[str, ...] = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


#: ``(one, many)`` phrasings of an amount. Vietnamese has one form and English two, so a
#: pair of plain messages does the job of ngettext and keeps every msgid a plain string.
_AMOUNTS: dict[PolicyUnit, tuple[str, str]] = {
    PolicyUnit.WORKING_DAY: (N_("{n} working day"), N_("{n} working days")),
    PolicyUnit.CALENDAR_DAY: (N_("{n} calendar day"), N_("{n} calendar days")),
    PolicyUnit.MONTH: (N_("{n} month"), N_("{n} months")),
    PolicyUnit.HOUR: (N_("{n} hour"), N_("{n} hours")),
}


#: How a switch's value reads: 1 is on, 0 is off.
SWITCH_LABELS: dict[int, str] = {1: N_("On"), 0: N_("Off")}


def amount(value: int, unit: PolicyUnit, lang: str) -> str:
    """``2 working days`` / ``2 ngày làm việc``; a switch reads ``On`` / ``Bật``."""
    if unit is PolicyUnit.SWITCH:
        return gettext(SWITCH_LABELS[1 if value else 0], lang)
    one, many = _AMOUNTS[unit]
    return gettext(one if value == 1 else many, lang, n=value)


def options(labels: dict[PolicyUnit, str] | dict[PolicyStatus, str] | dict[DayKind, str], lang: str) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a ``<select>``."""
    return [(member.value, gettext(label, lang)) for member, label in labels.items()]
