# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sharing registry (Decree 47 Art. 22–51): usage regulations, data services and
their published versions, consumers' applications and connection accounts, connection
requests (with their storage declarations), sharing agreements, grants, suspensions,
terminations, sharing issues and usage reports.

The gateway's own tables (the sharing log) live in ``log_models.py``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Float, ForeignKey, String, Table, Text, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dulieuso.auth.models import enum_column
from dulieuso.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class RegulationStatus(StrEnum):
    DRAFT = "draft"
    IN_FORCE = "in_force"
    REPEALED = "repealed"


class RegulationScope(StrEnum):
    """Art. 22: a regulation covers a list of databases or a data-topic group."""

    DATABASES = "databases"
    TOPIC_GROUP = "topic_group"


class Protocol(StrEnum):
    REST = "rest"
    SOAP = "soap"


class SharingForm(StrEnum):
    """Hình thức chia sẻ: chia sẻ mặc định / theo yêu cầu đặc thù (Art. 33–39)."""

    DEFAULT = "default"
    SPECIAL_REQUEST = "special_request"


class SharingMethod(StrEnum):
    """Phương thức chia sẻ (Art. 23(1)): online query, synchronisation, package."""

    ONLINE_QUERY = "online_query"
    SYNC = "sync"
    PACKAGE = "package"


class ServiceStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    PUBLISHED = "published"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class ApplicationStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class StorageMode(StrEnum):
    """How the consumer keeps what it retrieves (Art. 42): not at all; cached, only within
    the data's period of use (Art. 41); or stored beyond that period, which needs the
    provider's permission (Art. 42(3))."""

    NONE = "none"
    CACHE = "cache"
    BEYOND_VALIDITY = "beyond_validity"


class UsageReportStatus(StrEnum):
    """A usage report the provider demands (Art. 51(1)(b)): open until the consumer answers."""

    REQUESTED = "requested"
    ANSWERED = "answered"


class AgreementStatus(StrEnum):
    """Art. 37: review → draft → sign → implement; then expired or terminated."""

    NEEDS_REVIEW = "needs_review"
    DRAFTING = "drafting"
    SIGNED = "signed"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class PartyRole(StrEnum):
    PROVIDER = "provider"
    CONSUMER = "consumer"


class JoinStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class SuspensionScope(StrEnum):
    ALL = "all"  # Art. 43(1): every consumer
    CONSUMER = "consumer"  # Art. 43(2): one consumer


class SuspensionKind(StrEnum):
    PLANNED = "planned"  # 43(1)(a) upgrade, maintenance
    FORCE_MAJEURE = "force_majeure"  # 43(1)(b)
    VIOLATION = "violation"  # 43(2)(a)
    SECURITY = "security"  # 43(2)(b)


class TerminationReason(StrEnum):
    """Art. 44(1)(a)–(d)."""

    PURPOSE_MISMATCH = "a"
    CANNOT_RESTORE = "b"
    AUTHORITY_REQUEST = "c"
    NO_LONGER_NEEDED = "d"


class IssueCategory(StrEnum):
    """Art. 47(1)–(6)."""

    RIGHTS_OBLIGATIONS = "1"
    INFRASTRUCTURE = "2"
    STANDARDS = "3"
    DATA_QUALITY = "4"
    CONNECTION_PLAN = "5"
    OTHER = "6"


class IssueStatus(StrEnum):
    OPEN = "open"  # with the provider (level 1, Art. 49(1))
    ANSWERED = "answered"
    ESCALATED = "escalated"  # with the IT unit (level 2, Art. 49(2))
    RESOLVED = "resolved"
    CLOSED = "closed"


# -- usage regulations ------------------------------------------------------------------

regulation_databases = Table(
    "usage_regulation_databases",
    Base.metadata,
    Column("regulation_id", ForeignKey("usage_regulations.id", ondelete="CASCADE"), primary_key=True),
    Column("database_id", ForeignKey("databases.id", ondelete="CASCADE"), primary_key=True),
)


