# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages of the catalog: the public search and database pages, the agency's entry forms,
the IT unit's review, issued versions with their diffs, derived lists, code lists and
information systems. Each page calls the same service functions as the JSON API and
links its JSON twin.

Form fields of the entry form are named like the service's error locations
(``categories[2].elements[0].code_list``), so each error lands next to its field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.catalog import codelists, issues, labels, lists, search, service, systems
from dulieuso.catalog.entries import CategoryData, ElementData, EntryData, entry_data_from_dict
from dulieuso.catalog.models import (
    DatabaseLevel,
    ElementType,
    EntryStatus,
    Hosting,
    Importance,
    ListKind,
    SharingForm,
    SharingScope,
    SystemStatus,
    UpdateFrequency,
    UserType,
)
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Conflict, DomainError, Invalid
from dulieuso.i18n import Msg, gettext
from dulieuso.web.deps import ActorDep, CsrfDep, DbDep, LangDep, LoginDep
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])

PAGE_SIZE = 20
ENTRY_TEXT_FIELDS = (
    "name", "purpose", "scope", "content", "collection_mechanism", "update_mechanism", "data_sources",
    "legal_basis", "contact_name", "contact_email", "contact_phone", "decision20_item",
)
ENTRY_FLAGS = ("contains_personal_data", "contains_state_secret", "is_original_data")
ELEMENT_FLAGS = ("required", "is_master_data", "is_personal_data")
_CATEGORY = re.compile(r"^categories\[(\d+)\]\.(name|description|remove)$")
_CELL = re.compile(r"^categories\[(\d+)\]\.availability\.(\w+)$")
_ELEMENT = re.compile(r"^categories\[(\d+)\]\.elements\[(\d+)\]\.(\w+)$")


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _errors(error: DomainError, lang: str) -> dict[str, list[str]]:
    out = error.rendered_fields(lang)
    if not out:
        out["form"] = [error.message.render(lang)]
    return out


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _common(lang: str) -> dict[str, Any]:
    """Labels and choices every catalog template may use."""
    return {
        "L": lambda enum_name, value: labels.label(_ENUMS[enum_name], value, lang),
        "user_types": [(ut.value, gettext(labels.USER_TYPE_LABELS[ut], lang)) for ut in UserType],
        "form_choices": labels.choices(SharingForm, lang),
        "level_choices": labels.choices(DatabaseLevel, lang),
        "importance_choices": labels.choices(Importance, lang),
        "scope_choices": labels.choices(SharingScope, lang),
        "frequency_choices": labels.choices(UpdateFrequency, lang),
        "hosting_choices": labels.choices(Hosting, lang),
        "element_type_choices": labels.choices(ElementType, lang),
        "system_status_choices": labels.choices(SystemStatus, lang),
    }


_ENUMS = {
    "level": DatabaseLevel, "importance": Importance, "scope": SharingScope, "frequency": UpdateFrequency,
    "hosting": Hosting, "form": SharingForm, "user_type": UserType, "element_type": ElementType,
    "system_status": SystemStatus, "status": EntryStatus,
}


# -- public search and database pages -----------------------------------------------


@router.get("/catalog", response_class=HTMLResponse)
def catalog_search(
    request: Request,
    db: DbDep,
    actor: ActorDep,
    lang: LangDep,
    q: str = "",
    agency: str = "",
    level: str = "",
    sharing_form: str = "",
    importance: str = "",
    offset: int = 0,
) -> HTMLResponse:
    filters = {"q": q, "agency": agency, "level": level, "sharing_form": sharing_form, "importance": importance}
    filters = {k: v for k, v in filters.items() if v}
    try:
        result = search.search_databases(
            db, actor, q or None, agency or None, level or None, sharing_form or None, importance or None,
            PAGE_SIZE, max(0, offset),
        )
        errors: dict[str, list[str]] = {}
    except Invalid as error:
        result = search.SearchResult(items=[], total=0, limit=PAGE_SIZE, offset=0)
        errors = _errors(error, lang)
    latest = issues.latest_issue(db)
    return render(
        request,
        "catalog/search.html",
        {
            **_common(lang),
            "result": result,
            "filters": filters,
            "errors": errors,
            "query_string": urlencode(filters),
            "latest_issue": latest,
            "facet_url": lambda name, value: "/catalog?" + urlencode({**filters, name: value}),
            "clear_url": lambda name: "/catalog?" + urlencode({k: v for k, v in filters.items() if k != name}),
        },
        status_code=422 if errors else 200,
        json_alternate="/api/v1/databases?" + urlencode(filters),
    )


