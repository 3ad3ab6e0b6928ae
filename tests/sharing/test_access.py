# SPDX-License-Identifier: AGPL-3.0-or-later
"""``RegistryAccess.decide``: one test per outcome, in the order they are checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dulieuso.sharing import requests, services
from dulieuso.sharing.access import in_window, match_operation, registry_access
from dulieuso.sharing.models import (
    GrantStatus,
    ServiceStatus,
    Suspension,
    SuspensionKind,
    SuspensionScope,
)
from tests.sharing.conftest import World

CODE = "dat-dai.thua-dat"
NOON = datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # 12:00 in Lai Châu


@pytest.fixture
def granted(world: World):
    world.service()
    application = world.application()
    request = requests.submit(world.db, world.actor(world.c_editor), requests.RequestInput(
        service_code=CODE, purpose="Thủ tục", frequency="hằng ngày", requested_fields=["parcel_id", "area_m2"],
        application_id=application.id, operations=["getParcel"]))
    approval = requests.approve(world.db, world.actor(world.p_approver), request.id,
                                requests.Decision(quota_per_minute=30, quota_per_day=500))
    approval.grant.valid_from = NOON - timedelta(days=1)
    world.db.flush()
    caller = registry_access.authenticate_client(world.db, approval.issued.account.client_id, approval.issued.client_secret)
    assert caller is not None
    return world, approval, caller


def decide(world, caller, method="GET", path="/parcels/123", code=CODE, now=NOON):
    return registry_access.decide(world.db, caller, code, method, path, now)


def test_allowed_call_carries_quotas_fields_and_validity(granted):
    world, approval, caller = granted
    decision = decide(world, caller)
    assert decision.allowed and decision.operation == "getParcel"
    assert decision.allowed_fields == ("parcel_id", "area_m2")
    assert decision.quota_per_minute == 30 and decision.quota_per_day == 500
    assert decision.data_valid_until == NOON + timedelta(hours=24)
    assert decision.upstream_base_url.endswith("/demo-upstream/land")
    assert decision.grant_id == approval.grant.id


def test_unknown_service(granted):
    world, _, caller = granted
    decision = decide(world, caller, code="khong-co")
    assert (decision.allowed, decision.reason, decision.http_status) == (False, "gateway.unknown_service", 404)


def test_service_suspended_for_everyone_gives_restoration_time(granted):
    world, _, caller = granted
    service = services.get_service(world.db, world.actor(world.p_admin), CODE)
    ends = NOON + timedelta(hours=3)
    world.db.add(Suspension(service_id=service.id, scope=SuspensionScope.ALL, kind=SuspensionKind.FORCE_MAJEURE,
                            starts_at=NOON - timedelta(hours=1), ends_at=ends, reason="Sự cố"))
    world.db.flush()
    decision = decide(world, caller)
    assert (decision.reason, decision.http_status) == ("gateway.suspended", 503)
    assert decision.extra["restoration_at"] == ends.isoformat()


def test_retired_service_is_unavailable(granted):
    world, _, caller = granted
    service = services.get_service(world.db, world.actor(world.p_admin), CODE)
    service.status = ServiceStatus.RETIRED
    assert decide(world, caller).reason == "gateway.service_unavailable"


def test_no_grant(granted):
    world, _, caller = granted
    world.service("doanh-nghiep.tra-cuu")
    decision = decide(world, caller, code="doanh-nghiep.tra-cuu")
    assert (decision.reason, decision.http_status) == ("gateway.no_grant", 403)


def test_grant_expired_and_not_yet_valid(granted):
    world, approval, caller = granted
    approval.grant.valid_to = NOON - timedelta(minutes=1)
    assert decide(world, caller).reason == "gateway.grant_expired"
    approval.grant.valid_to = None
    approval.grant.valid_from = NOON + timedelta(days=1)
    assert decide(world, caller).reason == "gateway.grant_expired"


def test_operation_not_allowed_and_unknown(granted):
    world, _, caller = granted
    assert decide(world, caller, path="/parcels").reason == "gateway.operation_not_allowed"
    assert decide(world, caller, method="DELETE").http_status == 404


def test_consumer_suspended(granted):
    world, approval, caller = granted
    approval.grant.status = GrantStatus.SUSPENDED
    assert (decide(world, caller).reason, decide(world, caller).http_status) == ("gateway.consumer_suspended", 403)


def test_outside_availability_window(granted):
    world, _, caller = granted
    service = services.get_service(world.db, world.actor(world.p_admin), CODE)
    service.available_from, service.available_to = "07:00", "22:00"
    night = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 23:00 local
    decision = decide(world, caller, now=night)
    assert (decision.reason, decision.http_status) == ("gateway.outside_window", 503)
    assert decide(world, caller).allowed


def test_wrong_secret_and_api_key(granted):
    world, approval, _ = granted
    assert registry_access.authenticate_client(world.db, approval.issued.account.client_id, "sai") is None
    assert registry_access.authenticate_api_key(world.db, "dlsk_khong-co") is None
    assert registry_access.caller_by_account(world.db, approval.issued.account.id) is not None


def test_path_patterns():
    ops = [{"name": "a", "method": "GET", "path": "/x/{id}"}, {"name": "b", "method": "POST", "path": "/x"}]
    assert match_operation(ops, "get", "x/1")["name"] == "a"
    assert match_operation(ops, "GET", "/x/1/2") is None
    assert match_operation(ops, "POST", "/x/")["name"] == "b"


def test_window_wrapping_midnight():
    class S:
        available_from, available_to, availability_timezone = "22:00", "06:00", "Asia/Ho_Chi_Minh"

    assert in_window(S, datetime(2026, 1, 1, 16, 30, tzinfo=UTC))  # 23:30 local
    assert not in_window(S, datetime(2026, 1, 1, 5, 0, tzinfo=UTC))  # 12:00 local
