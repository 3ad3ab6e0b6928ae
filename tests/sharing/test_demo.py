# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sharing demo loads once, publishes three services and can be called at once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import SYSTEM
from dulieuso.policy import service as policy
from dulieuso.sharing.access import registry_access
from dulieuso.sharing.demo import load_demo
from dulieuso.sharing.models import (
    ConnectionRequest,
    DataService,
    RequestStatus,
    ServiceStatus,
    StorageMode,
    UsageReport,
    UsageReportStatus,
)
from tests.conftest import make_agency
from tests.sharing.conftest import make_database


def test_demo_is_idempotent_and_usable(db):
    policy.seed(db, SYSTEM)
    for code in ("LCU", "LCU-SNNMT", "LCU-STC", "LCU-SDTTG"):
        make_agency(db, code)
    agencies = {a: db.scalar(select(Agency).where(Agency.code == a)) for a in ("LCU-SNNMT", "LCU-STC", "LCU-SDTTG")}
    make_database(db, agencies["LCU-SNNMT"], "LCU-SNNMT-DATDAI")
    make_database(db, agencies["LCU-STC"], "LCU-STC-DOANHNGHIEP")
    make_database(db, agencies["LCU-SDTTG"], "LCU-SDTTG-DANTOC")
    first = load_demo(db, SYSTEM, base_url="http://127.0.0.1:8000")
    assert first["published"] == 3 and first["requests"] == 2 and first["usage_reports"] == 2
    assert load_demo(db, SYSTEM, base_url="http://127.0.0.1:8000") == {
        "regulations": 0, "services": 0, "published": 0, "applications": 0, "accounts": 0, "requests": 0,
        "usage_reports": 0}
    db.commit()
    services = db.scalars(select(DataService).order_by(DataService.code)).all()
    assert [(s.code, s.status) for s in services] == [
        ("dan-so", ServiceStatus.PUBLISHED), ("doanh-nghiep", ServiceStatus.PUBLISHED), ("thua-dat", ServiceStatus.PUBLISHED)]
    assert services[2].upstream_base_url == "http://127.0.0.1:8000/demo-upstream/thua-dat"
    statuses = sorted(r.status for r in db.scalars(select(ConnectionRequest)))
    assert statuses == [RequestStatus.APPROVED, RequestStatus.SUBMITTED]
    pending = db.scalar(select(ConnectionRequest).where(ConnectionRequest.status == RequestStatus.SUBMITTED))
    assert pending is not None and pending.storage_mode is StorageMode.BEYOND_VALIDITY and pending.storage_days == 365
    reports = db.scalars(select(UsageReport).order_by(UsageReport.requested_at)).all()
    assert sorted(r.status for r in reports) == [UsageReportStatus.ANSWERED, UsageReportStatus.REQUESTED]
    answered = next(r for r in reports if r.status is UsageReportStatus.ANSWERED)
    assert answered.storage and answered.period_from is not None and answered.answered_at is not None
    caller = registry_access.authenticate_client(db, "demo-snnmt-motcua", "demo-snnmt-secret-2026")
    assert caller is not None
    decision = registry_access.decide(db, caller, "doanh-nghiep", "GET", "/enterprises/6200012345", datetime.now(UTC))
    assert decision.allowed and "legal_rep_cccd" not in decision.allowed_fields
    assert registry_access.decide(db, caller, "dan-so", "GET", "/communes", datetime.now(UTC)).reason == "gateway.no_grant"
    assert db.scalar(select(func.count()).select_from(DataService)) == 3


def test_demo_without_catalog_databases_keeps_services_as_drafts(db):
    policy.seed(db, SYSTEM)
    for code in ("LCU", "LCU-SNNMT", "LCU-STC", "LCU-SDTTG"):
        make_agency(db, code)
    counts = load_demo(db, SYSTEM, base_url="http://127.0.0.1:8000")
    assert counts["services"] == 3 and counts["published"] == 0
    db.commit()
