# SPDX-License-Identifier: AGPL-3.0-or-later
"""Catalog test fixtures: two agencies with staff, a code list and complete entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM, Actor
from dulieuso.catalog import codelists, service
from dulieuso.catalog.entries import CategoryData, ElementData, EntryData
from dulieuso.catalog.models import (
    DatabaseLevel,
    ElementType,
    SharingForm,
    UpdateFrequency,
    UserType,
)
from conftest import make_agency

ALL_DEFAULT = {ut: SharingForm.DEFAULT for ut in UserType}


def matrix(*forms: SharingForm) -> dict[UserType, SharingForm]:
    return dict(zip(UserType, forms))


def complete_entry(code: str, agency: str, **overrides: Any) -> EntryData:
    """An entry with every Art. 11(4) field filled, ready to submit."""
    values: dict[str, Any] = dict(
        code=code,
        name="Cơ sở dữ liệu đất đai tỉnh Lai Châu",
        owner_agency=agency,
        purpose="Quản lý hồ sơ địa chính, giá đất và quy hoạch sử dụng đất.",
        scope="Toàn tỉnh Lai Châu",
        content="Thửa đất, chủ sử dụng, biến động đất đai",
        collection_mechanism="Số hóa hồ sơ địa chính và cập nhật khi đăng ký biến động",
        update_mechanism="Cập nhật trực tuyến khi có biến động",
        update_frequency=UpdateFrequency.ON_CHANGE,
        data_sources="Văn phòng đăng ký đất đai",
        level=DatabaseLevel.LOCAL_SHARED,
        categories=[
            CategoryData(
                name="Thửa đất",
                elements=[
                    ElementData(name="Số hiệu thửa", data_type=ElementType.TEXT, required=True, is_master_data=True),
                    ElementData(name="Diện tích", data_type=ElementType.DECIMAL, unit="m2"),
                ],
                availability=matrix(SharingForm.DEFAULT, SharingForm.DEFAULT, SharingForm.SPECIAL_REQUEST,
                                    SharingForm.OPEN_DATA, SharingForm.OPEN_DATA),
            ),
            CategoryData(
                name="Chủ sử dụng đất",
                elements=[
                    ElementData(name="Họ và tên", data_type=ElementType.TEXT, is_personal_data=True),
                ],
                availability=matrix(SharingForm.SPECIAL_REQUEST, SharingForm.SPECIAL_REQUEST,
                                    SharingForm.NOT_SHARED, SharingForm.NOT_SHARED, SharingForm.NOT_SHARED),
            ),
        ],
    )
    values.update(overrides)
    return EntryData(**values)


def staff(role: Role, agency: Agency | None) -> Actor:
    """An actor without a stored user (password hashing would make every test slow)."""
    return Actor(role=role, user_id=None, email=f"{role.value}-{uuid.uuid4().hex[:6]}@example.vn",
                 agency_id=agency.id if agency else None)


@dataclass
class World:
    db: Session
    land: Agency  # owner of the test entries
    finance: Agency
    a_admin: Actor
    a_editor: Actor  # editor of ``land``
    land_admin: Actor
    land_approver: Actor
    finance_editor: Actor
    citizen: Actor

    def accepted(self, code: str, **overrides: Any) -> Any:
        """An entry saved by its editor, submitted and accepted by the IT unit."""
        service.save_entry(self.db, self.a_editor, complete_entry(code, self.land.code, **overrides))
        service.submit(self.db, self.a_editor, code)
        return service.accept(self.db, self.a_admin, code)


@pytest.fixture
def world(db: Session) -> World:
    land = make_agency(db, "T-SNNMT", name_vi="Sở Nông nghiệp và Môi trường thử nghiệm")
    finance = make_agency(db, "T-STC", name_vi="Sở Tài chính thử nghiệm")
    gender = codelists.create_code_list(db, SYSTEM, codelists.CodeListInput(code="gioi-tinh", name="Giới tính"))
    codelists.import_version(
        db, SYSTEM, gender.code, "1",
        [codelists.ItemRow("1", "Nam"), codelists.ItemRow("2", "Nữ"), codelists.ItemRow("3", "Khác")],
    )
    w = World(
        db=db,
        land=land,
        finance=finance,
        a_admin=staff(Role.PLATFORM_ADMIN, None),
        a_editor=staff(Role.AGENCY_EDITOR, land),
        land_admin=staff(Role.AGENCY_ADMIN, land),
        land_approver=staff(Role.AGENCY_APPROVER, land),
        finance_editor=staff(Role.AGENCY_EDITOR, finance),
        citizen=staff(Role.CITIZEN, None),
    )
    db.commit()
    return w
