# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages of the sharing registry: the public service catalog with a developer page per
service, usage regulations and suspension notices; the consumer's applications and
requests; the provider's services, request queue, agreements and suspensions; the IT
unit's queues; statistics. Each page calls the same service functions as the API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, DomainError, Invalid
from dulieuso.i18n import Msg
from dulieuso.policy.service import LOCAL_TZ
from dulieuso.sharing import agreements, consumers, grants, issues, regulations, requests, services, stats, usage_reports
from dulieuso.sharing import usage_report_views
from dulieuso.sharing.models import (
    AgreementStatus,
    DataService,
    IssueCategory,
    RequestStatus,
    ServiceStatus,
    StorageMode,
    SuspensionKind,
    TerminationReason,
    UsageReportStatus,
)
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.schemas import ApplicationPublic, RegulationPublic, ServiceDetail, ServicePublic
from dulieuso.sharing.service import it_unit_id, may
from dulieuso.web.deps import ActorDep, DbDep, LangDep, LoginDep, SettingsDep
from dulieuso.web.templating import render
from dulieuso.web.forms import FormDep, form_date as _date, form_int as _int, form_text as _text

router = APIRouter(include_in_schema=False)
# The grant page and the usage-report pages (Art. 51(1)(b)) live in their own module.
router.include_router(usage_report_views.router)


