# SPDX-License-Identifier: AGPL-3.0-or-later
"""Dataset search: diacritic- and case-insensitive full text, filters, sorts and facets,
the same on SQLite and PostgreSQL (no Solr; ANCHORS §1.4).

``search_datasets`` is the one search of the platform: the JSON API, the pages and the
CKAN facade's ``package_search`` (through ``ckan_search``) all call it. It answers from
the process's in-memory index (``search_index``: posting lists of the words of
``dataset_search_terms``, the facts of each dataset, the names of agencies, topics and
licences), checked for changes before every search; only download counts (the
``downloads`` sort) are read live from SQL, since they change with every download.

Full text: every word of the query must match a word of the dataset (the last one as a
prefix, so "truong h" finds "Trường học"); the rank is, for each query word, the weight of
the best place it was found (title 4, tags 3, agency 2, description, resources and field
names 1), added up. Filters AND together; the values of one filter OR (CKAN's
``fq=tags:a tags:b`` is two filters). Facets count the matched datasets.
"""

from __future__ import annotations

import heapq
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dulieuso.auth.permissions import Actor
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.opendata import search_index
from dulieuso.opendata.models import Dataset, DatasetState
from dulieuso.opendata.search_index import DatasetIndex, Word, scores
from dulieuso.opendata.service import audience, visible_clause
from dulieuso.vntext import fold

MAX_ROWS = 1000
MAX_WORDS = 8
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")
#: Fields a ``TermFilter`` may name: the facets, plus ``name`` (slug), ``id``, ``state``
#: (``active`` / ``draft``) and ``private`` (``true`` / ``false``).
TERM_FIELDS = (*FACET_FIELDS, "name", "id", "state", "private")
RANGE_FIELDS = ("metadata_modified", "metadata_created")
#: Keys a sort can be made of (each ascending or descending); ties go by id.
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "name", "title", "id", "downloads")
#: The sorts the pages and the JSON API offer by name, as keys.
NAMED_SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "relevance": (("score", True), ("metadata_modified", True)),
    "metadata_modified desc": (("metadata_modified", True),),
    "metadata_modified asc": (("metadata_modified", False),),
    "metadata_created desc": (("metadata_created", True),),
    "name asc": (("name", False),),
    "name desc": (("name", True),),
    "title asc": (("title", False),),
    "downloads desc": (("downloads", True), ("metadata_modified", True)),
    "id asc": (("id", False),),  # what harvesters page with
}
SORTS = tuple(NAMED_SORTS)
_SORT_ALIASES = {
    "score desc, metadata_modified desc": "relevance", "score desc": "relevance", "name": "name asc",
    "downloads": "downloads desc", "metadata_modified": "metadata_modified desc", "title_string asc": "title asc",
    "views_recent desc": "downloads desc",
}
_WORD = re.compile(r"[a-z0-9]+")
#: Download counts of at most this many matches are read by id; more, by one scan.
_DOWNLOADS_BY_ID = 2000


@dataclass(frozen=True)
class TermFilter:
    """``field`` must (``negate``: must not) be one of ``values``. ``organization`` takes
    agency codes or ids (any case), ``groups`` topic names or ids, ``tags`` tag names
    (diacritics and case ignored), ``res_format`` formats (any case), ``license_id``
    licence ids; see ``TERM_FIELDS``. No values matches nothing."""

    field: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class RangeFilter:
    """``metadata_modified`` or ``metadata_created`` within [low, high]; ``None`` is open,
    a naive time is UTC, ``*_inclusive`` as Solr's ``[ ]`` and ``{ }``."""

    field: str
    low: datetime | None
    high: datetime | None
    low_inclusive: bool = True
    high_inclusive: bool = True
    negate: bool = False


Filter = TermFilter | RangeFilter


@dataclass(frozen=True)
class FacetItem:
    name: str
    display_name: str
    count: int


@dataclass
class SearchResult:
    count: int
    datasets: list[Dataset]
    facets: dict[str, list[FacetItem]] = field(default_factory=dict)
    rows: int = 20
    start: int = 0
    found_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def ids(self) -> list[uuid.UUID]:
        """The ids of this page, in order (also when called with ``load=False``)."""
        return list(self.found_ids) if self.found_ids else [d.id for d in self.datasets]


def query_words(q: str | None) -> list[str]:
    return [w[:60] for w in _WORD.findall(fold(q))][:MAX_WORDS]


