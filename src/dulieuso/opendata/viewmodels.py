# SPDX-License-Identifier: AGPL-3.0-or-later
"""Plain dicts of datasets and resources for the JSON API and the templates (never ORM
objects in templates, STYLE.md §10). The page and its JSON twin share these."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor, can
from dulieuso.catalog.models import Database
from dulieuso.config import Settings
from dulieuso.opendata import resources, service
from dulieuso.opendata.models import Dataset, Group, License, Resource, UrlType
from dulieuso.opendata.permissions import OpenDataAction
from dulieuso.opendata.text import plain_text, render_markdown


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def license_dict(license_: License | None, lang: str = "vi") -> dict[str, Any] | None:
    if license_ is None:
        return None
    return {
        "id": license_.id,
        "title": license_.title_vi if lang == "vi" else license_.title_en,
        "title_vi": license_.title_vi,
        "title_en": license_.title_en,
        "url": license_.url,
        "is_open": license_.is_open,
        "attribution_required": license_.attribution_required,
        "terms": license_.terms_vi if lang == "vi" else license_.terms_en,
    }


def group_dict(group: Group, lang: str = "vi", count: int | None = None) -> dict[str, Any]:
    out = {
        "id": str(group.id),
        "name": group.name,
        "title": group.title_vi if lang == "vi" or not group.title_en else group.title_en,
        "title_vi": group.title_vi,
        "title_en": group.title_en,
        "description": group.description,
        "image_url": group.image_url,
    }
    if count is not None:
        out["dataset_count"] = count
    return out


def resource_dict(resource: Resource, *, base_url: str = "", lang: str = "vi") -> dict[str, Any]:
    rid = str(resource.id)
    url = resource.url if resource.url_type is UrlType.LINK else f"{base_url}/resources/{rid}/download/original"
    out: dict[str, Any] = {
        "id": rid,
        "dataset_id": str(resource.dataset_id),
        "name": resource.name,
        "description": resource.description,
        "url_type": resource.url_type.value,
        "url": url,
        "format": resource.format.upper(),
        "mimetype": resource.mimetype,
        "size": resource.size,
        "hash": resource.hash,
        "position": resource.position,
        "created": _iso(resource.created),
        "last_modified": _iso(resource.last_modified),
        "datastore_active": resource.datastore_active,
        "datastore_version": resource.datastore_version,
        "rows": resource.datastore_rows,
        "ingest": {"state": resource.ingest_status.value, "percent": round(resource.ingest_progress or 0, 1)},
        "pii_status": resource.pii_status.value,
    }
    if resource.datastore_active:
        out["downloads"] = {fmt: f"{base_url}/resources/{rid}/download/{fmt}" for fmt in resources.DOWNLOAD_FORMATS}
        out["dump_url"] = f"{base_url}/datastore/dump/{rid}"
    return out


def dataset_dict(session: Session, dataset: Dataset, *, actor: Actor, settings: Settings, lang: str = "vi", full: bool = True) -> dict[str, Any]:
    base_url = settings.base_url.rstrip("/")
    agency = session.get(Agency, dataset.agency_id)
    license_ = session.get(License, dataset.license_id)
    out: dict[str, Any] = {
        "id": str(dataset.id),
        "name": dataset.name,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "notes": dataset.notes,
        "summary": plain_text(dataset.notes, 240),
        "url": f"{base_url}/datasets/{dataset.name}",
        "organization": {"id": str(agency.id), "code": agency.code, "name": agency.name_vi, "name_en": agency.name_en} if agency else None,
        "license": license_dict(license_, lang),
        "license_id": dataset.license_id,
        "private": dataset.private,
        "state": dataset.state.value,
        "version": dataset.version,
        "revision": dataset.revision,
        "published_at": _iso(dataset.published_at),
        "metadata_created": _iso(dataset.metadata_created),
        "metadata_modified": _iso(dataset.metadata_modified),
        "tags": service.tag_names(session, dataset.id),
        "groups": [group_dict(g, lang) for g in service.dataset_groups(session, dataset.id)],
        "formats": sorted({r.format.upper() for r in dataset.resources if r.format}),
        "num_resources": len(dataset.resources),
        "download_count": dataset.download_count,
        "api_call_count": dataset.api_call_count,
        "quality_score": dataset.quality_score,
    }
    if not full:
        return out
    database = session.get(Database, dataset.source_database_id) if dataset.source_database_id else None
    out.update({
        "source_database": {"id": str(database.id), "code": database.code, "name": database.name} if database else None,
        "attribution": dataset.attribution,
        "citation": resources.citation(session, dataset, base_url),
        "disclaimer": "Dữ liệu được cung cấp \"nguyên trạng\"; cơ quan nhà nước không chịu trách nhiệm về thiệt hại phát sinh từ việc sử dụng dữ liệu."
        if lang == "vi" else "The data is provided \"as is\"; state agencies are not liable for losses arising from its use.",
        "update_frequency": dataset.update_frequency,
        "temporal_coverage": {"from": _iso(dataset.temporal_from), "to": _iso(dataset.temporal_to)},
        "spatial": {"code": dataset.spatial, "label": dataset.spatial_label},
        "contact": {"name": dataset.contact_name, "email": dataset.contact_email},
        "next_update_due": _iso(dataset.next_update_due),
        "quality": dataset.quality,
        "resources": [resource_dict(r, base_url=base_url, lang=lang) for r in dataset.resources],
        "package_url": f"{base_url}/datasets/{dataset.name}/package.zip",
    })
    if can(actor, OpenDataAction.VIEW_PRIVATE, dataset.agency_id):
        out["publication_blockers"] = [b.as_dict(lang) for b in service.publication_blockers(session, dataset)]
    return out


def notes_html(dataset: Dataset) -> Any:
    return render_markdown(dataset.notes)
