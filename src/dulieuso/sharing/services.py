# SPDX-License-Identifier: AGPL-3.0-or-later
"""Data-sharing services (Art. 24–25): register, check completeness, mark ready, publish
within the working-day deadline, republish every change as a new version with a diff,
notify subscribers; the public catalog and the machine listings (X-Road's
``listMethods`` / ``allowedMethods``)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import diff as dict_diff
from dulieuso.audit.service import record, snapshot, to_jsonable
from dulieuso.auth.models import User
from dulieuso.auth.permissions import Actor, can
from dulieuso.catalog.models import DataCategory, Database, SharingScope
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.notifications import service as notifications
from dulieuso.policy.service import local_date
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import (
    Application,
    DataService,
    Grant,
    GrantStatus,
    Protocol,
    RegulationScope,
    RegulationStatus,
    ServiceStatus,
    ServiceSubscription,
    ServiceVersion,
    SharingForm,
    SharingMethod,
    UsageRegulation,
)
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import (
    MAX_LIMIT,
    acting,
    due_date,
    notify_agency,
    notify_it_unit,
    now,
    own_agency,
    require_fields,
    text,
)
from dulieuso.vntext import fold

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,79}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PUBLIC_STATUSES = (ServiceStatus.PUBLISHED, ServiceStatus.SUSPENDED)
#: Columns a published version records (bookkeeping columns are left out).
SNAPSHOT_SKIP = frozenset(
    {"id", "created_at", "updated_at", "status", "ready_at", "publication_due", "published_at",
     "breach_alerted_at", "published_version"}
)


@dataclass
class ServiceInput:
    code: str
    name: str
    agency_code: str | None = None
    version: str = "1.0"
    description: str = ""
    upstream_base_url: str = ""
    timeout_seconds: float = 30.0
    protocol: Protocol = Protocol.REST
    operations: list[dict[str, Any]] = field(default_factory=list)
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
    database_codes: list[str] = field(default_factory=list)
    category_names: list[str] = field(default_factory=list)
    note: str = ""


# -- validation -----------------------------------------------------------------------


def _operation_errors(operations: list[dict[str, Any]]) -> list[Msg]:
    errors: list[Msg] = []
    names: set[str] = set()
    for index, op in enumerate(operations, start=1):
        name = str(op.get("name") or "").strip()
        method = str(op.get("method") or "").upper()
        path = str(op.get("path") or "")
        if not name or not CODE_RE.match(name):
            errors.append(Msg("Operation {n}: give a name of letters, digits, dots, dashes or underscores.", n=index))
        elif name in names:
            errors.append(Msg("Operation {n}: the name {name} is used twice.", n=index, name=name))
        names.add(name)
        if method not in HTTP_METHODS:
            errors.append(Msg("Operation {n}: the method must be GET, POST, PUT, PATCH or DELETE.", n=index))
        if not path.startswith("/"):
            errors.append(Msg("Operation {n}: the path must start with /.", n=index))
        params = op.get("parameters") or []
        if not isinstance(params, list) or any(not isinstance(p, dict) or not p.get("name") for p in params):
            errors.append(Msg("Operation {n}: each parameter needs a name.", n=index))
    return errors


def _resolve_sources(
    session: Session, data: ServiceInput
) -> tuple[list[Database], list[DataCategory], dict[str, list[Msg]]]:
    errors: dict[str, list[Msg]] = {}
    databases = list(session.scalars(select(Database).where(Database.code.in_(data.database_codes)))) if data.database_codes else []
    missing = sorted(set(data.database_codes) - {d.code for d in databases})
    if missing:
        errors["database_codes"] = [Msg("Unknown database codes: {codes}", codes=", ".join(missing))]
    refused = [d.code for d in databases if d.contains_state_secret or d.sharing_scope is SharingScope.PRIVATE]
    if refused:
        # Decree 47 Art. 1(2) and Law on Data Art. 3(3): state secrets and private data
        # are outside the sharing regime.
        errors.setdefault("database_codes", []).append(
            Msg("A database containing state secrets or of private scope cannot be shared: {codes}",
                codes=", ".join(refused))
        )
    categories: list[DataCategory] = []
    if data.category_names and databases:
        categories = list(
            session.scalars(
                select(DataCategory).where(
                    DataCategory.database_id.in_([d.id for d in databases]), DataCategory.name.in_(data.category_names)
                )
            )
        )
        unknown = sorted(set(data.category_names) - {c.name for c in categories})
        if unknown:
            errors["category_names"] = [Msg("Unknown data categories: {names}", names=", ".join(unknown))]
    return databases, categories, errors


def _validate(session: Session, data: ServiceInput) -> dict[str, list[Msg]]:
    errors = require_fields(vars(data), ["code", "name"])
    if data.code and not CODE_RE.match(data.code.strip()):
        errors["code"] = [Msg("Use letters, digits, dots, dashes or underscores (2 to 80).")]
    if data.upstream_base_url and not data.upstream_base_url.startswith(("http://", "https://")):
        errors["upstream_base_url"] = [Msg("Enter an http(s) address.")]
    if not 0 < data.timeout_seconds <= 300:
        errors["timeout_seconds"] = [Msg("Enter a number of seconds between 1 and 300.")]
    op_errors = _operation_errors(data.operations)
    if op_errors:
        errors["operations"] = op_errors
    for name in ("request_schema", "response_schema", "openapi_document"):
        value = getattr(data, name)
        if value is not None and not isinstance(value, dict):
            errors[name] = [Msg("Enter a JSON object.")]
    for name in ("rate_limit_per_minute", "max_concurrency"):
        value = getattr(data, name)
        if value is not None and value <= 0:
            errors[name] = [Msg("Enter a whole number greater than 0.")]
    for name in ("available_from", "available_to"):
        value = getattr(data, name)
        if value and not TIME_RE.match(value):
            errors[name] = [Msg("Enter a time as HH:MM.")]
    if bool(data.available_from) != bool(data.available_to):
        errors.setdefault("available_to", []).append(Msg("Give both ends of the availability window, or neither."))
    if data.contact_email and "@" not in data.contact_email:
        errors["contact_email"] = [Msg("Enter a valid e-mail address.")]
    return errors


def completeness(service: DataService) -> dict[str, list[Msg]]:
    """Art. 24(3), 23(4) and 22: what is still missing before the service may be published."""
    required = Msg("Required before publication.")
    errors: dict[str, list[Msg]] = {}
    checks = {
        "code": service.code,
        "name": service.name,
        "version": service.version,
        "description": service.description,
        "upstream_base_url": service.upstream_base_url,
        "operations": service.operations,
        "request_schema": service.request_schema is not None,
        "response_schema": service.response_schema,
        "schema_standard": service.schema_standard,
        "database_codes": service.databases,
        "rate_limit_per_minute": service.rate_limit_per_minute,
        "max_concurrency": service.max_concurrency,
        "contact_name": service.contact_name,
        "contact_email": service.contact_email,
    }
    for name, value in checks.items():
        if not value:
            errors[name] = [required]
    if service.operations:
        op_errors = _operation_errors(service.operations)
        if op_errors:
            errors["operations"] = op_errors
    regulation = service.regulation
    if regulation is None:
        errors["regulation_code"] = [Msg("A service cannot be published without a usage regulation (Art. 22).")]
    elif regulation.status is not RegulationStatus.IN_FORCE:
        errors["regulation_code"] = [Msg("The usage regulation is not in force.")]
    elif regulation.scope is RegulationScope.DATABASES:
        covered = {d.id for d in regulation.databases}
        outside = sorted(d.code for d in service.databases if d.id not in covered)
        if outside:
            errors["regulation_code"] = [
                Msg("The usage regulation does not cover these databases: {codes}", codes=", ".join(outside))
            ]
    refused = [d.code for d in service.databases if d.contains_state_secret or d.sharing_scope is SharingScope.PRIVATE]
    if refused:
        errors["database_codes"] = [
            Msg("A database containing state secrets or of private scope cannot be shared: {codes}",
                codes=", ".join(refused))
        ]
    return errors


def _apply(session: Session, service: DataService, data: ServiceInput) -> None:
    databases, categories, errors = _resolve_sources(session, data)
    regulation = None
    if data.regulation_code:
        regulation = session.scalar(select(UsageRegulation).where(UsageRegulation.code == data.regulation_code))
        if regulation is None:
            errors["regulation_code"] = [Msg("Unknown usage regulation.")]
    errors.update(_validate(session, data))
    if errors:
        raise Invalid(fields=errors)
    service.name = text(data.name, 300)
    service.version = text(data.version, 40) or "1.0"
    service.description = text(data.description)
    service.upstream_base_url = text(data.upstream_base_url, 500).rstrip("/")
    service.timeout_seconds = float(data.timeout_seconds)
    service.protocol = data.protocol
    service.operations = [_clean_operation(op) for op in data.operations]
    service.request_schema = data.request_schema
    service.response_schema = data.response_schema
    service.schema_standard = text(data.schema_standard, 300)
    service.openapi_document = data.openapi_document
    service.documentation_url = text(data.documentation_url, 500) or None
    service.sharing_form = data.sharing_form
    service.method = data.method
    service.rate_limit_per_minute = data.rate_limit_per_minute
    service.max_concurrency = data.max_concurrency
    service.available_from = data.available_from or None
    service.available_to = data.available_to or None
    service.usage_regulation_id = regulation.id if regulation else None
    service.regulation = regulation
    service.contact_name = text(data.contact_name, 200)
    service.contact_email = text(data.contact_email, 254)
    service.contact_phone = text(data.contact_phone, 40)
    service.databases = databases
    service.categories = categories


def _clean_operation(op: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(op.get("name", "")).strip(),
        "method": str(op.get("method", "GET")).upper(),
        "path": str(op.get("path", "/")),
        "summary": str(op.get("summary") or ""),
        "parameters": [
            {
                "name": str(p.get("name")),
                "in": str(p.get("in") or "query"),
                "required": bool(p.get("required", False)),
                "description": str(p.get("description") or ""),
                "type": str(p.get("type") or "string"),
                **({"example": str(p["example"])} if p.get("example") not in (None, "") else {}),
            }
            for p in (op.get("parameters") or [])
        ],
    }


# -- writing ------------------------------------------------------------------------------


def _service_snapshot(service: DataService) -> dict[str, Any]:
    data = {k: v for k, v in snapshot(service).items() if k not in SNAPSHOT_SKIP}
    data["database_codes"] = sorted(d.code for d in service.databases)
    data["category_names"] = sorted(c.name for c in service.categories)
    data["regulation_code"] = service.regulation.code if service.regulation else None
    return data


def create_service(session: Session, actor: Actor, data: ServiceInput) -> DataService:
    """Register a draft service of the actor's agency (or of ``agency_code`` for admins)."""
    agency = own_agency(session, actor, data.agency_code)
    actor = acting(actor, SharingAction.SERVICE_MANAGE, agency.id)
    if session.scalar(select(DataService.id).where(DataService.code == data.code.strip())):
        raise Conflict(Msg("A service with this code already exists."), fields={"code": [Msg("Already used.")]})
    service = DataService(code=text(data.code, 80), provider_agency_id=agency.id, status=ServiceStatus.DRAFT)
    if not data.contact_name and not data.contact_email:
        # The agency's focal point for connection and sharing (Art. 7(1)) is the default contact.
        from dulieuso.agencies.models import FocalPoint

        point = session.scalar(
            select(FocalPoint).where(FocalPoint.agency_id == agency.id, FocalPoint.valid_to.is_(None))
        )
        if point is not None:
            data.contact_name, data.contact_email, data.contact_phone = point.full_name, point.email, point.phone
    _apply(session, service, data)
    session.add(service)
    record(session, actor, SharingTag.SERVICE_CREATE, service, after=_service_snapshot(service), label=service.code)
    return service


