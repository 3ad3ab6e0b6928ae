# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages: the public list and profile of agencies, and the forms that change them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from dulieuso.agencies import service
from dulieuso.agencies.labels import STATUS_LABELS, TYPE_LABELS
from dulieuso.agencies.viewmodels import AgencyView
from dulieuso.auth.permissions import Action, can, require
from dulieuso.errors import Conflict, DomainError, Invalid
from dulieuso.i18n import gettext
from dulieuso.web.deps import ActorDep, CsrfDep, DbDep, LangDep, LoginDep
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])

PAGE_SIZE = 100
CREATE_FIELDS = (
    "code",
    "name_vi",
    "name_en",
    "short_name",
    "type",
    "parent_code",
    "address",
    "website",
    "email",
    "phone",
    "valid_from",
    "history_note",
)
FOCAL_POINT_FIELDS = ("full_name", "position", "function", "phone", "email", "valid_from")


async def _form(request: Request) -> FormData:
    # Read whole: which fields a form has depends on the role (an agency administrator's
    # edit form has contact fields only), and the merge form sends a list.
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _field_errors(error: DomainError, lang: str) -> dict[str, list[str]]:
    return error.rendered_fields(lang)


def _type_options(lang: str, blank: str | None = None) -> list[tuple[str, str]]:
    options = [(t.value, gettext(label, lang)) for t, label in TYPE_LABELS.items()]
    return [("", blank), *options] if blank is not None else options


def _agency_options(db: Session, blank: str | None = None) -> list[tuple[str, str]]:
    options = [(code, f"{name} ({code})") for code, name in service.active_choices(db)]
    return [("", blank), *options] if blank is not None else options


# -- public pages --------------------------------------------------------------------