def _datetime(form: FormData, name: str, errors: dict[str, list[Msg]]) -> datetime | None:
    value = _text(form, name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors[name] = [Msg("Enter a date and time.")]
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _json(form: FormData, name: str, errors: dict[str, list[Msg]], default: Any = None) -> Any:
    value = _text(form, name)
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        errors[name] = [Msg("Enter valid JSON.")]
        return default


def _list(form: FormData, name: str) -> list[str]:
    return [part.strip() for part in _text(form, name).replace("\n", ",").split(",") if part.strip()]


def _errors(error: DomainError, lang: str) -> dict[str, list[str]]:
    return error.rendered_fields(lang)


def _raise(errors: dict[str, list[Msg]]) -> None:
    if errors:
        raise Invalid(fields=errors)


# -- public: catalog, developer page, regulations, notices ---------------------------------------


@router.get("/services", response_class=HTMLResponse)
def catalog(request: Request, db: DbDep, actor: ActorDep, q: str = Query("", max_length=200)) -> HTMLResponse:
    rows, total = services.list_services(db, actor, services.ServiceQuery(q=q or None, limit=200))
    items = [ServicePublic.of(db, s).model_dump() for s in rows]
    return render(request, "sharing/catalog.html", {"services": items, "total": total, "q": q},
                  json_alternate="/api/v1/services")


@router.get("/services/{code}", response_class=HTMLResponse)
def service_page(request: Request, code: str, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    service = services.get_service(db, actor, code)
    internal = may(actor, SharingAction.SERVICE_MANAGE, service.provider_agency_id)
    detail = ServiceDetail.of_detail(db, service, settings.base_url, internal=internal, lang=lang).model_dump()
    example_op = (service.operations or [{"method": "GET", "path": "/"}])[0]
    example_path = example_op["path"]
    for param in example_op.get("parameters", []):
        example_path = example_path.replace("{" + param["name"] + "}", param.get("example") or param["name"])
    query = "&".join(f"{p['name']}={p['example']}" for p in example_op.get("parameters", [])
                     if p.get("in") == "query" and p.get("example"))
    if query:
        example_path += "?" + query
    return render(request, "sharing/service.html", {
        "s": detail,
        "internal": internal,
        "can_publish": may(actor, SharingAction.SERVICE_PUBLISH, service.provider_agency_id),
        "subscribed": services.is_subscribed(db, actor, service),
        "notices": [n for n in grants.suspension_views(db, grants.list_suspensions(db, actor, service_code=code))
                    if n["state"] in ("active", "scheduled")],
        "example_method": example_op["method"],
        "example_url": f"{detail['gateway_url']}{example_path}",
        "token_url": f"{settings.base_url.rstrip('/')}/gateway/token",
        "schemas_json": {
            "request": json.dumps(detail["request_schema"], ensure_ascii=False, indent=2) if detail["request_schema"] is not None else "",
            "response": json.dumps(detail["response_schema"], ensure_ascii=False, indent=2) if detail["response_schema"] is not None else "",
        },
        "saved": request.query_params.get("saved"),
    }, json_alternate=f"/api/v1/services/{code}")


@router.get("/services/{code}/versions", response_class=HTMLResponse)
def service_versions(request: Request, code: str, db: DbDep, actor: ActorDep) -> HTMLResponse:
    service = services.get_service(db, actor, code)
    rows = services.versions(db, actor, code)
    return render(request, "sharing/versions.html", {
        "s": {"code": service.code, "name": service.name},
        "versions": [{"number": v.number, "published_at": v.published_at, "published_by": v.published_by,
                      "note": v.note, "diff": v.diff} for v in rows],
    }, json_alternate=f"/api/v1/services/{code}/versions")


@router.post("/services/{code}/subscription")
def toggle_subscription(code: str, db: DbDep, actor: LoginDep, form: FormDep) -> RedirectResponse:
    services.subscribe(db, actor, code, _text(form, "on") == "1")
    db.commit()
    return RedirectResponse(f"/services/{code}", status_code=303)


def _regulations_page(request: Request, db: Session, actor: Actor, *, form: dict[str, str] | None = None,
                      errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    rows, total = regulations.list_regulations(db, actor, limit=500)
    return render(request, "sharing/regulations.html", {
        "regulations": [RegulationPublic.of(db, r).model_dump() for r in rows], "total": total,
        "can_manage": actor.is_authenticated and may(actor, SharingAction.REGULATION_MANAGE, actor.agency_id),
        "form": form or {"scope": "databases", "status": "in_force", "log_retention_days": "1825"},
        "errors": errors or {},
    }, status_code=status_code, json_alternate="/api/v1/regulations")


@router.get("/regulations", response_class=HTMLResponse)
def regulation_list(request: Request, db: DbDep, actor: ActorDep) -> HTMLResponse:
    return _regulations_page(request, db, actor)


REGULATION_TEXT = ("code", "title", "decision_number", "decision_date", "signer", "scope", "topic_group", "summary",
                   "document_url", "valid_from", "valid_to", "period_online_query_hours", "period_sync_days",
                   "period_package_days", "log_retention_days", "status", "database_codes", "agency_code")


@router.post("/regulations", response_class=HTMLResponse)
def create_regulation(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    from dulieuso.sharing.models import RegulationScope, RegulationStatus

    values = {name: _text(form, name) for name in REGULATION_TEXT}
    values["allows_anonymous"] = "1" if _text(form, "allows_anonymous") == "1" else ""
    errors: dict[str, list[Msg]] = {}
    try:
        try:
            scope = RegulationScope(values["scope"] or "databases")
            status = RegulationStatus(values["status"] or "in_force")
        except ValueError:
            raise Invalid(fields={"scope": [Msg("Choose a value from the list.")]}) from None
        data = regulations.RegulationInput(
            code=values["code"], title=values["title"], decision_number=values["decision_number"],
            decision_date=_date(form, "decision_date", errors), scope=scope, agency_code=values["agency_code"] or None,
            signer=values["signer"], topic_group=values["topic_group"], summary=values["summary"],
            document_url=values["document_url"] or None, valid_from=_date(form, "valid_from", errors),
            valid_to=_date(form, "valid_to", errors),
            period_online_query_hours=_int(form, "period_online_query_hours", errors),
            period_sync_days=_int(form, "period_sync_days", errors),
            period_package_days=_int(form, "period_package_days", errors),
            log_retention_days=_int(form, "log_retention_days", errors) or 1825,
            allows_anonymous=bool(values["allows_anonymous"]), status=status,
            database_codes=_list(form, "database_codes"))
        _raise(errors)
        regulation = regulations.create_regulation(db, actor, data)
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _regulations_page(request, db, actor, form=values, errors=_errors(error, lang), status_code=error.status)
    return RedirectResponse(f"/regulations/{regulation.code}", status_code=303)


@router.get("/regulations/{code}", response_class=HTMLResponse)
def regulation_page(request: Request, code: str, db: DbDep, actor: ActorDep) -> HTMLResponse:
    regulation = regulations.get_regulation(db, actor, code)
    linked = db.scalars(select(DataService).where(DataService.usage_regulation_id == regulation.id,
                                                  DataService.status.in_(services.PUBLIC_STATUSES))).all()
    return render(request, "sharing/regulation.html", {
        "r": RegulationPublic.of(db, regulation).model_dump(),
        "has_file": bool(regulation.document_file),
        "can_manage": may(actor, SharingAction.REGULATION_MANAGE, regulation.issuing_agency_id),
        "services": [{"code": s.code, "name": s.name} for s in linked],
    }, json_alternate=f"/api/v1/regulations/{code}")


@router.post("/regulations/{code}/document", response_class=HTMLResponse)
async def upload_regulation_document(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep,
                                     settings: SettingsDep) -> Response:
    form = await request.form()
    try:
        upload = form.get("document")
        content = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    finally:
        await form.close()
    try:
        regulations.attach_document(db, actor, code, content, settings.storage_dir)
        db.commit()
    except Invalid as error:
        db.rollback()
        return render(request, "errors/error.html", {"status": 422, "message": error.message.render(lang),
                                                     "fields": _errors(error, lang)}, status_code=422)
    return RedirectResponse(f"/regulations/{code}", status_code=303)


@router.get("/regulations/{code}/document")
def regulation_document(code: str, db: DbDep, actor: ActorDep, settings: SettingsDep) -> Response:
    from fastapi.responses import FileResponse

    from dulieuso.errors import NotFound

    regulation = regulations.get_regulation(db, actor, code)
    path = regulations.document_path(settings.storage_dir, regulation)
    if path is None or not path.exists():
        raise NotFound(Msg("Not found."))
    return FileResponse(path, media_type="application/pdf", filename=f"{regulation.code}.pdf")


@router.get("/sharing/notices", response_class=HTMLResponse)
def notices(request: Request, db: DbDep, actor: ActorDep) -> HTMLResponse:
    rows = grants.suspension_views(db, grants.list_suspensions(db, actor, public=True))
    return render(request, "sharing/notices.html", {"notices": rows}, json_alternate="/api/v1/suspensions")


# -- consumer: applications and accounts ---------------------------------------------------------


def _applications_page(request: Request, db: Session, actor: Actor, *, form: dict[str, str] | None = None,
                       errors: dict[str, list[str]] | None = None, issued: Any = None, status_code: int = 200) -> HTMLResponse:
    apps = [ApplicationPublic.of(db, a).model_dump() for a in consumers.list_applications(db, actor)]
    return render(request, "sharing/applications.html", {
        "applications": apps, "form": form or {}, "errors": errors or {}, "issued": issued,
        "token_url": f"{request.app.state.settings.base_url.rstrip('/')}/gateway/token",
    }, status_code=status_code, json_alternate="/api/v1/applications")


@router.get("/sharing/applications", response_class=HTMLResponse)
def applications_page(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _applications_page(request, db, actor)


@router.post("/sharing/applications", response_class=HTMLResponse)
def create_application(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in ("code", "name", "description", "contact_email", "agency_code")}
    try:
        consumers.create_application(db, actor, consumers.ApplicationInput(
            code=values["code"], name=values["name"], description=values["description"],
            contact_email=values["contact_email"], agency_code=values["agency_code"] or None))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _applications_page(request, db, actor, form=values, errors=_errors(error, lang), status_code=422)
    return RedirectResponse("/sharing/applications", status_code=303)


@router.post("/sharing/applications/{application_id}/accounts", response_class=HTMLResponse)
def issue_account(request: Request, application_id: uuid.UUID, db: DbDep, actor: LoginDep, form: FormDep) -> HTMLResponse:
    consumers.get_application(db, actor, application_id)
    issued = consumers.issue_account(db, actor, application_id, label=_text(form, "label"),
                                     with_api_key=_text(form, "with_api_key") == "1")
    db.commit()
    shown = {"client_id": issued.account.client_id, "client_secret": issued.client_secret, "api_key": issued.api_key}
    return _applications_page(request, db, actor, issued=shown)


@router.post("/sharing/accounts/{account_id}/revoke")
def revoke_account(account_id: uuid.UUID, db: DbDep, actor: LoginDep, form: FormDep) -> RedirectResponse:
    consumers.revoke_account(db, actor, account_id, _text(form, "reason"))
    db.commit()
    return RedirectResponse("/sharing/applications", status_code=303)


# -- consumer: requesting access ------------------------------------------------------------------


def _request_form(request: Request, db: Session, actor: Actor, service: DataService, *, form: dict[str, Any] | None = None,
                  errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    apps = consumers.list_applications(db, actor)
    return render(request, "sharing/request_form.html", {
        "s": {"code": service.code, "name": service.name, "sharing_form": service.sharing_form.value,
              "method": service.method.value, "period_of_use_hours": requests.period_of_use_hours(service)},
        "fields": services.response_fields(service),
        "operations": service.operations or [],
        "applications": [{"id": str(a.id), "name": a.name} for a in apps],
        "form": form or {"requested_fields": services.response_fields(service), "storage_mode": "none"},
        "errors": errors or {},
    }, status_code=status_code)


@router.get("/services/{code}/request", response_class=HTMLResponse)
def request_form(request: Request, code: str, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _request_form(request, db, actor, services.get_service(db, actor, code))


@router.post("/services/{code}/request", response_class=HTMLResponse)
def submit_request(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    service = services.get_service(db, actor, code)
    values: dict[str, Any] = {name: _text(form, name) for name in (
        "purpose", "use_after_retrieval", "frequency", "other_info", "application_id", "agreement_code",
        "requested_valid_to", "agency_code", "storage_mode", "storage_days", "storage_reason")}
    values["requested_fields"] = [v for v in form.getlist("requested_fields") if isinstance(v, str)]
    values["operations"] = [v for v in form.getlist("operations") if isinstance(v, str)]
    errors: dict[str, list[Msg]] = {}
    try:
        valid_to = _date(form, "requested_valid_to", errors)
        storage_days = _int(form, "storage_days", errors)
        try:
            storage_mode = StorageMode(values["storage_mode"] or "none")
        except ValueError:
            errors["storage_mode"] = [Msg("Choose a value from the list.")]
            storage_mode = StorageMode.NONE
        application_id = None
        if values["application_id"]:
            try:
                application_id = uuid.UUID(values["application_id"])
            except ValueError:
                errors["application_id"] = [Msg("Choose an active application of your agency.")]
        _raise(errors)
        all_ops = {op["name"] for op in service.operations or []}
        created = requests.submit(db, actor, requests.RequestInput(
            service_code=service.code, purpose=values["purpose"], frequency=values["frequency"],
            requested_fields=values["requested_fields"], use_after_retrieval=values["use_after_retrieval"],
            other_info=values["other_info"], application_id=application_id,
            operations=values["operations"] if values["operations"] and set(values["operations"]) != all_ops else None,
            requested_valid_to=valid_to, agreement_code=values["agreement_code"] or None,
            agency_code=values["agency_code"] or None, storage_mode=storage_mode, storage_days=storage_days,
            storage_reason=values["storage_reason"]))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _request_form(request, db, actor, service, form=values, errors=_errors(error, lang), status_code=422)
    return RedirectResponse(f"/sharing/requests/{created.id}?sent=1", status_code=303)


# -- requests: lists and decisions ------------------------------------------------------------------


@router.get("/sharing/requests", response_class=HTMLResponse)
def request_list(request: Request, db: DbDep, actor: LoginDep,
                 box: str = Query("mine", pattern="^(mine|incoming|all)$")) -> HTMLResponse:
    rows, total = requests.list_requests(db, actor, requests.RequestQuery(box=box, limit=500))
    return render(request, "sharing/requests.html", {
        "box": box, "requests": [requests.request_view(db, r) for r in rows], "total": total,
        "it_unit": can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(db)) or can(actor, SharingAction.IT_QUEUE_VIEW, None),
    }, json_alternate=f"/api/v1/connection-requests?box={box}")


def _request_page(request: Request, db: Session, actor: Actor, request_id: uuid.UUID, *, errors: dict[str, list[str]] | None = None,
                  form: dict[str, str] | None = None, issued: Any = None, message: str | None = None,
                  status_code: int = 200) -> HTMLResponse:
    item = requests.get_request(db, actor, request_id)
    view = requests.request_view(db, item)
    return render(request, "sharing/request.html", {
        "r": view,
        "can_decide": item.status is RequestStatus.SUBMITTED
        and can(actor, SharingAction.REQUEST_DECIDE, view["provider_agency_id"]),
        "can_withdraw": item.status is RequestStatus.SUBMITTED
        and can(actor, SharingAction.REQUEST_SUBMIT, item.requesting_agency_id),
        "errors": errors or {}, "form": form or {}, "issued": issued, "message": message,
        "sent": request.query_params.get("sent"),
    }, status_code=status_code, json_alternate=f"/api/v1/connection-requests/{request_id}")


@router.get("/sharing/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _request_page(request, db, actor, request_id)


@router.post("/sharing/requests/{request_id}/approve", response_class=HTMLResponse)
def approve_request(request: Request, request_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in ("quota_per_minute", "quota_per_day", "valid_to", "agreement_code",
                                                   "allow_storage", "storage_until", "storage_note")}
    errors: dict[str, list[Msg]] = {}
    try:
        decision = requests.Decision(
            quota_per_minute=_int(form, "quota_per_minute", errors), quota_per_day=_int(form, "quota_per_day", errors),
            valid_to=_date(form, "valid_to", errors), agreement_code=values["agreement_code"] or None,
            allow_storage=values["allow_storage"] == "1", storage_until=_date(form, "storage_until", errors),
            storage_note=values["storage_note"])
        _raise(errors)
        approval = requests.approve(db, actor, request_id, decision)
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _request_page(request, db, actor, request_id, errors=_errors(error, lang), form=values,
                             message=error.message.render(lang), status_code=error.status)
    if approval.issued is not None:
        shown = {"client_id": approval.issued.account.client_id, "client_secret": approval.issued.client_secret}
        return _request_page(request, db, actor, request_id, issued=shown)
    return RedirectResponse(f"/sharing/requests/{request_id}", status_code=303)


@router.post("/sharing/requests/{request_id}/reject", response_class=HTMLResponse)
def reject_request(request: Request, request_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in ("reason", "legal_basis")}
    try:
        requests.reject(db, actor, request_id, reason=values["reason"], legal_basis=values["legal_basis"])
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _request_page(request, db, actor, request_id, errors=_errors(error, lang), form=values,
                             message=error.message.render(lang), status_code=error.status)
    return RedirectResponse(f"/sharing/requests/{request_id}", status_code=303)


@router.post("/sharing/requests/{request_id}/withdraw")
def withdraw_request(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> RedirectResponse:
    requests.withdraw(db, actor, request_id)
    db.commit()
    return RedirectResponse(f"/sharing/requests/{request_id}", status_code=303)


# -- provider: my services ----------------------------------------------------------------------------

SERVICE_TEXT = ("code", "name", "version", "description", "upstream_base_url", "schema_standard", "documentation_url",
                "available_from", "available_to", "regulation_code", "contact_name", "contact_email", "contact_phone",
                "sharing_form", "method", "protocol", "agency_code", "note")


@router.get("/sharing/my-services", response_class=HTMLResponse)
def my_services(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    rows, total = services.list_services(db, actor, services.ServiceQuery(mine=True, limit=500))
    items = []
    for s in rows:
        item = ServicePublic.of(db, s).model_dump()
        item["publication_due"] = s.publication_due
        item["missing"] = sorted(services.completeness(s))
        items.append(item)
    return render(request, "sharing/my_services.html", {"services": items, "total": total},
                  json_alternate="/api/v1/services?mine=true")


def _service_form(request: Request, db: Session, *, code: str | None, form: dict[str, Any],
                  errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    regs, _ = regulations.list_regulations(db, request.state.actor, limit=500)
    return render(request, "sharing/service_form.html", {
        "code": code, "form": form, "errors": errors or {},
        "regulation_options": [("", "—")] + [(r.code, f"{r.code} — {r.title}") for r in regs],
    }, status_code=status_code)


def _service_values(service: DataService) -> dict[str, Any]:
    return {
        "code": service.code, "name": service.name, "version": service.version, "description": service.description,
        "upstream_base_url": service.upstream_base_url, "timeout_seconds": service.timeout_seconds,
        "schema_standard": service.schema_standard, "documentation_url": service.documentation_url or "",
        "available_from": service.available_from or "", "available_to": service.available_to or "",
        "regulation_code": service.regulation.code if service.regulation else "",
        "contact_name": service.contact_name, "contact_email": service.contact_email,
        "contact_phone": service.contact_phone, "sharing_form": service.sharing_form.value,
        "method": service.method.value, "protocol": service.protocol.value,
        "rate_limit_per_minute": service.rate_limit_per_minute or "", "max_concurrency": service.max_concurrency or "",
        "operations": json.dumps(service.operations or [], ensure_ascii=False, indent=2),
        "request_schema": json.dumps(service.request_schema, ensure_ascii=False, indent=2) if service.request_schema is not None else "",
        "response_schema": json.dumps(service.response_schema, ensure_ascii=False, indent=2) if service.response_schema is not None else "",
        "openapi_document": json.dumps(service.openapi_document, ensure_ascii=False, indent=2) if service.openapi_document else "",
        "database_codes": ", ".join(sorted(d.code for d in service.databases)),
        "category_names": ", ".join(sorted(c.name for c in service.categories)),
    }


def _service_input(form: FormData) -> tuple[services.ServiceInput, dict[str, Any]]:
    errors: dict[str, list[Msg]] = {}
    values: dict[str, Any] = {name: _text(form, name) for name in SERVICE_TEXT}
    for name in ("operations", "request_schema", "response_schema", "openapi_document", "database_codes", "category_names",
                 "rate_limit_per_minute", "max_concurrency", "timeout_seconds"):
        values[name] = _text(form, name)
    from dulieuso.sharing.models import Protocol, SharingForm, SharingMethod

    try:
        timeout = float(values["timeout_seconds"] or 30)
    except ValueError:
        errors["timeout_seconds"] = [Msg("Enter a number of seconds between 1 and 300.")]
        timeout = 30.0
    operations = _json(form, "operations", errors, [])
    if not isinstance(operations, list):
        errors["operations"] = [Msg("Enter a JSON list of operations.")]
        operations = []
    try:
        data = services.ServiceInput(
            code=values["code"], name=values["name"], agency_code=values["agency_code"] or None,
            version=values["version"] or "1.0", description=values["description"],
            upstream_base_url=values["upstream_base_url"], timeout_seconds=timeout,
            protocol=Protocol(values["protocol"] or "rest"), operations=operations,
            request_schema=_json(form, "request_schema", errors), response_schema=_json(form, "response_schema", errors),
            schema_standard=values["schema_standard"], documentation_url=values["documentation_url"] or None,
            openapi_document=_json(form, "openapi_document", errors),
            sharing_form=SharingForm(values["sharing_form"] or "default"),
            method=SharingMethod(values["method"] or "online_query"),
            rate_limit_per_minute=_int(form, "rate_limit_per_minute", errors),
            max_concurrency=_int(form, "max_concurrency", errors),
            available_from=values["available_from"] or None, available_to=values["available_to"] or None,
            regulation_code=values["regulation_code"] or None, contact_name=values["contact_name"],
            contact_email=values["contact_email"], contact_phone=values["contact_phone"],
            database_codes=_list(form, "database_codes"), category_names=_list(form, "category_names"),
            note=values["note"],
        )
    except ValueError:
        errors["sharing_form"] = [Msg("Choose a value from the list.")]
        raise Invalid(fields=errors) from None
    _raise(errors)
    return data, values


@router.get("/sharing/my-services/new", response_class=HTMLResponse)
def new_service_form(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _service_form(request, db, code=None, form={
        "version": "1.0", "timeout_seconds": 30, "sharing_form": "default", "method": "online_query",
        "protocol": "rest", "operations": "[]", "available_from": "", "available_to": ""})


@router.post("/sharing/my-services/new", response_class=HTMLResponse)
def create_service(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values: dict[str, Any] = {name: _text(form, name) for name in form.keys()}
    try:
        data, values = _service_input(form)
        service = services.create_service(db, actor, data)
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _service_form(request, db, code=None, form=values, errors=_errors(error, lang), status_code=error.status)
    return RedirectResponse(f"/services/{service.code}?saved=1", status_code=303)


@router.get("/services/{code}/edit", response_class=HTMLResponse)
def edit_service_form(request: Request, code: str, db: DbDep, actor: LoginDep) -> HTMLResponse:
    service = services.get_service(db, actor, code)
    from dulieuso.auth.permissions import require

    require(actor, SharingAction.SERVICE_MANAGE, service.provider_agency_id)
    return _service_form(request, db, code=code, form=_service_values(service))


@router.post("/services/{code}/edit", response_class=HTMLResponse)
def edit_service(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values: dict[str, Any] = {name: _text(form, name) for name in form.keys()}
    try:
        data, values = _service_input(form)
        data.code = code
        services.update_service(db, actor, code, data)
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _service_form(request, db, code=code, form=values, errors=_errors(error, lang), status_code=error.status)
    return RedirectResponse(f"/services/{code}?saved=1", status_code=303)


@router.post("/services/{code}/{step}", response_class=HTMLResponse)
def service_step(request: Request, code: str, step: str, db: DbDep, actor: LoginDep, lang: LangDep) -> Response:
    actions = {"ready": services.mark_ready, "publish": services.publish, "retire": services.retire}
    if step not in actions:
        from dulieuso.errors import NotFound

        raise NotFound()
    try:
        actions[step](db, actor, code)
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return render(request, "errors/error.html", {
            "status": error.status, "message": error.message.render(lang), "fields": _errors(error, lang),
        }, status_code=error.status)
    return RedirectResponse(f"/services/{code}?saved=1", status_code=303)


# -- grants, suspensions -------------------------------------------------------------------------------


@router.get("/sharing/grants", response_class=HTMLResponse)
def grant_list(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    rows, total = grants.list_grants(db, actor, limit=500)
    views = grants.grant_views(db, rows)
    for view in views:
        view["can_terminate"] = view["status"] != "terminated" and can(
            actor, SharingAction.TERMINATION_MANAGE, view["provider_agency_id"])
        view["can_demand_report"] = can(actor, SharingAction.USAGE_REPORT_REQUEST, view["provider_agency_id"])
    return render(request, "sharing/grants.html", {
        "grants": views, "total": total,
        "reasons": [(r.value, r.value) for r in TerminationReason],
    }, json_alternate="/api/v1/grants")


@router.post("/sharing/grants/{grant_id}/terminate")
def terminate_grant(grant_id: uuid.UUID, db: DbDep, actor: LoginDep, form: FormDep) -> RedirectResponse:
    grants.terminate(db, actor, grant_id, reason=TerminationReason(_text(form, "reason") or "d"),
                     details=_text(form, "details"), consumer_obligations=_text(form, "consumer_obligations"))
    db.commit()
    return RedirectResponse("/sharing/grants", status_code=303)


def _suspensions_page(request: Request, db: Session, actor: Actor, *, form: dict[str, str] | None = None,
                      errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    rows = grants.suspension_views(db, grants.list_suspensions(db, actor, public=False))
    mine, _ = services.list_services(db, actor, services.ServiceQuery(mine=True, status=ServiceStatus.PUBLISHED, limit=500))
    return render(request, "sharing/suspensions.html", {
        "suspensions": rows, "form": form or {"kind": "planned"}, "errors": errors or {},
        "service_options": [(s.code, f"{s.code} — {s.name}") for s in mine],
        "kind_options": [(k.value, k.value) for k in SuspensionKind],
    }, status_code=status_code)


@router.get("/sharing/suspensions", response_class=HTMLResponse)
def suspensions_page(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _suspensions_page(request, db, actor)


@router.post("/sharing/suspensions", response_class=HTMLResponse)
def create_suspension(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    names = ("service_code", "kind", "reason", "starts_at", "ends_at", "consumer_agency_code", "violation",
             "handling_plan", "restore_conditions")
    values = {name: _text(form, name) for name in names}
    errors: dict[str, list[Msg]] = {}
    try:
        try:
            kind = SuspensionKind(values["kind"])
        except ValueError:
            errors["kind"] = [Msg("Choose a value from the list.")]
            kind = SuspensionKind.PLANNED
        data = grants.SuspensionInput(
            service_code=values["service_code"], kind=kind, reason=values["reason"],
            starts_at=_datetime(form, "starts_at", errors), ends_at=_datetime(form, "ends_at", errors),
            consumer_agency_code=values["consumer_agency_code"] or None, violation=values["violation"],
            handling_plan=values["handling_plan"], restore_conditions=values["restore_conditions"])
        _raise(errors)
        grants.suspend(db, actor, data)
        db.commit()
    except Invalid as error:
        db.rollback()
        return _suspensions_page(request, db, actor, form=values, errors=_errors(error, lang), status_code=422)
    return RedirectResponse("/sharing/suspensions", status_code=303)


@router.post("/sharing/suspensions/{suspension_id}/lift")
def lift_suspension(suspension_id: uuid.UUID, db: DbDep, actor: LoginDep) -> RedirectResponse:
    grants.lift(db, actor, suspension_id)
    db.commit()
    return RedirectResponse("/sharing/suspensions", status_code=303)


# -- agreements -----------------------------------------------------------------------------------------

AGREEMENT_TEXT = ("code", "title", "service_code", "provider_code", "agency_code", "valid_from", "valid_to",
                  *agreements.TEXT_FIELDS)


@router.get("/sharing/agreements", response_class=HTMLResponse)
def agreement_list(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    rows = [agreements.agreement_view(db, a) for a in agreements.list_agreements(db, actor)]
    return render(request, "sharing/agreements.html", {"agreements": rows, "form": {}, "errors": {}},
                  json_alternate="/api/v1/agreements")


def _agreement_input(form: FormData) -> agreements.AgreementInput:
    errors: dict[str, list[Msg]] = {}
    data = agreements.AgreementInput(
        code=_text(form, "code"), title=_text(form, "title"), consumer_codes=_list(form, "consumer_codes"),
        provider_code=_text(form, "provider_code") or None, service_code=_text(form, "service_code") or None,
        agency_code=_text(form, "agency_code") or None, valid_from=_date(form, "valid_from", errors),
        valid_to=_date(form, "valid_to", errors), **{name: _text(form, name) for name in agreements.TEXT_FIELDS})
    _raise(errors)
    return data


@router.post("/sharing/agreements", response_class=HTMLResponse)
def create_agreement(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in (*AGREEMENT_TEXT, "consumer_codes")}
    try:
        agreement = agreements.create_agreement(db, actor, _agreement_input(form))
        db.commit()
    except Invalid as error:
        db.rollback()
        rows = [agreements.agreement_view(db, a) for a in agreements.list_agreements(db, actor)]
        return render(request, "sharing/agreements.html", {"agreements": rows, "form": values,
                                                          "errors": _errors(error, lang)}, status_code=422)
    return RedirectResponse(f"/sharing/agreements/{agreement.id}", status_code=303)


@router.post("/sharing/agreements/join", response_class=HTMLResponse)
def ask_to_join(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    from dulieuso.sharing.models import SharingAgreement

    values = {"join_code": _text(form, "join_code"), "reason": _text(form, "reason")}
    try:
        agreement_id = db.scalar(select(SharingAgreement.id).where(SharingAgreement.code == values["join_code"]))
        if agreement_id is None:
            raise Invalid(fields={"join_code": [Msg("Unknown agreement.")]})
        agreements.ask_to_join(db, actor, agreement_id, values["reason"])
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        rows = [agreements.agreement_view(db, a) for a in agreements.list_agreements(db, actor)]
        errors = _errors(error, lang)
        if "reason" not in errors and "join_code" not in errors:
            errors["join_code"] = [error.message.render(lang)]
        return render(request, "sharing/agreements.html", {"agreements": rows, "form": values, "errors": errors},
                      status_code=error.status)
    return RedirectResponse("/sharing/agreements?asked=1", status_code=303)


def _agreement_page(request: Request, db: Session, actor: Actor, agreement_id: uuid.UUID, *,
                    errors: dict[str, list[str]] | None = None, message: str | None = None, status_code: int = 200) -> HTMLResponse:
    agreement = agreements.get_agreement(db, actor, agreement_id)
    view = agreements.agreement_view(db, agreement)
    history = [{"number": v.number, "created_at": v.created_at, "created_by": v.created_by, "note": v.note, "diff": v.diff}
               for v in agreements.versions(db, actor, agreement_id)]
    joins = [{"id": j.id, "agency_id": j.agency_id, "reason": j.reason, "status": j.status.value}
             for j in agreements.join_requests(db, actor, agreement_id)]
    return render(request, "sharing/agreement.html", {
        "a": view, "versions": history, "joins": joins, "errors": errors or {}, "message": message,
        "headings": agreements.HEADINGS,
        "editable": agreement.status in (AgreementStatus.NEEDS_REVIEW, AgreementStatus.DRAFTING),
        "amendable": agreement.status in (AgreementStatus.SIGNED, AgreementStatus.ACTIVE),
    }, status_code=status_code, json_alternate=f"/api/v1/agreements/{agreement_id}")


@router.get("/sharing/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement_page(request: Request, agreement_id: uuid.UUID, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _agreement_page(request, db, actor, agreement_id)


@router.post("/sharing/agreements/{agreement_id}/{step}", response_class=HTMLResponse)
def agreement_step(request: Request, agreement_id: uuid.UUID, step: str, db: DbDep, actor: LoginDep, lang: LangDep,
                   form: FormDep) -> Response:
    try:
        if step == "edit":
            agreements.update_agreement(db, actor, agreement_id, _agreement_input(form))
        elif step == "amend":
            agreements.amend(db, actor, agreement_id, _agreement_input(form), _text(form, "note"))
        elif step == "transition":
            agreements.transition(db, actor, agreement_id, AgreementStatus(_text(form, "status")))
        elif step == "join":
            agreements.ask_to_join(db, actor, agreement_id, _text(form, "reason"))
        elif step == "decide-join":
            agreements.decide_join(db, actor, uuid.UUID(_text(form, "join_id")), _text(form, "accept") == "1")
        else:
            from dulieuso.errors import NotFound

            raise NotFound()
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _agreement_page(request, db, actor, agreement_id, errors=_errors(error, lang),
                               message=error.message.render(lang), status_code=error.status)
    return RedirectResponse(f"/sharing/agreements/{agreement_id}", status_code=303)


# -- issues -------------------------------------------------------------------------------------------------


@router.get("/sharing/issues", response_class=HTMLResponse)
def issue_list(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return render(request, "sharing/issues.html", {
        "issues": issues.issue_views(db, issues.list_issues(db, actor)), "form": {}, "errors": {},
        "categories": [c.value for c in IssueCategory],
    }, json_alternate="/api/v1/sharing-issues")


@router.post("/sharing/issues", response_class=HTMLResponse)
def report_issue(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in ("category", "title", "description", "service_code", "provider_code")}
    try:
        try:
            category = IssueCategory(values["category"])
        except ValueError:
            raise Invalid(fields={"category": [Msg("Choose a value from the list.")]}) from None
        issue = issues.report(db, actor, issues.IssueInput(
            category=category, title=values["title"], description=values["description"],
            service_code=values["service_code"] or None, provider_code=values["provider_code"] or None))
        db.commit()
    except Invalid as error:
        db.rollback()
        return render(request, "sharing/issues.html", {
            "issues": issues.issue_views(db, issues.list_issues(db, actor)), "form": values,
            "errors": _errors(error, lang), "categories": [c.value for c in IssueCategory]}, status_code=422)
    return RedirectResponse(f"/sharing/issues/{issue.id}", status_code=303)


@router.get("/sharing/issues/{issue_id}", response_class=HTMLResponse)
def issue_page(request: Request, issue_id: uuid.UUID, db: DbDep, actor: LoginDep) -> HTMLResponse:
    issue = issues.get_issue(db, actor, issue_id)
    return render(request, "sharing/issue.html", {
        "i": issues.issue_views(db, [issue])[0],
        "can_answer": issue.status.value == "open" and can(actor, SharingAction.ISSUE_ANSWER, issue.provider_agency_id),
        "can_escalate": issue.status.value in ("open", "answered") and can(actor, SharingAction.ISSUE_REPORT, issue.reporter_agency_id),
        "can_resolve": (issue.status.value == "escalated" and (can(actor, SharingAction.ISSUE_RESOLVE, it_unit_id(db))))
        or (issue.status.value == "answered" and can(actor, SharingAction.ISSUE_REPORT, issue.reporter_agency_id)),
    }, json_alternate=f"/api/v1/sharing-issues/{issue_id}")


@router.post("/sharing/issues/{issue_id}/{step}")
def issue_step(issue_id: uuid.UUID, step: str, db: DbDep, actor: LoginDep, form: FormDep) -> RedirectResponse:
    if step == "answer":
        issues.answer(db, actor, issue_id, _text(form, "text"))
    elif step == "escalate":
        issues.escalate(db, actor, issue_id)
    elif step == "resolve":
        issues.resolve(db, actor, issue_id, _text(form, "text"))
    else:
        from dulieuso.errors import NotFound

        raise NotFound()
    db.commit()
    return RedirectResponse(f"/sharing/issues/{issue_id}", status_code=303)


# -- IT unit and statistics ------------------------------------------------------------------------------


@router.get("/sharing/it-unit", response_class=HTMLResponse)
def it_unit_page(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    from dulieuso.auth.permissions import require

    unit = it_unit_id(db)
    if not can(actor, SharingAction.IT_QUEUE_VIEW, None):
        require(actor, SharingAction.IT_QUEUE_VIEW, unit)
    overdue, _ = requests.list_requests(db, actor, requests.RequestQuery(box="all", overdue=True, limit=500))
    refused, _ = requests.list_requests(db, actor, requests.RequestQuery(box="all", status=RequestStatus.REJECTED, limit=500))
    pending, _ = requests.list_requests(db, actor, requests.RequestQuery(box="all", status=RequestStatus.SUBMITTED, limit=500))
    breaches = db.scalars(select(DataService).where(DataService.breach_alerted_at.is_not(None)).order_by(DataService.code)).all()
    from dulieuso.policy.service import local_date

    today = local_date(datetime.now(LOCAL_TZ))
    late_ready = db.scalars(select(DataService).where(DataService.status == ServiceStatus.READY,
                                                      DataService.publication_due < today)).all()
    disputes = [i for i in issues.issue_views(db, issues.list_issues(db, actor)) if i["status"] in ("escalated", "open")]
    reports, _ = usage_reports.list_reports(db, actor, usage_reports.ReportQuery(status=UsageReportStatus.REQUESTED, limit=500))
    return render(request, "sharing/it_unit.html", {
        "pending": [requests.request_view(db, r) for r in pending],
        "overdue": [requests.request_view(db, r) for r in overdue],
        "refused": [requests.request_view(db, r) for r in refused],
        "breaches": [{"code": s.code, "name": s.name, "ready_at": s.ready_at, "publication_due": s.publication_due,
                      "published_at": s.published_at} for s in {*breaches, *late_ready}],
        "disputes": disputes,
        # Art. 51(1)(b): demanded usage reports still unanswered, the overdue ones flagged.
        "usage_reports": usage_reports.report_views(db, reports),
    })


@router.get("/sharing/statistics", response_class=HTMLResponse)
def statistics_page(request: Request, db: DbDep, actor: LoginDep, days: int = Query(30, ge=1, le=366),
                    service: str = Query("", max_length=80)) -> HTMLResponse:
    data = stats.overview(db, actor, days=days, service_code=service or None)
    from dulieuso.catalog.models import Database

    if can(actor, SharingAction.STATS_VIEW, None):
        databases = db.scalars(select(Database.code).order_by(Database.code)).all()
    else:
        databases = db.scalars(select(Database.code).where(Database.owner_agency_id == actor.agency_id)
                               .order_by(Database.code)).all()
    return render(request, "sharing/statistics.html", {"st": data, "days": days, "service": service,
                                                       "databases": list(databases)},
                  json_alternate=f"/api/v1/sharing/statistics?days={days}")


@router.get("/sharing/statistics/database/{code}", response_class=HTMLResponse)
def database_access_page(request: Request, code: str, db: DbDep, actor: LoginDep,
                         days: int = Query(30, ge=1, le=366)) -> HTMLResponse:
    data = stats.database_access(db, actor, code, days=days, limit=500)
    return render(request, "sharing/database_access.html", {"d": data, "days": days},
                  json_alternate=f"/api/v1/sharing/statistics/database/{code}?days={days}")


@router.get("/sharing", response_class=HTMLResponse)
def sharing_home(request: Request, db: DbDep, actor: ActorDep) -> HTMLResponse:
    return render(request, "sharing/home.html", {
        "it_unit": actor.is_authenticated and (can(actor, SharingAction.IT_QUEUE_VIEW, None)
                                               or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(db))),
    })
