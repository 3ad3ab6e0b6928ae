# SPDX-License-Identifier: AGPL-3.0-or-later
"""Parameters of the CKAN facade: coercion of CKAN's loosely typed values and the
subset of Solr syntax that CKAN clients and harvesters send to ``package_search``.

Everything here is pure (no database): ``parse_search(data)`` turns a ``package_search``
data dict into a ``SearchParams``; errors are ``CkanError`` subclasses that the facade
renders in CKAN's envelope (``Search Query Error`` 400, ``Validation Error`` 409).

Supported ``fq`` / ``q`` field syntax (a "subset parser", ANCHORS.md §8):

* ``organization:x``, ``tags:x``, ``groups:x``, ``res_format:CSV``, ``license_id:x``,
  ``name:x``, ``id:x``, ``capacity:public|private``, ``dataset_type:dataset``,
  ``state:active|draft|deleted``; values bare, ``"quoted"``, or ``(a OR b)``;
* ``metadata_modified:[2026-01-01T00:00:00Z TO *]`` and ``metadata_created:[...]``
  with ``*``, ``NOW``, ``NOW-7DAYS``, ``NOW/DAY``; ``[ ]`` inclusive, ``{ }`` exclusive;
* several terms separated by spaces (all must hold), ``AND`` between them, ``OR``
  between terms of the same field, a leading ``+`` (required) or ``-`` (excluded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dulieuso.i18n import Msg

MAX_ROWS = 1000
DEFAULT_ROWS = 10
DEFAULT_FACET_LIMIT = 50
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")
#: fq fields whose values are compared as exact strings (case-insensitive for formats).
TERM_FIELDS = frozenset({*FACET_FIELDS, "name", "id", "capacity", "dataset_type", "state"})
DATE_FIELDS = frozenset({"metadata_modified", "metadata_created"})
#: sort field -> the key the search understands.
SORT_FIELDS = {
    "score": "score",
    "relevance": "score",
    "metadata_modified": "metadata_modified",
    "metadata_created": "metadata_created",
    "name": "name",
    "title_string": "title",
    "title": "title",
    "id": "id",
    "downloads": "downloads",
    "views_recent": "downloads",
    "views_total": "downloads",
}
DEFAULT_SORT = "score desc, metadata_modified desc"


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


# ----------------------------------------------------------------------- fq parser


@dataclass(frozen=True)
class TermFilter:
    """``field`` must (or, ``negate``, must not) equal one of ``values``."""

    field: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class RangeFilter:
    """``field`` within [low, high]; ``None`` is open; ``*_inclusive`` as in Solr."""

    field: str
    low: datetime | None
    high: datetime | None
    low_inclusive: bool = True
    high_inclusive: bool = True
    negate: bool = False


Filter = TermFilter | RangeFilter

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<sign>[+-])?(?P<field>[A-Za-z_][A-Za-z0-9_.]*):
        (?:
          (?P<range>[\[{][^\]}]*[\]}])
          |(?P<group>\([^()]*\))
          |"(?P<quoted>(?:[^"\\]|\\.)*)"
          |(?P<bare>[^\s()"\[\]{}]+)
        )
      |(?P<op>AND|OR|&&|\|\|)(?=\s|$)
      |(?P<text>"(?:[^"\\]|\\.)*"|[^\s]+)
    )""",
    re.VERBOSE,
)
_NOW = re.compile(r"^NOW(?P<round>/(?:DAY|HOUR|MINUTE))?(?:(?P<sign>[+-])(?P<n>\d+)(?P<unit>YEARS?|MONTHS?|DAYS?|HOURS?|MINUTES?|SECONDS?))?(?P<round2>/(?:DAY|HOUR|MINUTE))?$")
_UNITS = {"YEAR": 365 * 86400, "MONTH": 30 * 86400, "DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}


def _invalid(reason: Msg) -> SearchQueryError:
    return SearchQueryError(Msg("Search Query is invalid: {reason}", reason=reason))


def parse_instant(text: str, now: datetime) -> datetime | None:
    """A Solr date: ``*`` (open), ``NOW`` arithmetic, or ISO 8601 (UTC when no zone);
    returned timezone-aware in UTC."""
    value = text.strip()
    if value == "*":
        return None
    match = _NOW.match(value.upper())
    if match:
        instant = now
        rounding = match.group("round") or match.group("round2")
        if rounding:
            unit = rounding[1:]
            if unit == "DAY":
                instant = instant.replace(hour=0, minute=0, second=0, microsecond=0)
            elif unit == "HOUR":
                instant = instant.replace(minute=0, second=0, microsecond=0)
            else:
                instant = instant.replace(second=0, microsecond=0)
        if match.group("n"):
            seconds = int(match.group("n")) * _UNITS[match.group("unit").rstrip("S")]
            delta = timedelta(seconds=seconds)
            instant = instant + delta if match.group("sign") == "+" else instant - delta
        return instant
    iso = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise _invalid(Msg("not a date: {value}", value=value[:60])) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _range(field_name: str, text: str, negate: bool, now: datetime) -> RangeFilter:
    low_inclusive = text[0] == "["
    high_inclusive = text[-1] == "]"
    body = text[1:-1].strip()
    parts = re.split(r"\s+TO\s+", body)
    if len(parts) != 2:
        raise _invalid(Msg("a range needs the form [from TO to]: {value}", value=text[:80]))
    return RangeFilter(field_name, parse_instant(parts[0], now), parse_instant(parts[1], now), low_inclusive, high_inclusive, negate)


def _group_values(text: str) -> tuple[str, ...]:
    inner = text[1:-1].strip()
    if not inner:
        raise _invalid(Msg("empty group: {value}", value=text))
    values = []
    for part in re.split(r"\s+OR\s+", inner):
        part = part.strip()
        if not part or re.search(r"\s+AND\s+", part):
            raise _invalid(Msg("only OR is supported inside parentheses: {value}", value=text[:80]))
        values.append(part[1:-1] if len(part) >= 2 and part[0] == part[-1] == '"' else part)
    return tuple(values)


def parse_query(text: str, *, allow_free_text: bool, now: datetime | None = None) -> tuple[list[Filter], str]:
    """Parse ``fq`` (``allow_free_text=False``) or ``q``: returns the field filters and
    the remaining free text. ``a:x OR a:y`` merges into one filter; anything else the
    subset parser does not know raises ``SearchQueryError``."""
    now = now or datetime.now(UTC)
    filters: list[Filter] = []
    words: list[str] = []
    pending_or = False
    position = 0
    text = text.strip()
    if text in {"*:*", ""}:
        return [], ""
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise _invalid(Msg("cannot parse near: {value}", value=text[position : position + 40]))
        position = match.end()
        if match.group("op"):
            op = match.group("op")
            if op in {"OR", "||"}:
                if not filters or not isinstance(filters[-1], TermFilter):
                    raise _invalid(Msg("OR is only supported between terms of the same field"))
                pending_or = True
            continue
        if match.group("field"):
            name = match.group("field")
            negate = match.group("sign") == "-"
            if name in DATE_FIELDS:
                if not match.group("range"):
                    raise _invalid(Msg("{field} needs a date range such as [2026-01-01T00:00:00Z TO *]", field=name))
                if pending_or:
                    raise _invalid(Msg("OR is only supported between terms of the same field"))
                filters.append(_range(name, match.group("range"), negate, now))
                continue
            if name not in TERM_FIELDS:
                raise _invalid(Msg("undefined field {field}", field=name))
            if match.group("range"):
                raise _invalid(Msg("{field} does not take a range", field=name))
            if match.group("group"):
                values = _group_values(match.group("group"))
            elif match.group("quoted") is not None:
                values = (match.group("quoted").replace('\\"', '"'),)
            else:
                values = (match.group("bare").replace("\\", ""),)
            if pending_or:
                previous = filters[-1]
                if not isinstance(previous, TermFilter) or previous.field != name or previous.negate != negate:
                    raise _invalid(Msg("OR is only supported between terms of the same field"))
                filters[-1] = TermFilter(name, previous.values + values, negate)
                pending_or = False
                continue
            filters.append(TermFilter(name, values, negate))
            continue
        word = match.group("text")
        if pending_or:
            raise _invalid(Msg("OR is only supported between terms of the same field"))
        if not allow_free_text:
            raise _invalid(Msg("expected field:value, found: {value}", value=word[:60]))
        if word.startswith(("[", "{", "(")) or word.endswith((":",)):
            raise _invalid(Msg("cannot parse near: {value}", value=word[:40]))
        words.append(word.strip('"'))
    if pending_or:
        raise _invalid(Msg("OR at the end of the query"))
    return filters, " ".join(w for w in words if w and w != "*")


# ----------------------------------------------------------------------- sort


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """``"metadata_modified desc, id asc"`` -> ``[("metadata_modified", True), ("id", False)]``
    (``True`` = descending)."""
    keys: list[tuple[str, bool]] = []
    for part in (text or DEFAULT_SORT).split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in {"asc", "desc"}):
            raise _invalid(Msg("can not sort on {value}", value=part.strip()[:60]))
        name = bits[0]
        if name not in SORT_FIELDS:
            raise _invalid(Msg("can not sort on {value}", value=name[:60]))
        descending = len(bits) == 2 and bits[1].lower() == "desc"
        keys.append((SORT_FIELDS[name], descending))
    return keys or [("score", True), ("metadata_modified", True)]


