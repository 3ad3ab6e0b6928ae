# SPDX-License-Identifier: AGPL-3.0-or-later
"""The registry's side of the gateway contract (``sharing/interfaces.py``).

``RegistryAccess`` authenticates connection accounts and decides, for one request, what
the gateway may do. It only reads: quotas are enforced and every decision is logged by
the gateway. Refusals, in the order they are checked:

==============================  ======  ==========================================
reason                          status  when
==============================  ======  ==========================================
gateway.unknown_service         404     no published service has this code
gateway.service_unavailable     503     the service is retired
gateway.suspended               503     suspended for everyone (restoration time in
                                        ``extra["restoration_at"]`` when known)
gateway.no_grant                403     the caller's application holds no grant
gateway.grant_expired           403     no grant is valid at this moment
gateway.unknown_operation       404     method + path match no operation
gateway.operation_not_allowed   403     the grant does not cover the operation
gateway.consumer_suspended      403     the consumer (or its grant) is suspended
gateway.outside_window          503     outside the service's availability window
==============================  ======  ==========================================
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.db import utcnow
from dulieuso.sharing.interfaces import AccessDecision, Caller
from dulieuso.sharing.models import (
    AccountStatus,
    Application,
    ApplicationStatus,
    ConnectionAccount,
    DataService,
    Grant,
    GrantStatus,
    ServiceStatus,
    SharingMethod,
    Suspension,
    SuspensionScope,
)


def hash_secret(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (client secrets and API keys)."""
    return hashlib.sha256(value.encode()).hexdigest()


@lru_cache(maxsize=512)
def _path_regex(pattern: str) -> re.Pattern[str]:
    """``/parcels/{id}`` → a regex where each ``{param}`` matches one path segment."""
    parts = re.split(r"(\{[^/{}]+\})", pattern.strip() or "/")
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{body.rstrip('/') or ''}/?$")


def match_operation(operations: Sequence[dict[str, Any]], method: str, path: str) -> dict[str, Any] | None:
    """The operation whose method and path pattern match the request, if any."""
    path = "/" + path.lstrip("/")
    method = method.upper()
    for op in operations:
        if str(op.get("method", "GET")).upper() != method:
            continue
        if _path_regex(str(op.get("path", "/"))).match(path):
            return op
    return None


def active_suspensions(
    session: Session, service_id: uuid.UUID, now: datetime, scope: SuspensionScope | None = None
) -> list[Suspension]:
    """Suspensions of the service in effect at ``now`` (started, not lifted, not past restoration)."""
    stmt = select(Suspension).where(
        Suspension.service_id == service_id,
        Suspension.starts_at <= now,
        Suspension.lifted_at.is_(None),
        Suspension.cancelled_at.is_(None),
        or_(Suspension.ends_at.is_(None), Suspension.ends_at > now),
    )
    if scope is not None:
        stmt = stmt.where(Suspension.scope == scope)
    return list(session.scalars(stmt.order_by(Suspension.starts_at)))


def in_window(service: DataService, now: datetime) -> bool:
    """Is ``now`` inside the service's availability window (local time; may wrap midnight)?"""
    if not service.available_from or not service.available_to:
        return True
    local = now.astimezone(ZoneInfo(service.availability_timezone or "Asia/Ho_Chi_Minh")).time()
    start = time.fromisoformat(service.available_from)
    end = time.fromisoformat(service.available_to)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def data_valid_until(service: DataService, now: datetime) -> datetime | None:
    """Art. 41: until when data retrieved at ``now`` may be used, per the regulation."""
    regulation = service.regulation
    if regulation is None:
        return None
    if service.method is SharingMethod.ONLINE_QUERY and regulation.period_online_query_hours:
        return now + timedelta(hours=regulation.period_online_query_hours)
    if service.method is SharingMethod.SYNC and regulation.period_sync_days:
        return now + timedelta(days=regulation.period_sync_days)
    if service.method is SharingMethod.PACKAGE and regulation.period_package_days:
        return now + timedelta(days=regulation.period_package_days)
    return None