@router.get("/catalog/databases/{code}", response_class=HTMLResponse)
def database_page(request: Request, code: str, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    found = service.detail(db, actor, code)
    entry = found.entry
    database = service.find(db, code) if found.working else None
    history = service.entry_history(db, actor, code) if found.working else []
    in_issue = None
    latest = issues.latest_issue(db)
    if latest is not None:
        in_issue = next((e for e in latest.snapshot.get("entries", []) if e["code"] == entry["code"]), None)
    owner_id = database.owner_agency_id if database else None
    notices: list[tuple[str, str]] = []
    if found.working:
        # Suggestions (Art. 34(1) master data, Art. 9(2) code lists) for the agency's staff.
        _errors_unused, found_notices, *_rest = service.validate(db, entry_data_from_dict(entry))
        notices = [(n.field, n.message.render(lang)) for n in found_notices]
    return render(
        request,
        "catalog/database.html",
        {
            **_common(lang),
            "entry": entry,
            "found": found,
            "history": history,
            "latest_issue": latest,
            "in_issue": in_issue,
            "may_edit": database is not None and can(actor, CatalogAction.EDIT, owner_id),
            "may_submit": database is not None and can(actor, CatalogAction.SUBMIT, owner_id),
            "may_review": database is not None and can(actor, CatalogAction.REVIEW, owner_id),
            "published": service.public_entry(db, code) is not None,
            "notices": notices,
        },
        json_alternate=f"/api/v1/databases/{entry['code']}",
    )


# -- the agency's pages: manage, create, edit, submit ------------------------------


@router.get("/catalog/manage", response_class=HTMLResponse)
def manage_page(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, agency: str = "") -> HTMLResponse:
    rows = service.manage_list(db, actor, agency or None)
    return render(
        request,
        "catalog/manage.html",
        {**_common(lang), "rows": rows, "agency": agency, "needs_reissue": issues.needs_reissue(db)},
        json_alternate="/api/v1/catalog/review-queue",
    )


def _agency_choices(db: Session, actor: Actor) -> list[tuple[str, str]]:
    """Agencies the actor may file entries for: all for the IT unit, else their own."""
    from dulieuso.agencies.service import active_choices

    choices = active_choices(db)
    if can(actor, CatalogAction.EDIT):
        return choices
    own = db.get(Agency, actor.agency_id) if actor.agency_id else None
    return [(c, n) for c, n in choices if own is not None and own.code == c]


def _form_context(db: Session, actor: Actor, lang: str, form: dict[str, Any], errors: dict[str, list[str]],
                  *, creating: bool, notices: list[service.Notice] | None = None) -> dict[str, Any]:
    return {
        **_common(lang),
        "form": form,
        "errors": errors,
        "creating": creating,
        "agency_choices": _agency_choices(db, actor),
        "code_list_choices": codelists.codes(db),
        "system_choices": [(s["code"], s["name"]) for s in systems.list_systems(db, actor)],
        "notices": [(n.field, n.message.render(lang)) for n in notices or []],
    }


def entry_to_form(entry: dict[str, Any]) -> dict[str, Any]:
    """An ``entry_dict`` as the flat values of the entry form."""
    form = {k: v for k, v in entry.items() if k not in ("contact", "owner_agency", "systems", "categories")}
    form["owner_agency"] = entry["owner_agency"]["code"]
    for key in ("name", "email", "phone"):
        form[f"contact_{key}"] = (entry.get("contact") or {}).get(key) or ""
    form["systems"] = [s["code"] for s in entry.get("systems", [])]
    form["categories"] = entry.get("categories", [])
    return form


def parse_entry_form(form: FormData, code: str | None = None) -> tuple[EntryData, dict[str, Any]]:
    """The posted entry form → ``EntryData`` (and the values to show again)."""
    values: dict[str, Any] = {name: _text(form, name) for name in ENTRY_TEXT_FIELDS}
    values["code"] = code or _text(form, "code")
    values["owner_agency"] = _text(form, "owner_agency")
    for name in ("update_frequency", "level", "hosting", "sharing_scope", "importance", "start_year", "record_count_estimate"):
        values[name] = _text(form, name)
    for name in ENTRY_FLAGS:
        values[name] = form.get(name) is not None
    values["systems"] = [s for s in form.getlist("systems") if isinstance(s, str) and s]
    categories: dict[int, dict[str, Any]] = {}
    for key in form.keys():
        raw = form.get(key)
        value = raw.strip() if isinstance(raw, str) else ""
        if m := _CATEGORY.match(key):
            categories.setdefault(int(m[1]), {"elements": {}, "availability": {}})[m[2]] = value
        elif m := _CELL.match(key):
            categories.setdefault(int(m[1]), {"elements": {}, "availability": {}})["availability"][m[2]] = value
        elif m := _ELEMENT.match(key):
            category = categories.setdefault(int(m[1]), {"elements": {}, "availability": {}})
            category["elements"].setdefault(int(m[2]), {})[m[3]] = value
    shown: list[dict[str, Any]] = []
    for index in sorted(categories):
        raw_category = categories[index]
        if raw_category.get("remove"):
            continue
        elements = []
        for eindex in sorted(raw_category["elements"]):
            raw_element = raw_category["elements"][eindex]
            if raw_element.get("remove") or not any(raw_element.get(k) for k in ("name", "description", "unit", "code_list")):
                continue
            elements.append(
                {
                    "name": raw_element.get("name", ""),
                    "data_type": raw_element.get("data_type") or "text",
                    "description": raw_element.get("description", ""),
                    "unit": raw_element.get("unit") or None,
                    "code_list": raw_element.get("code_list") or None,
                    **{flag: flag in raw_element for flag in ELEMENT_FLAGS},
                    "dictionary_id": raw_element.get("dictionary_id") or None,
                }
            )
        if not raw_category.get("name") and not elements:
            continue
        shown.append(
            {
                "name": raw_category.get("name", ""),
                "description": raw_category.get("description", ""),
                "availability": {k: v for k, v in raw_category["availability"].items() if v},
                "elements": elements,
            }
        )
    values["categories"] = shown
    errors: dict[str, list[Msg]] = {}

    def enum(enum_type: Any, name: str, default: Any = None) -> Any:
        raw = values.get(name)
        if not raw:
            return default
        try:
            return enum_type(raw)
        except ValueError:
            errors.setdefault(name, []).append(Msg("Unknown value {value}.", value=raw))
            return default

    def number(name: str) -> int | None:
        raw = values.get(name)
        if not raw:
            return None
        try:
            return int(str(raw).replace(".", "").replace(" ", ""))
        except ValueError:
            errors.setdefault(name, []).append(Msg("Enter a whole number."))
            return None

    data = EntryData(
        code=values["code"],
        name=values["name"],
        owner_agency=values["owner_agency"],
        purpose=values["purpose"],
        scope=values["scope"],
        content=values["content"],
        collection_mechanism=values["collection_mechanism"],
        update_mechanism=values["update_mechanism"],
        update_frequency=enum(UpdateFrequency, "update_frequency"),
        data_sources=values["data_sources"],
        level=enum(DatabaseLevel, "level"),
        legal_basis=values["legal_basis"],
        hosting=enum(Hosting, "hosting"),
        start_year=number("start_year"),
        record_count_estimate=number("record_count_estimate"),
        contact_name=values["contact_name"] or None,
        contact_email=values["contact_email"] or None,
        contact_phone=values["contact_phone"] or None,
        sharing_scope=enum(SharingScope, "sharing_scope", SharingScope.SHARED),
        importance=enum(Importance, "importance", Importance.OTHER),
        decision20_item=values["decision20_item"] or None,
        contains_personal_data=values["contains_personal_data"],
        contains_state_secret=values["contains_state_secret"],
        is_original_data=values["is_original_data"],
        systems=values["systems"],
        categories=[],
    )
    for i, category in enumerate(shown):
        availability = {}
        for user_type, form_value in category["availability"].items():
            try:
                availability[UserType(user_type)] = SharingForm(form_value)
            except ValueError:
                errors.setdefault(f"categories[{i}].availability.{user_type}", []).append(
                    Msg("Unknown value {value}.", value=form_value)
                )
        category_elements = []
        for j, element in enumerate(category["elements"]):
            try:
                data_type = ElementType(element["data_type"])
            except ValueError:
                errors.setdefault(f"categories[{i}].elements[{j}].data_type", []).append(
                    Msg("Unknown value {value}.", value=element["data_type"])
                )
                data_type = ElementType.TEXT
            category_elements.append(ElementData(**{**element, "data_type": data_type}))
        data.categories.append(
            CategoryData(name=category["name"], description=category["description"],
                         availability=availability, elements=category_elements)
        )
    if errors:
        raise _FormInvalid(values, Invalid(fields=errors))
    return data, values


class _FormInvalid(Exception):
    def __init__(self, values: dict[str, Any], error: Invalid) -> None:
        self.values = values
        self.error = error


def _blank_category() -> dict[str, Any]:
    return {"name": "", "description": "", "availability": {}, "elements": [{"name": "", "data_type": "text"}]}


@router.get("/catalog/new", response_class=HTMLResponse)
def new_entry_page(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    if not can(actor, CatalogAction.EDIT):
        require(actor, CatalogAction.EDIT, actor.agency_id)
    own = db.get(Agency, actor.agency_id) if actor.agency_id else None
    form = {"owner_agency": own.code if own else "", "sharing_scope": "shared", "importance": "other",
            "level": "local_shared", "categories": [_blank_category()]}
    return render(request, "catalog/entry_form.html", _form_context(db, actor, lang, form, {}, creating=True))


@router.get("/catalog/databases/{code}/edit", response_class=HTMLResponse)
def edit_entry_page(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    database = service.get_entry(db, actor, code)
    require(actor, CatalogAction.EDIT, database.owner_agency_id)
    form = entry_to_form(service.to_dict(db, database))
    return render(request, "catalog/entry_form.html", _form_context(db, actor, lang, form, {}, creating=False),
                  json_alternate=f"/api/v1/databases/{database.code}")


def _save_form(request: Request, db: Session, actor: Actor, lang: str, form: FormData, code: str | None) -> Response:
    creating = code is None
    try:
        data, values = parse_entry_form(form, code)
    except _FormInvalid as invalid:
        return render(request, "catalog/entry_form.html",
                      _form_context(db, actor, lang, invalid.values, _errors(invalid.error, lang), creating=creating),
                      status_code=422)
    action = _text(form, "action")
    if action == "add_category":
        values["categories"].append(_blank_category())
        return render(request, "catalog/entry_form.html", _form_context(db, actor, lang, values, {}, creating=creating))
    if action.startswith("add_element:"):
        index = int(action.split(":", 1)[1]) if action.split(":", 1)[1].isdigit() else -1
        if 0 <= index < len(values["categories"]):
            values["categories"][index]["elements"].append({"name": "", "data_type": "text"})
        return render(request, "catalog/entry_form.html", _form_context(db, actor, lang, values, {}, creating=creating))
    try:
        result = service.save_entry(db, actor, data, mode="create" if creating else "update")
        db.commit()
    except (Invalid, Conflict) as error:
        db.rollback()
        return render(request, "catalog/entry_form.html",
                      _form_context(db, actor, lang, values, _errors(error, lang), creating=creating),
                      status_code=error.status)
    query = "?saved=1" + ("&notices=" + str(len(result.notices)) if result.notices else "")
    return _see_other(f"/catalog/databases/{result.database.code}{query}")


@router.post("/catalog/new", response_class=HTMLResponse)
def create_entry(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    return _save_form(request, db, actor, lang, form, None)


@router.post("/catalog/databases/{code}/edit", response_class=HTMLResponse)
def update_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    database = service.get_entry(db, actor, code)
    return _save_form(request, db, actor, lang, form, database.code)


@router.get("/catalog/_partials/category", response_class=HTMLResponse)
def category_partial(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, index: int = 0) -> HTMLResponse:
    """One empty category block for the entry form (htmx "add a category")."""
    return render(request, "catalog/_category.html", {
        **_form_context(db, actor, lang, {}, {}, creating=False), "ci": max(0, min(index, 199)),
        "category": _blank_category(),
    })


@router.get("/catalog/_partials/element", response_class=HTMLResponse)
def element_partial(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, category: int = 0, index: int = 0) -> HTMLResponse:
    """One empty element row for the entry form (htmx "add an element")."""
    return render(request, "catalog/_element.html", {
        **_form_context(db, actor, lang, {}, {}, creating=False), "ci": max(0, min(category, 199)),
        "ei": max(0, min(index, 499)), "element": {"name": "", "data_type": "text"},
    })


def _workflow(request: Request, db: Session, actor: Actor, lang: str, code: str, run: Any, done: str) -> Response:
    try:
        run()
        db.commit()
    except DomainError as error:
        db.rollback()
        found = service.detail(db, actor, code)
        return render(request, "catalog/action_failed.html", {
            **_common(lang), "entry": found.entry, "message": error.message.render(lang),
            "fields": _errors(error, lang),
        }, status_code=error.status)
    return _see_other(f"/catalog/databases/{code.upper()}?done={done}")


@router.post("/catalog/databases/{code}/submit")
def submit_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep) -> Response:
    return _workflow(request, db, actor, lang, code, lambda: service.submit(db, actor, code), "submitted")


@router.post("/catalog/databases/{code}/withdraw")
def withdraw_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep) -> Response:
    return _workflow(request, db, actor, lang, code, lambda: service.withdraw(db, actor, code), "withdrawn")


@router.post("/catalog/databases/{code}/delete")
def delete_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep) -> Response:
    try:
        service.delete_entry(db, actor, code)
        db.commit()
    except DomainError as error:
        db.rollback()
        found = service.detail(db, actor, code)
        return render(request, "catalog/action_failed.html", {
            **_common(lang), "entry": found.entry, "message": error.message.render(lang), "fields": {},
        }, status_code=error.status)
    return _see_other("/catalog/manage?deleted=1")


# -- the IT unit's review ------------------------------------------------------------


@router.get("/catalog/review", response_class=HTMLResponse)
def review_queue_page(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    queue = service.review_queue(db, actor)
    return render(request, "catalog/review_queue.html", {**_common(lang), "queue": queue},
                  json_alternate="/api/v1/catalog/review-queue")


def _review_context(db: Session, actor: Actor, lang: str, code: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    database = service.get_entry(db, actor, code)
    require(actor, CatalogAction.REVIEW, database.owner_agency_id)
    found = service.detail(db, actor, code)
    from dulieuso.catalog.entries import flatten

    fields = [k for k in flatten(found.entry) if not k.startswith("categories[")]
    fields += [f"categories[{c['name']}]" for c in found.entry.get("categories", [])]
    return {**_common(lang), "entry": found.entry, "found": found, "errors": errors,
            "field_choices": fields, "submission_errors": {
                k: [m.render(lang) for m in v] for k, v in service.submission_errors(found.entry).items()}}


@router.get("/catalog/databases/{code}/review", response_class=HTMLResponse)
def review_page(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    return render(request, "catalog/review.html", _review_context(db, actor, lang, code, {}),
                  json_alternate=f"/api/v1/databases/{code.upper()}")


def _review_action(request: Request, db: Session, actor: Actor, lang: str, code: str, run: Any, done: str) -> Response:
    try:
        run()
        db.commit()
    except DomainError as error:
        db.rollback()
        return render(request, "catalog/review.html", _review_context(db, actor, lang, code, _errors(error, lang)),
                      status_code=error.status)
    target = f"/catalog/databases/{code.upper()}/review?done={done}" if done == "commented" else f"/catalog/review?done={done}"
    return _see_other(target)


@router.post("/catalog/databases/{code}/comments")
def comment_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    return _review_action(request, db, actor, lang, code,
                          lambda: service.add_comment(db, actor, code, _text(form, "field"), _text(form, "comment")),
                          "commented")


@router.post("/catalog/databases/{code}/request-changes")
def request_changes_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    return _review_action(request, db, actor, lang, code,
                          lambda: service.request_changes(db, actor, code, _text(form, "note")), "changes_requested")


@router.post("/catalog/databases/{code}/accept")
def accept_entry(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep) -> Response:
    return _review_action(request, db, actor, lang, code, lambda: service.accept(db, actor, code), "accepted")


# -- issued versions ------------------------------------------------------------------


@router.get("/catalog/issues", response_class=HTMLResponse)
def issues_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return render(request, "catalog/issues.html", {
        **_common(lang), "issues": issues.list_issues(db, actor), "changes": issues.reissue_changes(db),
        "latest": issues.latest_issue(db),
    }, json_alternate="/api/v1/catalog/issues")


def _issue_form(request: Request, db: Session, actor: Actor, lang: str, form: dict[str, Any],
                errors: dict[str, list[str]], status: int = 200) -> HTMLResponse:
    return render(request, "catalog/issue_form.html", {
        **_common(lang), "form": form, "errors": errors, "changes": issues.reissue_changes(db),
        "entries": issues.current_entries(db), "latest": issues.latest_issue(db),
    }, status_code=status)


@router.get("/catalog/issues/new", response_class=HTMLResponse)
def new_issue_page(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    require(actor, CatalogAction.ISSUE)
    return _issue_form(request, db, actor, lang, {}, {})


@router.post("/catalog/issues/new", response_class=HTMLResponse)
def create_issue(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {k: _text(form, k) for k in ("decision_number", "decision_date", "signer", "signer_title", "note")}
    try:
        issue = issues.issue_catalog(db, actor, issues.IssueInput(**values))
        db.commit()
    except DomainError as error:
        db.rollback()
        return _issue_form(request, db, actor, lang, values, _errors(error, lang), error.status)
    return _see_other(f"/catalog/issues/{issue.number}?issued=1")


@router.get("/catalog/issues/{number}", response_class=HTMLResponse)
def issue_page(request: Request, number: str, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    issue = issues.get_issue(db, actor, number)
    previous = issues.get_issue(db, actor, issue.number - 1) if issue.number > 1 else None
    return render(request, "catalog/issue.html", {
        **_common(lang), "issue": issue, "entries": issue.snapshot.get("entries", []), "previous": previous,
        "diff": issues.diff_issues(previous, issue) if previous else None,
    }, json_alternate=f"/api/v1/catalog/issues/{issue.number}")


@router.get("/catalog/diff", response_class=HTMLResponse)
def diff_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    raw_from, raw_to = request.query_params.get("from", ""), request.query_params.get("to", "")
    errors = {name: [gettext("Enter a version number.", lang)] for name, raw in (("from", raw_from), ("to", raw_to))
              if raw and not raw.isdigit()}
    if errors:
        raise Invalid(fields={k: [Msg("Enter a version number.")] for k in errors})
    result = issues.diff(db, actor, int(raw_from) if raw_from else None, int(raw_to) if raw_to else None)
    query = urlencode({k: v for k, v in (("from", raw_from), ("to", raw_to)) if v})
    return render(request, "catalog/diff.html", {**_common(lang), "result": result},
                  json_alternate="/api/v1/catalog/diff" + (f"?{query}" if query else ""))


# -- derived lists ----------------------------------------------------------------------


def _list_page(request: Request, db: Session, actor: Actor, lang: str, kind: ListKind,
               errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    result = lists.derived_list(db, actor, kind)
    slug = "default-sharing-list" if kind is ListKind.DEFAULT_SHARING else "open-data-list"
    return render(request, "catalog/derived_list.html", {
        **_common(lang), "result": result, "slug": slug, "title": gettext(labels.LIST_LABELS[kind], lang),
        "errors": errors or {}, "form": form or {},
    }, status_code=status, json_alternate=f"/api/v1/catalog/{slug}")


@router.get("/catalog/default-sharing-list", response_class=HTMLResponse)
def default_sharing_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _list_page(request, db, actor, lang, ListKind.DEFAULT_SHARING)


@router.get("/catalog/open-data-list", response_class=HTMLResponse)
def open_data_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _list_page(request, db, actor, lang, ListKind.OPEN_DATA)


def _review_list(request: Request, db: Session, actor: Actor, lang: str, kind: ListKind, form: FormData) -> Response:
    values = {k: _text(form, k) for k in ("reviewed_on", "decision_reference", "note")}
    try:
        lists.review_list(db, actor, kind, values["reviewed_on"] or None, values["decision_reference"], values["note"])
        db.commit()
    except DomainError as error:
        db.rollback()
        return _list_page(request, db, actor, lang, kind, _errors(error, lang), values, error.status)
    slug = "default-sharing-list" if kind is ListKind.DEFAULT_SHARING else "open-data-list"
    return _see_other(f"/catalog/{slug}?reviewed=1")


@router.post("/catalog/default-sharing-list/reviews")
def review_default_sharing(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    return _review_list(request, db, actor, lang, ListKind.DEFAULT_SHARING, form)


@router.post("/catalog/open-data-list/reviews")
def review_open_data(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    return _review_list(request, db, actor, lang, ListKind.OPEN_DATA, form)


# -- code lists ----------------------------------------------------------------------------


def _code_lists_page(request: Request, db: Session, actor: Actor, lang: str,
                     errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None,
                     status: int = 200) -> HTMLResponse:
    return render(request, "catalog/code_lists.html", {
        **_common(lang), "code_lists": codelists.list_code_lists(db, actor), "errors": errors or {}, "form": form or {},
    }, status_code=status, json_alternate="/api/v1/code-lists")


@router.get("/catalog/code-lists", response_class=HTMLResponse)
def code_lists_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _code_lists_page(request, db, actor, lang)


@router.post("/catalog/code-lists", response_class=HTMLResponse)
def create_code_list(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values = {k: _text(form, k) for k in ("code", "name", "description", "issuer", "legal_basis")}
    try:
        created = codelists.create_code_list(db, actor, codelists.CodeListInput(**values))
        db.commit()
    except DomainError as error:
        db.rollback()
        return _code_lists_page(request, db, actor, lang, _errors(error, lang), values, error.status)
    return _see_other(f"/catalog/code-lists/{created.code}")


def _code_list_page(request: Request, db: Session, actor: Actor, lang: str, code: str, version: str | None = None,
                    errors: dict[str, list[str]] | None = None, status: int = 200) -> HTMLResponse:
    data = codelists.get_code_list(db, actor, code, version)
    return render(request, "catalog/code_list.html", {**_common(lang), "cl": data, "errors": errors or {}},
                  status_code=status, json_alternate=f"/api/v1/code-lists/{data['code']}")


@router.get("/catalog/code-lists/{code}", response_class=HTMLResponse)
def code_list_page(request: Request, code: str, db: DbDep, actor: ActorDep, lang: LangDep, version: str = "") -> HTMLResponse:
    return _code_list_page(request, db, actor, lang, code, version or None)


@router.post("/catalog/code-lists/{code}/versions", response_class=HTMLResponse)
async def import_code_list(request: Request, code: str, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise Invalid(fields={"file": [Msg("Upload a .csv or .xlsx file.")]})
        content = await upload.read(codelists.MAX_BYTES + 1)
        items = codelists.read_file(upload.filename or "", content)
        codelists.import_version(db, actor, code, _text(form, "version"), items, source=_text(form, "source"))
        db.commit()
    except DomainError as error:
        db.rollback()
        return _code_list_page(request, db, actor, lang, code, None, _errors(error, lang), error.status)
    return _see_other(f"/catalog/code-lists/{code}?imported=1")


# -- information systems -----------------------------------------------------------------

SYSTEM_FIELDS = ("code", "name", "owner_agency", "hosting", "status", "description", "operator", "url", "security_level")


def _systems_page(request: Request, db: Session, actor: Actor, lang: str, errors: dict[str, list[str]] | None = None,
                  form: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    own = db.get(Agency, actor.agency_id) if actor.agency_id else None
    return render(request, "catalog/systems.html", {
        **_common(lang), "systems": systems.list_systems(db, actor), "errors": errors or {},
        "form": form or {"owner_agency": own.code if own else "", "status": "operating"},
        "agency_choices": _agency_choices(db, actor),
        "may_create": can(actor, CatalogAction.SYSTEM_MANAGE) or (own is not None and can(actor, CatalogAction.SYSTEM_MANAGE, own.id)),
    }, status_code=status, json_alternate="/api/v1/information-systems")


@router.get("/catalog/systems", response_class=HTMLResponse)
def systems_page(request: Request, db: DbDep, actor: ActorDep, lang: LangDep) -> HTMLResponse:
    return _systems_page(request, db, actor, lang)


@router.post("/catalog/systems", response_class=HTMLResponse)
def save_system(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, form: FormDep) -> Response:
    values: dict[str, Any] = {k: _text(form, k) for k in SYSTEM_FIELDS}
    values["offers_external_services"] = form.get("offers_external_services") is not None
    try:
        level = values.pop("security_level")
        try:
            security = int(level) if level else None
        except ValueError:
            raise Invalid(fields={"security_level": [Msg("Enter a whole number.")]}) from None
        systems.save_system(db, actor, systems.SystemInput(**values, security_level=security))
        db.commit()
    except DomainError as error:
        db.rollback()
        values["security_level"] = _text(form, "security_level")
        return _systems_page(request, db, actor, lang, _errors(error, lang), values, error.status)
    return _see_other("/catalog/systems?saved=1")