def sort_keys(sort: str | Sequence[tuple[str, bool]]) -> tuple[tuple[str, bool], ...]:
    """A named sort (``SORTS``, or a CKAN alias such as ``score desc, metadata_modified
    desc``) or a list of ``(key, descending)`` as keys; raises ``Invalid``."""
    if isinstance(sort, str):
        name = (sort or "relevance").strip().lower()
        name = _SORT_ALIASES.get(name, name)
        if name not in NAMED_SORTS:
            raise Invalid(fields={"sort": [Msg("Unknown sort {value}.", value=name[:60])]})
        return NAMED_SORTS[name]
    keys = tuple((str(k), bool(d)) for k, d in sort)
    unknown = [k for k, _ in keys if k not in SORT_FIELDS]
    if unknown:
        raise Invalid(fields={"sort": [Msg("Unknown sort {value}.", value=unknown[0][:60])]})
    return keys or NAMED_SORTS["relevance"]


def _list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


def _microseconds(value: datetime | None) -> int | None:
    return None if value is None else search_index.microseconds(value)


def search_datasets(
    session: Session,
    actor: Actor,
    q: str | None = None,
    *,
    organization: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    tags: str | Sequence[str] | None = None,
    res_format: str | Sequence[str] | None = None,
    license_id: str | Sequence[str] | None = None,
    modified_since: datetime | None = None,
    modified_until: datetime | None = None,
    filters: Sequence[Filter] = (),
    sort: str | Sequence[tuple[str, bool]] = "relevance",
    rows: int = 20,
    start: int = 0,
    facet_fields: Sequence[str] = (),
    facet_limit: int = 50,
    facet_mincount: int = 1,
    include_private: bool = False,
    include_drafts: bool = False,
    dataset_ids: Sequence[uuid.UUID] | None = None,
    load: bool = True,
) -> SearchResult:
    """Search the datasets ``actor`` may see (``service.audience``: public ones, and with
    ``include_private`` / ``include_drafts`` those of the agencies it may see).

    ``organization`` … ``license_id`` are shorthands for one ``TermFilter`` each (a list
    ORs its values); ``modified_since`` / ``modified_until`` bound ``metadata_modified``
    (inclusive); ``filters`` adds any ``TermFilter`` / ``RangeFilter``, all ANDed.
    ``sort``: see ``sort_keys`` (``relevance`` is newest first without ``q``). ``rows`` ≤
    1000. ``facet_fields`` ⊂ ``FACET_FIELDS`` (organization items are named by agency
    code); ``facet_limit`` −1 = unlimited. ``load=False`` returns ``ids`` only
    (``datasets`` empty), for callers that shape rows themselves (the CKAN facade).
    Raises ``Invalid`` naming the bad parameter."""
    errors: dict[str, list[Msg]] = {}
    if not 0 <= rows <= MAX_ROWS:
        errors["rows"] = [Msg("rows must be between 0 and {n}.", n=MAX_ROWS)]
    if start < 0:
        errors["start"] = [Msg("start must be at least 0.")]
    try:
        keys = sort_keys(sort)
    except Invalid as error:
        errors.update(error.fields)
        keys = ()
    unknown = [f for f in facet_fields if f not in FACET_FIELDS]
    if unknown:
        errors["facet.field"] = [Msg("Unknown facet {value}.", value=unknown[0])]
    all_filters = list(filters)
    for name, value in (("organization", organization), ("groups", groups), ("tags", tags), ("res_format", res_format),
                        ("license_id", license_id)):
        if _list(value):
            all_filters.append(TermFilter(name, tuple(_list(value))))
    if modified_since is not None or modified_until is not None:
        all_filters.append(RangeFilter("metadata_modified", modified_since, modified_until))
    bad = [f.field for f in all_filters if f.field not in (TERM_FIELDS if isinstance(f, TermFilter) else RANGE_FIELDS)]
    if bad:
        errors["fq"] = [Msg("Unknown filter {value}.", value=bad[0][:60])]
    if errors:
        raise Invalid(fields=errors)

    words = query_words(q)
    if not words:
        keys = tuple(k for k in keys if k[0] != "score")
    seen = audience(actor, include_private=include_private, include_drafts=include_drafts)
    index = search_index.index_for(session)
    with index.lock:
        index.ensure_current(session)
        visible = index.visible(seen)
        matched, matched_words = _match(session, index, visible, words, all_filters, dataset_ids)
        facets = {name: _facet(session, index, name, matched, facet_limit, facet_mincount,
                               (seen, name) if matched is visible else None) for name in facet_fields}
        page: list[str] = []
        if rows and len(matched) > start:
            page = _page(session, actor, index, matched, matched is visible and seen.public_only, matched_words, keys, start, rows)
    ids = [uuid.UUID(hex=h) for h in page]
    datasets: list[Dataset] = []
    if ids and load:
        loaded = {d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_(ids)).options(selectinload(Dataset.resources)))}
        datasets = [loaded[i] for i in ids if i in loaded]
    return SearchResult(count=len(matched), datasets=datasets, facets=facets, rows=rows, start=start, found_ids=ids)


