# SPDX-License-Identifier: AGPL-3.0-or-later
"""Spreadsheet import: the pages (upload → preview → confirm → result) and the JSON twin
``POST /api/v1/catalog/import?dry_run=true|false``.

Thin: each route reads the upload, calls ``catalog.imports`` and renders. The upload
waits between preview and confirmation in the storage folder (``imports.stage``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import Actor
from dulieuso.catalog import imports
from dulieuso.catalog.imports import field_label
from dulieuso.catalog.spreadsheet import MAX_FILE_BYTES, ImportErrors
from dulieuso.errors import DomainError, Invalid, PayloadTooLarge
from dulieuso.i18n import Msg
from dulieuso.web.deps import DbDep, LangDep, LoginDep, SettingsDep
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["catalog"])

TEMPLATE_URL = "/api/v1/catalog/template.xlsx"


async def _read_upload(upload: UploadFile | None) -> tuple[bytes, str]:
    """The uploaded bytes (at most the limit plus one byte, to tell that it is too large)."""
    if upload is None or not upload.filename:
        raise Invalid(fields={"file": [Msg("Choose a file to upload.")]})
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(
            Msg("The file is larger than {limit} MB.", limit=MAX_FILE_BYTES // (1024 * 1024)), code="file_too_large"
        )
    return data, upload.filename


def _agency_choices(session: Session, actor: Actor, lang: str) -> list[tuple[str, str]]:
    query = select(Agency.code, Agency.name_vi).order_by(Agency.name_vi)
    choices: list[tuple[str, str]] = []
    if actor.role is Role.PLATFORM_ADMIN:
        choices.append((imports.EVERY_AGENCY, Msg("Every agency named in the file").render(lang)))
    else:
        query = query.where(Agency.id == actor.agency_id)
    return choices + [(code, f"{name} ({code})") for code, name in session.execute(query)]


def _error_rows(error: DomainError, lang: str) -> list[dict[str, Any]]:
    if isinstance(error, ImportErrors):
        return [
            {"sheet": e.sheet, "row": e.row or "", "column": e.column, "message": e.message.render(lang)}
            for e in error.errors
        ]
    rows = [{"sheet": "", "row": "", "column": name, "message": m.render(lang)} for name, ms in error.fields.items() for m in ms]
    return rows or [{"sheet": "", "row": "", "column": "", "message": error.message.render(lang)}]


def _form_page(
    request: Request, db: Session, actor: Actor, *, agency: str = "", error: DomainError | None = None, lang: str = "vi"
) -> HTMLResponse:
    context = {
        "agencies": _agency_choices(db, actor, lang),
        "selected": agency,
        "template_url": TEMPLATE_URL,
        "max_mb": MAX_FILE_BYTES // (1024 * 1024),
        "error": error.message.render(lang) if error else None,
        "errors": _error_rows(error, lang) if error else [],
        "error_count": getattr(error, "total", None),
    }
    return render(request, "catalog/import.html", context, status_code=error.status if error else 200)


@router.get("/catalog/import", response_class=HTMLResponse)
def import_form(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    default = ""
    if actor.agency_id is not None:
        default = db.scalar(select(Agency.code).where(Agency.id == actor.agency_id)) or ""
    return _form_page(request, db, actor, agency=default, lang=lang)


def _preview_rows(plan: imports.ImportPlan) -> list[dict[str, Any]]:
    rows = []
    for entry in plan.entries:
        rows.append({
            **entry.as_dict(),
            "changes": [
                {"field": field_label(c.path), "before": _show(c.before), "after": _show(c.after)} for c in entry.changes
            ],
        })
    return rows


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        if "elements" in value:  # a whole category
            return f"{value.get('name')}: " + ", ".join(e["name"] for e in value["elements"])
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items() if v not in (None, "", False))
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, bool):
        return "Có" if value else "Không"
    return str(value)


@router.post("/catalog/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    db: DbDep,
    actor: LoginDep,
    lang: LangDep,
    settings: SettingsDep,
    agency: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    try:
        data, filename = await _read_upload(file)
        _parsed, plan = imports.plan_import(db, actor, data, agency)
    except DomainError as error:
        db.rollback()
        if error.status == 401:
            raise
        return _form_page(request, db, actor, agency=agency, error=error, lang=lang)
    token = imports.stage(settings.storage_dir, actor, data, plan.agency, filename)
    context = {"plan": plan.as_dict(), "entries": _preview_rows(plan), "token": token, "filename": filename}
    return render(request, "catalog/import_preview.html", context)


@router.post("/catalog/import/{token}/confirm", response_class=HTMLResponse)
def import_confirm(
    request: Request, token: str, db: DbDep, actor: LoginDep, lang: LangDep, settings: SettingsDep
) -> HTMLResponse:
    staged = imports.load_staged(settings.storage_dir, actor, token)
    try:
        result = imports.apply_import(db, actor, staged.data, staged.agency)
        db.commit()
    except DomainError as error:
        db.rollback()
        imports.discard(settings.storage_dir, token)
        return _form_page(request, db, actor, agency=staged.agency, error=error, lang=lang)
    imports.discard(settings.storage_dir, token)
    return render(request, "catalog/import_result.html", {"result": result.as_dict(), "filename": staged.filename})


@router.post("/catalog/import/{token}/cancel")
def import_cancel(token: str, actor: LoginDep, settings: SettingsDep) -> Response:
    imports.load_staged(settings.storage_dir, actor, token)  # only its owner may cancel it
    imports.discard(settings.storage_dir, token)
    return RedirectResponse("/catalog/import", status_code=303)


@api_router.post("/catalog/import", summary="Import catalog entries from a filled XLSX template")
async def import_api(
    db: DbDep,
    actor: LoginDep,
    agency: Annotated[str, Form(description="Code of the agency the entries belong to; '*': the agency each row names.")],
    file: Annotated[UploadFile, File(description="The filled template (.xlsx).")],
    dry_run: Annotated[bool, Query(description="Check and preview only; save nothing.")] = True,
) -> JSONResponse:
    """All or nothing: with ``dry_run=true`` (the default) the answer is the preview
    (create / update with the changed fields / unchanged); with ``dry_run=false`` the
    entries are saved. Errors come as 422 ``import_invalid`` with ``errors``: one item
    per problem, located by sheet, row and column."""
    data, _filename = await _read_upload(file)
    if dry_run:
        _parsed, plan = imports.plan_import(db, actor, data, agency)
        db.rollback()
        return JSONResponse({"dry_run": True, **plan.as_dict()})
    result = imports.apply_import(db, actor, data, agency)
    db.commit()
    return JSONResponse({"dry_run": False, **result.as_dict()})
