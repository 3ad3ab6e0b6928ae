# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages of the public's voice and the open-data plan: the requests board, a request with
its votes, comments and history, the agency's queue, feedback on a dataset, the reuse
showcase, moderation, the plan and the issued versions of its list, and the overdue
board. Each page calls the same service functions as its JSON twin in ``voice_api`` and
renders the same shapes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from dulieuso.agencies import service as agencies
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, DomainError, Invalid
from dulieuso.i18n import Msg
from dulieuso.opendata import abuse, feedback, list_issues, plan, showcase
from dulieuso.opendata import requests as data_requests
from dulieuso.opendata.voice_api import (
    FeedbackPublic,
    ListIssueOut,
    PlanOut,
    RequestDetail,
    RequestPublic,
    ShowcasePublic,
    list_issue_detail,
    overdue_out,
)
from dulieuso.opendata.voice_models import (
    AbuseReason,
    FeedbackCategory,
    RequestStatus,
    ShowcaseKind,
)
from dulieuso.opendata.voice_permissions import VoiceAction
from dulieuso.web.deps import ActorDep, DbDep, LangDep, LoginDep
from dulieuso.web.templating import render
from dulieuso.web.forms import FormDep, form_date as _date, form_int as _int, form_text as _text

router = APIRouter(include_in_schema=False)
T = "opendata/voice/"


def _errors(error: DomainError, lang: str) -> dict[str, list[str]]:
    fields = error.rendered_fields(lang)
    if not fields:
        fields["_"] = [error.message.render(lang)]
    return fields


def _labels(lang: str) -> dict[str, Any]:
    return {
        "status_labels": {s.value: data_requests.STATUS_LABELS[s].render(lang) for s in RequestStatus},
        "category_labels": {c.value: feedback.CATEGORY_LABELS[c].render(lang) for c in FeedbackCategory},
        "kind_labels": {k.value: showcase.KIND_LABELS[k].render(lang) for k in ShowcaseKind},
        "reason_labels": {r.value: abuse.REASON_LABELS[r].render(lang) for r in AbuseReason},
    }


# -- the board and filing -----------------------------------------------------------------------