class UsageRegulation(UUIDPrimaryKey, Timestamps, Base):
    """Quy chế khai thác, sử dụng (Art. 22), public once in force."""

    __tablename__ = "usage_regulations"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(400))
    issuing_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    decision_number: Mapped[str] = mapped_column(String(120))
    decision_date: Mapped[date]
    signer: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[RegulationScope] = mapped_column(enum_column(RegulationScope, "regulation_scope"))
    topic_group: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    document_url: Mapped[str | None] = mapped_column(String(500))
    document_file: Mapped[str | None] = mapped_column(String(300))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    #: Art. 41 period of use per method; None for online query = valid on retrieval only.
    period_online_query_hours: Mapped[int | None]
    period_sync_days: Mapped[int | None]
    period_package_days: Mapped[int | None]
    #: Art. 45(3): how long the sharing log is kept.
    log_retention_days: Mapped[int] = mapped_column(default=1825)
    #: Art. 40(1): data needing no authentication.
    allows_anonymous: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RegulationStatus] = mapped_column(enum_column(RegulationStatus, "regulation_status"), index=True)

    databases: Mapped[list[Any]] = relationship("Database", secondary=regulation_databases, lazy="selectin")


# -- data services ----------------------------------------------------------------------

service_databases = Table(
    "data_service_databases",
    Base.metadata,
    Column("service_id", ForeignKey("data_services.id", ondelete="CASCADE"), primary_key=True),
    Column("database_id", ForeignKey("databases.id", ondelete="RESTRICT"), primary_key=True),
)

service_categories = Table(
    "data_service_categories",
    Base.metadata,
    Column("service_id", ForeignKey("data_services.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("data_categories.id", ondelete="RESTRICT"), primary_key=True),
)


class DataService(UUIDPrimaryKey, Timestamps, Base):
    """Dịch vụ chia sẻ dữ liệu with every field of Art. 24(3) and 23(4)."""

    __tablename__ = "data_services"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(40), default="1.0")
    provider_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    upstream_base_url: Mapped[str] = mapped_column(String(500), default="")
    timeout_seconds: Mapped[float] = mapped_column(Float, default=30.0)
    protocol: Mapped[Protocol] = mapped_column(enum_column(Protocol, "service_protocol"), default=Protocol.REST)
    #: ``[{"name", "method", "path", "summary", "parameters": [{"name", "in", "required", "description", "type"}]}]``
    operations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    request_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The standard or technical regulation the exchange structure follows (Art. 24(3)(b)).
    schema_standard: Mapped[str] = mapped_column(String(300), default="")
    #: An uploaded OpenAPI (or WSDL-derived) document; None = generated from operations.
    openapi_document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    documentation_url: Mapped[str | None] = mapped_column(String(500))
    sharing_form: Mapped[SharingForm] = mapped_column(enum_column(SharingForm, "service_sharing_form"))
    method: Mapped[SharingMethod] = mapped_column(enum_column(SharingMethod, "sharing_method"))
    rate_limit_per_minute: Mapped[int | None]
    max_concurrency: Mapped[int | None]
    #: Availability window in local time ("07:00"–"22:00"); both empty = always.
    available_from: Mapped[str | None] = mapped_column(String(5))
    available_to: Mapped[str | None] = mapped_column(String(5))
    availability_timezone: Mapped[str] = mapped_column(String(60), default="Asia/Ho_Chi_Minh")
    usage_regulation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("usage_regulations.id", ondelete="RESTRICT"), index=True
    )
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[ServiceStatus] = mapped_column(enum_column(ServiceStatus, "service_status"), index=True)
    ready_at: Mapped[datetime | None]
    #: Art. 25(1): the working day by which it must be published after ``ready_at``.
    publication_due: Mapped[date | None]
    published_at: Mapped[datetime | None]
    breach_alerted_at: Mapped[datetime | None]
    #: Number of the latest published ServiceVersion (0: never published).
    published_version: Mapped[int] = mapped_column(default=0)

    databases: Mapped[list[Any]] = relationship("Database", secondary=service_databases, lazy="selectin")
    categories: Mapped[list[Any]] = relationship("DataCategory", secondary=service_categories, lazy="selectin")
    regulation: Mapped[UsageRegulation | None] = relationship(lazy="joined")


