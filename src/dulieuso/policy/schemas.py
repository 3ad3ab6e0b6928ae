# SPDX-License-Identifier: AGPL-3.0-or-later
"""Request and response shapes for legal deadlines and the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dulieuso.policy.models import DayKind, PolicyStatus, PolicyUnit


class PolicySeed(BaseModel):
    """One row of ``policy/data/policies.yaml``; typos in the file fail loudly."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)
    value: int = Field(ge=0, description="At least 1; a switch is 1 (on) or 0 (off).")
    unit: PolicyUnit
    description_vi: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    legal_document: str = Field(min_length=1, max_length=200)
    legal_article: str | None = Field(None, max_length=40)
    legal_clause: str | None = Field(None, max_length=40)
    status: PolicyStatus
    replaced_by: str | None = Field(None, max_length=200)
    effective_from: date
    note: str | None = None

    @model_validator(mode="after")
    def _value_fits_unit(self) -> PolicySeed:
        if self.unit is PolicyUnit.SWITCH and self.value not in (0, 1):
            raise ValueError("a switch is 1 (on) or 0 (off)")
        if self.unit is not PolicyUnit.SWITCH and self.value < 1:
            raise ValueError("a deadline or cadence is at least 1")
        return self


class PolicyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    value: int
    unit: PolicyUnit
    description_vi: str
    description_en: str
    legal_document: str
    legal_article: str | None
    legal_clause: str | None
    citation: str = Field(description="The legal basis as cited in Vietnamese.")
    citation_en: str = Field(description="The legal basis as cited in English.")
    status: PolicyStatus
    replaced_by: str | None = Field(description="The provision that repealed or superseded this rule.")
    effective_from: date
    note: str | None
    updated_at: datetime


class PolicyUpdate(BaseModel):
    """Fields to change; those left out stay as they are. ``replaced_by: null`` clears it."""

    model_config = ConfigDict(extra="forbid")

    value: int | None = Field(None, description="A whole number, at least 1; a switch is 1 (on) or 0 (off).")
    unit: PolicyUnit | None = None
    description_vi: str | None = Field(None, max_length=4000)
    description_en: str | None = Field(None, max_length=4000)
    legal_document: str | None = Field(None, max_length=200)
    legal_article: str | None = Field(None, max_length=40)
    legal_clause: str | None = Field(None, max_length=40)
    status: PolicyStatus | None = None
    replaced_by: str | None = Field(None, max_length=200)
    effective_from: date | None = None
    note: str | None = Field(None, max_length=4000)


class CalendarDayPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    kind: DayKind
    name_vi: str
    name_en: str
    source: str | None


class CalendarDayPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DayKind
    name_vi: str = Field(max_length=200)
    name_en: str | None = Field(None, max_length=200, description="Empty: the Vietnamese name.")
    source: str | None = Field(None, max_length=4000, description="The announcement the day comes from.")


class WorkingDaysResult(BaseModel):
    start: date
    n: int
    due: date