@router.get("/data/requests", response_class=HTMLResponse)
def board(
    request: Request, db: DbDep, actor: ActorDep, lang: LangDep, q: str = Query("", max_length=200),
    status: str = Query("", max_length=20), agency: str = Query("", max_length=40),
    sort: str = Query("votes", max_length=10), page: int = Query(1, ge=1, le=10000),
) -> HTMLResponse:
    limit = 25
    rows, total = data_requests.list_requests(db, actor, data_requests.RequestQuery(
        q=q, status=status, agency_code=agency, sort=sort, limit=limit, offset=(page - 1) * limit))
    return render(request, T + "board.html", {
        "items": [RequestPublic.of(db, r).model_dump() for r in rows], "total": total, "page": page,
        "pages": max(1, (total + limit - 1) // limit),
        "filters": {"q": q, "status": status, "agency": agency, "sort": sort},
        "agencies": agencies.active_choices(db), **_labels(lang),
    }, json_alternate="/api/v1/data-requests")


def _request_form(request: Request, db: Session, form: dict[str, str] | None = None,
                  errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, T + "request_form.html", {
        "form": form or {}, "errors": errors or {}, "agencies": agencies.active_choices(db),
        "limit": data_requests.DAILY_LIMIT,
    }, status_code=status_code)


@router.get("/data/requests/new", response_class=HTMLResponse)
def new_request(request: Request, db: DbDep, actor: LoginDep) -> HTMLResponse:
    data_requests.participant(actor, VoiceAction.REQUEST_FILE)
    return _request_form(request, db, {"agency_code": request.query_params.get("agency", "")})


@router.post("/data/requests/new", response_class=HTMLResponse)
def file_request(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {n: _text(form, n) for n in ("title", "description", "use_case", "agency_code")}
    try:
        created = data_requests.file_request(db, actor, data_requests.RequestInput(**values))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _request_form(request, db, values, _errors(error, lang), 422)
    return RedirectResponse(f"/data/requests/{created.id}", status_code=303)


# -- the agency's queue (before /{id}) ---------------------------------------------------------------


@router.get("/data/requests/queue", response_class=HTMLResponse)
def agency_queue(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, agency: str = Query("", max_length=40),
                 closed: bool = False) -> HTMLResponse:
    agency_id = agencies.get_by_code(db, agency).id if agency else None
    scope = data_requests.queue_scope(db, actor, agency_id)
    rows = data_requests.queue(db, actor, agency_id, include_closed=closed)
    shown = agencies.get(db, scope)
    return render(request, T + "queue.html", {
        "items": [RequestPublic.of(db, r).model_dump() for r in rows],
        "agency": {"code": shown.code, "name": shown.name_vi} if shown else None,
        "all_agencies": scope is None or can(actor, VoiceAction.REQUEST_QUEUE),
        "agencies": agencies.active_choices(db), "closed": closed, "selected": agency, **_labels(lang),
    }, json_alternate=f"/api/v1/data-requests/queue?agency={agency}")


# -- one request ----------------------------------------------------------------------------------------


def _detail(request: Request, db: Session, actor: Actor, lang: str, request_id: uuid.UUID, *,
            errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None,
            status_code: int = 200) -> HTMLResponse:
    found = data_requests.get_request(db, actor, request_id)
    return render(request, T + "request.html", {
        "r": RequestDetail.of_detail(db, actor, found).model_dump(), "errors": errors or {}, "form": form or {},
        "today": data_requests.today(), **_labels(lang),
    }, status_code=status_code, json_alternate=f"/api/v1/data-requests/{request_id}")


@router.get("/data/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: uuid.UUID, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _detail(request, db, actor, lang, request_id)


@router.post("/data/requests/{request_id}/vote")
def toggle_vote(request_id: uuid.UUID, db: DbDep, actor: LoginDep, form: FormDep) -> Response:
    # The page's button is a toggle; the API keeps the strict "409 on a second vote".
    if _text(form, "on") == "0":
        data_requests.unvote(db, actor, request_id)
    else:
        try:
            data_requests.vote(db, actor, request_id)
        except Conflict as error:
            if error.code != "already_voted":
                raise
    db.commit()
    return RedirectResponse(f"/data/requests/{request_id}", status_code=303)


@router.post("/data/requests/{request_id}/follow")
def toggle_follow(request_id: uuid.UUID, db: DbDep, actor: LoginDep, form: FormDep) -> Response:
    data_requests.follow(db, actor, request_id, _text(form, "on") != "0")
    db.commit()
    return RedirectResponse(f"/data/requests/{request_id}", status_code=303)


@router.post("/data/requests/{request_id}/comments", response_class=HTMLResponse)
def comment(request: Request, request_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    body = _text(form, "body")
    try:
        created = data_requests.add_comment(db, actor, request_id, body)
        db.commit()
    except Invalid as error:
        db.rollback()
        return _detail(request, db, actor, lang, request_id, errors=_errors(error, lang), form={"body": body}, status_code=422)
    return RedirectResponse(f"/data/requests/{request_id}#c-{created.id}", status_code=303)


@router.post("/data/requests/{request_id}/answer", response_class=HTMLResponse)
def answer(request: Request, request_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    text = _text(form, "answer")
    try:
        data_requests.answer(db, actor, request_id, text)
        db.commit()
    except Invalid as error:
        db.rollback()
        return _detail(request, db, actor, lang, request_id, errors=_errors(error, lang), form={"answer": text}, status_code=422)
    return RedirectResponse(f"/data/requests/{request_id}", status_code=303)


@router.post("/data/requests/{request_id}/status", response_class=HTMLResponse)
def change_status(request: Request, request_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    errors: dict[str, list[Msg]] = {}
    values = {n: _text(form, n) for n in ("status", "note", "planned_date", "dataset", "decline_reason")}
    planned = _date(form, "planned_date", errors)
    try:
        if errors:
            raise Invalid(fields=errors)
        data_requests.change_status(db, actor, request_id, data_requests.StatusChange(
            status=values["status"], note=values["note"], planned_date=planned, dataset=values["dataset"],
            decline_reason=values["decline_reason"]))
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _detail(request, db, actor, lang, request_id, errors=_errors(error, lang), form=values,
                       status_code=error.status)
    return RedirectResponse(f"/data/requests/{request_id}", status_code=303)


# -- abuse reports and moderation ---------------------------------------------------------------------


def _local(path: str, default: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") else default


@router.get("/data/report", response_class=HTMLResponse)
def report_form(request: Request, actor: LoginDep, lang: LangDep, target_type: Annotated[str, Query(max_length=20)],
                target_id: uuid.UUID, next: str = Query("/data/requests", max_length=500)) -> HTMLResponse:
    data_requests.participant(actor, VoiceAction.ABUSE_REPORT)
    return render(request, T + "report.html", {
        "form": {"target_type": target_type, "target_id": str(target_id), "next": _local(next, "/data/requests")},
        "errors": {}, **_labels(lang),
    })


@router.post("/data/report", response_class=HTMLResponse)
def report(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {n: _text(form, n) for n in ("target_type", "target_id", "reason", "details", "next")}
    values["next"] = _local(values["next"], "/data/requests")
    try:
        abuse.report(db, actor, values["target_type"], values["target_id"], values["reason"], values["details"])
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return render(request, T + "report.html", {"form": values, "errors": _errors(error, lang), **_labels(lang)},
                      status_code=error.status)
    return render(request, T + "report.html", {"form": values, "errors": {}, "done": True, **_labels(lang)})


@router.get("/data/moderation", response_class=HTMLResponse)
def moderation(request: Request, db: DbDep, actor: LoginDep, lang: LangDep,
               status: str = Query("open", pattern="^(open|upheld|dismissed)$")) -> HTMLResponse:
    rows = abuse.list_reports(db, actor, status=status)
    items = [{"id": str(v.report.id), "target_type": v.report.target_type.value, "reason": v.report.reason.value,
              "details": v.report.details, "created_at": v.report.created_at, "excerpt": v.excerpt, "link": v.link,
              "status": v.report.status.value, "moderation_reason": v.report.moderation_reason} for v in rows]
    return render(request, T + "moderation.html", {"items": items, "status": status, "errors": {}, **_labels(lang)},
                  json_alternate=f"/api/v1/abuse-reports?status={status}")


@router.post("/data/moderation/{report_id}", response_class=HTMLResponse)
def moderate(request: Request, report_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    try:
        abuse.moderate(db, actor, report_id, uphold=_text(form, "decision") == "uphold", reason=_text(form, "reason"))
        db.commit()
    except Invalid as error:
        db.rollback()
        rows = abuse.list_reports(db, actor)
        items = [{"id": str(v.report.id), "target_type": v.report.target_type.value, "reason": v.report.reason.value,
                  "details": v.report.details, "created_at": v.report.created_at, "excerpt": v.excerpt, "link": v.link,
                  "status": v.report.status.value, "moderation_reason": ""} for v in rows]
        return render(request, T + "moderation.html", {
            "items": items, "status": "open", "errors": {str(report_id): _errors(error, lang)["reason"]}, **_labels(lang),
        }, status_code=422)
    return RedirectResponse("/data/moderation", status_code=303)


# -- feedback on a dataset -----------------------------------------------------------------------------


def _feedback_page(request: Request, db: Session, actor: Actor, lang: str, slug: str, *, form: dict[str, str] | None = None,
                   errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    dataset = feedback.dataset_for_feedback(db, slug)
    rows = feedback.for_dataset(db, actor, dataset)
    return render(request, T + "feedback.html", {
        "dataset": {"name": dataset.name, "title": dataset.title},
        "items": [FeedbackPublic.of(db, f).model_dump() for f in rows],
        "form": form or {}, "errors": errors or {},
        "may_answer": can(actor, VoiceAction.FEEDBACK_ANSWER, dataset.agency_id), **_labels(lang),
    }, status_code=status_code, json_alternate=f"/api/v1/dataset-feedback?dataset={dataset.name}")


@router.get("/datasets/{slug}/feedback", response_class=HTMLResponse)
def feedback_page(request: Request, slug: str, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _feedback_page(request, db, actor, lang, slug)


@router.post("/datasets/{slug}/feedback", response_class=HTMLResponse)
def give_feedback(request: Request, slug: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {n: _text(form, n) for n in ("category", "body")}
    try:
        feedback.submit(db, actor, slug, values["category"], values["body"])
        db.commit()
    except Invalid as error:
        db.rollback()
        return _feedback_page(request, db, actor, lang, slug, form=values, errors=_errors(error, lang), status_code=422)
    return RedirectResponse(f"/datasets/{slug}/feedback", status_code=303)


@router.get("/data/feedback", response_class=HTMLResponse)
def feedback_queue(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, agency: str = Query("", max_length=40),
                   answered: bool = False) -> HTMLResponse:
    agency_id = agencies.get_by_code(db, agency).id if agency else None
    rows = feedback.agency_queue(db, actor, agency_id, include_answered=answered)
    return render(request, T + "feedback_queue.html", {
        "items": [FeedbackPublic.of(db, f).model_dump() for f in rows], "answered": answered, "errors": {}, **_labels(lang),
    }, json_alternate="/api/v1/dataset-feedback?queue=true")


@router.post("/data/feedback/{feedback_id}/answer", response_class=HTMLResponse)
def answer_feedback(request: Request, feedback_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    try:
        feedback.answer(db, actor, feedback_id, _text(form, "answer"))
        db.commit()
    except Invalid as error:
        db.rollback()
        rows = feedback.agency_queue(db, actor)
        return render(request, T + "feedback_queue.html", {
            "items": [FeedbackPublic.of(db, f).model_dump() for f in rows], "answered": False,
            "errors": {str(feedback_id): _errors(error, lang).get("answer", [])}, **_labels(lang),
        }, status_code=422)
    return RedirectResponse("/data/feedback", status_code=303)


# -- the showcase -------------------------------------------------------------------------------------------


@router.get("/data/showcase", response_class=HTMLResponse)
def showcase_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep, dataset: str = Query("", max_length=100),
                  kind: str = Query("", max_length=20)) -> HTMLResponse:
    rows, total = showcase.list_showcases(db, actor, dataset=dataset, kind=kind, limit=200)
    used = showcase.datasets_of(db, rows)
    return render(request, T + "showcase.html", {
        "items": [ShowcasePublic.of(s, used[s.id]).model_dump() for s in rows], "total": total,
        "filters": {"dataset": dataset, "kind": kind}, **_labels(lang),
    }, json_alternate="/api/v1/showcases")


def _showcase_form(request: Request, lang: str, form: dict[str, str], errors: dict[str, list[str]] | None = None,
                   status_code: int = 200) -> HTMLResponse:
    return render(request, T + "showcase_form.html", {"form": form, "errors": errors or {}, **_labels(lang)},
                  status_code=status_code)


@router.get("/data/showcase/new", response_class=HTMLResponse)
def new_showcase(request: Request, actor: LoginDep, lang: LangDep, dataset: str = Query("", max_length=100)) -> HTMLResponse:
    data_requests.participant(actor, VoiceAction.SHOWCASE_SUBMIT)
    return _showcase_form(request, lang, {"datasets": dataset})


@router.post("/data/showcase/new", response_class=HTMLResponse)
def add_showcase(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {n: _text(form, n) for n in ("title", "kind", "url", "description", "datasets")}
    refs = [p.strip() for p in values["datasets"].replace("\n", ",").split(",") if p.strip()]
    try:
        showcase.submit(db, actor, showcase.ShowcaseInput(
            title=values["title"], kind=values["kind"], url=values["url"], description=values["description"], datasets=refs))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _showcase_form(request, lang, values, _errors(error, lang), 422)
    return RedirectResponse("/data/showcase", status_code=303)


# -- the plan and the overdue board ----------------------------------------------------------------------------


def _plan_page(request: Request, db: Session, actor: Actor, lang: str, code: str = "", *, form: dict[str, str] | None = None,
               errors: dict[str, list[str]] | None = None, status_code: int = 200) -> HTMLResponse:
    view = plan.plan_view(db, actor, code)
    own = agencies.get(db, actor.agency_id)
    target = view.agency or own
    return render(request, T + "plan.html", {
        "plan": PlanOut.of(db, view).model_dump(), "form": form or {}, "errors": errors or {},
        "may_plan": target is not None and can(actor, VoiceAction.PLAN_EDIT, target.id),
        "may_review": target is not None and can(actor, VoiceAction.LIST_REVIEW, target.id),
        "may_phases": can(actor, VoiceAction.PLAN_PHASES),
        "may_issue": can(actor, VoiceAction.LIST_ISSUE),
        "target": {"code": target.code, "name": target.name_vi} if target else None,
        "today": data_requests.today(), **_labels(lang),
    }, status_code=status_code, json_alternate="/api/v1/open-data-plan" + (f"?agency={code}" if code else ""))


@router.get("/data/plan", response_class=HTMLResponse)
def plan_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _plan_page(request, db, actor, lang)


# -- issued versions of the list (before /data/plan/{code}) ---------------------------------------------


@router.get("/data/plan/issues", response_class=HTMLResponse)
def list_issues_page(request: Request, db: DbDep, actor: ActorDep) -> HTMLResponse:
    rows = [ListIssueOut(**list_issues.issue_summary(i)).model_dump() for i in list_issues.list_issues(db, actor)]
    latest = list_issues.latest_issue(db)
    return render(request, T + "list_issues.html", {
        "issues": rows, "changes": [c.as_dict() for c in list_issues.changes_since(db, latest)] if latest else [],
        "may_issue": can(actor, VoiceAction.LIST_ISSUE),
    }, json_alternate="/api/v1/open-data-list/issues")


@router.post("/data/plan/issues", response_class=HTMLResponse)
def record_list_issue(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    # The fields are prefixed on the plan page, which has other forms with a "note".
    values = {n: _text(form, f"issue_{n}") for n in ("decision_number", "decision_date", "signer", "signer_title", "note")}
    try:
        issue = list_issues.issue_list(db, actor, list_issues.IssueInput(**values))
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _plan_page(request, db, actor, lang, form={f"issue_{k}": v for k, v in values.items()},
                          errors={f"issue_{k}": v for k, v in _errors(error, lang).items()}, status_code=error.status)
    return RedirectResponse(f"/data/plan/issues/{issue.number}?issued=1", status_code=303)


@router.get("/data/plan/issues/{ident}", response_class=HTMLResponse)
def list_issue_page(request: Request, ident: str, db: DbDep, actor: ActorDep) -> HTMLResponse:
    issue = list_issues.get_issue(db, actor, ident)
    return render(request, T + "list_issue.html", {"issue": list_issue_detail(db, issue).model_dump()},
                  json_alternate=f"/api/v1/open-data-list/issues/{issue.number}")


@router.get("/data/plan/{code}", response_class=HTMLResponse)
def agency_plan_page(request: Request, code: str, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _plan_page(request, db, actor, lang, code)


@router.post("/data/plan/items", response_class=HTMLResponse)
def add_plan_item(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    errors: dict[str, list[Msg]] = {}
    values = {n: _text(form, n) for n in ("title", "description", "agency_code", "source_database", "target_date", "phase", "dataset")}
    target_date = _date(form, "target_date", errors)
    phase = _int(form, "phase", errors)
    back = values["agency_code"]
    try:
        if errors:
            raise Invalid(fields=errors)
        plan.add_item(db, actor, plan.ItemInput(
            title=values["title"], description=values["description"], agency_code=values["agency_code"],
            source_database=values["source_database"], target_date=target_date, phase=phase, dataset=values["dataset"]))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _plan_page(request, db, actor, lang, back, form=values, errors=_errors(error, lang), status_code=422)
    return RedirectResponse(f"/data/plan/{back}" if back else "/data/plan", status_code=303)


@router.post("/data/plan/items/{item_id}/delete")
def delete_plan_item(item_id: uuid.UUID, db: DbDep, actor: LoginDep) -> Response:
    plan.delete_item(db, actor, item_id)
    db.commit()
    return RedirectResponse("/data/plan", status_code=303)


@router.post("/data/plan/reviews", response_class=HTMLResponse)
def record_review(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    code = _text(form, "agency_code")
    try:
        plan.record_review(db, actor, code, _text(form, "note"))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _plan_page(request, db, actor, lang, code, errors=_errors(error, lang), status_code=422)
    return RedirectResponse(f"/data/plan/{code}", status_code=303)


@router.post("/data/plan/phases", response_class=HTMLResponse)
def save_phase(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    errors: dict[str, list[Msg]] = {}
    values = {n: _text(form, n) for n in ("number", "name", "starts_on", "ends_on", "target_count")}
    number, target = _int(form, "number", errors), _int(form, "target_count", errors)
    starts, ends = _date(form, "starts_on", errors), _date(form, "ends_on", errors)
    try:
        if errors or number is None or target is None:
            for name, value in (("number", number), ("target_count", target)):
                if value is None and name not in errors:
                    errors[name] = [Msg("This field is required.")]
            raise Invalid(fields=errors)
        plan.save_phase(db, actor, plan.PhaseInput(number, values["name"], starts, ends, target))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _plan_page(request, db, actor, lang, form={f"phase_{k}": v for k, v in values.items()},
                          errors={f"phase_{k}": v for k, v in _errors(error, lang).items()}, status_code=422)
    return RedirectResponse("/data/plan", status_code=303)


@router.get("/data/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, agency: str = Query("", max_length=40)) -> HTMLResponse:
    board_out = overdue_out(plan.overdue(db, actor, agency)).model_dump()
    unit = data_requests.it_unit_id(db)
    sees_all = can(actor, VoiceAction.OVERDUE_VIEW) or (unit is not None and can(actor, VoiceAction.OVERDUE_VIEW, unit))
    kinds = {
        "dataset_update": Msg("Datasets past their update date").render(lang),
        "list_review": Msg("Open-data list reviews past due").render(lang),
        "plan_item": Msg("Planned datasets past their target date").render(lang),
        "data_request": Msg("Data requests past their answer deadline").render(lang),
        "feedback": Msg("Feedback past its answer deadline").render(lang),
    }
    return render(request, T + "overdue.html", {
        "board": board_out, "kinds": kinds, "sees_all": sees_all, "agencies": agencies.active_choices(db), "selected": agency,
    }, json_alternate="/api/v1/open-data-plan/overdue" + (f"?agency={agency}" if agency else ""))
