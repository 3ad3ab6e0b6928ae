"""The contract between the sharing registry (services, accounts, grants) and the gateway.

The registry implements ``AccessControl`` in ``sharing/access.py``; the gateway
(``sharing/gateway.py``) calls it for every request and writes what it decided into the
sharing log. Keeping the contract here lets both sides be built and tested apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Caller:
    """An authenticated connection account (tài khoản kết nối)."""

    account_id: uuid.UUID
    client_id: str
    application_id: uuid.UUID
    consumer_agency_id: uuid.UUID
    consumer_agency_code: str


@dataclass(frozen=True)
class AccessDecision:
    """What the gateway may do with one request. ``allowed=False`` carries the reason."""

    allowed: bool
    #: ``gateway.<reason>`` code when refused, e.g. gateway.no_grant, gateway.grant_expired,
    #: gateway.operation_not_allowed, gateway.suspended, gateway.outside_window,
    #: gateway.unknown_service, gateway.service_unavailable
    reason: str | None = None
    http_status: int = 200
    service_id: uuid.UUID | None = None
    service_code: str | None = None
    service_version: str | None = None
    provider_agency_id: uuid.UUID | None = None
    upstream_base_url: str | None = None
    timeout_seconds: float = 30.0
    operation: str | None = None
    grant_id: uuid.UUID | None = None
    agreement_id: uuid.UUID | None = None
    #: Top-level JSON fields the consumer may receive; None = all fields.
    allowed_fields: tuple[str, ...] | None = None
    quota_per_minute: int | None = None
    quota_per_day: int | None = None
    max_concurrency: int | None = None
    #: Art. 41: until when the data may be used (None: valid on retrieval only).
    data_valid_until: datetime | None = None
    purpose: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class AccessControl(Protocol):
    def authenticate_client(self, session: Session, client_id: str, secret: str) -> Caller | None: ...

    def authenticate_api_key(self, session: Session, key: str) -> Caller | None: ...

    def caller_by_account(self, session: Session, account_id: uuid.UUID) -> Caller | None: ...

    def decide(
        self, session: Session, caller: Caller, service_code: str, method: str, path: str, now: datetime
    ) -> AccessDecision: ...
