# SPDX-License-Identifier: AGPL-3.0-or-later
"""CKAN's ``package_search`` on top of the platform's one dataset search.

Two steps, both here so that ``ckan_api`` stays a thin facade: ``parse_search`` reads a
``package_search`` data dict (the subset of Solr syntax CKAN clients and harvesters
send) into ``SearchParams``, without touching the database; ``run`` translates those into
one call of ``opendata.search.search_datasets`` (the search the portal's pages and JSON
API use: same matching, visibility, ranking and facets), and ``response`` shapes the
outcome as CKAN's result dict. Errors are ``CkanError`` subclasses that the facade
renders in CKAN's envelope (``Search Query Error`` 400, ``Validation Error`` 409).

Supported ``fq`` / ``q`` field syntax (a "subset parser", ANCHORS.md §8):

* ``organization:x``, ``tags:x``, ``groups:x``, ``res_format:CSV``, ``license_id:x``,
  ``name:x``, ``id:x``, ``capacity:public|private``, ``dataset_type:dataset``,
  ``state:active|draft|deleted``; values bare, ``"quoted"``, or ``(a OR b)``;
* ``metadata_modified:[2026-01-01T00:00:00Z TO *]`` and ``metadata_created:[...]``
  with ``*``, ``NOW``, ``NOW-7DAYS``, ``NOW/DAY``; ``[ ]`` inclusive, ``{ }`` exclusive;
* several terms separated by spaces (all must hold), ``AND`` between them, ``OR``
  between terms of the same field, a leading ``+`` (required) or ``-`` (excluded).

Where CKAN's Solr and the platform search differ, the platform search wins and the
difference is small: tags match without regard to case and diacritics (``tags:"giao
duc"`` finds "giáo dục"), an organization is named by its CKAN name, its agency code or
its id, and a licence facet item is shown with the licence's title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor
from dulieuso.i18n import Msg
from dulieuso.opendata import search
from dulieuso.opendata.ckan_schemas import (
    SearchQueryError,
    as_bool,
    as_int,
    as_list,
    as_str,
    org_name,
)
from dulieuso.opendata.search import Filter, RangeFilter, SearchResult, TermFilter

MAX_ROWS = search.MAX_ROWS
DEFAULT_ROWS = 10
DEFAULT_FACET_LIMIT = 50
FACET_FIELDS = search.FACET_FIELDS
#: fq fields (values compared exactly, but tags and formats regardless of case).
TERM_FIELDS = frozenset({*FACET_FIELDS, "name", "id", "capacity", "dataset_type", "state"})
DATE_FIELDS = frozenset(search.RANGE_FIELDS)
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


# ----------------------------------------------------------------------- fq parser


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


# ----------------------------------------------------------------------- translation


@dataclass
class PackageSearch:
    """A ``package_search`` that ran: what was asked and what the search found."""

    params: SearchParams
    result: SearchResult


#: A filter that no dataset passes.
_NOTHING = TermFilter("id", ())
_AGENCY_CODES = select(Agency.code)


def _translated(session: Session, flt: Filter) -> Filter | None:
    """A CKAN fq term as a filter of the platform search (None: no condition)."""
    if isinstance(flt, RangeFilter):
        return flt
    values = tuple(flt.values)
    if flt.field == "organization":
        # CKAN names an organization ``lcu-stc``; the search takes agency codes or ids.
        codes = {org_name(code): code for code in session.connection().execute(_AGENCY_CODES).scalars()}
        return TermFilter("organization", tuple(codes.get(v.lower(), v) for v in values), flt.negate)
    if flt.field == "capacity":
        flags = {"public": "false", "private": "true"}
        wanted = tuple(flags[v.lower()] for v in values if v.lower() in flags)
        if not wanted:
            return None if flt.negate else _NOTHING
        return TermFilter("private", wanted, flt.negate)
    if flt.field == "dataset_type":
        # Every dataset here is of CKAN type "dataset".
        holds = "dataset" in values
        return None if holds != flt.negate else _NOTHING
    return flt


def run(session: Session, actor: Actor, data: Mapping[str, Any]) -> PackageSearch:
    """Parse a ``package_search`` data dict and run it through ``search.search_datasets``
    for ``actor`` (who sees what is decided there, as for every search)."""
    params = parse_search(data)
    filters = [t for t in (_translated(session, f) for f in params.filters) if t is not None]
    result = search.search_datasets(
        session, actor, params.text, filters=filters, sort=params.sort, rows=params.rows, start=params.start,
        facet_fields=params.facet_fields if params.facet else (), facet_limit=params.facet_limit,
        facet_mincount=params.facet_mincount,
        include_private=params.include_private, include_drafts=params.include_drafts, load=False,
    )
    return PackageSearch(params, result)


def response(found: PackageSearch, packages: list[dict[str, Any]]) -> dict[str, Any]:
    """CKAN's result dict: ``count``, ``results`` (``packages``, cut to ``fl``),
    ``search_facets`` and the deprecated ``facets``. Organization items carry CKAN names
    (the agency code in lower case: items tied on their count keep the codes' order)."""
    params = found.params
    facets: dict[str, list[dict[str, Any]]] = {}
    for name, items in found.result.facets.items():
        facets[name] = [
            {"name": org_name(i.name) if name == "organization" else i.name, "display_name": i.display_name, "count": i.count}
            for i in items
        ]
    if params.fl:
        packages = [{k: d.get(k) for k in params.fl} for d in packages]
    return {
        "count": found.result.count,
        "sort": ", ".join(f"{k} {'desc' if d else 'asc'}" for k, d in params.sort),
        "facets": {name: {i["name"]: i["count"] for i in items} for name, items in facets.items()},
        "results": packages,
        "search_facets": {name: {"title": name, "items": items} for name, items in facets.items()},
    }
