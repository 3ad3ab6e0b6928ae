# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes of the sharing registry. The service catalog, the machine listings and the
usage regulations are public; everything else needs a login (or a connection account for
``services:allowed-methods``). Routes parse and render only: the service modules check
who may do what."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from dulieuso.auth import service as auth
from dulieuso.auth.permissions import Actor
from dulieuso.errors import Unauthorized
from dulieuso.i18n import Msg
from dulieuso.sharing import (
    agreements,
    consumers,
    grants,
    issues,
    regulations,
    requests,
    services,
    stats,
    usage_reports,
)
from dulieuso.sharing.access import registry_access
from dulieuso.sharing.consumers import IssuedAccount
from dulieuso.sharing.interfaces import Caller
from dulieuso.sharing.models import (
    GrantStatus,
    IssueStatus,
    RequestStatus,
    ServiceStatus,
    SharingForm,
    SharingMethod,
    UsageReportStatus,
)
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.schemas import (
    AccountIn,
    AccountPublic,
    AgreementIn,
    AmendIn,
    ApplicationIn,
    ApplicationPublic,
    ApprovalOut,
    ApproveIn,
    GrantPublic,
    IssuedAccountOut,
    IssueIn,
    JoinDecisionIn,
    JoinIn,
    PublishIn,
    RegulationIn,
    RegulationPublic,
    RejectIn,
    RequestIn,
    RequestPublic,
    RevokeIn,
    ServiceDetail,
    ServiceIn,
    ServicePublic,
    SuspensionIn,
    TerminationIn,
    TextIn,
    TransitionIn,
    UsageReportAnswerIn,
    UsageReportDemandIn,
    UsageReportPublic,
    VersionPublic,
)
from dulieuso.sharing.service import may, sweep_deadlines
from dulieuso.web.deps import ActorDep, DbDep, LangDep, LoginDep, SettingsDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["sharing"], responses=ERROR_RESPONSES)


def _issued(settings: Any, issued: IssuedAccount) -> IssuedAccountOut:
    return IssuedAccountOut(
        account=AccountPublic.of(issued.account), client_id=issued.account.client_id,
        client_secret=issued.client_secret, api_key=issued.api_key,
        token_url=f"{settings.base_url.rstrip('/')}/gateway/token",
    )


def _detail(db: DbDep, actor: Actor, settings: Any, service: Any, lang: str = "vi") -> ServiceDetail:
    internal = may(actor, SharingAction.SERVICE_MANAGE, service.provider_agency_id)
    return ServiceDetail.of_detail(db, service, settings.base_url, internal=internal, lang=lang)


# -- services ---------------------------------------------------------------------------------


