# SPDX-License-Identifier: AGPL-3.0-or-later
"""Demo data of the sharing registry (``data/demo.yaml``): a usage regulation, three
published services on the built-in demo upstream, an application of Sở NN&MT with one
connection account (demo-only credentials), one approved grant with two usage reports
(one answered, one awaiting the answer) and one pending request that asks to store the
data beyond its period of use.
Idempotent: running it again changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor
from dulieuso.catalog.models import Database
from dulieuso.config import get_settings
from dulieuso.policy.service import local_date
from dulieuso.sharing import consumers, regulations, requests, services, usage_reports
from dulieuso.sharing.access import hash_secret
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.service import now
from dulieuso.sharing.models import (
    AccountStatus,
    Application,
    ConnectionAccount,
    ConnectionRequest,
    DataService,
    RegulationScope,
    ServiceStatus,
    StorageMode,
    UsageRegulation,
)

DEMO_FILE = Path(__file__).parent / "data" / "demo.yaml"


def _data() -> dict[str, Any]:
    return yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _existing_databases(session: Session, codes: list[str]) -> list[str]:
    found = set(session.scalars(select(Database.code).where(Database.code.in_(codes)))) if codes else set()
    return [c for c in codes if c in found]


def _has_agency(session: Session, code: str) -> bool:
    return session.scalar(select(Agency.id).where(Agency.code == code)) is not None


def _schema(fields: dict[str, str]) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": kind} for name, kind in fields.items()}}


def load_demo(session: Session, actor: Actor, base_url: str | None = None) -> dict[str, int]:
    """Load the demo; returns what was created. Databases missing from the catalog are
    skipped (a service without one stays a draft, since publication needs it)."""
    data = _data()
    base = (base_url or get_settings().base_url).rstrip("/")
    counts = {
        "regulations": 0, "services": 0, "published": 0, "applications": 0, "accounts": 0, "requests": 0,
        "usage_reports": 0,
    }

    spec = data["regulation"]
    regulation = session.scalar(select(UsageRegulation).where(UsageRegulation.code == spec["code"]))
    if regulation is None and _has_agency(session, spec["agency"]):
        regulation = regulations.create_regulation(session, actor, regulations.RegulationInput(
            code=spec["code"], title=spec["title"], agency_code=spec["agency"], decision_number=spec["decision_number"],
            decision_date=spec["decision_date"], signer=spec.get("signer", ""), scope=RegulationScope(spec["scope"]),
            topic_group=spec.get("topic_group", ""), summary=spec.get("summary", ""),
            document_url=spec.get("document_url"), valid_from=spec["decision_date"],
            period_online_query_hours=spec.get("period_online_query_hours"),
            period_sync_days=spec.get("period_sync_days"), period_package_days=spec.get("period_package_days"),
            log_retention_days=spec.get("log_retention_days", 1825),
            database_codes=_existing_databases(session, spec.get("database_codes", [])),
        ))
        counts["regulations"] += 1

    for item in data["services"]:
        if not _has_agency(session, item["agency"]):
            continue
        service = session.scalar(select(DataService).where(DataService.code == item["code"]))
        if service is None:
            service = services.create_service(session, actor, services.ServiceInput(
                code=item["code"], name=item["name"], agency_code=item["agency"], version=item.get("version", "1.0"),
                description=item["description"], upstream_base_url=f"{base}/demo-upstream/{item['upstream']}",
                timeout_seconds=item.get("timeout_seconds", 10), operations=item["operations"],
                request_schema={"type": "object", "description": "Tham số truyền trên đường dẫn và chuỗi truy vấn"},
                response_schema=_schema(item["response_fields"]),
                schema_standard="JSON Schema 2020-12; mã đơn vị hành chính theo danh mục dùng chung",
                rate_limit_per_minute=item.get("rate_limit_per_minute"), max_concurrency=item.get("max_concurrency"),
                available_from=item.get("available_from"), available_to=item.get("available_to"),
                regulation_code=regulation.code if regulation else None, contact_name=item["contact_name"],
                contact_email=item["contact_email"], contact_phone=item.get("contact_phone", ""),
                database_codes=_existing_databases(session, item.get("database_codes", [])),
            ))
            counts["services"] += 1
        if service.status is ServiceStatus.DRAFT and not services.completeness(service):
            services.publish(session, actor, service.code, note="Công bố dữ liệu minh họa")
            counts["published"] += 1

    spec = data["application"]
    if not _has_agency(session, spec["agency"]):
        return counts
    agency = session.scalar(select(Agency).where(Agency.code == spec["agency"]))
    assert agency is not None
    application = session.scalar(
        select(Application).where(Application.consumer_agency_id == agency.id, Application.code == spec["code"])
    )
    if application is None:
        application = consumers.create_application(session, actor, consumers.ApplicationInput(
            code=spec["code"], name=spec["name"], agency_code=spec["agency"], description=spec.get("description", ""),
            contact_email=spec.get("contact_email", "")))
        counts["applications"] += 1
    account_spec = spec["account"]
    if session.scalar(select(ConnectionAccount.id).where(ConnectionAccount.client_id == account_spec["client_id"])) is None:
        # Known demo credentials (docs/sharing.md), so a newcomer can call the gateway at once.
        account = ConnectionAccount(
            application_id=application.id, client_id=account_spec["client_id"],
            secret_hash=hash_secret(account_spec["client_secret"]), api_key_hash=hash_secret(account_spec["api_key"]),
            api_key_prefix=account_spec["api_key"][:12], label=account_spec.get("label", ""),
            status=AccountStatus.ACTIVE, issued_by=actor.label,
        )
        session.add(account)
        record(session, actor, SharingTag.ACCOUNT_ISSUE, account, after=snapshot(account), label=account.client_id)
        counts["accounts"] += 1

    for key, approve in (("approved_request", True), ("pending_request", False)):
        spec = data[key]
        service = session.scalar(select(DataService).where(DataService.code == spec["service"]))
        if service is None or service.status is not ServiceStatus.PUBLISHED:
            continue
        exists = session.scalar(select(ConnectionRequest.id).where(
            ConnectionRequest.application_id == application.id, ConnectionRequest.service_id == service.id))
        if exists is not None:
            continue
        request = requests.submit(session, actor, requests.RequestInput(
            service_code=service.code, agency_code=data["application"]["agency"], application_id=application.id,
            purpose=spec["purpose"], use_after_retrieval=spec.get("use_after_retrieval", ""),
            frequency=spec["frequency"], requested_fields=spec["requested_fields"],
            storage_mode=StorageMode(spec.get("storage_mode", StorageMode.NONE.value)),
            storage_days=spec.get("storage_days"), storage_reason=spec.get("storage_reason", "")))
        counts["requests"] += 1
        if approve:
            approval = requests.approve(session, actor, request.id, requests.Decision(
                quota_per_minute=spec.get("quota_per_minute"), quota_per_day=spec.get("quota_per_day")))
            counts["usage_reports"] += _usage_reports(session, actor, approval.grant.id, spec)
    return counts


def _usage_reports(session: Session, actor: Actor, grant_id: uuid.UUID, spec: dict[str, Any]) -> int:
    """Art. 51(1)(b) on the demo grant: one usage report demanded and answered, one still
    awaiting the consumer's answer."""
    made = 0
    answered = spec.get("usage_report")
    if answered:
        today = local_date(now())
        report = usage_reports.demand(session, actor, grant_id, usage_reports.DemandInput(
            reason=answered["reason"], period_from=today - timedelta(days=answered.get("period_days", 90)), period_to=today))
        usage_reports.answer(session, actor, report.id, usage_reports.AnswerInput(**answered["answer"]))
        made += 1
    waiting = spec.get("open_usage_report")
    if waiting:
        usage_reports.demand(session, actor, grant_id, usage_reports.DemandInput(reason=waiting["reason"]))
        made += 1
    return made