def update_service(session: Session, actor: Actor, code: str, data: ServiceInput) -> DataService:
    """Change a service. A published service is republished at once as a new version
    (Art. 25(2): update immediately), so the change must keep it complete."""
    service = get_service(session, actor, code)
    actor = acting(actor, SharingAction.SERVICE_MANAGE, service.provider_agency_id)
    if service.status is ServiceStatus.RETIRED:
        raise Conflict(Msg("A retired service cannot be changed."))
    before = _service_snapshot(service)
    _apply(session, service, data)
    if service.status in PUBLIC_STATUSES:
        missing = completeness(service)
        if missing:
            raise Invalid(Msg("A published service must stay complete."), fields=missing)
    after = _service_snapshot(service)
    record(session, actor, SharingTag.SERVICE_UPDATE, service, before=before, after=after, label=service.code)
    if service.status in PUBLIC_STATUSES and before != after:
        _publish_version(session, actor, service, note=data.note or "")
    return service


def mark_ready(session: Session, actor: Actor, code: str) -> DataService:
    """The service is ready to accept connections: the Art. 25(1) deadline starts."""
    service = get_service(session, actor, code)
    actor = acting(actor, SharingAction.SERVICE_MANAGE, service.provider_agency_id)
    if service.status is not ServiceStatus.DRAFT:
        raise Conflict(Msg("Only a draft service can be marked ready."))
    missing = completeness(service)
    if missing:
        raise Invalid(Msg("The service is not complete yet."), fields=missing)
    before = snapshot(service)
    service.status = ServiceStatus.READY
    service.ready_at = now()
    service.publication_due = due_date(session, "service_publication_deadline", service.ready_at)
    record(session, actor, SharingTag.SERVICE_READY, service, before=before, after=snapshot(service), label=service.code)
    return service