class ServiceVersion(UUIDPrimaryKey, Base):
    """An immutable snapshot of a service as published (Art. 25(2)), with its diff."""

    __tablename__ = "data_service_versions"
    __table_args__ = (UniqueConstraint("service_id", "number"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_services.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ServiceSubscription(UUIDPrimaryKey, Base):
    """A person who wants to hear about changes to a service."""

    __tablename__ = "data_service_subscriptions"
    __table_args__ = (UniqueConstraint("service_id", "user_id"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_services.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- consumers ----------------------------------------------------------------------------


class Application(UUIDPrimaryKey, Timestamps, Base):
    """A consuming agency's information system that connects to services (Art. 35(2)(b))."""

    __tablename__ = "sharing_applications"
    __audited__ = True
    __table_args__ = (UniqueConstraint("consumer_agency_id", "code"),)

    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(300))
    consumer_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    information_system_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("information_systems.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus, "application_status"))

    accounts: Mapped[list[ConnectionAccount]] = relationship(
        back_populates="application", order_by="ConnectionAccount.created_at"
    )


class ConnectionAccount(UUIDPrimaryKey, Base):
    """Tài khoản kết nối (Art. 40): a client id with a hashed secret, an optional API key
    and client-certificate fingerprint."""

    __tablename__ = "connection_accounts"
    __audited__ = True
    __audit_ignore__ = frozenset({"last_used_at"})

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sharing_applications.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    #: SHA-256 of a 256-bit random secret (a password hash buys nothing at that entropy).
    secret_hash: Mapped[str] = mapped_column(String(64))
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str | None] = mapped_column(String(16))
    cert_fingerprint: Mapped[str | None] = mapped_column(String(95))
    label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[AccountStatus] = mapped_column(enum_column(AccountStatus, "account_status"), index=True)
    valid_to: Mapped[datetime | None]
    #: Art. 40(2): the intermediary (LGSP operator) that issued it for the provider.
    delegated_by_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    issued_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(back_populates="accounts")


# -- connection requests -----------------------------------------------------------------


class ConnectionRequest(UUIDPrimaryKey, Timestamps, Base):
    """Yêu cầu kết nối (Art. 35(2) a–g) with its working-day deadline (Decree 194 Art. 40(3))."""

    __tablename__ = "connection_requests"
    __audited__ = True

    requesting_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sharing_applications.id", ondelete="SET NULL"), index=True
    )
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_services.id", ondelete="RESTRICT"), index=True)
    #: Operation names asked for; None = all.
    operations: Mapped[list[str] | None] = mapped_column(JSON)
    #: (d) the fields asked for, chosen from the service's response schema.
    requested_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    use_after_retrieval: Mapped[str] = mapped_column(Text, default="")
    frequency: Mapped[str] = mapped_column(String(200))
    other_info: Mapped[str] = mapped_column(Text, default="")
    requested_valid_to: Mapped[date | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus, "request_status"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(254), default="")
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(254))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    #: Decree 194 Art. 16(2): the legal basis a refusal cites.
    legal_basis: Mapped[str | None] = mapped_column(Text)
    copied_to_it_unit_at: Mapped[datetime | None]
    breach_alerted_at: Mapped[datetime | None]
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="SET NULL"))
    #: Art. 42: how the consumer will keep the data it retrieves (declared with the request).
    storage_mode: Mapped[StorageMode] = mapped_column(
        enum_column(StorageMode, "storage_mode"), default=StorageMode.NONE, server_default=StorageMode.NONE.value
    )
    #: Storage beyond the period of use: how many days a record is kept after retrieval, and why.
    storage_days: Mapped[int | None]
    storage_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


# -- agreements ---------------------------------------------------------------------------


