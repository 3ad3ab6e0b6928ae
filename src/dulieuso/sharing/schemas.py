# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON shapes of the sharing registry's API (the pages use the same view dicts)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.sharing import services as services_service
from dulieuso.sharing.models import (
    AgreementStatus,
    Application,
    ConnectionAccount,
    DataService,
    IssueCategory,
    PartyRole,
    Protocol,
    RegulationScope,
    RegulationStatus,
    SharingForm,
    SharingMethod,
    StorageMode,
    SuspensionKind,
    TerminationReason,
    UsageRegulation,
    UsageReportStatus,
)

_IN = ConfigDict(extra="forbid")


class AgencyRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


def agency_ref(session: Session, agency_id: uuid.UUID | None) -> AgencyRef | None:
    agency = session.get(Agency, agency_id) if agency_id else None
    return AgencyRef(id=agency.id, code=agency.code, name=agency.name_vi) if agency else None


# -- regulations ------------------------------------------------------------------------------


class RegulationIn(BaseModel):
    model_config = _IN
    code: str = Field(max_length=60)
    title: str = Field(max_length=400)
    decision_number: str = Field(max_length=120)
    decision_date: date
    agency_code: str | None = Field(None, description="Issuing agency (administrators); default: your agency")
    scope: RegulationScope = RegulationScope.DATABASES
    signer: str = ""
    topic_group: str = ""
    summary: str = ""
    document_url: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    period_online_query_hours: int | None = None
    period_sync_days: int | None = None
    period_package_days: int | None = None
    log_retention_days: int = 1825
    allows_anonymous: bool = False
    status: RegulationStatus = RegulationStatus.IN_FORCE
    database_codes: list[str] = []


class RegulationPublic(BaseModel):
    code: str
    title: str
    issuing_agency: AgencyRef | None
    decision_number: str
    decision_date: date
    signer: str
    scope: RegulationScope
    topic_group: str
    summary: str
    document_url: str | None
    valid_from: date | None
    valid_to: date | None
    period_online_query_hours: int | None
    period_sync_days: int | None
    period_package_days: int | None
    log_retention_days: int
    allows_anonymous: bool
    status: RegulationStatus
    database_codes: list[str]

    @classmethod
    def of(cls, session: Session, r: UsageRegulation) -> RegulationPublic:
        return cls(
            code=r.code, title=r.title, issuing_agency=agency_ref(session, r.issuing_agency_id),
            decision_number=r.decision_number, decision_date=r.decision_date, signer=r.signer, scope=r.scope,
            topic_group=r.topic_group, summary=r.summary, document_url=r.document_url, valid_from=r.valid_from,
            valid_to=r.valid_to, period_online_query_hours=r.period_online_query_hours,
            period_sync_days=r.period_sync_days, period_package_days=r.period_package_days,
            log_retention_days=r.log_retention_days, allows_anonymous=r.allows_anonymous, status=r.status,
            database_codes=sorted(d.code for d in r.databases),
        )


# -- services ---------------------------------------------------------------------------------


class Parameter(BaseModel):
    name: str
    in_: str = Field("query", alias="in")
    required: bool = False
    description: str = ""
    type: str = "string"
    example: str | None = None
    model_config = ConfigDict(populate_by_name=True)


class Operation(BaseModel):
    name: str
    method: str = "GET"
    path: str
    summary: str = ""
    parameters: list[Parameter] = []


class ServiceIn(BaseModel):
    model_config = _IN
    code: str = Field(max_length=80)
    name: str = Field(max_length=300)
    agency_code: str | None = Field(None, description="Provider agency (administrators); default: your agency")
    version: str = "1.0"
    description: str = ""
    upstream_base_url: str = ""
    timeout_seconds: float = 30.0
    protocol: Protocol = Protocol.REST
    operations: list[Operation] = []
    request_schema: dict[str, Any] | None = None
    response_schema: dict[str, Any] | None = None
    schema_standard: str = ""
    openapi_document: dict[str, Any] | None = None
    documentation_url: str | None = None
    sharing_form: SharingForm = SharingForm.DEFAULT
    method: SharingMethod = SharingMethod.ONLINE_QUERY
    rate_limit_per_minute: int | None = None
    max_concurrency: int | None = None
    available_from: str | None = None
    available_to: str | None = None
    regulation_code: str | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    database_codes: list[str] = []
    category_names: list[str] = []
    note: str = Field("", description="What changed (recorded on the new version)")

    def to_input(self) -> services_service.ServiceInput:
        data = self.model_dump()
        data["operations"] = [op.model_dump(by_alias=True) for op in self.operations]
        return services_service.ServiceInput(**data)


