# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages: the table of legal deadlines and the working-day calendar with its calculator."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from dulieuso.audit.service import history
from dulieuso.auth.permissions import Actor
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg, gettext
from dulieuso.policy import labels, service
from dulieuso.policy.models import CalendarDay, Policy, PolicyUnit
from dulieuso.web.deps import ActorDep, DbDep, LangDep
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False)

Errors = dict[str, list[str]]
POLICY_FORM_FIELDS = tuple(sorted(service.EDITABLE_FIELDS))


def _render_errors(error: Invalid, lang: str) -> Errors:
    fields = {name: [m.render(lang) for m in messages] for name, messages in error.fields.items()}
    return fields or {"form": [error.message.render(lang)]}


def _parse_int(text: str, name: str, errors: Errors, lang: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        errors[name] = [Msg("Enter a whole number.").render(lang)]
        return None


def _parse_date(text: str, name: str, errors: Errors, lang: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[name] = [Msg("Enter a date (dd/mm/yyyy).").render(lang)]
        return None


def _day_label(day: date, lang: str) -> str:
    return f"{gettext(labels.WEEKDAY_LABELS[day.weekday()], lang)}, {day.strftime('%d/%m/%Y')}"


# -- policies ------------------------------------------------------------------------


def _policy_row(policy: Policy, lang: str) -> dict[str, Any]:
    return {
        "key": policy.key,
        "description": policy.description_en if lang == "en" else policy.description_vi,
        "amount": labels.amount(policy.value, policy.unit, lang),
        "is_switch": policy.unit is PolicyUnit.SWITCH,
        "citation": service.citation(policy, lang),
        "status": policy.status.value,
        "status_label": gettext(labels.STATUS_LABELS[policy.status], lang),
        "replaced_by": policy.replaced_by,
        "effective_from": policy.effective_from,
        "note": policy.note,
    }


def _policy_form(policy: Policy) -> dict[str, str]:
    values = {name: getattr(policy, name) for name in POLICY_FORM_FIELDS}
    return {
        name: value.value if isinstance(value, Enum) else ("" if value is None else str(value))
        for name, value in values.items()
    }


@router.get("/admin/policies", response_class=HTMLResponse)
def policies(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    rows = [_policy_row(p, lang) for p in service.list_policies(db, actor)]
    return render(request, "policy/policies.html", {"policies": rows}, json_alternate="/api/v1/policies")


def _policy_page(
    request: Request,
    db: Session,
    actor: Actor,
    lang: str,
    key: str,
    *,
    form: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    policy = service.view_policy(db, actor, key)
    context = {
        "policy": _policy_row(policy, lang),
        "form": form or _policy_form(policy),
        "errors": errors or {},
        "unit_options": labels.options(labels.UNIT_LABELS, lang),
        "switch_options": [(str(v), gettext(text, lang)) for v, text in labels.SWITCH_LABELS.items()],
        "status_options": labels.options(labels.STATUS_LABELS, lang),
        "events": history(db, Policy.__tablename__, key),
    }
    return render(
        request, "policy/policy.html", context, status_code=status_code, json_alternate=f"/api/v1/policies/{key}"
    )


@router.get("/admin/policies/{key}", response_class=HTMLResponse)
def policy(request: Request, key: str, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _policy_page(request, db, actor, lang, key)


@router.post("/admin/policies/{key}", response_class=HTMLResponse)
def update_policy(
    request: Request,
    key: str,
    db: DbDep,
    actor: ActorDep,
    lang: LangDep,
    value: str = Form(""),
    unit: str = Form(""),
    status: str = Form(""),
    replaced_by: str = Form(""),
    effective_from: str = Form(""),
    legal_document: str = Form(""),
    legal_article: str = Form(""),
    legal_clause: str = Form(""),
    description_vi: str = Form(""),
    description_en: str = Form(""),
    note: str = Form(""),
) -> Response:
    form = {
        "value": value,
        "unit": unit,
        "status": status,
        "replaced_by": replaced_by,
        "effective_from": effective_from,
        "legal_document": legal_document,
        "legal_article": legal_article,
        "legal_clause": legal_clause,
        "description_vi": description_vi,
        "description_en": description_en,
        "note": note,
    }
    errors: Errors = {}
    changes: dict[str, Any] = {name: text for name, text in form.items() if name not in {"value", "effective_from"}}
    number = _parse_int(value, "value", errors, lang)
    if number is not None:
        changes["value"] = number
    day = _parse_date(effective_from, "effective_from", errors, lang)
    if day is not None:
        changes["effective_from"] = day
    try:
        # Fields that did not parse are left out, so the other fields still get checked.
        service.update_policy(db, actor, key, **changes)
    except Invalid as error:
        errors = {**_render_errors(error, lang), **errors}
    if errors:
        db.rollback()
        return _policy_page(request, db, actor, lang, key, form=form, errors=errors, status_code=422)
    db.commit()
    return RedirectResponse(f"/admin/policies/{key}?updated=1", status_code=303)


# -- the calendar ----------------------------------------------------------------------


def _day_row(day: CalendarDay, lang: str) -> dict[str, Any]:
    return {
        "iso": day.day.isoformat(),
        "date": day.day.strftime("%d/%m/%Y"),
        "weekday": gettext(labels.WEEKDAY_LABELS[day.day.weekday()], lang),
        "kind": day.kind.value,
        "kind_label": gettext(labels.KIND_LABELS[day.kind], lang),
        "name": day.name_en if lang == "en" else day.name_vi,
        "source": day.source,
    }


def _months(days: list[CalendarDay], lang: str) -> list[dict[str, Any]]:
    months: dict[int, list[dict[str, Any]]] = {}
    for day in days:
        months.setdefault(day.day.month, []).append(_day_row(day, lang))
    return [{"name": gettext(labels.MONTH_LABELS[m - 1], lang), "days": rows} for m, rows in sorted(months.items())]


def _calculator(db: Session, start: str | None, n: str | None, lang: str) -> dict[str, Any]:
    calc: dict[str, Any] = {"start": start or "", "n": n or "", "errors": {}, "due": None}
    if not start and not n:
        return calc
    errors: Errors = calc["errors"]
    first = _parse_date(start or "", "start", errors, lang)
    count = _parse_int(n or "", "n", errors, lang)
    if first is not None and count is not None:
        try:
            due = service.add_working_days(db, first, count)
            calc["due"] = _day_label(due, lang)
            calc["start_label"] = _day_label(first, lang)
        except Invalid as error:
            errors.update(_render_errors(error, lang))
    return calc


def _calendar_page(
    request: Request,
    db: Session,
    lang: str,
    year: int,
    *,
    form: dict[str, str] | None = None,
    errors: Errors | None = None,
    calc: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    days = service.list_days(db, year)
    context = {
        "year": year,
        "months": _months(days, lang),
        "from_table": service.calendar_year(db, year).from_table,
        "form": form or {},
        "errors": errors or {},
        "kind_options": labels.options(labels.KIND_LABELS, lang),
        "calc": calc or _calculator(db, None, None, lang),
    }
    return render(
        request,
        "policy/calendar.html",
        context,
        status_code=status_code,
        json_alternate=f"/api/v1/calendar?year={year}",
    )


@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar(
    request: Request,
    db: DbDep,
    actor: ActorDep,
    lang: LangDep,
    year: int | None = None,
    edit: date | None = None,
    start: str | None = None,
    n: str | None = None,
) -> HTMLResponse:
    year = year if year is not None else (edit.year if edit else service.today().year)
    form: dict[str, str] = {}
    if edit is not None:
        row = service.get_day(db, edit)
        if row is not None:
            form = {
                "day": row.day.isoformat(),
                "kind": row.kind.value,
                "name_vi": row.name_vi,
                "name_en": row.name_en,
                "source": row.source or "",
            }
    calc = _calculator(db, start, n, lang)
    status_code = 422 if calc["errors"] else 200
    return _calendar_page(request, db, lang, year, form=form, calc=calc, status_code=status_code)


@router.post("/admin/calendar", response_class=HTMLResponse)
def set_day(
    request: Request,
    db: DbDep,
    actor: ActorDep,
    lang: LangDep,
    day: str = Form(""),
    kind: str = Form(""),
    name_vi: str = Form(""),
    name_en: str = Form(""),
    source: str = Form(""),
    year: str = Form(""),
) -> Response:
    form = {"day": day, "kind": kind, "name_vi": name_vi, "name_en": name_en, "source": source}
    errors: Errors = {}
    parsed = _parse_date(day, "day", errors, lang)
    if parsed is not None:
        try:
            service.set_day(db, actor, parsed, kind, name_vi, name_en, source)
        except Invalid as error:
            errors = _render_errors(error, lang)
    if errors:
        db.rollback()
        shown = parsed.year if parsed else (int(year) if year.isdigit() else service.today().year)
        return _calendar_page(request, db, lang, shown, form=form, errors=errors, status_code=422)
    db.commit()
    assert parsed is not None
    return RedirectResponse(f"/admin/calendar?year={parsed.year}&saved={parsed.isoformat()}", status_code=303)


@router.post("/admin/calendar/{day}/delete")
def delete_day(day: date, db: DbDep, actor: ActorDep) -> Response:
    service.delete_day(db, actor, day)
    db.commit()
    return RedirectResponse(f"/admin/calendar?year={day.year}&deleted={day.isoformat()}", status_code=303)
