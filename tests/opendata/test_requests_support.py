# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures of the voice and plan tests (no tests here): agencies with staff and a focal
point who has an account, citizens, public datasets, and an app with the voice routers.

Kept in a ``test_*`` module (and imported by the others) because this suite's own
conftest belongs to the open-data core."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dulieuso.agencies import service as agencies
from dulieuso.agencies.models import Agency
from dulieuso.app import API_PREFIX, create_app
from dulieuso.audit.service import record
from dulieuso.auth import service as auth_service
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import SYSTEM, Actor
from dulieuso.config import Settings
from dulieuso.opendata.licenses import default_license_id
from dulieuso.opendata.models import Dataset, DatasetState
from dulieuso.policy import service as policy
from tests.conftest import PASSWORD, actor_of, make_agency

_HASH: list[str] = []


def make_user(db: Session, role: Role, agency: Agency | None = None, *, full_name: str = "Nguyễn Văn Thử",
              email: str | None = None) -> User:
    """An account that logs in with ``PASSWORD``. Hashing a password is slow on purpose,
    so the hash is made once per run and the row written directly (audited)."""
    if not _HASH:
        _HASH.append(auth_service.hash_password(PASSWORD))
    user = User(
        email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.vn", full_name=full_name, role=role,
        agency_id=agency.id if agency else None, password_hash=_HASH[0], is_active=True,
        email_confirmed_at=datetime.now(UTC), language="vi",
    )
    db.add(user)
    db.flush()
    record(db, SYSTEM, "auth:user:create", user, label=user.email)
    return user


@dataclass
class Voice:
    db: Session
    agency: Agency
    other: Agency
    it: Agency
    citizen: User
    citizen2: User
    staff: User  # editor of ``agency``
    agency_admin: User
    focal: User  # ``agency``'s focal point: an approver account with the focal point's e-mail
    other_staff: User
    admin: User

    def actor(self, user: User) -> Actor:
        return actor_of(user)

    def dataset(self, title: str = "Danh sách trường học", *, agency: Agency | None = None, public: bool = True,
                published_days_ago: int = 10, frequency: str | None = None) -> Dataset:
        published = datetime.now(UTC) - timedelta(days=published_days_ago)
        dataset = Dataset(
            name=f"ds-{uuid.uuid4().hex[:10]}", title=title, agency_id=(agency or self.agency).id,
            license_id=default_license_id(self.db), private=not public,
            state=DatasetState.ACTIVE if public else DatasetState.DRAFT,
            published_at=published if public else None, update_frequency=frequency,
        )
        self.db.add(dataset)
        self.db.flush()
        record(self.db, SYSTEM, "opendata:dataset:create", dataset, label=dataset.name)
        return dataset


@pytest.fixture
def voice(db: Session) -> Voice:
    policy.seed(db, SYSTEM)
    it = make_agency(db, name_vi="Sở Khoa học và Công nghệ (thử)", is_it_unit=True)
    # Demo data may not be loaded; make sure ours is the only IT unit the lookups find.
    for other_unit in db.query(Agency).filter(Agency.is_it_unit.is_(True), Agency.id != it.id):
        other_unit.is_it_unit = False
        record(db, SYSTEM, "agencies:agency:update", other_unit, label=other_unit.code)
    agency = make_agency(db, name_vi="Sở Giáo dục và Đào tạo (thử)")
    other = make_agency(db, name_vi="Sở Y tế (thử)")
    focal_email = f"daumoi-{uuid.uuid4().hex[:6]}@example.vn"
    agencies.assign_focal_point(db, SYSTEM, agency, agencies.FocalPointInput(
        full_name="Lò Văn Đầu Mối", position="Chuyên viên", function="Đầu mối dữ liệu mở",
        phone="0912 000 111", email=focal_email, valid_from="2026-01-01",
    ))
    world = Voice(
        db=db, agency=agency, other=other, it=it,
        citizen=make_user(db, Role.CITIZEN, full_name="Nguyễn Thị Dân"),
        citizen2=make_user(db, Role.CITIZEN, full_name="Trần Văn Hai"),
        staff=make_user(db, Role.AGENCY_EDITOR, agency),
        agency_admin=make_user(db, Role.AGENCY_ADMIN, agency),
        focal=make_user(db, Role.AGENCY_APPROVER, agency, email=focal_email),
        other_staff=make_user(db, Role.AGENCY_EDITOR, other),
        admin=make_user(db, Role.PLATFORM_ADMIN),
    )
    db.commit()
    return world


def voice_app(settings: Settings, session_factory: sessionmaker[Session]) -> Any:
    """The platform with the voice routers mounted (until app.py mounts them itself)."""
    from dulieuso.opendata import voice_api, voice_views

    application = create_app(settings, session_factory=session_factory, migrate=False)
    paths = {getattr(r, "path", "") for r in application.routes}
    if "/data/requests" not in paths:
        application.include_router(voice_api.router, prefix=API_PREFIX)
        application.include_router(voice_views.router)
    return application


@pytest.fixture
def vclient(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(voice_app(settings, session_factory)) as test_client:
        yield test_client