class Capacity(BaseModel):
    rate_limit_per_minute: int | None
    max_concurrency: int | None
    available_from: str | None
    available_to: str | None
    timezone: str


class RegulationRef(BaseModel):
    code: str
    title: str
    document_url: str | None


class ServicePublic(BaseModel):
    code: str
    name: str
    version: str
    provider_agency: AgencyRef | None
    description: str
    protocol: Protocol
    sharing_form: SharingForm
    method: SharingMethod
    status: str
    published_at: datetime | None
    published_version: int
    url: str

    @classmethod
    def of(cls, session: Session, s: DataService) -> ServicePublic:
        return cls(
            code=s.code, name=s.name, version=s.version, provider_agency=agency_ref(session, s.provider_agency_id),
            description=s.description, protocol=s.protocol, sharing_form=s.sharing_form, method=s.method,
            status=s.status.value, published_at=s.published_at, published_version=s.published_version,
            url=f"/api/v1/services/{s.code}",
        )


class ServiceDetail(ServicePublic):
    operations: list[dict[str, Any]]
    request_schema: dict[str, Any] | None
    response_schema: dict[str, Any] | None
    response_fields: list[str]
    schema_standard: str
    documentation_url: str | None
    capacity: Capacity
    regulation: RegulationRef | None
    contact_name: str
    contact_email: str
    contact_phone: str
    database_codes: list[str]
    category_names: list[str]
    ready_at: datetime | None
    publication_due: date | None
    gateway_url: str
    openapi_url: str
    #: Only for the provider's staff: the gateway is the only way in (Art. 24(1)).
    upstream_base_url: str | None = None
    timeout_seconds: float | None = None
    missing: dict[str, list[str]] | None = None

    @classmethod
    def of_detail(cls, session: Session, s: DataService, base_url: str, *, internal: bool, lang: str = "vi") -> ServiceDetail:
        base = ServicePublic.of(session, s).model_dump()
        missing = None
        if internal:
            missing = {k: [m.render(lang) for m in v] for k, v in services_service.completeness(s).items()}
        return cls(
            **base,
            operations=s.operations or [],
            request_schema=s.request_schema,
            response_schema=s.response_schema,
            response_fields=services_service.response_fields(s),
            schema_standard=s.schema_standard,
            documentation_url=s.documentation_url,
            capacity=Capacity(rate_limit_per_minute=s.rate_limit_per_minute, max_concurrency=s.max_concurrency,
                              available_from=s.available_from, available_to=s.available_to,
                              timezone=s.availability_timezone),
            regulation=RegulationRef(code=s.regulation.code, title=s.regulation.title,
                                     document_url=s.regulation.document_url) if s.regulation else None,
            contact_name=s.contact_name, contact_email=s.contact_email, contact_phone=s.contact_phone,
            database_codes=sorted(d.code for d in s.databases),
            category_names=sorted(c.name for c in s.categories),
            ready_at=s.ready_at, publication_due=s.publication_due,
            gateway_url=f"{base_url.rstrip('/')}/gateway/{s.code}",
            openapi_url=f"/api/v1/services/{s.code}/openapi.json",
            upstream_base_url=s.upstream_base_url if internal else None,
            timeout_seconds=s.timeout_seconds if internal else None,
            missing=missing,
        )


class VersionPublic(BaseModel):
    number: int
    published_at: datetime
    published_by: str
    note: str
    diff: dict[str, Any]
    snapshot: dict[str, Any]


class PublishIn(BaseModel):
    model_config = _IN
    note: str = ""


# -- consumers --------------------------------------------------------------------------------


class ApplicationIn(BaseModel):
    model_config = _IN
    code: str = Field(max_length=60)
    name: str = Field(max_length=300)
    agency_code: str | None = Field(None, description="Consumer agency (administrators); default: your agency")
    description: str = ""
    contact_email: str = ""
    information_system_code: str | None = None