@router.get("/agencies", response_class=HTMLResponse)
def agency_list(
    request: Request,
    db: DbDep,
    actor: ActorDep,
    lang: LangDep,
    q: str = "",
    type: str = "",
    status: str = "active",
    page: int = 1,
) -> HTMLResponse:
    page = max(1, page)
    query = service.AgencyQuery(
        q=q or None,
        type=type or None,
        status=status,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    agencies, total = service.list_agencies(db, actor, query)
    params = {k: v for k, v in {"q": q, "type": type, "status": status}.items() if v}
    api_params = {**params, "limit": PAGE_SIZE, "offset": query.offset}
    return render(
        request,
        "agencies/list.html",
        {
            "agencies": agencies,
            "total": total,
            "q": q,
            "type": type,
            "status": status,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "params": params,
            "type_options": _type_options(lang, gettext("All types", lang)),
            "status_options": [(k, gettext(v, lang)) for k, v in STATUS_LABELS.items()],
            "urlencode": urlencode,
        },
        json_alternate=f"/api/v1/agencies?{urlencode(api_params)}",
    )


@router.get("/agencies/{code}", response_class=HTMLResponse)
def agency_page(request: Request, db: DbDep, actor: ActorDep, code: str) -> HTMLResponse:
    profile = service.profile(db, actor, code)
    agency = service.get_by_code(db, code)
    allowed_history = can(actor, Action.AGENCY_HISTORY_VIEW, agency.id)
    return render(
        request,
        "agencies/detail.html",
        {
            "profile": profile,
            "a": profile.agency,
            "events": service.history(db, actor, agency) if allowed_history else None,
            "focal_points": service.focal_point_history(db, actor, agency)
            if allowed_history
            else None,
        },
        json_alternate=f"/api/v1/agencies/{agency.code}",
    )


# -- create and edit -----------------------------------------------------------------


def _agency_form(
    request: Request,
    db: Session,
    lang: str,
    *,
    agency: AgencyView | None,
    fields: frozenset[str] | tuple[str, ...],
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "agencies/form.html",
        {
            "agency": agency,
            "fields": fields,
            "form": form,
            "errors": errors or {},
            "type_options": _type_options(lang),
            "parent_options": _agency_options(db, "—"),
        },
        status_code=status_code,
        json_alternate=f"/api/v1/agencies/{agency.code}" if agency else "/api/v1/agencies",
    )


@router.get("/admin/agencies/new", response_class=HTMLResponse)
def new_agency_form(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    require(actor, Action.AGENCY_CREATE)
    form = {"type": "co_quan_chuyen_mon", "parent_code": "LCU", "is_it_unit": False}
    return _agency_form(
        request, db, lang, agency=None, fields=CREATE_FIELDS + ("is_it_unit",), form=form
    )


@router.post("/admin/agencies/new", response_class=HTMLResponse)
def create_agency(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep
) -> Response:
    values: dict[str, Any] = {name: _text(form, name) for name in CREATE_FIELDS}
    values["is_it_unit"] = bool(form.get("is_it_unit"))
    try:
        agency = service.create_agency(db, actor, service.AgencyInput(**values))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _agency_form(
            request,
            db,
            lang,
            agency=None,
            fields=CREATE_FIELDS + ("is_it_unit",),
            form=values,
            errors=_field_errors(error, lang),
            status_code=422,
        )
    return RedirectResponse(f"/agencies/{agency.code}?saved=1", status_code=303)


def _current_values(view: AgencyView) -> dict[str, Any]:
    return {
        "name_vi": view.name_vi,
        "name_en": view.name_en,
        "short_name": view.short_name,
        "type": view.type.value,
        "parent_code": view.parent_code or "",
        "address": view.address,
        "website": view.website,
        "email": view.email,
        "phone": view.phone_display or view.phone,
        "is_it_unit": view.is_it_unit,
        "valid_from": view.valid_from.isoformat() if view.valid_from else "",
        "history_note": view.history_note,
    }


@router.get("/agencies/{code}/edit", response_class=HTMLResponse)
def edit_agency_form(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, code: str
) -> HTMLResponse:
    agency = service.get_by_code(db, code)
    require(actor, Action.AGENCY_UPDATE, agency.id)
    view = service.public_view(db, agency)
    fields = service.editable_fields(actor, agency)
    return _agency_form(request, db, lang, agency=view, fields=fields, form=_current_values(view))


@router.post("/agencies/{code}/edit", response_class=HTMLResponse)
def edit_agency(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, code: str, form: FormDep
) -> Response:
    agency = service.get_by_code(db, code)
    fields = service.editable_fields(actor, agency)
    changes: dict[str, Any] = {name: _text(form, name) for name in fields if name != "is_it_unit"}
    if "is_it_unit" in fields:
        changes["is_it_unit"] = bool(form.get("is_it_unit"))
    try:
        service.update_agency(db, actor, agency, changes)
        db.commit()
    except Invalid as error:
        db.rollback()
        view = service.public_view(db, agency)
        return _agency_form(
            request,
            db,
            lang,
            agency=view,
            fields=fields,
            form={**_current_values(view), **changes},
            errors=_field_errors(error, lang),
            status_code=422,
        )
    return RedirectResponse(f"/agencies/{agency.code}?saved=1", status_code=303)


# -- focal point ---------------------------------------------------------------------


def _focal_point_form(
    request: Request,
    view: AgencyView,
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "agencies/focal_point_form.html",
        {"agency": view, "form": form, "errors": errors or {}},
        status_code=status_code,
        json_alternate=f"/api/v1/agencies/{view.code}",
    )


@router.get("/agencies/{code}/focal-point", response_class=HTMLResponse)
def focal_point_form(request: Request, db: DbDep, actor: LoginDep, code: str) -> HTMLResponse:
    agency = service.get_by_code(db, code)
    require(actor, Action.FOCAL_POINT_ASSIGN, agency.id)
    form = {"valid_from": service.today().isoformat()}
    return _focal_point_form(request, service.public_view(db, agency), form)


@router.post("/agencies/{code}/focal-point", response_class=HTMLResponse)
def assign_focal_point(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, code: str, form: FormDep
) -> Response:
    agency = service.get_by_code(db, code)
    values = {name: _text(form, name) for name in FOCAL_POINT_FIELDS}
    try:
        service.assign_focal_point(db, actor, agency, service.FocalPointInput(**values))
        db.commit()
    except Invalid as error:
        db.rollback()
        return _focal_point_form(
            request, service.public_view(db, agency), values, _field_errors(error, lang), 422
        )
    return RedirectResponse(f"/agencies/{agency.code}?focal_point=1", status_code=303)


# -- merge and retire ----------------------------------------------------------------


def _merge_form(
    request: Request,
    db: Session,
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "agencies/merge.html",
        {
            "form": form,
            "errors": errors or {},
            "message": message,
            "agency_options": _agency_options(db),
            "successor_options": _agency_options(db, "—"),
        },
        status_code=status_code,
        json_alternate="/api/v1/agencies",
    )


@router.get("/admin/agencies/merge", response_class=HTMLResponse)
def merge_form(request: Request, db: DbDep, actor: LoginDep, source: str = "") -> HTMLResponse:
    require(actor, Action.AGENCY_MERGE)
    form = {
        "source_codes": [source] if source else [],
        "effective_date": service.today().isoformat(),
    }
    return _merge_form(request, db, form)


@router.post("/admin/agencies/merge", response_class=HTMLResponse)
def merge_agencies(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep
) -> Response:
    values = {
        "source_codes": [v for v in form.getlist("source_codes") if isinstance(v, str) and v],
        "successor_code": _text(form, "successor_code"),
        "effective_date": _text(form, "effective_date"),
    }
    try:
        effective = (
            date.fromisoformat(values["effective_date"]) if values["effective_date"] else None
        )
    except ValueError:
        errors = {"effective_date": [gettext("Enter a date as YYYY-MM-DD.", lang)]}
        return _merge_form(request, db, values, errors, status_code=422)
    try:
        result = service.merge_agencies(
            db,
            actor,
            source_codes=values["source_codes"],
            successor_code=values["successor_code"],
            effective=effective,
        )
        db.commit()
    except Invalid as error:
        db.rollback()
        return _merge_form(
            request, db, values, _field_errors(error, lang), error.message.render(lang), 422
        )
    return RedirectResponse(f"/agencies/{result.successor.code}?merged=1", status_code=303)


def _retire_form(
    request: Request,
    view: AgencyView,
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "agencies/retire.html",
        {"agency": view, "form": form, "errors": errors or {}, "message": message},
        status_code=status_code,
        json_alternate=f"/api/v1/agencies/{view.code}",
    )


@router.get("/agencies/{code}/retire", response_class=HTMLResponse)
def retire_form(request: Request, db: DbDep, actor: LoginDep, code: str) -> HTMLResponse:
    agency = service.get_by_code(db, code)
    require(actor, Action.AGENCY_RETIRE, agency.id)
    form = {"effective_date": service.today().isoformat(), "note": ""}
    return _retire_form(request, service.public_view(db, agency), form)


@router.post("/agencies/{code}/retire", response_class=HTMLResponse)
def retire_agency(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, code: str, form: FormDep
) -> Response:
    agency = service.get_by_code(db, code)
    values = {"effective_date": _text(form, "effective_date"), "note": _text(form, "note")}
    errors: dict[str, list[str]] = {}
    effective = None
    if values["effective_date"]:
        try:
            effective = date.fromisoformat(values["effective_date"])
        except ValueError:
            errors = {"effective_date": [gettext("Enter a date as YYYY-MM-DD.", lang)]}
    if not errors:
        try:
            service.retire_agency(db, actor, agency, effective=effective, note=values["note"])
            db.commit()
            return RedirectResponse(f"/agencies/{agency.code}?retired=1", status_code=303)
        except (Invalid, Conflict) as error:
            db.rollback()
            return _retire_form(
                request,
                service.public_view(db, agency),
                values,
                _field_errors(error, lang),
                error.message.render(lang),
                error.status,
            )
    return _retire_form(request, service.public_view(db, agency), values, errors, status_code=422)
