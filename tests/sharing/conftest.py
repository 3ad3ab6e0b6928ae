# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sharing test fixtures: a provider and a consumer agency with staff, the IT unit, a
shared catalog database, a usage regulation in force and a complete draft service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record
from dulieuso.auth import service as auth_service
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import SYSTEM, Actor
from dulieuso.db import utcnow
from dulieuso.catalog.models import Database, EntryStatus, Importance, SharingScope
from dulieuso.policy import service as policy
from dulieuso.sharing import consumers, regulations, services
from dulieuso.sharing.models import DataService, UsageRegulation
from tests.conftest import PASSWORD, actor_of, make_agency

RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {
        "parcel_id": {"type": "string"},
        "owner_name": {"type": "string"},
        "area_m2": {"type": "number"},
        "land_use": {"type": "string"},
    },
}
OPERATIONS = [
    {"name": "getParcel", "method": "GET", "path": "/parcels/{parcel_id}", "summary": "One parcel",
     "parameters": [{"name": "parcel_id", "in": "path", "required": True}]},
    {"name": "searchParcels", "method": "GET", "path": "/parcels", "summary": "Search",
     "parameters": [{"name": "commune", "in": "query"}]},
]


def make_database(db: Session, owner: Agency, code: str, **fields: Any) -> Database:
    fields.setdefault("sharing_scope", SharingScope.SHARED)
    database = Database(
        code=code, name=f"CSDL {code}", owner_agency_id=owner.id, importance=Importance.OTHER,
        status=EntryStatus.ACCEPTED, **fields,
    )
    db.add(database)
    record(db, SYSTEM, "catalog:database:create", database, label=code)
    return database


def service_input(code: str = "dat-dai.thua-dat", **overrides: Any) -> services.ServiceInput:
    data: dict[str, Any] = dict(
        code=code, name="Tra cứu thửa đất", version="1.0", description="Tra cứu thông tin thửa đất",
        upstream_base_url="http://127.0.0.1:9/demo-upstream/land", timeout_seconds=10,
        operations=OPERATIONS, request_schema={"type": "object"}, response_schema=RESPONSE_SCHEMA,
        schema_standard="JSON Schema 2020-12", rate_limit_per_minute=600, max_concurrency=20,
        regulation_code="QC-01", contact_name="Nguyễn Văn A", contact_email="a@example.vn",
        database_codes=["CSDL-DD"],
    )
    data.update(overrides)
    return services.ServiceInput(**data)


@dataclass
class World:
    db: Session
    provider: Agency
    consumer: Agency
    other: Agency
    it_unit: Agency
    admin: User
    p_admin: User
    p_approver: User
    p_editor: User
    c_admin: User
    c_editor: User
    o_admin: User
    it_admin: User
    database: Database
    regulation: UsageRegulation

    def actor(self, user: User) -> Actor:
        return actor_of(user)

    def service(self, code: str = "dat-dai.thua-dat", publish: bool = True, **overrides: Any) -> DataService:
        service = services.create_service(self.db, self.actor(self.p_editor), service_input(code, **overrides))
        if publish:
            services.publish(self.db, self.actor(self.p_approver), service.code)
        self.db.flush()
        return service

    def application(self, code: str = "app-1") -> Any:
        return consumers.create_application(
            self.db, self.actor(self.c_admin), consumers.ApplicationInput(code=code, name="Hệ thống một cửa")
        )


_HASH: list[str] = []


def _user(db: Session, role: Role, agency: Agency | None = None) -> User:
    """An account with the test password, hashed once per run (argon2 is slow here)."""
    if not _HASH:
        _HASH.append(auth_service.hash_password(PASSWORD))
    user = User(
        email=f"{role.value}-{uuid.uuid4().hex[:6]}@example.vn", full_name="Nguyễn Văn Thử", role=role,
        agency_id=agency.id if agency else None, password_hash=_HASH[0], email_confirmed_at=utcnow(),
    )
    db.add(user)
    db.flush()
    record(db, SYSTEM, "auth:user:create", user, label=user.email)
    return user


@pytest.fixture
def world(db: Session) -> World:
    policy.seed(db, SYSTEM)
    provider = make_agency(db, "T-SNNMT", name_vi="Sở Nông nghiệp và Môi trường (thử)")
    consumer = make_agency(db, "T-STC", name_vi="Sở Tài chính (thử)")
    other = make_agency(db, "T-SYT", name_vi="Sở Y tế (thử)")
    it_unit = make_agency(db, "T-SKHCN", name_vi="Sở Khoa học và Công nghệ (thử)", is_it_unit=True)
    database = make_database(db, provider, "CSDL-DD")
    db.flush()
    w = World(
        db=db, provider=provider, consumer=consumer, other=other, it_unit=it_unit,
        admin=_user(db, Role.PLATFORM_ADMIN),
        p_admin=_user(db, Role.AGENCY_ADMIN, provider),
        p_approver=_user(db, Role.AGENCY_APPROVER, provider),
        p_editor=_user(db, Role.AGENCY_EDITOR, provider),
        c_admin=_user(db, Role.AGENCY_ADMIN, consumer),
        c_editor=_user(db, Role.AGENCY_EDITOR, consumer),
        o_admin=_user(db, Role.AGENCY_ADMIN, other),
        it_admin=_user(db, Role.AGENCY_ADMIN, it_unit),
        database=database, regulation=None,  # type: ignore[arg-type]
    )
    from datetime import date

    w.regulation = regulations.create_regulation(
        db, actor_of(w.p_admin),
        regulations.RegulationInput(
            code="QC-01", title="Quy chế khai thác CSDL đất đai", decision_number="12/QĐ-UBND",
            decision_date=date(2026, 1, 5), document_url="https://laichau.gov.vn/qc-01.pdf",
            database_codes=["CSDL-DD"], period_online_query_hours=24, log_retention_days=1825,
        ),
    )
    db.flush()
    return w
