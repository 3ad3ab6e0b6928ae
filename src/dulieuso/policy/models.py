"""Legal deadlines and cadences as data, and the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dulieuso.auth.models import enum_column
from dulieuso.db import Base, utcnow


class PolicyUnit(StrEnum):
    CALENDAR_DAY = "calendar_day"
    WORKING_DAY = "working_day"
    MONTH = "month"
    HOUR = "hour"
    #: An on/off rule rather than a duration: value 1 is on, 0 is off (``switch_on``).
    SWITCH = "switch"


class PolicyStatus(StrEnum):
    IN_FORCE = "in_force"
    REPEALED = "repealed"
    SUPERSEDED = "superseded"


class Policy(Base):
    __tablename__ = "policies"
    __audited__ = True

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int]
    unit: Mapped[PolicyUnit] = mapped_column(enum_column(PolicyUnit, "policy_unit"))
    description_vi: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    legal_document: Mapped[str] = mapped_column(String(200))
    legal_article: Mapped[str | None] = mapped_column(String(40))
    legal_clause: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[PolicyStatus] = mapped_column(enum_column(PolicyStatus, "policy_status"))
    replaced_by: Mapped[str | None] = mapped_column(String(200))
    effective_from: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def id(self) -> str:
        return self.key


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    COMPENSATORY = "compensatory"
    MAKE_UP_WORKING_DAY = "make_up_working_day"


class CalendarDay(Base):
    """A day that differs from the Monday-to-Friday rule: a day off, or a Saturday worked."""

    __tablename__ = "calendar_days"
    __audited__ = True

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, "day_kind"))
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(Text)

    @property
    def id(self) -> str:
        return self.day.isoformat()