class AccountPublic(BaseModel):
    id: uuid.UUID
    client_id: str
    label: str
    status: str
    api_key_prefix: str | None
    cert_fingerprint: str | None
    valid_to: datetime | None
    delegated_by_agency_id: uuid.UUID | None
    issued_by: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, a: ConnectionAccount) -> AccountPublic:
        return cls(
            id=a.id, client_id=a.client_id, label=a.label, status=a.status.value, api_key_prefix=a.api_key_prefix,
            cert_fingerprint=a.cert_fingerprint, valid_to=a.valid_to, delegated_by_agency_id=a.delegated_by_agency_id,
            issued_by=a.issued_by, created_at=a.created_at, revoked_at=a.revoked_at,
        )


class ApplicationPublic(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    consumer_agency: AgencyRef | None
    description: str
    contact_email: str
    status: str
    accounts: list[AccountPublic]

    @classmethod
    def of(cls, session: Session, a: Application) -> ApplicationPublic:
        return cls(
            id=a.id, code=a.code, name=a.name, consumer_agency=agency_ref(session, a.consumer_agency_id),
            description=a.description, contact_email=a.contact_email, status=a.status.value,
            accounts=[AccountPublic.of(x) for x in a.accounts],
        )


class AccountIn(BaseModel):
    model_config = _IN
    label: str = ""
    valid_to: datetime | None = None
    with_api_key: bool = False
    cert_fingerprint: str | None = None
    delegated_by: str | None = Field(None, description="Agency code of the intermediary (LGSP) that issues it (Art. 40(2))")


class IssuedAccountOut(BaseModel):
    """Shown once: the secret and API key are stored only as hashes."""

    account: AccountPublic
    client_id: str
    client_secret: str
    api_key: str | None
    token_url: str


class RevokeIn(BaseModel):
    model_config = _IN
    reason: str = ""


# -- requests ---------------------------------------------------------------------------------


class RequestIn(BaseModel):
    model_config = _IN
    service_code: str
    purpose: str = Field(description="(c) purpose and how the data will be used")
    frequency: str = Field(description="(e) how often data will be retrieved")
    requested_fields: list[str] = Field(description="(d) data fields, chosen from the service's response schema")
    agency_code: str | None = Field(None, description="Requesting agency (administrators); default: your agency")
    application_id: uuid.UUID | None = None
    use_after_retrieval: str = ""
    operations: list[str] | None = None
    other_info: str = ""
    requested_valid_to: date | None = None
    agreement_code: str | None = None
    storage_mode: StorageMode = Field(
        StorageMode.NONE,
        description="Art. 42: none; cache (only within the data's period of use, Art. 41); "
        "beyond_validity (needs the provider's permission; give storage_days and storage_reason)",
    )
    storage_days: int | None = Field(None, description="beyond_validity: days a record is kept after retrieval")
    storage_reason: str = Field("", description="beyond_validity: why the data must be kept that long")


class ApproveIn(BaseModel):
    model_config = _IN
    quota_per_minute: int | None = None
    quota_per_day: int | None = None
    valid_to: date | None = None
    agreement_code: str | None = None
    allow_storage: bool = Field(
        False, description="Permit the storage beyond the period of use the request declares (Art. 42(3)); "
        "required to approve such a request",
    )
    storage_until: date | None = Field(
        None, description="Last day stored data may be kept; default: the grant's end plus the declared days"
    )
    storage_note: str = Field("", description="Conditions of the storage permission")


class RejectIn(BaseModel):
    model_config = _IN
    reason: str = ""
    legal_basis: str = Field("", description="Document, article and clause that restrict sharing (Decree 194 Art. 16(2))")


class GrantPublic(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    application: str
    consumer_agency: str | None
    service_code: str
    service_name: str
    provider_agency: str | None
    operations: list[str] | None
    allowed_fields: list[str] | None
    purpose: str
    valid_from: datetime
    valid_to: datetime | None
    expired: bool
    quota_per_minute: int | None
    quota_per_day: int | None
    status: str
    request_id: uuid.UUID | None
    agreement_id: uuid.UUID | None
    storage_mode: StorageMode
    storage_permitted: bool
    storage_days: int | None
    storage_until: date | None
    storage_note: str


class RequestPublic(BaseModel):
    id: uuid.UUID
    service_code: str | None
    service_name: str | None
    sharing_form: str | None
    provider_agency: str | None
    requesting_agency: str | None
    application_id: uuid.UUID | None
    operations: list[str] | None
    requested_fields: list[str]
    purpose: str
    use_after_retrieval: str
    frequency: str
    other_info: str
    requested_valid_to: date | None
    received_at: datetime
    due_on: date
    overdue: bool
    working_days_left: int | None = None
    status: str
    submitted_by: str
    decided_at: datetime | None
    decided_by: str | None
    rejection_reason: str | None
    legal_basis: str | None
    copied_to_it_unit_at: datetime | None
    agreement_id: uuid.UUID | None
    grant_id: uuid.UUID | None
    sharing_method: str | None
    period_of_use_hours: int | None
    storage_mode: StorageMode
    storage_days: int | None
    storage_reason: str
    storage_needs_permission: bool


class ApprovalOut(BaseModel):
    request: RequestPublic
    grant: GrantPublic
    #: The new connection account, its secret shown once; None when the application had one.
    account: IssuedAccountOut | None


# -- agreements, suspensions, terminations, issues ------------------------------------------------


class AgreementIn(BaseModel):
    model_config = _IN
    code: str = Field(max_length=60)
    title: str = Field(max_length=400)
    consumer_codes: list[str] = []
    provider_code: str | None = None
    service_code: str | None = None
    agency_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    data_content: str = ""
    place_of_use: str = ""
    duration: str = ""
    method_and_manner: str = ""
    post_receipt_processing: str = ""
    conditions_limits: str = ""
    protection_commitment: str = ""
    security_measures: str = ""
    retention_requirements: str = ""
    deletion_method: str = ""
    other_terms: str = ""


class TransitionIn(BaseModel):
    model_config = _IN
    status: AgreementStatus


class AmendIn(AgreementIn):
    note: str = ""


class JoinIn(BaseModel):
    model_config = _IN
    reason: str
    role: PartyRole = PartyRole.CONSUMER
    agency_code: str | None = None


class JoinDecisionIn(BaseModel):
    model_config = _IN
    accept: bool


class SuspensionIn(BaseModel):
    model_config = _IN
    service_code: str
    kind: SuspensionKind
    reason: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    consumer_agency_code: str | None = None
    grant_id: uuid.UUID | None = None
    violation: str = ""
    handling_plan: str = ""
    restore_conditions: str = ""
    violation_determined_at: datetime | None = None


class TerminationIn(BaseModel):
    model_config = _IN
    reason: TerminationReason
    details: str = ""
    consumer_obligations: str = ""


class IssueIn(BaseModel):
    model_config = _IN
    category: IssueCategory
    title: str
    description: str
    service_code: str | None = None
    provider_code: str | None = None
    request_id: uuid.UUID | None = None
    agreement_code: str | None = None
    agency_code: str | None = None


class TextIn(BaseModel):
    model_config = _IN
    text: str


# -- usage reports ------------------------------------------------------------------------------


class UsageReportDemandIn(BaseModel):
    model_config = _IN
    reason: str = Field(description="Why the provider asks (e.g. suspected use beyond the registered purpose)")
    period_from: date | None = Field(None, description="Start of the period to report on; empty = since the grant began")
    period_to: date | None = None


class UsageReportAnswerIn(BaseModel):
    model_config = _IN
    retrieved_data: str = Field(description="What was retrieved (services, fields, volume)")
    purposes: str = Field(description="For which purposes the data was used")
    storage: str = Field(description="How and how long the data is stored (Art. 42)")
    incidents: str = Field("", description="Any incident (leak, loss, use beyond the purpose); empty = none")


class UsageReportPublic(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    service_code: str
    service_name: str
    application: str
    consumer_agency: str | None
    provider_agency: str | None
    reason: str
    period_from: date | None
    period_to: date | None
    status: UsageReportStatus
    requested_at: datetime
    requested_by: str
    due_on: date
    overdue: bool
    working_days_left: int | None
    overdue_alerted_at: datetime | None
    retrieved_data: str | None
    purposes: str | None
    storage: str | None
    incidents: str | None
    answered_at: datetime | None
    answered_by: str | None
    answered_late: bool
    grant_storage_mode: StorageMode
    grant_storage_permitted: bool
