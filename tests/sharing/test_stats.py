# SPDX-License-Identifier: AGPL-3.0-or-later
"""Statistics over the sharing log: percentiles, classification, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dulieuso.errors import Forbidden
from dulieuso.sharing import stats
from dulieuso.sharing.log_models import SharingLogEntry
from tests.sharing.conftest import World


def test_percentiles_are_nearest_rank():
    assert stats.percentile([], 50) is None
    assert stats.percentile([5], 95) == 5
    values = list(range(1, 101))
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 95) == 95


@pytest.mark.parametrize(("status", "outcome", "kind"), [
    (200, "ok", "ok"), (404, "upstream.http_error", "error"), (403, "gateway.no_grant", "refused"),
    (429, "gateway.quota_exceeded", "refused"), (503, "gateway.suspended", "error"), (504, "gateway.upstream_timeout", "error"),
])
def test_classification(status, outcome, kind):
    assert stats.classify(status, outcome) == kind


def _entry(world: World, seq: int, at: datetime, consumer: str, status: int = 200, outcome: str = "ok", latency: int = 1000):
    agency = world.consumer if consumer == "T-STC" else world.other
    return SharingLogEntry(
        seq=seq, prev_hash="0" * 64, entry_hash=f"{seq:064d}", request_id=f"r{seq}", request_at=at, response_at=at,
        latency_us=latency, consumer_agency_id=str(agency.id), consumer_agency_code=consumer,
        service_code="dat-dai.thua-dat", provider_agency_id=str(world.provider.id), method="GET", path="/parcels/1",
        query="", status=status, outcome=outcome, bytes_in=0, bytes_out=1, request_sha256="0" * 64,
        response_sha256="0" * 64,
    )


def test_breakdowns_and_scopes(world: World):
    now = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
    world.db.add_all([
        _entry(world, 1, now - timedelta(days=1), "T-STC", latency=2000),
        _entry(world, 2, now, "T-STC", latency=4000),
        _entry(world, 3, now, "T-SYT", 403, "gateway.no_grant", 300),
        _entry(world, 4, now - timedelta(days=40), "T-STC"),  # outside the window
    ])
    world.db.flush()
    everything = stats.overview(world.db, world.actor(world.admin), days=30, at=now)
    assert everything["total"]["calls"] == 3 and everything["total"]["refused"] == 1
    assert [d["key"] for d in everything["by_day"]] == ["2026-06-09", "2026-06-10"]
    assert {c["key"]: c["calls"] for c in everything["by_consumer"]} == {"T-STC": 2, "T-SYT": 1}
    assert everything["refusals_and_errors"] == {"gateway.no_grant": 1}
    consumer = stats.overview(world.db, world.actor(world.c_admin), days=30, at=now)
    assert consumer["scope"] == "agency" and consumer["total"]["calls"] == 2
    assert consumer["total"]["p50_ms"] == 2.0 and consumer["total"]["p95_ms"] == 4.0
    with pytest.raises(Forbidden):
        stats.overview(world.db, world.actor(world.admin).__class__(role=world.c_admin.role), days=30, at=now)