def _smaller(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _refuse(reason: str, status: int, service: DataService | None = None, **extra: str) -> AccessDecision:
    return AccessDecision(
        allowed=False,
        reason=reason,
        http_status=status,
        service_id=service.id if service else None,
        service_code=service.code if service else None,
        service_version=service.version if service else None,
        provider_agency_id=service.provider_agency_id if service else None,
        extra=dict(extra),
    )


class RegistryAccess:
    """``AccessControl`` backed by the registry tables."""

    def _caller(self, session: Session, account: ConnectionAccount | None, now: datetime | None = None) -> Caller | None:
        if account is None or account.status is not AccountStatus.ACTIVE:
            return None
        now = now or utcnow()
        if account.valid_to is not None and account.valid_to <= now:
            return None
        application = session.get(Application, account.application_id)
        if application is None or application.status is not ApplicationStatus.ACTIVE:
            return None
        agency = session.get(Agency, application.consumer_agency_id)
        if agency is None:
            return None
        return Caller(
            account_id=account.id,
            client_id=account.client_id,
            application_id=application.id,
            consumer_agency_id=agency.id,
            consumer_agency_code=agency.code,
        )

    def authenticate_client(self, session: Session, client_id: str, secret: str) -> Caller | None:
        if not client_id or not secret or len(client_id) > 80 or len(secret) > 200:
            return None
        account = session.scalar(select(ConnectionAccount).where(ConnectionAccount.client_id == client_id))
        if account is None or not hmac.compare_digest(account.secret_hash, hash_secret(secret)):
            return None
        return self._caller(session, account)

    def authenticate_api_key(self, session: Session, key: str) -> Caller | None:
        if not key or len(key) > 200:
            return None
        account = session.scalar(select(ConnectionAccount).where(ConnectionAccount.api_key_hash == hash_secret(key)))
        return self._caller(session, account)

    def caller_by_account(self, session: Session, account_id: uuid.UUID) -> Caller | None:
        return self._caller(session, session.get(ConnectionAccount, account_id))

    def decide(
        self, session: Session, caller: Caller, service_code: str, method: str, path: str, now: datetime
    ) -> AccessDecision:
        service = session.scalar(select(DataService).where(DataService.code == service_code))
        if service is None or service.status in (ServiceStatus.DRAFT, ServiceStatus.READY):
            return _refuse("gateway.unknown_service", 404)
        if service.status is ServiceStatus.RETIRED:
            return _refuse("gateway.service_unavailable", 503, service)
        if service.status is ServiceStatus.SUSPENDED:
            return _refuse("gateway.suspended", 503, service)
        for suspension in active_suspensions(session, service.id, now, SuspensionScope.ALL):
            extra = {"restoration_at": suspension.ends_at.isoformat()} if suspension.ends_at else {}
            return _refuse("gateway.suspended", 503, service, **extra)

        grants = list(
            session.scalars(
                select(Grant)
                .where(
                    Grant.application_id == caller.application_id,
                    Grant.service_id == service.id,
                    Grant.status.in_((GrantStatus.ACTIVE, GrantStatus.SUSPENDED)),
                )
                .order_by(Grant.created_at)
            )
        )
        if not grants:
            return _refuse("gateway.no_grant", 403, service)
        current = [g for g in grants if g.valid_from <= now and (g.valid_to is None or now < g.valid_to)]
        if not current:
            return _refuse("gateway.grant_expired", 403, service)

        operation = match_operation(service.operations or [], method, path)
        if operation is None:
            return _refuse("gateway.unknown_operation", 404, service)
        name = str(operation.get("name", ""))
        covering = [g for g in current if g.operations is None or name in g.operations]
        if not covering:
            return _refuse("gateway.operation_not_allowed", 403, service)

        consumer_suspensions = [
            s
            for s in active_suspensions(session, service.id, now, SuspensionScope.CONSUMER)
            if s.consumer_agency_id == caller.consumer_agency_id
        ]
        usable = [
            g
            for g in covering
            if g.status is GrantStatus.ACTIVE
            and not any(s.grant_id in (None, g.id) for s in consumer_suspensions)
        ]
        if not usable:
            return _refuse("gateway.consumer_suspended", 403, service)
        if not in_window(service, now):
            return _refuse(
                "gateway.outside_window",
                503,
                service,
                available_from=service.available_from or "",
                available_to=service.available_to or "",
            )

        grant = usable[0]
        return AccessDecision(
            allowed=True,
            http_status=200,
            service_id=service.id,
            service_code=service.code,
            service_version=service.version,
            provider_agency_id=service.provider_agency_id,
            upstream_base_url=service.upstream_base_url,
            timeout_seconds=float(service.timeout_seconds or 30.0),
            operation=name,
            grant_id=grant.id,
            agreement_id=grant.agreement_id,
            allowed_fields=tuple(grant.allowed_fields) if grant.allowed_fields else None,
            quota_per_minute=_smaller(grant.quota_per_minute, service.rate_limit_per_minute),
            quota_per_day=grant.quota_per_day,
            max_concurrency=service.max_concurrency,
            data_valid_until=data_valid_until(service, now),
            purpose=grant.purpose or None,
        )


#: The instance the gateway uses.
registry_access = RegistryAccess()