# ----------------------------------------------------------------------- matching


def _docs(session: Session, index: DatasetIndex, flt: TermFilter) -> set[int]:
    values = [str(v).strip() for v in flt.values]
    name = flt.field
    as_ids = {_uuid_hex(v) for v in values}
    if name == "organization":
        codes = {v.upper() for v in values}
        agencies = [h for h, (code, _) in index.agency_names(session).items() if code.upper() in codes or h in as_ids]
        return index.docs_with(name, [index.agency_no[h] for h in agencies if h in index.agency_no])
    if name == "groups":
        names = {v.lower() for v in values}
        topics = [h for h, (topic, _) in index.topic_names(session).items() if topic in names or h in as_ids]
        return index.docs_with(name, [index.group_no[h] for h in topics if h in index.group_no])
    if name == "tags":
        return index.docs_with(name, index.tag_numbers({fold(v)[:100] for v in values}))
    if name == "res_format":
        return index.docs_with(name, [v.upper() for v in values])
    if name == "license_id":
        return index.docs_with(name, values)
    if name == "name":
        return index.docs_by_name(values)
    if name == "id":
        return index.docs_by_id(u for u in (_uuid(v) for v in values) if u is not None)
    if name == "state":
        return index.docs_in_states({v.lower() for v in values} & {DatasetState.ACTIVE.value, DatasetState.DRAFT.value})
    # private: "true" / "false"
    flags = {v.lower() in {"true", "1", "yes"} for v in values}
    return index.docs_in_states((DatasetState.ACTIVE.value, DatasetState.DRAFT.value), flags)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _uuid_hex(value: str) -> str | None:
    found = _uuid(value)
    return found.hex if found is not None else None


def _match(
    session: Session, index: DatasetIndex, visible: set[int], words: list[str], filters: list[Filter],
    dataset_ids: Sequence[uuid.UUID] | None,
) -> tuple[set[int], list[Word]]:
    """The docs that are visible, pass every filter and hold every word, and the words'
    postings (for scoring). Intersections start from the smallest set, and each probes
    the smaller side (``dict.keys() & set`` does), so a common word or a broad filter
    costs little once a rare one has narrowed the candidates. ``visible`` itself is
    returned (not a copy) when nothing narrows it; callers only read it."""
    found: list[Word] = []
    for i, word in enumerate(words):
        postings = index.word(word, prefix=i == len(words) - 1)
        if postings is None:
            return set(), []
        found.append(postings)
    narrowing: list[set[int] | Word] = [visible]
    excluded: list[set[int]] = []
    for flt in filters:
        if isinstance(flt, TermFilter):
            (excluded if flt.negate else narrowing).append(_docs(session, index, flt))
    if dataset_ids is not None:
        narrowing.append(index.docs_by_id(dataset_ids))
    narrowing.extend(found)
    narrowing.sort(key=lambda s: s.size if isinstance(s, Word) else len(s))
    matched: set[int] | None = None
    for part in narrowing:
        if isinstance(part, Word):
            if matched is None:
                matched = set().union(*part.maps)
            else:
                within = matched
                matched = set().union(*(m.keys() & within for m in part.maps))
        elif matched is None:
            matched = part
        else:
            matched = matched & part
        if not matched:
            return set(), found
    assert matched is not None
    for docs in excluded:
        matched = matched - docs
    for flt in filters:
        if isinstance(flt, RangeFilter):
            inside = index.between(matched, flt.field, _microseconds(flt.low), _microseconds(flt.high), flt.low_inclusive, flt.high_inclusive)
            matched = matched - inside if flt.negate else inside
    return matched, found


# ----------------------------------------------------------------------- facets


def _facet(
    session: Session, index: DatasetIndex, name: str, docs: set[int], limit: int, mincount: int, totals_key: Any,
) -> list[FacetItem]:
    """The facet's items, most frequent first (ties by name). Counts of everything an
    audience may see (``totals_key``) are kept until the index changes."""
    counts = index.facet_totals.get(totals_key) if totals_key is not None else None
    if counts is None:
        counts = index.count(name, docs)
        if totals_key is not None:
            index.facet_totals[totals_key] = counts
    labels: dict[Any, tuple[str, str]]
    if name == "organization":
        agencies = index.agency_names(session)
        labels = {n: agencies[index.agency_hex[n]] for n in counts if index.agency_hex[n] in agencies}
    elif name == "groups":
        topics = index.topic_names(session)
        labels = {n: topics[index.group_hex[n]] for n in counts if index.group_hex[n] in topics}
    elif name == "tags":
        labels = {n: (index.tag_names[n], index.tag_names[n]) for n in counts}
    elif name == "license_id":
        titles = index.licence_titles(session)
        labels = {ident: (ident, titles.get(ident, ident)) for ident in counts}
    else:
        labels = {fmt: (fmt, fmt) for fmt in counts}
    # Only the items shown are built: a tag facet counts hundreds of tags for a limit of 50.
    floor = max(1, mincount)
    ranked = [(-count, labels[key][0], key) for key, count in counts.items() if count >= floor and key in labels]
    chosen = heapq.nsmallest(limit, ranked) if 0 <= limit < len(ranked) else sorted(ranked)
    return [FacetItem(label, labels[key][1], -negative) for negative, label, key in chosen]