@router.get("/services", response_model=Page[ServicePublic], summary="Published data-sharing services")
def list_services(
    db: DbDep, actor: ActorDep,
    q: str | None = Query(None, max_length=200), provider: str | None = Query(None, max_length=40),
    sharing_form: SharingForm | None = None, method: SharingMethod | None = None,
    status: ServiceStatus | None = None,
    mine: bool = Query(False, description="Your agency's services in every state"),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> Page[ServicePublic]:
    query = services.ServiceQuery(q=q, provider=provider, sharing_form=sharing_form, method=method, status=status,
                                  mine=mine, limit=limit, offset=offset)
    rows, total = services.list_services(db, actor, query)
    return Page(items=[ServicePublic.of(db, s) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/services:list-methods", summary="Every operation of every published service (X-Road listMethods)")
def list_methods(db: DbDep) -> dict[str, Any]:
    items = services.list_methods(db)
    return {"items": items, "total": len(items)}


def _caller_applications(request: Request, db: DbDep, actor: Actor) -> tuple[list[uuid.UUID], Caller | None]:
    """The applications an allowed-methods caller speaks for: a connection account (API
    key, gateway token or client id + secret in HTTP Basic) or an agency user."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        caller = registry_access.authenticate_api_key(db, api_key)
        if caller is None:
            raise Unauthorized(Msg("The API key is invalid, expired or revoked."), code="bad_api_key")
        return [caller.application_id], caller
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        import base64
        import binascii

        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        caller = registry_access.authenticate_client(db, client_id, secret)
        if caller is None:
            raise Unauthorized(Msg("The client id or secret is wrong, or the account is not active."), code="bad_client")
        return [caller.application_id], caller
    if scheme.lower() == "bearer" and value.strip().startswith("v1."):
        from dulieuso.sharing.gateway import read_token, token_key

        token_caller = read_token(token_key(request.app.state.settings.secret), value.strip())
        caller = registry_access.caller_by_account(db, token_caller.account_id) if token_caller else None
        if caller is None:
            raise Unauthorized(Msg("The access token is invalid or expired."), code="bad_token")
        return [caller.application_id], caller
    if scheme.lower() == "bearer":
        user = auth.user_for_token(db, value.strip())
        if user is None:
            raise Unauthorized(Msg("The API token is invalid, expired or revoked."), code="bad_token")
        return services.application_ids_of_agency(db, user.agency_id), None
    if not actor.is_authenticated:
        raise Unauthorized()
    return services.application_ids_of_agency(db, actor.agency_id), None


@router.get("/services:allowed-methods", summary="The operations the caller may use (X-Road allowedMethods)")
def allowed_methods(request: Request, db: DbDep) -> dict[str, Any]:
    from dulieuso.auth.permissions import ANONYMOUS

    actor = ANONYMOUS
    if not request.headers.get("authorization") and not request.headers.get("x-api-key"):
        cookie_user = _cookie_user(request, db)
        if cookie_user is not None:
            actor = auth.actor_for(cookie_user)
    application_ids, caller = _caller_applications(request, db, actor)
    items = services.allowed_methods(db, application_ids)
    body: dict[str, Any] = {"items": items, "total": len(items)}
    if caller is not None:
        body["client_id"] = caller.client_id
        body["consumer_agency_code"] = caller.consumer_agency_code
    return body


def _cookie_user(request: Request, db: DbDep) -> Any:
    from dulieuso.web.deps import SESSION_COOKIE

    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    return auth.user_for_session(db, cookie, days=request.app.state.settings.session_days)


@router.get("/services/{code}", response_model=ServiceDetail, summary="One data service with its documentation")
def get_service(code: str, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> ServiceDetail:
    return _detail(db, actor, settings, services.get_service(db, actor, code), lang)


@router.get("/services/{code}/openapi.json", summary="The service's OpenAPI document (through the gateway)")
def service_openapi(code: str, db: DbDep, actor: ActorDep, settings: SettingsDep) -> JSONResponse:
    service = services.get_service(db, actor, code)
    return JSONResponse(services.openapi(service, settings.base_url))


@router.get("/services/{code}/versions", response_model=list[VersionPublic], summary="Published versions with diffs")
def service_versions(code: str, db: DbDep, actor: ActorDep) -> list[VersionPublic]:
    return [
        VersionPublic(number=v.number, published_at=v.published_at, published_by=v.published_by, note=v.note,
                      diff=v.diff, snapshot=v.snapshot)
        for v in services.versions(db, actor, code)
    ]


@router.post("/services", response_model=ServiceDetail, status_code=201, summary="Register a draft service")
def create_service(body: ServiceIn, db: DbDep, actor: LoginDep, settings: SettingsDep) -> ServiceDetail:
    service = services.create_service(db, actor, body.to_input())
    db.commit()
    return _detail(db, actor, settings, service)


@router.put("/services/{code}", response_model=ServiceDetail, summary="Change a service (republished at once if published)")
def update_service(code: str, body: ServiceIn, db: DbDep, actor: LoginDep, settings: SettingsDep) -> ServiceDetail:
    service = services.update_service(db, actor, code, body.to_input())
    db.commit()
    return _detail(db, actor, settings, service)


@router.post("/services/{code}/ready", response_model=ServiceDetail, summary="Mark ready (the publication deadline starts)")
def mark_ready(code: str, db: DbDep, actor: LoginDep, settings: SettingsDep) -> ServiceDetail:
    service = services.mark_ready(db, actor, code)
    db.commit()
    return _detail(db, actor, settings, service)


@router.post("/services/{code}/publish", response_model=ServiceDetail, summary="Publish after the completeness check")
def publish_service(code: str, db: DbDep, actor: LoginDep, settings: SettingsDep, body: PublishIn | None = None) -> ServiceDetail:
    service = services.publish(db, actor, code, note=body.note if body else "")
    db.commit()
    return _detail(db, actor, settings, service)


@router.post("/services/{code}/retire", response_model=ServiceDetail, summary="Retire a service")
def retire_service(code: str, db: DbDep, actor: LoginDep, settings: SettingsDep) -> ServiceDetail:
    service = services.retire(db, actor, code)
    db.commit()
    return _detail(db, actor, settings, service)


@router.post("/services/{code}/subscription", summary="Follow a service's changes")
def subscribe(code: str, db: DbDep, actor: LoginDep) -> dict[str, bool]:
    services.subscribe(db, actor, code, True)
    db.commit()
    return {"subscribed": True}


@router.delete("/services/{code}/subscription", summary="Stop following a service")
def unsubscribe(code: str, db: DbDep, actor: LoginDep) -> dict[str, bool]:
    services.subscribe(db, actor, code, False)
    db.commit()
    return {"subscribed": False}


# -- regulations ------------------------------------------------------------------------------


@router.get("/regulations", response_model=Page[RegulationPublic], summary="Usage regulations (public)")
def list_regulations(
    db: DbDep, actor: ActorDep, q: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> Page[RegulationPublic]:
    rows, total = regulations.list_regulations(db, actor, q=q, limit=limit, offset=offset)
    return Page(items=[RegulationPublic.of(db, r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/regulations/{code}", response_model=RegulationPublic, summary="One usage regulation")
def get_regulation(code: str, db: DbDep, actor: ActorDep) -> RegulationPublic:
    return RegulationPublic.of(db, regulations.get_regulation(db, actor, code))


@router.post("/regulations", response_model=RegulationPublic, status_code=201, summary="Register a usage regulation")
def create_regulation(body: RegulationIn, db: DbDep, actor: LoginDep) -> RegulationPublic:
    regulation = regulations.create_regulation(db, actor, regulations.RegulationInput(**body.model_dump()))
    db.commit()
    return RegulationPublic.of(db, regulation)


@router.put("/regulations/{code}", response_model=RegulationPublic, summary="Change a usage regulation")
def update_regulation(code: str, body: RegulationIn, db: DbDep, actor: LoginDep) -> RegulationPublic:
    regulation = regulations.update_regulation(db, actor, code, regulations.RegulationInput(**body.model_dump()))
    db.commit()
    return RegulationPublic.of(db, regulation)


# -- applications and accounts -----------------------------------------------------------------


@router.get("/applications", response_model=list[ApplicationPublic], summary="Your agency's applications")
def list_applications(db: DbDep, actor: LoginDep) -> list[ApplicationPublic]:
    return [ApplicationPublic.of(db, a) for a in consumers.list_applications(db, actor)]


@router.post("/applications", response_model=ApplicationPublic, status_code=201, summary="Register an application")
def create_application(body: ApplicationIn, db: DbDep, actor: LoginDep) -> ApplicationPublic:
    application = consumers.create_application(db, actor, consumers.ApplicationInput(**body.model_dump()))
    db.commit()
    return ApplicationPublic.of(db, application)


@router.get("/applications/{application_id}", response_model=ApplicationPublic, summary="One application")
def get_application(application_id: uuid.UUID, db: DbDep, actor: LoginDep) -> ApplicationPublic:
    return ApplicationPublic.of(db, consumers.get_application(db, actor, application_id))


@router.post(
    "/applications/{application_id}/accounts", response_model=IssuedAccountOut, status_code=201,
    summary="Issue a connection account (the secret is shown once)",
)
def issue_account(application_id: uuid.UUID, body: AccountIn, db: DbDep, actor: LoginDep, settings: SettingsDep) -> IssuedAccountOut:
    consumers.get_application(db, actor, application_id)
    issued = consumers.issue_account(
        db, actor, application_id, label=body.label, valid_to=body.valid_to, with_api_key=body.with_api_key,
        cert_fingerprint=body.cert_fingerprint, delegated_by_code=body.delegated_by,
    )
    db.commit()
    return _issued(settings, issued)


@router.post("/accounts/{account_id}/revoke", response_model=AccountPublic, summary="Revoke a connection account")
def revoke_account(account_id: uuid.UUID, body: RevokeIn, db: DbDep, actor: LoginDep) -> AccountPublic:
    account = consumers.revoke_account(db, actor, account_id, body.reason)
    db.commit()
    return AccountPublic.of(account)


# -- connection requests ----------------------------------------------------------------------


def _request_out(db: DbDep, request: Any) -> RequestPublic:
    return RequestPublic(**requests.request_view(db, request))


@router.get("/connection-requests", response_model=Page[RequestPublic], summary="Connection requests in a box")
def list_requests(
    db: DbDep, actor: LoginDep,
    box: str = Query("mine", pattern="^(mine|incoming|all)$"), status: RequestStatus | None = None,
    overdue: bool = False, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> Page[RequestPublic]:
    rows, total = requests.list_requests(
        db, actor, requests.RequestQuery(box=box, status=status, overdue=overdue, limit=limit, offset=offset)
    )
    return Page(items=[_request_out(db, r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("/connection-requests", response_model=RequestPublic, status_code=201, summary="Submit a connection request")
def submit_request(body: RequestIn, db: DbDep, actor: LoginDep) -> RequestPublic:
    request = requests.submit(db, actor, requests.RequestInput(**body.model_dump()))
    db.commit()
    return _request_out(db, request)


@router.get("/connection-requests/{request_id}", response_model=RequestPublic, summary="One connection request")
def get_request(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> RequestPublic:
    return _request_out(db, requests.get_request(db, actor, request_id))


@router.post("/connection-requests/{request_id}/approve", response_model=ApprovalOut,
             summary="Approve: a grant and (if needed) a connection account, its secret shown once")
def approve_request(request_id: uuid.UUID, db: DbDep, actor: LoginDep, settings: SettingsDep,
                    body: ApproveIn | None = None) -> ApprovalOut:
    decision = requests.Decision(**body.model_dump()) if body else requests.Decision()
    approval = requests.approve(db, actor, request_id, decision)
    db.commit()
    return ApprovalOut(
        request=_request_out(db, approval.request),
        grant=GrantPublic(**grants.grant_views(db, [approval.grant])[0]),
        account=_issued(settings, approval.issued) if approval.issued else None,
    )


@router.post("/connection-requests/{request_id}/reject", response_model=RequestPublic,
             summary="Refuse with a reason and the legal basis")
def reject_request(request_id: uuid.UUID, body: RejectIn, db: DbDep, actor: LoginDep) -> RequestPublic:
    request = requests.reject(db, actor, request_id, reason=body.reason, legal_basis=body.legal_basis)
    db.commit()
    return _request_out(db, request)


@router.post("/connection-requests/{request_id}/withdraw", response_model=RequestPublic, summary="Withdraw a request")
def withdraw_request(request_id: uuid.UUID, db: DbDep, actor: LoginDep) -> RequestPublic:
    request = requests.withdraw(db, actor, request_id)
    db.commit()
    return _request_out(db, request)


# -- grants, suspensions, terminations ----------------------------------------------------------


@router.get("/grants", response_model=Page[GrantPublic], summary="Grants your agency holds or gives")
def list_grants(
    db: DbDep, actor: LoginDep, role: str = Query("any", pattern="^(any|consumer|provider)$"),
    service: str | None = Query(None, max_length=80), status: GrantStatus | None = None,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> Page[GrantPublic]:
    rows, total = grants.list_grants(db, actor, role=role, service_code=service, status=status, limit=limit, offset=offset)
    return Page(items=[GrantPublic(**v) for v in grants.grant_views(db, rows)], total=total, limit=limit, offset=offset)


@router.get("/grants/{grant_id}", response_model=GrantPublic, summary="One grant")
def get_grant(grant_id: uuid.UUID, db: DbDep, actor: LoginDep) -> GrantPublic:
    return GrantPublic(**grants.grant_views(db, [grants.get_grant(db, actor, grant_id)])[0])


@router.post("/grants/{grant_id}/terminate", summary="Terminate a grant (Art. 44); revokes the accounts")
def terminate_grant(grant_id: uuid.UUID, body: TerminationIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    termination = grants.terminate(db, actor, grant_id, reason=body.reason, details=body.details,
                                   consumer_obligations=body.consumer_obligations)
    db.commit()
    return {"id": str(termination.id), "grant_id": str(grant_id), "reason": termination.reason.value,
            "terminated_at": termination.terminated_at.isoformat()}


@router.get("/suspensions", summary="Suspension notices (public); ?all=1 adds per-consumer ones you may see")
def list_suspensions(db: DbDep, actor: ActorDep, service: str | None = Query(None, max_length=80),
                     all: bool = False) -> dict[str, Any]:
    rows = grants.list_suspensions(db, actor, public=not all, service_code=service)
    items = grants.suspension_views(db, rows)
    return {"items": items, "total": len(items)}


@router.post("/suspensions", status_code=201, summary="Suspend a service for everyone or for one consumer")
def create_suspension(body: SuspensionIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    suspension = grants.suspend(db, actor, grants.SuspensionInput(**body.model_dump()))
    db.commit()
    return grants.suspension_views(db, [suspension])[0]


@router.post("/suspensions/{suspension_id}/lift", summary="Restore the service (or cancel a planned suspension)")
def lift_suspension(suspension_id: uuid.UUID, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    suspension = grants.lift(db, actor, suspension_id)
    db.commit()
    return grants.suspension_views(db, [suspension])[0]


# -- agreements -----------------------------------------------------------------------------------


@router.get("/agreements", summary="Agreements your agency is party to")
def list_agreements(db: DbDep, actor: LoginDep) -> dict[str, Any]:
    items = [agreements.agreement_view(db, a) for a in agreements.list_agreements(db, actor)]
    return {"items": items, "total": len(items)}


@router.post("/agreements", status_code=201, summary="Start an agreement (needs review)")
def create_agreement(body: AgreementIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    agreement = agreements.create_agreement(db, actor, agreements.AgreementInput(**body.model_dump()))
    db.commit()
    return agreements.agreement_view(db, agreement)


@router.get("/agreements/{agreement_id}", summary="One agreement (parties and the IT unit only)")
def get_agreement(agreement_id: uuid.UUID, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    return agreements.agreement_view(db, agreements.get_agreement(db, actor, agreement_id))


@router.put("/agreements/{agreement_id}", summary="Edit the text before signing")
def update_agreement(agreement_id: uuid.UUID, body: AgreementIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    agreement = agreements.update_agreement(db, actor, agreement_id, agreements.AgreementInput(**body.model_dump()))
    db.commit()
    return agreements.agreement_view(db, agreement)


@router.post("/agreements/{agreement_id}/transition", summary="Move the agreement to another state")
def transition_agreement(agreement_id: uuid.UUID, body: TransitionIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    agreement = agreements.transition(db, actor, agreement_id, body.status)
    db.commit()
    return agreements.agreement_view(db, agreement)


@router.post("/agreements/{agreement_id}/sign", summary="Sign (items 1–11 required); the text becomes v1")
def sign_agreement(agreement_id: uuid.UUID, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    agreement = agreements.sign(db, actor, agreement_id)
    db.commit()
    return agreements.agreement_view(db, agreement)


@router.post("/agreements/{agreement_id}/amend", summary="Amend a signed agreement (a new version)")
def amend_agreement(agreement_id: uuid.UUID, body: AmendIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    data = body.model_dump()
    note = data.pop("note")
    version = agreements.amend(db, actor, agreement_id, agreements.AgreementInput(**data), note)
    db.commit()
    return {"version": version.number, "agreement": agreements.agreement_view(db, agreements.get_agreement(db, actor, agreement_id))}


@router.get("/agreements/{agreement_id}/versions", summary="Signed versions (immutable)")
def agreement_versions(agreement_id: uuid.UUID, db: DbDep, actor: LoginDep) -> list[dict[str, Any]]:
    return [
        {"number": v.number, "created_at": v.created_at.isoformat(), "created_by": v.created_by, "note": v.note,
         "content": v.content, "diff": v.diff}
        for v in agreements.versions(db, actor, agreement_id)
    ]


@router.post("/agreements/{agreement_id}/join", status_code=201, summary="Ask to join an agreement in force")
def join_agreement(agreement_id: uuid.UUID, body: JoinIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    join = agreements.ask_to_join(db, actor, agreement_id, body.reason, body.role, body.agency_code)
    db.commit()
    return {"id": str(join.id), "status": join.status.value}


@router.post("/agreement-join-requests/{join_id}/decide", summary="Accept or refuse a request to join")
def decide_join(join_id: uuid.UUID, body: JoinDecisionIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    join = agreements.decide_join(db, actor, join_id, body.accept)
    db.commit()
    return {"id": str(join.id), "status": join.status.value}


# -- issues -------------------------------------------------------------------------------------------


def _issue_out(db: DbDep, issue: Any) -> dict[str, Any]:
    return issues.issue_views(db, [issue])[0]


@router.get("/sharing-issues", summary="Sharing issues and disputes you may see")
def list_issues(db: DbDep, actor: LoginDep, status: IssueStatus | None = None) -> dict[str, Any]:
    items = issues.issue_views(db, issues.list_issues(db, actor, status=status))
    return {"items": items, "total": len(items)}


@router.post("/sharing-issues", status_code=201, summary="Raise an issue with the provider (Art. 49(1))")
def report_issue(body: IssueIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    issue = issues.report(db, actor, issues.IssueInput(**body.model_dump()))
    db.commit()
    return _issue_out(db, issue)


@router.get("/sharing-issues/{issue_id}", summary="One issue")
def get_issue(issue_id: uuid.UUID, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    return _issue_out(db, issues.get_issue(db, actor, issue_id))


@router.post("/sharing-issues/{issue_id}/answer", summary="The provider answers")
def answer_issue(issue_id: uuid.UUID, body: TextIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    issue = issues.answer(db, actor, issue_id, body.text)
    db.commit()
    return _issue_out(db, issue)


@router.post("/sharing-issues/{issue_id}/escalate", summary="Take the issue to the IT unit (Art. 49(2))")
def escalate_issue(issue_id: uuid.UUID, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    issue = issues.escalate(db, actor, issue_id)
    db.commit()
    return _issue_out(db, issue)


@router.post("/sharing-issues/{issue_id}/resolve", summary="Close the issue with its resolution")
def resolve_issue(issue_id: uuid.UUID, body: TextIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    issue = issues.resolve(db, actor, issue_id, body.text)
    db.commit()
    return _issue_out(db, issue)


# -- usage reports (Art. 51(1)(b)) ----------------------------------------------------------------


def _report_out(db: DbDep, report: Any) -> UsageReportPublic:
    return UsageReportPublic(**usage_reports.report_views(db, [report])[0])


@router.post("/grants/{grant_id}/usage-reports", response_model=UsageReportPublic, status_code=201,
             summary="Demand a usage report from the consumer (the provider; due in working days)")
def demand_usage_report(grant_id: uuid.UUID, body: UsageReportDemandIn, db: DbDep, actor: LoginDep) -> UsageReportPublic:
    report = usage_reports.demand(db, actor, grant_id, usage_reports.DemandInput(**body.model_dump()))
    db.commit()
    return _report_out(db, report)


@router.get("/usage-reports", response_model=Page[UsageReportPublic], summary="Usage reports demanded of or by your agency")
def list_usage_reports(
    db: DbDep, actor: LoginDep, role: str = Query("any", pattern="^(any|consumer|provider)$"),
    status: UsageReportStatus | None = None, overdue: bool = False, grant: uuid.UUID | None = None,
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> Page[UsageReportPublic]:
    query = usage_reports.ReportQuery(role=role, status=status, overdue=overdue, grant_id=grant, limit=limit, offset=offset)
    rows, total = usage_reports.list_reports(db, actor, query)
    items = [UsageReportPublic(**v) for v in usage_reports.report_views(db, rows)]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/usage-reports/{report_id}", response_model=UsageReportPublic, summary="One usage report")
def get_usage_report(report_id: uuid.UUID, db: DbDep, actor: LoginDep) -> UsageReportPublic:
    return _report_out(db, usage_reports.get_report(db, actor, report_id))


@router.post("/usage-reports/{report_id}/answer", response_model=UsageReportPublic,
             summary="The consumer sends its usage report")
def answer_usage_report(report_id: uuid.UUID, body: UsageReportAnswerIn, db: DbDep, actor: LoginDep) -> UsageReportPublic:
    report = usage_reports.answer(db, actor, report_id, usage_reports.AnswerInput(**body.model_dump()))
    db.commit()
    return _report_out(db, report)


# -- statistics and deadlines ---------------------------------------------------------------------


@router.get("/sharing/statistics", summary="Calls, refusals, errors and latency per service, consumer and day")
def statistics(
    db: DbDep, actor: LoginDep, days: int = Query(30, ge=1, le=366),
    service: str | None = Query(None, max_length=80),
) -> dict[str, Any]:
    return stats.overview(db, actor, days=days, service_code=service)


@router.get("/sharing/statistics/database/{code}", summary="Who accessed this database's data, when and why")
def database_access(code: str, db: DbDep, actor: LoginDep, days: int = Query(30, ge=1, le=366),
                    limit: int = Query(200, ge=1, le=1000)) -> dict[str, Any]:
    return stats.database_access(db, actor, code, days=days, limit=limit)


@router.post("/sharing/deadlines:sweep", summary="Alert on missed deadlines and escalate unanswered issues")
def sweep(db: DbDep, actor: LoginDep) -> dict[str, int]:
    from dulieuso.auth.permissions import require

    require(actor, SharingAction.IT_QUEUE_VIEW)
    result = sweep_deadlines(db, actor)
    db.commit()
    return {"services": result.services, "requests": result.requests, "issues": result.issues,
            "agreements": result.agreements, "usage_reports": result.usage_reports}