def publish(session: Session, actor: Actor, code: str, note: str = "") -> DataService:
    """Publish a ready (or draft) service after the completeness check."""
    service = get_service(session, actor, code)
    actor = acting(actor, SharingAction.SERVICE_PUBLISH, service.provider_agency_id)
    if service.status not in (ServiceStatus.DRAFT, ServiceStatus.READY):
        raise Conflict(Msg("This service is already published or retired."))
    missing = completeness(service)
    if missing:
        raise Invalid(Msg("The service is not complete yet."), fields=missing)
    moment = now()
    before = snapshot(service)
    if service.ready_at is None:
        service.ready_at = moment
        service.publication_due = due_date(session, "service_publication_deadline", moment)
    service.status = ServiceStatus.PUBLISHED
    service.published_at = moment
    late = service.publication_due is not None and local_date(moment) > service.publication_due
    record(session, actor, SharingTag.SERVICE_PUBLISH, service, before=before, after=snapshot(service),
           label=service.code, details={"late": late})
    if late and service.breach_alerted_at is None:
        _alert_breach(session, actor, service, moment)
    _publish_version(session, actor, service, note=note or "")
    return service


def _publish_version(session: Session, actor: Actor, service: DataService, note: str) -> ServiceVersion:
    previous = session.scalar(
        select(ServiceVersion).where(ServiceVersion.service_id == service.id).order_by(ServiceVersion.number.desc())
    )
    content = to_jsonable(_service_snapshot(service))
    version = ServiceVersion(
        service_id=service.id,
        number=(previous.number if previous else 0) + 1,
        published_by=actor.label,
        note=text(note),
        snapshot=content,
        diff=dict_diff(previous.snapshot if previous else {}, content),
    )
    session.add(version)
    service.published_version = version.number
    if previous is not None:
        _notify_change(session, service, version)
    return version