# ----------------------------------------------------------------------- order


def _page(
    session: Session, actor: Actor, index: DatasetIndex, docs: set[int], everything_public: bool, words: list[Word],
    keys: tuple[tuple[str, bool], ...], start: int, rows: int,
) -> list[str]:
    """The hex ids of ``docs[start:start + rows]`` in the order ``keys``, ties by id."""
    wanted = start + rows
    if any(k == "downloads" for k, _ in keys):
        return _by_downloads(session, actor, index, docs, everything_public, words, keys, start, rows)
    fields = tuple(k for k in keys if k[0] != "score")
    if not words or fields == keys:
        return [index.hex_of(d) for d in index.first(docs, fields, wanted)[start:]]
    listed = list(docs)
    found = scores(listed, words)
    if keys[0] == ("score", True) and len(fields) == len(keys) - 1:
        # Relevance: the best score first and, within a score, the order of the other
        # keys. Scores are a few small integers: take the matches of the best one (picked
        # in C), then of the next, until the page is full.
        page: list[int] = []
        for score in sorted(set(found), reverse=True):
            group = list(compress(listed, map(score.__eq__, found)))
            page.extend(index.first(group, fields, wanted - len(page)))
            if len(page) >= wanted:
                break
        return [index.hex_of(d) for d in page[start:]]
    ordered = index.sort_by_passes(listed, keys, {"score": dict(zip(listed, found, strict=True))})
    return [index.hex_of(d) for d in ordered[start:wanted]]


def _by_downloads(
    session: Session, actor: Actor, index: DatasetIndex, docs: set[int], everything_public: bool, words: list[Word],
    keys: tuple[tuple[str, bool], ...], start: int, rows: int,
) -> list[str]:
    """Order by download counts, which change with every download and so are read live
    (never from the index): through the index on ``download_count`` when the search is
    "every public dataset" (the portal home page's most-used list), else for the matches."""
    if everything_public and keys == NAMED_SORTS["downloads desc"]:
        stmt = (select(Dataset.id).where(visible_clause(actor))
                .order_by(Dataset.download_count.desc(), Dataset.metadata_modified.desc(), Dataset.id).offset(start).limit(rows))
        return [i.hex for i in session.scalars(stmt)]
    listed = list(docs)
    doc_of = {index.hex_of(d): d for d in listed}
    downloads: dict[int, int] = dict.fromkeys(listed, 0)
    if len(listed) <= _DOWNLOADS_BY_ID:
        ids = [uuid.UUID(hex=h) for h in doc_of]
        for first in range(0, len(ids), 500):
            chunk = select(Dataset.id, Dataset.download_count).where(Dataset.id.in_(ids[first : first + 500]))
            for ident, count in session.execute(chunk):
                downloads[doc_of[ident.hex]] = count
    else:
        for ident, count in session.execute(select(Dataset.id, Dataset.download_count).where(Dataset.download_count > 0)):
            if ident.hex in doc_of:
                downloads[doc_of[ident.hex]] = count
    extra = {"downloads": downloads}
    if words and any(k == "score" for k, _ in keys):
        extra["score"] = dict(zip(listed, scores(listed, words), strict=True))
    keys = tuple(k for k in keys if k[0] != "score" or "score" in extra)
    return [index.hex_of(d) for d in index.sort_by_passes(listed, keys, extra)[start : start + rows]]


# ----------------------------------------------------------------------- lists


def newest(session: Session, actor: Actor, limit: int = 6) -> list[Dataset]:
    return search_datasets(session, actor, sort="metadata_created desc", rows=limit).datasets


def most_used(session: Session, actor: Actor, limit: int = 6) -> list[Dataset]:
    return search_datasets(session, actor, sort="downloads desc", rows=limit).datasets


def public_count(session: Session, actor: Actor) -> int:
    return search_datasets(session, actor, rows=0).count

