# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages of one grant and of usage reports (Decree 47 Art. 42, 51(1)(b)): the grant page
shows what the consumer may keep and the reports demanded about it, and carries the
provider's form to demand one; the consumer answers on the report's page. Kept apart
from ``views.py`` (which includes this router) to keep that module a readable size; the
same service functions as the JSON API do every check."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, Invalid
from dulieuso.i18n import Msg
from dulieuso.sharing import grants, usage_reports
from dulieuso.sharing.permissions import SharingAction
from dulieuso.web.deps import DbDep, LangDep, LoginDep
from dulieuso.web.forms import FormDep, form_date, form_text
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False)

DEMAND_FIELDS = ("reason", "period_from", "period_to")
ANSWER_FIELDS = ("retrieved_data", "purposes", "storage", "incidents")


def _grant_page(request: Request, db: Session, actor: Actor, grant_id: uuid.UUID, *,
                form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
                status_code: int = 200) -> HTMLResponse:
    grant = grants.get_grant(db, actor, grant_id)
    view = grants.grant_views(db, [grant])[0]
    rows, _ = usage_reports.list_reports(db, actor, usage_reports.ReportQuery(grant_id=grant.id, limit=500))
    return render(request, "sharing/grant.html", {
        "g": view,
        "reports": usage_reports.report_views(db, rows),
        "can_demand": can(actor, SharingAction.USAGE_REPORT_REQUEST, view["provider_agency_id"]),
        "form": form or {}, "errors": errors or {},
    }, status_code=status_code, json_alternate=f"/api/v1/grants/{grant_id}")


@router.get("/sharing/grants/{grant_id}", response_class=HTMLResponse)
def grant_page(request: Request, grant_id: uuid.UUID, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _grant_page(request, db, actor, grant_id)


@router.post("/sharing/grants/{grant_id}/usage-reports", response_class=HTMLResponse)
def demand_report(request: Request, grant_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep,
                  form: FormDep) -> Response:
    values = {name: form_text(form, name) for name in DEMAND_FIELDS}
    errors: dict[str, list[Msg]] = {}
    try:
        data = usage_reports.DemandInput(reason=values["reason"], period_from=form_date(form, "period_from", errors),
                                         period_to=form_date(form, "period_to", errors))
        if errors:
            raise Invalid(fields=errors)
        report = usage_reports.demand(db, actor, grant_id, data)
        db.commit()
    except Invalid as error:
        db.rollback()
        return _grant_page(request, db, actor, grant_id, form=values, errors=error.rendered_fields(lang),
                           status_code=error.status)
    return RedirectResponse(f"/sharing/usage-reports/{report.id}?sent=1", status_code=303)


@router.get("/sharing/usage-reports", response_class=HTMLResponse)
def report_list(request: Request, db: DbDep, actor: LoginDep,
                role: str = Query("any", pattern="^(any|consumer|provider)$"),
                overdue: bool = False) -> HTMLResponse:
    query = usage_reports.ReportQuery(role=role, overdue=overdue, limit=500)
    rows, total = usage_reports.list_reports(db, actor, query)
    alternate = f"/api/v1/usage-reports?role={role}" + ("&overdue=true" if overdue else "")
    return render(request, "sharing/usage_reports.html", {
        "reports": usage_reports.report_views(db, rows), "total": total, "role": role, "overdue": overdue,
    }, json_alternate=alternate)


def _report_page(request: Request, db: Session, actor: Actor, report_id: uuid.UUID, *,
                 form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
                 message: str | None = None, status_code: int = 200) -> HTMLResponse:
    report = usage_reports.get_report(db, actor, report_id)
    return render(request, "sharing/usage_report.html", {
        "u": usage_reports.report_views(db, [report])[0],
        "can_answer": usage_reports.can_answer(db, actor, report),
        "form": form or {}, "errors": errors or {}, "message": message,
        "sent": request.query_params.get("sent"),
    }, status_code=status_code, json_alternate=f"/api/v1/usage-reports/{report_id}")


@router.get("/sharing/usage-reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: uuid.UUID, db: DbDep, actor: LoginDep) -> HTMLResponse:
    return _report_page(request, db, actor, report_id)


@router.post("/sharing/usage-reports/{report_id}/answer", response_class=HTMLResponse)
def answer_report(request: Request, report_id: uuid.UUID, db: DbDep, actor: LoginDep, lang: LangDep,
                  form: FormDep) -> Response:
    values: dict[str, Any] = {name: form_text(form, name) for name in ANSWER_FIELDS}
    try:
        usage_reports.answer(db, actor, report_id, usage_reports.AnswerInput(**values))
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return _report_page(request, db, actor, report_id, form=values, errors=error.rendered_fields(lang),
                            message=error.message.render(lang), status_code=error.status)
    return RedirectResponse(f"/sharing/usage-reports/{report_id}", status_code=303)
