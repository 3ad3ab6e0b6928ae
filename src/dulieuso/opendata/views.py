# SPDX-License-Identifier: AGPL-3.0-or-later
"""Open-data pages (Vietnamese by default, no login needed to read), downloads, the CKAN
dump URL, and the agency staff's forms. Every page has a JSON twin in ``/api/v1``."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor, can
from dulieuso.catalog.models import Database, UpdateFrequency
from dulieuso.config import Settings
from dulieuso.datastore import query as datastore_query
from dulieuso.datastore.infer import quote
from dulieuso.errors import Conflict, DomainError, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.opendata import resources, search, service
from dulieuso.opendata.api import search_json
from dulieuso.opendata.licenses import list_licenses
from dulieuso.opendata.models import Dataset, Resource
from dulieuso.opendata.permissions import OpenDataAction
from dulieuso.opendata.ratelimit import DOWNLOADS
from dulieuso.opendata.text import render_markdown
from dulieuso.opendata.viewmodels import dataset_dict, group_dict
from dulieuso.web.deps import ActorDep, DbDep, LangDep, LoginDep, SettingsDep, check_csrf, client_ip
from dulieuso.web.templating import render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(check_csrf)]
PREVIEW_ROWS = 25
CHART_BARS = 20

FREQUENCY_LABELS = {
    "realtime": Msg("Real time"), "daily": Msg("Daily"), "weekly": Msg("Weekly"), "monthly": Msg("Monthly"),
    "quarterly": Msg("Quarterly"), "yearly": Msg("Yearly"), "on_change": Msg("When it changes"), "irregular": Msg("Irregular"),
}
FACET_TITLES = {
    "organization": Msg("Agency"), "groups": Msg("Topic"), "tags": Msg("Tags"), "res_format": Msg("Format"), "license_id": Msg("Licence"),
}
SORT_LABELS = [
    ("relevance", Msg("Relevance")), ("metadata_modified desc", Msg("Last modified")), ("name asc", Msg("Name")),
    ("downloads desc", Msg("Most downloaded")),
]


# ----------------------------------------------------------------------- downloads


def _stream(chunks: Any, media_type: str, filename: str, *, inline: bool = False) -> StreamingResponse:
    from urllib.parse import quote as urlquote

    disposition = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "ignore").decode() or "data"
    headers = {"Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{urlquote(filename)}"}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


def stream_download(request: Request, db: Session, actor: Actor, settings: Settings, resource_id: str, fmt: str, bom: bool) -> StreamingResponse:
    DOWNLOADS.check(client_ip(request))
    chunks, media_type, filename, resource = resources.download(db, actor, resource_id, fmt, settings=settings, bom=bom)
    resources.count(db, resource.dataset_id)
    db.commit()
    return _stream(chunks, media_type, filename)


@router.get("/resources/{resource_id}/download/{fmt}")
def download(resource_id: str, fmt: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, bom: bool = False) -> StreamingResponse:
    return stream_download(request, db, actor, settings, resource_id, fmt, bom)


@router.get("/datastore/dump/{resource_id}")
def datastore_dump(
    resource_id: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep,
    format: str = Query("csv"), bom: bool = Query(False),
) -> StreamingResponse:
    """CKAN's dump URL: the whole table, streamed (public datasets; 404 for others)."""
    DOWNLOADS.check(client_ip(request))
    chunks, media_type, filename, resource = resources.dump(db, actor, resource_id, format, settings=settings, bom=bom)
    resources.count(db, resource.dataset_id)
    db.commit()
    return _stream(chunks, media_type, filename)


@router.get("/datasets/{slug}/package.zip")
def package_zip(slug: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep) -> StreamingResponse:
    DOWNLOADS.check(client_ip(request), cost=5)
    chunks, filename, dataset = resources.package(db, actor, slug, settings=settings, base_url=settings.base_url.rstrip("/"))
    resources.count(db, dataset.id)
    db.commit()
    return _stream(chunks, "application/zip", filename)


# ----------------------------------------------------------------------- public pages


def _agency_options(db: Session) -> dict[uuid.UUID, Agency]:
    return {a.id: a for a in db.scalars(select(Agency))}


