# SPDX-License-Identifier: AGPL-3.0-or-later
"""Open-data fixtures: an agency with staff, catalog source databases, real files."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import make_agency
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM, Actor
from dulieuso.catalog.models import (
    CategoryAvailability,
    Database,
    DataCategory,
    EntryStatus,
    Importance,
    SharingForm,
    SharingScope,
    UserType,
)
from dulieuso.config import Settings
from dulieuso.opendata import resources, service
from dulieuso.opendata.models import Dataset

SCHOOLS_CSV = (
    "Mã trường,Tên trường,Xã,Số học sinh,Ngày thành lập\n"
    "TH01,Trường Tiểu học Tam Đường,Bình Lư,420,01/09/1995\n"
    "TH02,Trường Tiểu học Sìn Hồ,Sìn Hồ,315,15/08/2001\n"
    "TH03,=HYPERLINK(\"http://x\"),Phong Thổ,128,05/09/2010\n"
).encode()

CITIZENS_CSV = (
    "Họ và tên,Số CCCD,Xã\n"
    "Nguyễn Văn An,001089012345,Bình Lư\n"
    "Lò Thị Bình,001190023456,Sìn Hồ\n"
    "Tòng Văn Cường,001095034567,Phong Thổ\n"
    "Giàng A Dơ,001088045678,Mường Tè\n"
).encode()


def staff(role: Role, agency: Agency | None) -> Actor:
    return Actor(role=role, user_id=None, email=f"{role.value}-{uuid.uuid4().hex[:6]}@example.vn",
                 agency_id=agency.id if agency else None)


def make_database(db: Session, agency: Agency, *, code: str | None = None, open_data: bool = True,
                  scope: SharingScope = SharingScope.OPEN, importance: Importance = Importance.OTHER,
                  secret: bool = False) -> Database:
    database = Database(
        code=code or f"CSDL-{uuid.uuid4().hex[:6].upper()}", name="CSDL thử nghiệm", owner_agency_id=agency.id,
        sharing_scope=scope, importance=importance, contains_state_secret=secret, status=EntryStatus.ACCEPTED,
    )
    category = DataCategory(name="Hạng mục", position=0)
    for user_type in UserType:
        form = SharingForm.OPEN_DATA if open_data and user_type is UserType.INDIVIDUALS else SharingForm.DEFAULT
        category.availability.append(CategoryAvailability(user_type=user_type, sharing_form=form))
    database.categories.append(category)
    db.add(database)
    db.flush()
    record(db, SYSTEM, "catalog:database:create", database, label=database.code)
    return database


@dataclass
class World:
    db: Session
    settings: Settings
    agency: Agency
    other: Agency
    admin: Actor
    editor: Actor
    approver: Actor
    agency_admin: Actor
    other_editor: Actor
    source: Database

    def dataset(self, title: str = "Danh sách trường học", **fields: object) -> Dataset:
        data = {"title": title, "source_database": self.source.code, "notes": "Mô tả", **fields}
        return service.create_dataset(self.db, self.editor, data)

    def upload(self, dataset: Dataset, content: bytes = SCHOOLS_CSV, filename: str = "truong-hoc.csv", **data: object):
        return resources.add_resource(
            self.db, self.editor, dataset.id, {"name": data.pop("name", filename), **data}, settings=self.settings,
            upload=resources.Upload(filename, io.BytesIO(content)), wait=True,
        )


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    settings.ensure_data_dir()
    agency = make_agency(db, name_vi="Sở Giáo dục và Đào tạo tỉnh Lai Châu")
    other = make_agency(db)
    source = make_database(db, agency)
    return World(
        db=db, settings=settings, agency=agency, other=other,
        admin=staff(Role.PLATFORM_ADMIN, None), editor=staff(Role.AGENCY_EDITOR, agency),
        approver=staff(Role.AGENCY_APPROVER, agency), agency_admin=staff(Role.AGENCY_ADMIN, agency),
        other_editor=staff(Role.AGENCY_EDITOR, other), source=source,
    )


DATA = Path(__file__).parent / "data"
