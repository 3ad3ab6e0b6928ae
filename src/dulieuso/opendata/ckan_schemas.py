# SPDX-License-Identifier: AGPL-3.0-or-later
"""Parameters and dicts of the CKAN facade: coercion of CKAN's loosely typed values,
the errors shaped for CKAN's envelope, and our rows shaped as CKAN's dicts.

Everything here is pure (no database); errors are ``CkanError`` subclasses that the
facade renders in CKAN's envelope (``Search Query Error`` 400, ``Validation Error`` 409).
``package_search``'s own parameters (the ``fq`` subset of Solr syntax, sorts, facets)
are read in ``ckan_search``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dulieuso.i18n import Msg


class CkanError(Exception):
    """An error shaped for the CKAN envelope."""

    status = 400
    ckan_type = "Validation Error"

    def __init__(self, message: Msg, fields: Mapping[str, Sequence[Msg]] | None = None) -> None:
        super().__init__(message.en)
        self.message = message
        self.fields = {k: list(v) for k, v in (fields or {}).items()}


class SearchQueryError(CkanError):
    status = 400
    ckan_type = "Search Query Error"


class ParamError(CkanError):
    """A parameter of the wrong type or out of range (CKAN: 409 Validation Error)."""

    status = 409
    ckan_type = "Validation Error"

    def __init__(self, name: str, message: Msg) -> None:
        super().__init__(message, {name: [message]})


# ----------------------------------------------------------------------- coercion


def as_bool(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on", "t", "y"}:
        return True
    if text in {"false", "0", "no", "off", "f", "n"}:
        return False
    raise ParamError(name, Msg("Value must be one of: true, false"))


def as_int(
    data: Mapping[str, Any], name: str, default: int | None, *, minimum: int | None = 0, maximum: int | None = None, clamp: bool = False
) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ParamError(name, Msg("Invalid integer"))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ParamError(name, Msg("Invalid integer")) from None
    if minimum is not None and number < minimum:
        raise ParamError(name, Msg("Must be a natural number") if minimum == 0 else Msg("Must be at least {minimum}", minimum=minimum))
    if maximum is not None and number > maximum:
        if clamp:
            return maximum
        raise ParamError(name, Msg("Must be at most {maximum}", maximum=maximum))
    return number


def as_str(data: Mapping[str, Any], name: str, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, list):
        value = value[-1] if value else default
    if not isinstance(value, str | int | float):
        raise ParamError(name, Msg("Must be a string"))
    return str(value)


def as_list(value: Any, name: str) -> list[str]:
    """A list given as a JSON string (GET), a list, or a comma-free single value."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], str) and value[0].lstrip().startswith("["):
            return as_list(value[0], name)
        return [str(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise ParamError(name, Msg("Not a JSON list: {value}", value=text[:100])) from None
            if not isinstance(parsed, list):
                raise ParamError(name, Msg("Not a JSON list: {value}", value=text[:100]))
            return [str(v) for v in parsed]
        return [text]
    raise ParamError(name, Msg("Not a list"))


# ----------------------------------------------------------------------- CKAN dicts
#
# Our rows shaped as CKAN's dicts (``package_show``, ``resource_show``,
# ``organization_show``...). Built from plain values loaded in batches by the facade,
# never lazily from ORM relationships (one query per kind, not per row: CKAN #2692).


def ckan_time(value: datetime | None) -> str | None:
    """CKAN writes naive UTC ISO timestamps: ``2026-01-05T08:30:00.123456``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def organization_dict(agency: Any, base_url: str, dataset_count: int | None = None) -> dict[str, Any]:
    out = {
        "id": str(agency.id),
        "name": org_name(agency.code),
        "title": agency.name_vi,
        "display_name": agency.name_vi,
        "title_en": agency.name_en or "",
        "type": "organization",
        "description": agency.history_note or "",
        "image_url": "",
        "image_display_url": "",
        "created": ckan_time(getattr(agency, "created_at", None)),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active" if agency.valid_to is None else "deleted",
        "url": f"{base_url}/agencies/{agency.code}",
    }
    if dataset_count is not None:
        out["package_count"] = dataset_count
    return out


def org_name(code: str) -> str:
    """An agency code as a CKAN organization name: ``LCU-STC`` -> ``lcu-stc``."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower()).strip("-")


def group_dict(group: Any, dataset_count: int | None = None) -> dict[str, Any]:
    out = {
        "id": str(group.id),
        "name": group.name,
        "title": group.title_vi,
        "display_name": group.title_vi,
        "title_en": group.title_en or "",
        "type": "group",
        "description": group.description or "",
        "image_url": group.image_url or "",
        "image_display_url": group.image_url or "",
        "created": ckan_time(group.created_at),
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
    }
    if dataset_count is not None:
        out["package_count"] = dataset_count
    return out


def tag_dict(tag: Any) -> dict[str, Any]:
    return {"id": str(tag.id), "name": tag.name, "display_name": tag.name, "state": "active", "vocabulary_id": None}


def license_dict(lic: Any, lang: str = "vi") -> dict[str, Any]:
    title = lic.title_en if lang == "en" else lic.title_vi
    return {
        "id": lic.id,
        "title": title,
        "title_vi": lic.title_vi,
        "title_en": lic.title_en,
        "url": lic.url or "",
        "od_conformance": "approved" if lic.is_open else "not reviewed",
        "osd_conformance": "not reviewed",
        "status": "active",
        "maintainer": "",
        "family": "",
        "is_generic": False,
        "is_okd_compliant": bool(lic.is_open),
        "is_osi_compliant": False,
        "domain_content": True,
        "domain_data": True,
        "domain_software": False,
    }


def resource_url(resource: Any, dataset_name: str, base_url: str) -> str:
    if resource.url_type == "upload" or getattr(resource.url_type, "value", None) == "upload":
        return f"{base_url}/resources/{resource.id}/download/original"
    return resource.url or ""


def resource_dict(resource: Any, dataset_name: str, base_url: str) -> dict[str, Any]:
    url_type = getattr(resource.url_type, "value", resource.url_type)
    return {
        "id": str(resource.id),
        "package_id": str(resource.dataset_id),
        "url": resource_url(resource, dataset_name, base_url),
        "url_type": "upload" if url_type == "upload" else None,
        "name": resource.name,
        "description": resource.description or "",
        "format": resource.format or "",
        "mimetype": resource.mimetype or None,
        "mimetype_inner": None,
        "size": resource.size,
        "hash": resource.hash or "",
        "position": resource.position,
        "resource_type": None,
        "created": ckan_time(resource.created),
        "last_modified": ckan_time(resource.last_modified),
        "metadata_modified": ckan_time(resource.last_modified),
        "cache_url": None,
        "cache_last_updated": None,
        "datastore_active": bool(resource.datastore_active),
        "state": "active",
    }


#: Our dataset fields that CKAN has no core key for; exposed as ``extras``.
EXTRA_FIELDS = (
    "title_en", "attribution", "update_frequency", "temporal_from", "temporal_to",
    "spatial", "spatial_label", "contact_name", "contact_email",
)


def package_dict(
    dataset: Any,
    *,
    agency: Any,
    lic: Any | None,
    tags: list[Any],
    groups: list[Any],
    resources: list[Any],
    base_url: str,
    lang: str = "vi",
) -> dict[str, Any]:
    state = getattr(dataset.state, "value", dataset.state)
    extras = []
    for name in EXTRA_FIELDS:
        value = getattr(dataset, name, None)
        if value in (None, ""):
            continue
        extras.append({"key": name, "value": value.isoformat() if hasattr(value, "isoformat") else str(value)})
    out: dict[str, Any] = {
        "id": str(dataset.id),
        "name": dataset.name,
        "title": dataset.title,
        "notes": dataset.notes or "",
        "url": f"{base_url}/datasets/{dataset.name}",
        "version": dataset.version or None,
        "type": "dataset",
        "author": agency.name_vi if agency is not None else None,
        "author_email": None,
        "maintainer": dataset.contact_name or None,
        "maintainer_email": dataset.contact_email or None,
        "license_id": dataset.license_id,
        "license_title": (lic.title_en if lang == "en" else lic.title_vi) if lic is not None else dataset.license_id,
        "license_url": lic.url if lic is not None and lic.url else None,
        "isopen": bool(lic.is_open) if lic is not None else False,
        "owner_org": str(dataset.agency_id),
        "organization": organization_dict(agency, base_url) if agency is not None else None,
        "private": bool(dataset.private),
        "state": state,
        "metadata_created": ckan_time(dataset.metadata_created),
        "metadata_modified": ckan_time(dataset.metadata_modified),
        "creator_user_id": str(dataset.creator_user_id) if dataset.creator_user_id else None,
        "tags": [tag_dict(t) for t in sorted(tags, key=lambda t: t.name)],
        "groups": [group_dict(g) for g in sorted(groups, key=lambda g: g.name)],
        "resources": [resource_dict(r, dataset.name, base_url) for r in sorted(resources, key=lambda r: r.position)],
        "num_resources": len(resources),
        "num_tags": len(tags),
        "extras": extras,
        "relationships_as_subject": [],
        "relationships_as_object": [],
    }
    return out