@router.get("/data", response_class=HTMLResponse)
def home(request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    """The open-data portal's home: search, counts, newest and most-used, topics."""
    visible = service.visible_clause(actor)
    counts = {
        "datasets": db.scalar(select(func.count()).select_from(Dataset).where(visible)) or 0,
        "agencies": db.scalar(select(func.count(func.distinct(Dataset.agency_id))).where(visible)) or 0,
        "resources": db.scalar(select(func.count()).select_from(Resource).join(Dataset, Dataset.id == Resource.dataset_id).where(visible)) or 0,
        "downloads": db.scalar(select(func.coalesce(func.sum(Dataset.download_count), 0)).where(visible)) or 0,
    }
    group_counts = service.group_counts(db, actor)
    context = {
        "counts": counts,
        "newest": [dataset_dict(db, d, actor=actor, settings=settings, lang=lang, full=False) for d in search.newest(db, actor)],
        "most_used": [dataset_dict(db, d, actor=actor, settings=settings, lang=lang, full=False) for d in search.most_used(db, actor)],
        "groups": [group_dict(g, lang, group_counts.get(g.id, 0)) for g in service.list_groups(db)],
        "can_create": actor.agency_id is not None and can(actor, OpenDataAction.EDIT, actor.agency_id) or can(actor, OpenDataAction.EDIT, None),
    }
    return render(request, "opendata/home.html", context, json_alternate="/api/v1/datasets?limit=6&sort=metadata_modified%20desc")


@router.get("/datasets", response_class=HTMLResponse)
def dataset_search(
    request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep,
    q: str = Query("", max_length=300), organization: str = Query(""), groups: str = Query(""), tags: str = Query(""),
    res_format: str = Query(""), license_id: str = Query(""), sort: str = Query("relevance"), page: int = Query(1, ge=1, le=10_000),
) -> HTMLResponse:
    rows = 20
    params = dict(q=q, organization=organization, groups=groups, tags=tags, res_format=res_format, license_id=license_id,
                  sort=sort if sort in search.SORTS else "relevance", limit=rows, offset=(page - 1) * rows, facet_limit=15)
    result = search_json(db, actor, settings, lang, params)
    chosen = {k: v for k, v in params.items() if k in ("q", "organization", "groups", "tags", "res_format", "license_id", "sort") and v}

    def link(**changes: Any) -> str:
        merged = {**chosen, **changes}
        return "/datasets?" + urlencode({k: v for k, v in merged.items() if v})

    context = {
        "result": result, "q": q, "chosen": chosen, "link": link, "page": page, "rows": rows,
        "facet_titles": FACET_TITLES, "sort_labels": SORT_LABELS, "sort": params["sort"],
        "pages": max(1, (result["total"] + rows - 1) // rows),
    }
    alternate = "/api/v1/datasets?" + urlencode({**chosen, "limit": rows, "offset": (page - 1) * rows})
    return render(request, "opendata/search.html", context, json_alternate=alternate)


@router.get("/data/agencies/{code}", response_class=HTMLResponse)
def agency_page(code: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    agency = db.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise NotFound(Msg("Agency not found."))
    own = can(actor, OpenDataAction.VIEW_PRIVATE, agency.id)
    result = search.search_datasets(db, actor, organization=[agency.code], sort="metadata_modified desc", rows=200,
                                    include_private=own, include_drafts=own)
    datasets = [dataset_dict(db, d, actor=actor, settings=settings, lang=lang, full=False) for d in result.datasets]
    return render(request, "opendata/agency.html", {"agency": agency, "datasets": datasets, "own": own,
                  "can_create": can(actor, OpenDataAction.EDIT, agency.id)},
                  json_alternate=f"/api/v1/datasets?organization={agency.code}")


def _current(db: Session, actor: Actor, settings: Settings, slug: str) -> Dataset:
    dataset = service.get_dataset(db, actor, slug)
    resources.refresh_all(db, dataset, settings)
    db.commit()
    return dataset


@router.get("/datasets/new", response_class=HTMLResponse)
def new_dataset_form(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    if not (can(actor, OpenDataAction.EDIT, actor.agency_id) if actor.agency_id else can(actor, OpenDataAction.EDIT, None)):
        from dulieuso.errors import Forbidden

        raise Forbidden()
    return _form(request, db, actor, lang, None, {}, {})


def _form(request: Request, db: Session, actor: Actor, lang: str, dataset: Dataset | None, form: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> HTMLResponse:
    agencies = [a for a in db.scalars(select(Agency).order_by(Agency.name_vi)) if can(actor, OpenDataAction.EDIT, a.id)]
    databases = list(db.scalars(select(Database).where(Database.owner_agency_id.in_([a.id for a in agencies])).order_by(Database.code))) if agencies else []
    context = {
        "dataset": dataset, "form": form, "errors": errors,
        "agency_options": [(a.code, a.name_vi) for a in agencies],
        "database_options": [("", "—")] + [(d.code, f"{d.code} — {d.name}") for d in databases],
        "license_options": [(lic.id, lic.title_vi if lang == "vi" else lic.title_en) for lic in list_licenses(db)],
        "frequency_options": [("", "—")] + [(f.value, FREQUENCY_LABELS[f.value].render(lang)) for f in UpdateFrequency],
        "group_options": [(g.name, g.title_vi if lang == "vi" else (g.title_en or g.title_vi)) for g in service.list_groups(db)],
    }
    return render(request, "opendata/form.html", context, status_code=status)


def _form_data(form: Any) -> dict[str, Any]:
    data = {key: form.get(key, "") for key in ("title", "name", "title_en", "notes", "agency", "source_database", "license_id",
                                                 "attribution", "update_frequency", "temporal_from", "temporal_to", "spatial",
                                                 "spatial_label", "contact_name", "contact_email", "version")}
    data["tags"] = [t.strip() for t in str(form.get("tags", "")).split(",") if t.strip()]
    data["groups"] = form.getlist("groups") if hasattr(form, "getlist") else []
    return data


def _errors(error: DomainError, lang: str) -> dict[str, list[str]]:
    return error.rendered_fields(lang)


@router.post("/datasets/new", response_class=HTMLResponse, dependencies=CSRF)
async def create_dataset(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> Any:
    form = await request.form()
    data = _form_data(form)
    if not data["name"]:
        data.pop("name")
    try:
        dataset = service.create_dataset(db, actor, data)
    except Invalid as error:
        db.rollback()
        return _form(request, db, actor, lang, None, {**data, "tags": ", ".join(data["tags"])}, _errors(error, lang), 422)
    db.commit()
    return RedirectResponse(f"/datasets/{dataset.name}", status_code=303)


@router.get("/datasets/{slug}/edit", response_class=HTMLResponse)
def edit_dataset_form(slug: str, request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    dataset = service._editable(db, actor, slug)
    agency = db.get(Agency, dataset.agency_id)
    database = db.get(Database, dataset.source_database_id) if dataset.source_database_id else None
    form = {
        "title": dataset.title, "name": dataset.name, "title_en": dataset.title_en, "notes": dataset.notes,
        "agency": agency.code if agency else "", "source_database": database.code if database else "",
        "license_id": dataset.license_id, "attribution": dataset.attribution, "update_frequency": dataset.update_frequency or "",
        "temporal_from": dataset.temporal_from.isoformat() if dataset.temporal_from else "",
        "temporal_to": dataset.temporal_to.isoformat() if dataset.temporal_to else "",
        "spatial": dataset.spatial, "spatial_label": dataset.spatial_label, "contact_name": dataset.contact_name,
        "contact_email": dataset.contact_email, "version": dataset.version,
        "tags": ", ".join(service.tag_names(db, dataset.id)), "groups": [g.name for g in service.dataset_groups(db, dataset.id)],
    }
    return _form(request, db, actor, lang, dataset, form, {})


@router.post("/datasets/{slug}/edit", response_class=HTMLResponse, dependencies=CSRF)
async def update_dataset(slug: str, request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> Any:
    form = await request.form()
    data = _form_data(form)
    dataset = service._editable(db, actor, slug)
    try:
        dataset = service.update_dataset(db, actor, slug, data, partial=True)
    except Invalid as error:
        db.rollback()
        return _form(request, db, actor, lang, dataset, {**data, "tags": ", ".join(data["tags"])}, _errors(error, lang), 422)
    db.commit()
    return RedirectResponse(f"/datasets/{dataset.name}", status_code=303)


@router.get("/datasets/{slug}", response_class=HTMLResponse)
def dataset_page(slug: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    dataset = _current(db, actor, settings, slug)
    data = dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)
    tabular = [r for r in dataset.resources if r.datastore_active]
    first = tabular[0] if tabular else None
    context = {
        "d": data,
        "notes_html": render_markdown(dataset.notes),
        "frequency": FREQUENCY_LABELS[dataset.update_frequency].render(lang) if dataset.update_frequency in FREQUENCY_LABELS else "",
        "history": service.history(db, actor, dataset.id)[:20],
        "preview_resource": str(first.id) if first else None,
        "tabular": [{"id": str(r.id), "name": r.name} for r in tabular],
        "columns": [f for f in resources.dictionary(settings, first)] if first else [],
        "can_edit": can(actor, OpenDataAction.EDIT, dataset.agency_id),
        "can_publish": can(actor, OpenDataAction.PUBLISH, dataset.agency_id),
        "can_delete": can(actor, OpenDataAction.DELETE, dataset.agency_id),
        "is_public": service.is_public(dataset),
        "base_url": settings.base_url.rstrip("/"),
        "message": request.query_params.get("msg", ""),
        "examples": api_examples(settings.base_url.rstrip("/"), str(first.id)) if first else None,
    }
    return render(request, "opendata/dataset.html", context, json_alternate=f"/api/v1/datasets/{dataset.name}")


@router.get("/datasets/{slug}/preview", response_class=HTMLResponse)
def preview(
    slug: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep,
    resource: str = Query(...), q: str = Query("", max_length=200), sort: str = Query("", max_length=200),
    column: str = Query("", max_length=200), value: str = Query("", max_length=500), offset: int = Query(0, ge=0, le=10_000_000),
) -> HTMLResponse:
    """The preview table (an htmx partial): server-side filter, search, sort and paging."""
    DOWNLOADS.check(client_ip(request), cost=0.1)
    dataset = service.get_dataset(db, actor, slug)
    res = resources.get_resource(db, actor, resource)
    if res.dataset_id != dataset.id:
        raise NotFound(Msg("Resource not found."), code="resource_not_found")
    version = resources.current_data(settings, res)
    if version is None:
        raise NotFound(Msg("This resource has no data in the datastore."), code="no_datastore_data")
    fields = resources.dictionary(settings, res)
    filters = {column: value} if column and value else None
    error = ""
    try:
        result = datastore_query.search(version.parquet_path, filters=filters, q=q or None, sort=sort or None,
                                        limit=PREVIEW_ROWS, offset=offset, records_format="lists", dictionary=fields)
    except Invalid as exc:
        error = exc.message.render(lang) + " " + " ".join(m.render(lang) for ms in exc.fields.values() for m in ms)
        result = {"fields": [], "records": [], "total": 0}
    names = [f["id"] for f in result["fields"] if f["id"] != "_id"]
    labels = {f["id"]: f.get("label") or f["id"] for f in fields}
    idx = [i for i, f in enumerate(result["fields"]) if f["id"] != "_id"]
    rows = [[row[i] for i in idx] for row in result["records"]]
    state = {"resource": resource, "q": q, "sort": sort, "column": column, "value": value}

    def link(**changes: Any) -> str:
        return f"/datasets/{dataset.name}/preview?" + urlencode({k: v for k, v in {**state, **changes}.items() if v not in ("", None)})

    context = {"slug": dataset.name, "names": names, "labels": labels, "rows": rows, "total": result.get("total", 0),
               "offset": offset, "page_rows": PREVIEW_ROWS, "link": link, "state": state, "error": error, "fields": fields}
    return render(request, "opendata/_preview.html", context)


@router.get("/datasets/{slug}/chart")
def chart_data(
    slug: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep,
    resource: str = Query(...), column: str = Query(..., max_length=200), value: str = Query("", max_length=200),
) -> JSONResponse:
    """Bars for the chart: the top values of ``column`` with their row counts, or the sum
    of the numeric ``value`` column per ``column`` value."""
    DOWNLOADS.check(client_ip(request), cost=0.1)
    dataset = service.get_dataset(db, actor, slug)
    res = resources.get_resource(db, actor, resource)
    version = resources.current_data(settings, res)
    if res.dataset_id != dataset.id or version is None:
        raise NotFound(Msg("Resource not found."), code="resource_not_found")
    known = {c.id: c for c in datastore_query.columns(version.parquet_path)}
    if column not in known:
        raise Invalid(fields={"column": [Msg("Unknown field {name}.", name=column)]})
    measure = "COUNT(*)"
    if value:
        if value not in known or known[value].type not in ("integer", "number"):
            raise Invalid(fields={"value": [Msg("Choose a numeric field to add up.")]})
        measure = f"SUM({quote(value)})"
    sql = (f"SELECT CAST({quote(column)} AS VARCHAR) AS k, {measure} AS n FROM {datastore_query.relation(version.parquet_path)} "
           f"GROUP BY 1 ORDER BY n DESC NULLS LAST, k LIMIT {CHART_BARS}")
    with datastore_query.cursor() as cur:
        rows = cur.execute(sql).fetchall()
    return JSONResponse({"labels": [r[0] if r[0] is not None else "—" for r in rows],
                         "values": [datastore_query.json_value(r[1]) for r in rows]})


# ----------------------------------------------------------------------- staff actions


def _back(dataset: Dataset, msg: str = "") -> RedirectResponse:
    return RedirectResponse(f"/datasets/{dataset.name}" + (f"?msg={msg}" if msg else ""), status_code=303)


@router.post("/datasets/{slug}/publish", dependencies=CSRF)
def publish(slug: str, request: Request, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep) -> Any:
    dataset = _current(db, actor, settings, slug)
    try:
        service.publish(db, actor, dataset.id)
    except Conflict as error:
        db.rollback()
        return render(request, "opendata/blocked.html", {"d": {"name": dataset.name, "title": dataset.title},
                      "reasons": error.extra.get("reasons", []) if lang == "vi" else [{"message": m} for m in error.extra.get("reasons_en", [])]},
                      status_code=409)
    db.commit()
    return _back(dataset, "published")


@router.post("/datasets/{slug}/make-private", dependencies=CSRF)
def make_private(slug: str, db: DbDep, actor: LoginDep, reason: str = Form("")) -> RedirectResponse:
    dataset = service.make_private(db, actor, slug, reason=reason)
    db.commit()
    return _back(dataset, "private")


@router.post("/datasets/{slug}/delete", dependencies=CSRF)
def delete(slug: str, db: DbDep, actor: LoginDep) -> RedirectResponse:
    dataset = service.delete_dataset(db, actor, slug)
    agency = db.get(Agency, dataset.agency_id)
    db.commit()
    return RedirectResponse(f"/data/agencies/{agency.code}" if agency else "/data", status_code=303)


@router.post("/datasets/{slug}/resources", dependencies=CSRF)
def add_resource(
    slug: str, request: Request, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep,
    upload: UploadFile | None = File(None), name: str = Form(""), description: str = Form(""), url: str = Form(""), format: str = Form(""),
) -> Any:
    file = resources.Upload(upload.filename or "data", upload.file) if upload is not None and upload.filename else None
    try:
        resource = resources.add_resource(db, actor, slug, {"name": name, "description": description, "url": url, "format": format},
                                          settings=settings, upload=file)
    except Invalid as error:
        db.rollback()
        dataset = service.get_dataset(db, actor, slug)
        return render(request, "opendata/blocked.html", {"d": {"name": dataset.name, "title": dataset.title},
                      "reasons": [{"message": m} for ms in _errors(error, lang).values() for m in ms]}, status_code=422)
    db.commit()
    if request.headers.get("hx-request"):
        return HTMLResponse("", headers={"HX-Redirect": f"/resources/{resource.id}"})
    return RedirectResponse(f"/resources/{resource.id}", status_code=303)


def _resource_view(resource: Resource) -> dict[str, Any]:
    """What the resource page shows (a dict, not the ORM row: STYLE.md §10)."""
    return {
        "id": str(resource.id), "name": resource.name, "description": resource.description, "format": resource.format,
        "size": resource.size, "hash": resource.hash, "last_modified": resource.last_modified,
        "datastore_rows": resource.datastore_rows, "datastore_active": resource.datastore_active,
        "ingest_status": resource.ingest_status.value, "url_type": resource.url_type.value, "url": resource.url,
        "has_file": bool(resource.storage_path),
    }


@router.get("/resources/{resource_id}", response_class=HTMLResponse)
def resource_page(resource_id: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    resource = resources.get_resource(db, actor, resource_id)
    resources.refresh(db, resource, settings)
    db.commit()
    dataset = resource.dataset
    staff = can(actor, OpenDataAction.VIEW_PRIVATE, dataset.agency_id)
    context = {
        "r": _resource_view(resource), "d": {"name": dataset.name, "title": dataset.title},
        "dictionary": resources.dictionary(settings, resource),
        "report": resources.metadata(settings, resource).get("report"),
        "status": resources.ingest_status(db, actor, resource_id, settings=settings, lang=lang),
        "staff": staff,
        "can_edit": can(actor, OpenDataAction.EDIT, dataset.agency_id),
        "can_override": can(actor, OpenDataAction.PII_OVERRIDE, dataset.agency_id),
        "pii": resources.pii_report(db, actor, resource_id) if staff else None,
        "cleared": service.pii_cleared(resource),
        "formats": resources.DOWNLOAD_FORMATS,
        "errors": {},
    }
    return render(request, "opendata/resource.html", context, json_alternate=f"/api/v1/resources/{resource.id}")


@router.get("/resources/{resource_id}/progress", response_class=HTMLResponse)
def progress(resource_id: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    """The progress partial the resource page polls (every second while loading)."""
    status = resources.ingest_status(db, actor, resource_id, settings=settings, lang=lang)
    db.commit()
    response = render(request, "opendata/_progress.html", {"status": status, "rid": resource_id})
    if status["finished"] and request.headers.get("hx-request"):
        response.headers["HX-Refresh"] = "true"  # reload the page to show the data and scan
    return response


@router.post("/resources/{resource_id}/replace", dependencies=CSRF)
def replace_file(resource_id: str, db: DbDep, actor: LoginDep, settings: SettingsDep, upload: UploadFile = File(...)) -> RedirectResponse:
    resources.update_resource(db, actor, resource_id, {}, settings=settings, upload=resources.Upload(upload.filename or "data", upload.file))
    db.commit()
    return RedirectResponse(f"/resources/{resource_id}", status_code=303)


@router.post("/resources/{resource_id}/delete", dependencies=CSRF)
def delete_resource(resource_id: str, db: DbDep, actor: LoginDep, settings: SettingsDep) -> RedirectResponse:
    resource = resources.get_resource(db, actor, resource_id)
    slug = resource.dataset.name
    resources.delete_resource(db, actor, resource_id, settings=settings)
    db.commit()
    return RedirectResponse(f"/datasets/{slug}", status_code=303)


@router.post("/resources/{resource_id}/dictionary", dependencies=CSRF)
async def save_dictionary(resource_id: str, request: Request, db: DbDep, actor: LoginDep, settings: SettingsDep) -> RedirectResponse:
    form = await request.form()
    fields: dict[str, dict[str, str]] = {}
    for key, value in form.multi_items():
        if key.startswith("label:") or key.startswith("description:"):
            kind, _, field_id = key.partition(":")
            fields.setdefault(field_id, {})[kind] = str(value)
    resources.edit_dictionary(db, actor, resource_id, fields, settings=settings)
    db.commit()
    return RedirectResponse(f"/resources/{resource_id}", status_code=303)


@router.post("/resources/{resource_id}/pii-override", dependencies=CSRF)
def pii_override(resource_id: str, request: Request, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep, reason: str = Form("")) -> Any:
    try:
        resources.override_pii(db, actor, resource_id, reason)
    except Invalid as error:
        db.rollback()
        resource = resources.get_resource(db, actor, resource_id)
        dataset = resource.dataset
        context = {
            "r": _resource_view(resource), "d": {"name": dataset.name, "title": dataset.title},
            "dictionary": resources.dictionary(settings, resource), "report": resources.metadata(settings, resource).get("report"),
            "status": resources.ingest_status(db, actor, resource_id, settings=settings, lang=lang), "staff": True,
            "can_edit": can(actor, OpenDataAction.EDIT, dataset.agency_id), "can_override": True,
            "pii": resources.pii_report(db, actor, resource_id), "cleared": False, "formats": resources.DOWNLOAD_FORMATS,
            "errors": _errors(error, lang), "reason": reason,
        }
        return render(request, "opendata/resource.html", context, status_code=422)
    db.commit()
    return RedirectResponse(f"/resources/{resource_id}", status_code=303)


def api_examples(base_url: str, resource_id: str) -> dict[str, str]:
    """Copy-paste examples for a resource (curl and Python, CKAN API and our URLs)."""
    return {
        "curl": f"curl '{base_url}/api/3/action/datastore_search?resource_id={resource_id}&limit=5'",
        "dump": f"curl -o data.csv '{base_url}/datastore/dump/{resource_id}?format=csv&bom=true'",
        "python": (
            "import requests\n\n"
            f"r = requests.get(\"{base_url}/api/3/action/datastore_search\",\n"
            f"                 params={{\"resource_id\": \"{resource_id}\", \"limit\": 100}})\n"
            "records = r.json()[\"result\"][\"records\"]\n"
            "print(len(records), records[:2])"
        ),
        "pandas": f"import pandas as pd\n\ndf = pd.read_csv(\"{base_url}/datastore/dump/{resource_id}?format=csv\")",
    }
