# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the agencies tests: agencies made through the service (searchable, audited)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dulieuso.agencies import service
from dulieuso.agencies.models import Agency, AgencyType, FocalPoint
from dulieuso.auth.permissions import SYSTEM

NewAgency = Callable[..., Agency]


@pytest.fixture
def new_agency(db: Session) -> NewAgency:
    """``new_agency("Sở Tài chính", code=..., parent_code=..., ...)`` via ``create_agency``."""

    def make(name_vi: str | None = None, **fields: Any) -> Agency:
        code = fields.pop("code", f"T-{uuid.uuid4().hex[:8].upper()}")
        fields.setdefault("type", AgencyType.DEPARTMENT)
        data = service.AgencyInput(code=code, name_vi=name_vi or f"Sở Thử nghiệm {code}", **fields)
        return service.create_agency(db, SYSTEM, data)

    return make


def focal_point_input(name: str = "Nguyễn Văn An", **fields: Any) -> service.FocalPointInput:
    values: dict[str, Any] = {
        "full_name": name,
        "position": "Phó Giám đốc Trung tâm Chuyển đổi số",
        "function": "Tiếp nhận, điều phối việc kết nối, chia sẻ dữ liệu",
        "phone": "0912 345 678",
        "email": "an.nv@laichau.gov.vn",
        "valid_from": date(2025, 7, 1),
    }
    values.update(fields)
    return service.FocalPointInput(**values)


def active_focal_points(db: Session, agency: Agency) -> list[FocalPoint]:
    from sqlalchemy import select

    return list(
        db.scalars(
            select(FocalPoint).where(
                FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None)
            )
        )
    )