# ----------------------------------------------------------------------- package_search

#: Parameters CKAN's package_search schema accepts; the dismax ones are ignored.
KNOWN_SEARCH_PARAMS = frozenset(
    {
        "q", "fq", "fq_list", "sort", "rows", "start", "facet", "facet.field", "facet.limit",
        "facet.mincount", "include_private", "include_drafts", "include_deleted",
        "use_default_schema", "fl", "qf", "wt", "bf", "boost", "tie", "defType", "mm",
        "df", "q.op", "ext_bbox", "include_plugin_data",
    }
)


@dataclass
class SearchParams:
    text: str = ""
    filters: list[Filter] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)
    rows: int = DEFAULT_ROWS
    start: int = 0
    facet: bool = True
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = DEFAULT_FACET_LIMIT  # -1 = unlimited
    facet_mincount: int = 1
    include_private: bool = False
    include_drafts: bool = False
    include_deleted: bool = False
    fl: list[str] | None = None


def parse_search(data: Mapping[str, Any], now: datetime | None = None) -> SearchParams:
    unknown = sorted(k for k in data if k not in KNOWN_SEARCH_PARAMS and not k.startswith("ext_"))
    if unknown:
        raise SearchQueryError(Msg("Invalid search parameters: {names}", names=", ".join(unknown)))
    params = SearchParams()
    q = data.get("q")
    if isinstance(q, list):
        q = q[-1] if q else ""
    q_filters, params.text = parse_query(str(q or ""), allow_free_text=True, now=now)
    params.filters.extend(q_filters)
    fq_parts: list[str] = []
    fq = data.get("fq")
    if isinstance(fq, list):
        fq_parts.extend(str(v) for v in fq)
    elif fq:
        fq_parts.append(str(fq))
    fq_list = data.get("fq_list")
    if fq_list:
        fq_parts.extend(as_list(fq_list, "fq_list"))
    for part in fq_parts:
        part_filters, _ = parse_query(part, allow_free_text=False, now=now)
        params.filters.extend(part_filters)
    params.sort = parse_sort(as_str(data, "sort", DEFAULT_SORT))
    params.rows = as_int(data, "rows", DEFAULT_ROWS, maximum=MAX_ROWS, clamp=True) or 0
    params.start = as_int(data, "start", 0) or 0
    params.facet = as_bool(data, "facet", True)
    params.facet_fields = as_list(data.get("facet.field"), "facet.field")
    for name in params.facet_fields:
        if name not in FACET_FIELDS:
            raise _invalid(Msg("can not facet on {field}", field=name[:60]))
    limit = as_int(data, "facet.limit", DEFAULT_FACET_LIMIT, minimum=-1)
    params.facet_limit = DEFAULT_FACET_LIMIT if limit is None else limit
    params.facet_mincount = as_int(data, "facet.mincount", 1) or 0
    params.include_private = as_bool(data, "include_private", False)
    params.include_drafts = as_bool(data, "include_drafts", False)
    params.include_deleted = as_bool(data, "include_deleted", False)
    fl = as_str(data, "fl", "")
    if fl:
        params.fl = [f for f in re.split(r"[\s,]+", fl) if f]
    return params


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