class SharingAgreement(UUIDPrimaryKey, Timestamps, Base):
    """Nội dung thống nhất chia sẻ (Art. 36–39) with the 12 headings of Art. 38."""

    __tablename__ = "sharing_agreements"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(400))
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_services.id", ondelete="SET NULL"), index=True)
    status: Mapped[AgreementStatus] = mapped_column(enum_column(AgreementStatus, "agreement_status"), index=True)
    version: Mapped[int] = mapped_column(default=0)
    # (1) the parties are AgreementParty rows.
    data_content: Mapped[str] = mapped_column(Text, default="")  # (2)
    place_of_use: Mapped[str] = mapped_column(Text, default="")  # (3)
    valid_from: Mapped[date | None]  # (4)
    valid_to: Mapped[date | None]  # (4)
    duration: Mapped[str] = mapped_column(Text, default="")  # (4)
    method_and_manner: Mapped[str] = mapped_column(Text, default="")  # (5)
    post_receipt_processing: Mapped[str] = mapped_column(Text, default="")  # (6)
    conditions_limits: Mapped[str] = mapped_column(Text, default="")  # (7)
    protection_commitment: Mapped[str] = mapped_column(Text, default="")  # (8)
    security_measures: Mapped[str] = mapped_column(Text, default="")  # (9)
    retention_requirements: Mapped[str] = mapped_column(Text, default="")  # (10) incl. derived data
    deletion_method: Mapped[str] = mapped_column(Text, default="")  # (11)
    other_terms: Mapped[str] = mapped_column(Text, default="")  # (12)
    signed_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_by_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))

    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", lazy="selectin", order_by="AgreementParty.joined_at"
    )


