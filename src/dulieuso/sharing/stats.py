# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sharing statistics read from the sharing log (Art. 31(2)(d), 32(2)(b), 45): calls,
refusals, errors and latency p50/p95 per service, consumer and day, and, for a provider,
who accessed a database's data, when and why."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor, can, require
from dulieuso.catalog.models import Database
from dulieuso.errors import NotFound
from dulieuso.i18n import Msg
from dulieuso.policy.service import LOCAL_TZ
from dulieuso.sharing.log_models import SharingLogEntry
from dulieuso.sharing.models import DataService, service_databases
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import it_unit_id, now

#: Most log rows one statistics page reads (the newest first).
MAX_ROWS = 500_000


def percentile(values: list[int], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (``p`` in 0–100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return float(ordered[rank - 1])


def _sees_everything(session: Session, actor: Actor) -> bool:
    return can(actor, SharingAction.STATS_VIEW, None) or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))


def classify(status: int, outcome: str) -> str:
    """``ok``, ``refused`` (the gateway said no) or ``error`` (5xx, upstream failures)."""
    if status >= 500:
        return "error"
    if outcome.startswith("gateway."):
        return "refused"
    if status >= 400:
        return "error"
    return "ok"


class _Bucket:
    __slots__ = ("calls", "ok", "refused", "errors", "latencies")

    def __init__(self) -> None:
        self.calls = 0
        self.ok = 0
        self.refused = 0
        self.errors = 0
        self.latencies: list[int] = []

    def add(self, kind: str, latency_us: int) -> None:
        self.calls += 1
        if kind == "ok":
            self.ok += 1
        elif kind == "refused":
            self.refused += 1
        else:
            self.errors += 1
        self.latencies.append(latency_us)

    def view(self, key: str) -> dict[str, Any]:
        p50 = percentile(self.latencies, 50)
        p95 = percentile(self.latencies, 95)
        return {
            "key": key, "calls": self.calls, "ok": self.ok, "refused": self.refused, "errors": self.errors,
            "p50_ms": round(p50 / 1000, 2) if p50 is not None else None,
            "p95_ms": round(p95 / 1000, 2) if p95 is not None else None,
        }


def overview(session: Session, actor: Actor, *, days: int = 30, service_code: str | None = None,
             at: datetime | None = None) -> dict[str, Any]:
    """Totals and breakdowns for the last ``days`` days: everything for the IT unit and the
    administrators, the calls to or from the actor's agency for anyone else."""
    everything = _sees_everything(session, actor)
    if not everything:
        require(actor, SharingAction.STATS_VIEW, actor.agency_id)
    since = (at or now()) - timedelta(days=days)
    stmt = select(
        SharingLogEntry.request_at, SharingLogEntry.service_code, SharingLogEntry.consumer_agency_code,
        SharingLogEntry.status, SharingLogEntry.outcome, SharingLogEntry.latency_us,
    ).where(SharingLogEntry.request_at >= since)
    if not everything:
        agency = str(actor.agency_id)
        stmt = stmt.where(or_(SharingLogEntry.provider_agency_id == agency, SharingLogEntry.consumer_agency_id == agency))
    if service_code:
        stmt = stmt.where(SharingLogEntry.service_code == service_code)
    total = _Bucket()
    by_service: dict[str, _Bucket] = defaultdict(_Bucket)
    by_consumer: dict[str, _Bucket] = defaultdict(_Bucket)
    by_day: dict[str, _Bucket] = defaultdict(_Bucket)
    outcomes: dict[str, int] = defaultdict(int)
    for row in session.execute(stmt.order_by(SharingLogEntry.request_at.desc()).limit(MAX_ROWS)):
        kind = classify(row.status, row.outcome)
        latency = int(row.latency_us or 0)
        day = row.request_at.astimezone(LOCAL_TZ).date().isoformat()
        total.add(kind, latency)
        by_service[row.service_code or "—"].add(kind, latency)
        by_consumer[row.consumer_agency_code or "—"].add(kind, latency)
        by_day[day].add(kind, latency)
        if kind != "ok":
            outcomes[row.outcome] += 1
    return {
        "since": since.isoformat(),
        "days": days,
        "scope": "all" if everything else "agency",
        "total": total.view("total"),
        "by_service": [b.view(k) for k, b in sorted(by_service.items())],
        "by_consumer": [b.view(k) for k, b in sorted(by_consumer.items())],
        "by_day": [b.view(k) for k, b in sorted(by_day.items())],
        "refusals_and_errors": dict(sorted(outcomes.items(), key=lambda kv: -kv[1])),
    }


def database_access(session: Session, actor: Actor, code: str, *, days: int = 30, limit: int = 200,
                    at: datetime | None = None) -> dict[str, Any]:
    """Who accessed this database's data, when, why: the log entries of every service
    built on it, newest first. For the database's owner, the providers and the IT unit."""
    database = session.scalar(select(Database).where(Database.code == code))
    if database is None:
        raise NotFound(Msg("Database not found."))
    service_rows = session.execute(
        select(DataService.id, DataService.code, DataService.provider_agency_id)
        .join(service_databases, service_databases.c.service_id == DataService.id)
        .where(service_databases.c.database_id == database.id)
    ).all()
    owners: set[uuid.UUID] = {database.owner_agency_id} | {r.provider_agency_id for r in service_rows}
    if not (_sees_everything(session, actor) or any(can(actor, SharingAction.STATS_VIEW, a) for a in owners)):
        raise NotFound(Msg("Database not found."))
    since = (at or now()) - timedelta(days=days)
    codes = [r.code for r in service_rows]
    entries: list[dict[str, Any]] = []
    if codes:
        rows = session.scalars(
            select(SharingLogEntry)
            .where(SharingLogEntry.service_code.in_(codes), SharingLogEntry.request_at >= since)
            .order_by(SharingLogEntry.request_at.desc())
            .limit(limit)
        )
        for e in rows:
            entries.append({
                "request_at": e.request_at.isoformat(), "consumer_agency_code": e.consumer_agency_code,
                "client_id": e.client_id, "service_code": e.service_code, "operation": e.operation,
                "method": e.method, "path": e.path, "status": e.status, "outcome": e.outcome,
                "purpose": e.purpose, "case_id": e.case_id, "end_user": e.end_user,
                "fields_returned": e.fields_returned, "request_id": e.request_id,
            })
    return {"database_code": database.code, "database_name": database.name, "services": codes,
            "since": since.isoformat(), "items": entries, "total": len(entries)}