def _notify_change(session: Session, service: DataService, version: ServiceVersion) -> None:
    title = Msg("Service {code} changed (version {n})", code=service.code, n=version.number)
    body = Msg("Changed fields: {fields}", fields=", ".join(sorted(version.diff)) or "—")
    link = f"/services/{service.code}/versions"
    users = session.scalars(select(ServiceSubscription.user_id).where(ServiceSubscription.service_id == service.id))
    for user_id in users.all():
        notifications.notify(session, user_id, kind="sharing:service:changed", title=title, body=body, link=link)
    consumers = session.scalars(
        select(Application.consumer_agency_id)
        .join(Grant, Grant.application_id == Application.id)
        .where(Grant.service_id == service.id, Grant.status == GrantStatus.ACTIVE)
        .distinct()
    )
    for agency_id in consumers.all():
        notify_agency(session, agency_id, kind="sharing:service:changed", title=title, body=body, link=link)


def _alert_breach(session: Session, actor: Actor, service: DataService, moment: datetime) -> None:
    service.breach_alerted_at = moment
    notify_it_unit(
        session,
        kind="sharing:service:breach",
        title=Msg("Service {code} missed its publication deadline", code=service.code),
        body=Msg("Ready on {ready}, due by {due} (Decree 47 Art. 25(1)).",
                 ready=local_date(service.ready_at or moment).strftime("%d/%m/%Y"),
                 due=service.publication_due.strftime("%d/%m/%Y") if service.publication_due else "—"),
        link=f"/sharing/it-unit",
    )
    record(session, actor, SharingTag.SERVICE_BREACH, service, label=service.code,
           details={"publication_due": service.publication_due})


def alert_publication_breaches(session: Session, actor: Actor, at: datetime) -> int:
    """Alert the IT unit about ready services past their publication date (once each)."""
    late = session.scalars(
        select(DataService).where(
            DataService.status == ServiceStatus.READY,
            DataService.breach_alerted_at.is_(None),
            DataService.publication_due < local_date(at),
        )
    ).all()
    for service in late:
        _alert_breach(session, actor, service, at)
    return len(late)


def retire(session: Session, actor: Actor, code: str) -> DataService:
    service = get_service(session, actor, code)
    actor = acting(actor, SharingAction.SERVICE_PUBLISH, service.provider_agency_id)
    before = snapshot(service)
    service.status = ServiceStatus.RETIRED
    record(session, actor, SharingTag.SERVICE_RETIRE, service, before=before, after=snapshot(service), label=service.code)
    return service