class AgreementParty(UUIDPrimaryKey, Base):
    __tablename__ = "sharing_agreement_parties"
    __table_args__ = (UniqueConstraint("agreement_id", "agency_id"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    role: Mapped[PartyRole] = mapped_column(enum_column(PartyRole, "party_role"))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreement: Mapped[SharingAgreement] = relationship(back_populates="parties")


class AgreementVersion(UUIDPrimaryKey, Base):
    """An immutable signed text of an agreement: v1 at signing, v2… for each amendment (Art. 39)."""

    __tablename__ = "sharing_agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AgreementJoinRequest(UUIDPrimaryKey, Base):
    """Art. 36(4): an agency asks to join an agreement in force."""

    __tablename__ = "sharing_agreement_join_requests"
    __audited__ = True

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    role: Mapped[PartyRole] = mapped_column(enum_column(PartyRole, "party_role"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[JoinStatus] = mapped_column(enum_column(JoinStatus, "join_status"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(254))


# -- grants, suspensions, terminations --------------------------------------------------------


class Grant(UUIDPrimaryKey, Timestamps, Base):
    """Quyền khai thác: application × service (× operations), fields, purpose, period, quotas."""

    __tablename__ = "grants"
    __audited__ = True

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sharing_applications.id", ondelete="RESTRICT"), index=True
    )
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_services.id", ondelete="RESTRICT"), index=True)
    #: Operation names allowed; None = every operation of the service.
    operations: Mapped[list[str] | None] = mapped_column(JSON)
    #: Top-level response fields allowed; None = all.
    allowed_fields: Mapped[list[str] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    quota_per_minute: Mapped[int | None]
    quota_per_day: Mapped[int | None]
    status: Mapped[GrantStatus] = mapped_column(enum_column(GrantStatus, "grant_status"), index=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connection_requests.id", ondelete="SET NULL"))
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="SET NULL"))
    granted_by: Mapped[str] = mapped_column(String(254), default="")
    #: Art. 42: the storage the consumer declared and the provider accepted with the grant.
    storage_mode: Mapped[StorageMode] = mapped_column(
        enum_column(StorageMode, "storage_mode"), default=StorageMode.NONE, server_default=StorageMode.NONE.value
    )
    #: Art. 42(3): the provider explicitly permitted storage beyond the period of use.
    storage_permitted: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: With the permission: days a record may be kept after retrieval, the last day any
    #: stored data may be kept (None: no fixed end), and the provider's conditions.
    storage_days: Mapped[int | None]
    storage_until: Mapped[date | None]
    storage_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class Suspension(UUIDPrimaryKey, Timestamps, Base):
    """Tạm dừng (Art. 43): for everyone (planned or force majeure) or for one consumer."""

    __tablename__ = "service_suspensions"
    __audited__ = True

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_services.id", ondelete="CASCADE"), index=True)
    scope: Mapped[SuspensionScope] = mapped_column(enum_column(SuspensionScope, "suspension_scope"))
    kind: Mapped[SuspensionKind] = mapped_column(enum_column(SuspensionKind, "suspension_kind"))
    consumer_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    grant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime]
    #: Expected restoration time.
    ends_at: Mapped[datetime | None]
    notice_published_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    violation: Mapped[str] = mapped_column(Text, default="")
    handling_plan: Mapped[str] = mapped_column(Text, default="")
    restore_conditions: Mapped[str] = mapped_column(Text, default="")
    violation_determined_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    lifted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class Termination(UUIDPrimaryKey, Base):
    """Chấm dứt (Art. 44): ends a grant and revokes the application's accounts."""

    __tablename__ = "grant_terminations"
    __audited__ = True

    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    reason: Mapped[TerminationReason] = mapped_column(enum_column(TerminationReason, "termination_reason"))
    details: Mapped[str] = mapped_column(Text, default="")
    consumer_obligations: Mapped[str] = mapped_column(Text, default="")
    deletion_confirmed_at: Mapped[datetime | None]
    terminated_at: Mapped[datetime] = mapped_column(default=utcnow)
    terminated_by: Mapped[str] = mapped_column(String(254))


# -- issues and disputes ---------------------------------------------------------------------


class SharingIssue(UUIDPrimaryKey, Timestamps, Base):
    """Vướng mắc, tranh chấp (Art. 47–49): provider level, then the IT unit."""

    __tablename__ = "sharing_issues"
    __audited__ = True

    category: Mapped[IssueCategory] = mapped_column(enum_column(IssueCategory, "issue_category"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    reporter_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    provider_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_services.id", ondelete="SET NULL"))
    request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connection_requests.id", ondelete="SET NULL"))
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_agreements.id", ondelete="SET NULL"))
    status: Mapped[IssueStatus] = mapped_column(enum_column(IssueStatus, "issue_status"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    provider_due_on: Mapped[date]
    provider_answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    it_unit_due_on: Mapped[date | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(254))


# -- usage reports ------------------------------------------------------------------------------


class UsageReport(UUIDPrimaryKey, Timestamps, Base):
    """Báo cáo tình hình khai thác, sử dụng (Art. 51(1)(b)): the provider demands it of the
    consumer about one grant; the consumer answers online by ``due_on`` (working days,
    policy ``usage_report_response``).

    The parties are not copied here: they are the grant's service's provider and its
    application's consumer, so an agency merger that moves services and applications
    moves the reports with them.
    """

    __tablename__ = "sharing_usage_reports"
    __audited__ = True

    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    #: Why the provider asks (e.g. suspected use beyond the registered purpose).
    reason: Mapped[str] = mapped_column(Text)
    #: The period the report covers; empty = since the grant began.
    period_from: Mapped[date | None]
    period_to: Mapped[date | None]
    status: Mapped[UsageReportStatus] = mapped_column(enum_column(UsageReportStatus, "usage_report_status"), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    due_on: Mapped[date] = mapped_column(index=True)
    overdue_alerted_at: Mapped[datetime | None]
    # The consumer's answer: what it retrieved, for which purposes, how it stores the
    # data, and any incident (leak, loss, use beyond the purpose).
    retrieved_data: Mapped[str | None] = mapped_column(Text)
    purposes: Mapped[str | None] = mapped_column(Text)
    storage: Mapped[str | None] = mapped_column(Text)
    incidents: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(254))


# -- immutability of published snapshots --------------------------------------------------------


class ImmutableRecord(RuntimeError):
    """A published service version or signed agreement version cannot change."""


def _forbid_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ImmutableRecord(f"{type(target).__name__} is immutable")


for _model in (ServiceVersion, AgreementVersion):
    event.listen(_model, "before_update", _forbid_change)
    event.listen(_model, "before_delete", _forbid_change)


# Registering the domain's permission actions and audit tags with the tables, so that
# every process that loads the schema (app, CLI, tests, docs checks) knows them.
from dulieuso.sharing import events as _events  # noqa: E402,F401
from dulieuso.sharing import permissions as _permissions  # noqa: E402,F401
