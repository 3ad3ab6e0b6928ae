# SPDX-License-Identifier: AGPL-3.0-or-later
"""The open-data JSON API under ``/api/v1`` (the platform's own API; the CKAN facade is
``ckan_api.py``). Reading public datasets needs no login; writing needs a token or a
session. Routes are thin: parse, call one service function, commit, shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from dulieuso.datastore import query as datastore_query
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.opendata import resources, search, service
from dulieuso.opendata.licenses import list_licenses
from dulieuso.opendata.ratelimit import DOWNLOADS
from dulieuso.opendata.schemas import (
    DatasetIn,
    DictionaryIn,
    GroupIn,
    OverrideIn,
    PrivateIn,
    ResourceLinkIn,
)
from dulieuso.opendata.viewmodels import dataset_dict, group_dict, license_dict, resource_dict
from dulieuso.web.deps import ActorDep, DbDep, LangDep, LoginDep, SettingsDep, client_ip
from dulieuso.web.schemas import ERROR_RESPONSES

router = APIRouter(tags=["opendata"], responses=ERROR_RESPONSES)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def search_json(db: Any, actor: Any, settings: Any, lang: str, params: dict[str, Any]) -> dict[str, Any]:
    """The dataset search, shaped as the list envelope with facets (page and API)."""
    result = search.search_datasets(
        db, actor, params.get("q"),
        organization=_split(params.get("organization")), groups=_split(params.get("groups")),
        tags=_split(params.get("tags")), res_format=_split(params.get("res_format")),
        license_id=_split(params.get("license_id")),
        modified_since=params.get("modified_since"), modified_until=params.get("modified_until"),
        sort=params.get("sort") or "relevance", rows=params.get("limit", 20), start=params.get("offset", 0),
        facet_fields=params.get("facets", search.FACET_FIELDS), facet_limit=params.get("facet_limit", 50),
        include_private=bool(params.get("include_private")), include_drafts=bool(params.get("include_private")),
    )
    return {
        "items": [dataset_dict(db, d, actor=actor, settings=settings, lang=lang, full=False) for d in result.datasets],
        "total": result.count,
        "limit": result.rows,
        "offset": result.start,
        "facets": {name: [vars(item) for item in items] for name, items in result.facets.items()},
    }


@router.get("/datasets", summary="Search datasets (full text, filters, sorts, facets)")
def list_datasets(
    db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep,
    q: str | None = Query(None, max_length=300, description="Words; diacritics and case ignored"),
    organization: str | None = Query(None, description="Agency codes, comma-separated"),
    groups: str | None = Query(None, description="Topic names, comma-separated"),
    tags: str | None = Query(None),
    res_format: str | None = Query(None),
    license_id: str | None = Query(None),
    modified_since: datetime | None = Query(None),
    modified_until: datetime | None = Query(None),
    sort: str = Query("relevance", description=", ".join(search.SORTS)),
    limit: int = Query(20, ge=0, le=search.MAX_ROWS),
    offset: int = Query(0, ge=0),
    facet: str | None = Query(None, description="Facet fields, comma-separated (default all)"),
    facet_limit: int = Query(50, ge=-1),
    include_private: bool = Query(False),
) -> dict[str, Any]:
    params = dict(q=q, organization=organization, groups=groups, tags=tags, res_format=res_format, license_id=license_id,
                  modified_since=modified_since, modified_until=modified_until, sort=sort, limit=limit, offset=offset,
                  facets=_split(facet) if facet is not None else search.FACET_FIELDS, facet_limit=facet_limit,
                  include_private=include_private)
    return search_json(db, actor, settings, lang, params)


@router.post("/datasets", status_code=201, summary="Create a dataset (a private draft)")
def create_dataset(body: DatasetIn, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    dataset = service.create_dataset(db, actor, body.data())
    db.commit()
    return dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)


def dataset_json(db: Any, actor: Any, settings: Any, lang: str, ref: str) -> dict[str, Any]:
    dataset = service.get_dataset(db, actor, ref)
    resources.refresh_all(db, dataset, settings)
    db.commit()
    return dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)


@router.get("/datasets/{ref}", summary="One dataset by slug or id")
def get_dataset(ref: str, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    return dataset_json(db, actor, settings, lang, ref)


@router.patch("/datasets/{ref}", summary="Change some fields of a dataset")
def patch_dataset(ref: str, body: DatasetIn, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    dataset = service.update_dataset(db, actor, ref, body.data(), partial=True)
    db.commit()
    return dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)


@router.put("/datasets/{ref}", summary="Replace a dataset's metadata (missing optional fields are cleared)")
def put_dataset(ref: str, body: DatasetIn, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    dataset = service.update_dataset(db, actor, ref, body.data(), partial=False)
    db.commit()
    return dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)


@router.delete("/datasets/{ref}", status_code=204, summary="Delete a dataset")
def delete_dataset(ref: str, db: DbDep, actor: LoginDep) -> Response:
    service.delete_dataset(db, actor, ref)
    db.commit()
    return Response(status_code=204)


@router.post("/datasets/{ref}/publish", summary="Make a dataset public (409 with the reasons when blocked)")
def publish_dataset(ref: str, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    dataset = service.get_dataset(db, actor, ref)
    resources.refresh_all(db, dataset, settings)
    dataset = service.publish(db, actor, ref)
    db.commit()
    return dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)


@router.post("/datasets/{ref}/make-private", summary="Take a dataset back from the public")
def make_private(ref: str, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep, body: PrivateIn | None = None) -> dict[str, Any]:
    dataset = service.make_private(db, actor, ref, reason=body.reason if body else "")
    db.commit()
    return dataset_dict(db, dataset, actor=actor, settings=settings, lang=lang)


@router.get("/datasets/{ref}/history", summary="Version history, newest first, with what changed")
def dataset_history(ref: str, db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [
        {"number": h.number, "created_at": h.created_at.isoformat(), "actor": h.actor_label, "action": h.action, "changed": h.changed}
        for h in service.history(db, actor, ref)
    ]


@router.get("/datasets/{ref}/diff", summary="Differences between two versions")
def dataset_diff(ref: str, db: DbDep, actor: ActorDep, old: int = Query(..., ge=1), new: int = Query(..., ge=1)) -> dict[str, Any]:
    return {"old": old, "new": new, "changed": service.revision_diff(db, actor, ref, old, new)}


# ----------------------------------------------------------------------- resources


@router.post("/datasets/{ref}/resources", status_code=201, summary="Add a resource: a file (multipart 'upload') or a link ('url')")
def add_resource(
    ref: str, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep,
    upload: UploadFile | None = File(None), name: str = Form(""), description: str = Form(""),
    url: str = Form(""), format: str = Form(""),
) -> dict[str, Any]:
    data = {"name": name, "description": description, "url": url, "format": format}
    file = resources.Upload(upload.filename or "data", upload.file) if upload is not None and upload.filename else None
    resource = resources.add_resource(db, actor, ref, data, settings=settings, upload=file)
    db.commit()
    return resource_dict(resource, base_url=settings.base_url.rstrip("/"), lang=lang)


@router.post("/datasets/{ref}/links", status_code=201, summary="Add a link resource (JSON)")
def add_link(ref: str, body: ResourceLinkIn, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    resource = resources.add_resource(db, actor, ref, body.model_dump(exclude_none=True), settings=settings)
    db.commit()
    return resource_dict(resource, base_url=settings.base_url.rstrip("/"), lang=lang)


@router.get("/resources/{resource_id}", summary="One resource, with its data dictionary")
def get_resource(resource_id: str, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    resource = resources.get_resource(db, actor, resource_id)
    resources.refresh(db, resource, settings)
    db.commit()
    out = resource_dict(resource, base_url=settings.base_url.rstrip("/"), lang=lang)
    out["dictionary"] = resources.dictionary(settings, resource)
    out["report"] = resources.metadata(settings, resource).get("report")
    out["ingest_error"] = resource.ingest_error
    return out


@router.patch("/resources/{resource_id}", summary="Change a resource; a new file (multipart 'upload') is re-ingested")
def update_resource(
    resource_id: str, db: DbDep, actor: LoginDep, settings: SettingsDep, lang: LangDep,
    upload: UploadFile | None = File(None), name: str | None = Form(None), description: str | None = Form(None),
    url: str | None = Form(None), format: str | None = Form(None),
) -> dict[str, Any]:
    data = {k: v for k, v in {"name": name, "description": description, "url": url, "format": format}.items() if v is not None}
    file = resources.Upload(upload.filename or "data", upload.file) if upload is not None and upload.filename else None
    resource = resources.update_resource(db, actor, resource_id, data, settings=settings, upload=file)
    db.commit()
    return resource_dict(resource, base_url=settings.base_url.rstrip("/"), lang=lang)


@router.delete("/resources/{resource_id}", status_code=204, summary="Delete a resource and its data")
def delete_resource(resource_id: str, db: DbDep, actor: LoginDep, settings: SettingsDep) -> Response:
    resources.delete_resource(db, actor, resource_id, settings=settings)
    db.commit()
    return Response(status_code=204)


@router.get("/resources/{resource_id}/ingest", summary="Progress and outcome of the resource's upload")
def ingest_status(resource_id: str, db: DbDep, actor: ActorDep, settings: SettingsDep, lang: LangDep) -> dict[str, Any]:
    status = resources.ingest_status(db, actor, resource_id, settings=settings, lang=lang)
    db.commit()
    return status


@router.get("/resources/{resource_id}/pii", summary="Personal-data scan of the served version (agency staff)")
def pii_report(resource_id: str, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    return resources.pii_report(db, actor, resource_id)


@router.post("/resources/{resource_id}/pii/override", summary="Approver: accept the findings with a written reason")
def pii_override(resource_id: str, body: OverrideIn, db: DbDep, actor: LoginDep) -> dict[str, Any]:
    resources.override_pii(db, actor, resource_id, body.reason)
    db.commit()
    return resources.pii_report(db, actor, resource_id)


@router.put("/resources/{resource_id}/dictionary", summary="Set field labels and descriptions")
def put_dictionary(resource_id: str, body: DictionaryIn, db: DbDep, actor: LoginDep, settings: SettingsDep) -> list[dict[str, Any]]:
    resource = resources.edit_dictionary(db, actor, resource_id, {k: v.model_dump() for k, v in body.fields.items()}, settings=settings)
    db.commit()
    return resources.dictionary(settings, resource)


@router.get("/resources/{resource_id}/data", summary="Rows of a resource (filters, q, sort, limit, offset)")
def resource_data(
    resource_id: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep,
    q: str | None = Query(None, max_length=300), sort: str | None = Query(None, max_length=300),
    limit: int = Query(100, ge=0, le=datastore_query.MAX_LIMIT), offset: int = Query(0, ge=0),
    filters: str | None = Query(None, description='JSON object, e.g. {"Xã": "Bình Lư"}'),
) -> dict[str, Any]:
    DOWNLOADS.check(client_ip(request), cost=0.25)
    resource = resources.get_resource(db, actor, resource_id)
    version = resources.current_data(settings, resource)
    if version is None:
        from dulieuso.errors import NotFound

        raise NotFound(Msg("This resource has no data in the datastore."), code="no_datastore_data")
    parsed: Any = None
    if filters:
        import json

        try:
            parsed = json.loads(filters)
        except ValueError:
            raise Invalid(fields={"filters": [Msg("filters must be a JSON object.")]}) from None
        if not isinstance(parsed, dict):
            raise Invalid(fields={"filters": [Msg("filters must be a JSON object.")]})
    result = datastore_query.search(
        version.parquet_path, filters=parsed, q=q or None, sort=sort or None, limit=limit, offset=offset,
        resource_id=str(resource.id), dictionary=resources.dictionary(settings, resource),
    )
    resources.count(db, resource.dataset_id, kind="api")
    db.commit()
    return result


@router.get("/resources/{resource_id}/download/{fmt}", summary="Download as csv, tsv, json, xlsx, parquet or the original file")
def download(resource_id: str, fmt: str, request: Request, db: DbDep, actor: ActorDep, settings: SettingsDep, bom: bool = False) -> StreamingResponse:
    from dulieuso.opendata.views import stream_download

    return stream_download(request, db, actor, settings, resource_id, fmt, bom)


# ----------------------------------------------------------------------- groups, licences


@router.get("/groups", summary="Topics, with public dataset counts")
def list_groups(db: DbDep, actor: ActorDep, lang: LangDep) -> dict[str, Any]:
    counts = service.group_counts(db, actor)
    items = [group_dict(g, lang, counts.get(g.id, 0)) for g in service.list_groups(db)]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.post("/groups", status_code=201, summary="Create a topic (platform administrator)")
def create_group(body: GroupIn, db: DbDep, actor: LoginDep, lang: LangDep) -> dict[str, Any]:
    group = service.save_group(db, actor, body.model_dump(exclude_none=True))
    db.commit()
    return group_dict(group, lang)


@router.get("/groups/{name}", summary="One topic")
def get_group(name: str, db: DbDep, lang: LangDep) -> dict[str, Any]:
    return group_dict(service.get_group(db, name), lang)


@router.patch("/groups/{name}", summary="Change a topic (platform administrator)")
def update_group(name: str, body: GroupIn, db: DbDep, actor: LoginDep, lang: LangDep) -> dict[str, Any]:
    group = service.save_group(db, actor, body.model_dump(exclude_none=True), name)
    db.commit()
    return group_dict(group, lang)


@router.delete("/groups/{name}", status_code=204, summary="Delete a topic (platform administrator)")
def delete_group(name: str, db: DbDep, actor: LoginDep) -> Response:
    service.delete_group(db, actor, name)
    db.commit()
    return Response(status_code=204)


@router.get("/licenses", summary="Licences a dataset can carry")
def licenses(db: DbDep, lang: LangDep) -> dict[str, Any]:
    items = [license_dict(lic, lang) for lic in list_licenses(db)]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}