def subscribe(session: Session, actor: Actor, code: str, on: bool = True) -> bool:
    """Follow (or stop following) a service's changes."""
    service = get_service(session, actor, code)
    if actor.user_id is None:
        raise Invalid(Msg("You need to log in."))
    existing = session.scalar(
        select(ServiceSubscription).where(
            ServiceSubscription.service_id == service.id, ServiceSubscription.user_id == actor.user_id
        )
    )
    if on and existing is None:
        session.add(ServiceSubscription(service_id=service.id, user_id=actor.user_id))
    elif not on and existing is not None:
        session.delete(existing)
    session.flush()
    return on


def is_subscribed(session: Session, actor: Actor, service: DataService) -> bool:
    if actor.user_id is None:
        return False
    return session.scalar(
        select(ServiceSubscription.id).where(
            ServiceSubscription.service_id == service.id, ServiceSubscription.user_id == actor.user_id
        )
    ) is not None


# -- reading ---------------------------------------------------------------------------------


def _visible(actor: Actor, service: DataService) -> bool:
    return service.status in PUBLIC_STATUSES or service.status is ServiceStatus.RETIRED or can(
        actor, SharingAction.SERVICE_MANAGE, service.provider_agency_id
    ) or can(actor, SharingAction.SERVICE_PUBLISH, service.provider_agency_id)


def get_service(session: Session, actor: Actor, code: str) -> DataService:
    """A service by code; unpublished ones only for the provider's staff (others get 404)."""
    service = session.scalar(select(DataService).where(DataService.code == code))
    if service is None or not _visible(actor, service):
        raise NotFound(Msg("Data service not found."), code="service_not_found")
    return service


@dataclass(frozen=True)
class ServiceQuery:
    q: str | None = None
    provider: str | None = None
    sharing_form: SharingForm | None = None
    method: SharingMethod | None = None
    status: ServiceStatus | None = None
    mine: bool = False
    limit: int = 50
    offset: int = 0


def list_services(session: Session, actor: Actor, query: ServiceQuery) -> tuple[list[DataService], int]:
    """The catalog: published and suspended services; with ``mine``, the provider's own
    services in every state."""
    if not 1 <= query.limit <= MAX_LIMIT or query.offset < 0:
        raise Invalid(Msg("limit must be between 1 and 500 and offset at least 0."))
    stmt = select(DataService)
    if query.mine:
        if actor.agency_id is None and not can(actor, SharingAction.SERVICE_MANAGE, None):
            return [], 0
        if not can(actor, SharingAction.SERVICE_MANAGE, None):
            stmt = stmt.where(DataService.provider_agency_id == actor.agency_id)
    else:
        stmt = stmt.where(DataService.status.in_(PUBLIC_STATUSES))
    if query.status is not None:
        stmt = stmt.where(DataService.status == query.status)
    if query.provider:
        stmt = stmt.join(Agency, Agency.id == DataService.provider_agency_id).where(Agency.code == query.provider)
    if query.sharing_form:
        stmt = stmt.where(DataService.sharing_form == query.sharing_form)
    if query.method:
        stmt = stmt.where(DataService.method == query.method)
    if query.q:
        # Diacritics are optional ("dat dai" finds "đất đai"); the catalog is small enough
        # (hundreds of services) to fold and match in Python.
        words = fold(query.q).split()
        found = [
            s for s in session.scalars(stmt.order_by(DataService.code))
            if all(w in fold(f"{s.code} {s.name} {s.description}") for w in words)
        ]
        return found[query.offset : query.offset + query.limit], len(found)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(DataService.code).limit(query.limit).offset(query.offset))
    return list(rows), total


def versions(session: Session, actor: Actor, code: str) -> list[ServiceVersion]:
    service = get_service(session, actor, code)
    return list(
        session.scalars(
            select(ServiceVersion).where(ServiceVersion.service_id == service.id).order_by(ServiceVersion.number.desc())
        )
    )


def response_fields(service: DataService) -> list[str]:
    """Top-level fields of the response schema (objects, or the items of an array)."""
    schema = service.response_schema or {}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    properties = schema.get("properties") or {}
    return list(properties) if isinstance(properties, dict) else []


def openapi(service: DataService, base_url: str) -> dict[str, Any]:
    """The service's OpenAPI document as seen through the gateway: the uploaded one with
    the gateway as server, or one generated from the operations and schemas."""
    server = {"url": f"{base_url.rstrip('/')}/gateway/{service.code}"}
    if service.openapi_document:
        document = dict(service.openapi_document)
        document["servers"] = [server]
        return document
    paths: dict[str, Any] = {}
    for op in service.operations or []:
        parameters = [
            {
                "name": p["name"],
                "in": p.get("in", "query"),
                "required": bool(p.get("required")) or p.get("in") == "path",
                "description": p.get("description", ""),
                "schema": {"type": p.get("type", "string")},
                **({"example": p["example"]} if p.get("example") else {}),
            }
            for p in op.get("parameters", [])
        ]
        entry: dict[str, Any] = {
            "operationId": op["name"],
            "summary": op.get("summary", ""),
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": service.response_schema or {}}},
                },
                "401": {"description": "Missing or invalid credentials"},
                "403": {"description": "No grant, expired grant, operation not allowed or consumer suspended"},
                "429": {"description": "Over quota"},
                "503": {"description": "Suspended or outside the availability window"},
            },
        }
        if op["method"] in ("POST", "PUT", "PATCH") and service.request_schema:
            entry["requestBody"] = {"content": {"application/json": {"schema": service.request_schema}}}
        paths.setdefault(op["path"], {})[op["method"].lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": service.name,
            "version": service.version,
            "description": service.description,
            "contact": {"name": service.contact_name, "email": service.contact_email},
            "x-sharing-form": service.sharing_form.value,
            "x-sharing-method": service.method.value,
            "x-schema-standard": service.schema_standard,
        },
        "servers": [server],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": f"{base_url.rstrip('/')}/gateway/token", "scopes": {}}},
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
        },
        "security": [{"oauth2": []}, {"apiKey": []}],
    }


def _method_entry(service: DataService, operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "name": service.name,
        "version": service.version,
        "provider_agency_id": str(service.provider_agency_id),
        "status": service.status.value,
        "operations": [{"name": op["name"], "method": op["method"], "path": op["path"]} for op in operations],
    }


def list_methods(session: Session) -> list[dict[str, Any]]:
    """Every operation of every published service (X-Road ``listMethods``)."""
    services = session.scalars(
        select(DataService).where(DataService.status.in_(PUBLIC_STATUSES)).order_by(DataService.code)
    ).all()
    return [_method_entry(s, s.operations or []) for s in services]


def allowed_methods(session: Session, application_ids: list[uuid.UUID], at: datetime | None = None) -> list[dict[str, Any]]:
    """The operations the applications' active, currently valid grants allow (X-Road ``allowedMethods``)."""
    if not application_ids:
        return []
    at = at or now()
    grants = session.scalars(
        select(Grant).where(
            Grant.application_id.in_(application_ids),
            Grant.status == GrantStatus.ACTIVE,
            Grant.valid_from <= at,
            or_(Grant.valid_to.is_(None), Grant.valid_to > at),
        )
    ).all()
    allowed: dict[uuid.UUID, set[str] | None] = {}
    for grant in grants:
        if grant.service_id in allowed and allowed[grant.service_id] is None:
            continue
        if grant.operations is None:
            allowed[grant.service_id] = None
        else:
            allowed.setdefault(grant.service_id, set())
            current = allowed[grant.service_id]
            assert current is not None
            current.update(grant.operations)
    if not allowed:
        return []
    services = session.scalars(
        select(DataService)
        .where(DataService.id.in_(list(allowed)), DataService.status.in_(PUBLIC_STATUSES))
        .order_by(DataService.code)
    ).all()
    result = []
    for service in services:
        names = allowed[service.id]
        ops = [op for op in service.operations or [] if names is None or op["name"] in names]
        result.append(_method_entry(service, ops))
    return result


def application_ids_of_agency(session: Session, agency_id: uuid.UUID | None) -> list[uuid.UUID]:
    if agency_id is None:
        return []
    return list(session.scalars(select(Application.id).where(Application.consumer_agency_id == agency_id)))


def window_label(service: DataService) -> str:
    if not service.available_from or not service.available_to:
        return ""
    return f"{service.available_from}–{service.available_to} ({service.availability_timezone})"


def parse_time(value: str) -> time:
    return time.fromisoformat(value)


def subscribers(session: Session, service: DataService) -> list[User]:
    return list(
        session.scalars(
            select(User).join(ServiceSubscription, ServiceSubscription.user_id == User.id).where(
                ServiceSubscription.service_id == service.id
            )
        )
    )
