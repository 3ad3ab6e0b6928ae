# SPDX-License-Identifier: AGPL-3.0-or-later
"""Dataset search: diacritic- and case-insensitive full text, filters, sorts and facets,
in SQL on SQLite and PostgreSQL alike (no Solr; ANCHORS §1.4).

Full text uses the inverted index ``dataset_search_terms`` (folded words with weights:
title 4, tags 3, agency 2, description, resource and field names 1): every word of the
query must match (the last one as a prefix, so "truong h" finds "Trường học"), and the
rank is the sum of the matched weights. Facets are ``GROUP BY`` counts over the matched
set. ``search_datasets`` is what the JSON API, the pages and the CKAN facade's
``package_search`` all call.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, false, func, or_, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.opendata.models import (
    Dataset,
    DatasetGroup,
    DatasetSearchTerm,
    DatasetTag,
    Group,
    License,
    Resource,
    Tag,
)
from dulieuso.opendata.permissions import OpenDataAction
from dulieuso.opendata.service import visible_clause
from dulieuso.vntext import fold

MAX_ROWS = 1000
MAX_WORDS = 8
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")
SORTS = ("relevance", "metadata_modified desc", "metadata_modified asc", "metadata_created desc", "name asc", "name desc",
         "title asc", "downloads desc", "id asc")
_WORD = re.compile(r"[a-z0-9]+")

#: Counts and facets of recent searches, per process. Facet counting touches every
#: matched dataset (tens of milliseconds at 50,000), while the page of results is an
#: index scan; so counts are reused for the same search while the catalogue has not
#: changed (newest ``metadata_modified``: every change of a dataset, its tags, topics
#: or resources touches it) and for at most ``CACHE_SECONDS`` (a transaction that
#: commits late with an older timestamp is seen within that time).
CACHE_SECONDS = 30.0
CACHE_SIZE = 1024
_CACHE: OrderedDict[tuple[Any, ...], tuple[float, int, dict[str, list[FacetItem]]]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
#: Ranked result ids of full-text searches with up to RANKED_CACHE_MAX hits.
RANKED_CACHE_MAX = 5000
_RANKED: OrderedDict[tuple[Any, ...], tuple[float, list[uuid.UUID]]] = OrderedDict()


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _RANKED.clear()


def _visibility_key(actor: Actor, include_private: bool, include_drafts: bool) -> tuple[Any, ...]:
    if not (include_private or include_drafts):
        return ("public",)
    if can(actor, OpenDataAction.VIEW_PRIVATE, None):
        return ("all", include_private, include_drafts)
    return ("agency", str(actor.agency_id), actor.role.value, include_private, include_drafts)


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


def _after(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def query_words(q: str | None) -> list[str]:
    return [w[:60] for w in _WORD.findall(fold(q))][:MAX_WORDS]


def _scores(words: list[str]) -> Any:
    """``(dataset_id, score)`` of the datasets containing every word."""
    matches = []
    for i, word in enumerate(words):
        if i == len(words) - 1:
            matches.append(and_(DatasetSearchTerm.term >= word, DatasetSearchTerm.term < _after(word)))
        else:
            matches.append(DatasetSearchTerm.term == word)
    which = case(*[(m, i) for i, m in enumerate(matches)], else_=-1).label("word")
    per_word = (
        select(DatasetSearchTerm.dataset_id, which, func.max(DatasetSearchTerm.weight).label("weight"))
        .where(or_(*matches))
        .group_by(DatasetSearchTerm.dataset_id, which)
        .subquery()
    )
    return (
        select(per_word.c.dataset_id, func.sum(per_word.c.weight).label("score"))
        .group_by(per_word.c.dataset_id)
        .having(func.count() == len(words))
        .subquery()
    )


#: Full-text hits up to this many are scored in Python and filtered by an id list.
IN_LIST_MAX = 3_000


def _word_scores(session: Session, words: list[str]) -> dict[Any, int]:
    """``{dataset_id: score}`` of the datasets holding every word (the last as a prefix):
    one index range per word, intersected here."""
    found: dict[Any, int] | None = None
    for i, word in enumerate(words):
        if i == len(words) - 1:
            cond = and_(DatasetSearchTerm.term >= word, DatasetSearchTerm.term < _after(word))
        else:
            cond = DatasetSearchTerm.term == word
        this: dict[Any, int] = {}
        # Raw ids (hex text on SQLite, uuid from psycopg): no per-row conversion.
        raw = type_coerce(DatasetSearchTerm.dataset_id, String)
        for ident, weight in session.execute(select(raw, DatasetSearchTerm.weight).where(cond)):
            if this.get(ident, 0) < weight:
                this[ident] = weight
        found = this if found is None else {k: v + this[k] for k, v in found.items() if k in this}
        if not found:
            return {}
    return found or {}


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


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
    sort: str = "relevance",
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
    """Search the datasets ``actor`` may see.

    Filters AND together; a list within one filter matches any of its values (CKAN's
    ``fq=tags:a tags:b`` means both, so the facade passes one call per AND term through
    ``tags=[...]`` only for OR). ``organization`` takes agency codes; ``groups`` topic
    names; ``tags`` tag names (exact, case-insensitive); ``res_format`` formats
    (case-insensitive); ``modified_since``/``until`` bound ``metadata_modified``
    (inclusive). ``sort``: one of ``SORTS`` (``relevance`` falls back to newest first
    without ``q``). ``rows`` ≤ 1000. ``facet_fields`` ⊂ ``FACET_FIELDS``; ``facet_limit``
    −1 = unlimited. ``load=False`` returns ``ids`` only (``datasets`` empty), for callers
    that shape rows themselves (the CKAN facade). Raises ``Invalid`` naming the bad
    parameter."""
    errors: dict[str, list[Msg]] = {}
    if not 0 <= rows <= MAX_ROWS:
        errors["rows"] = [Msg("rows must be between 0 and {n}.", n=MAX_ROWS)]
    if start < 0:
        errors["start"] = [Msg("start must be at least 0.")]
    sort = (sort or "relevance").strip().lower()
    sort = {"score desc, metadata_modified desc": "relevance", "score desc": "relevance", "name": "name asc",
            "downloads": "downloads desc", "metadata_modified": "metadata_modified desc", "title_string asc": "title asc",
            "views_recent desc": "downloads desc"}.get(sort, sort)
    if sort not in SORTS:
        errors["sort"] = [Msg("Unknown sort {value}.", value=sort)]
    unknown = [f for f in facet_fields if f not in FACET_FIELDS]
    if unknown:
        errors["facet.field"] = [Msg("Unknown facet {value}.", value=unknown[0])]
    if errors:
        raise Invalid(fields=errors)

    conditions: list[Any] = [visible_clause(actor, include_private=include_private, include_drafts=include_drafts)]
    if dataset_ids is not None:
        conditions.append(Dataset.id.in_(list(dataset_ids)))
    orgs = _list(organization)
    if orgs:
        codes = [o.strip().upper() for o in orgs]
        conditions.append(Dataset.agency_id.in_(select(Agency.id).where(or_(Agency.code.in_(codes), func.lower(Agency.code).in_([c.lower() for c in codes])))))
    for name in _list(groups):
        conditions.append(Dataset.id.in_(
            select(DatasetGroup.dataset_id).join(Group, Group.id == DatasetGroup.group_id).where(Group.name == name.strip().lower())
        ))
    tag_values = _list(tags)
    if tag_values:
        conditions.append(Dataset.id.in_(
            select(DatasetTag.dataset_id).join(Tag, Tag.id == DatasetTag.tag_id).where(Tag.folded.in_([fold(t) for t in tag_values]))
        ))
    formats = _list(res_format)
    if formats:
        conditions.append(Dataset.id.in_(select(Resource.dataset_id).where(func.lower(Resource.format).in_([f.lower() for f in formats]))))
    licences = _list(license_id)
    if licences:
        conditions.append(Dataset.license_id.in_(licences))
    if modified_since is not None:
        conditions.append(Dataset.metadata_modified >= modified_since)
    if modified_until is not None:
        conditions.append(Dataset.metadata_modified <= modified_until)

    words = query_words(q)
    generation = session.scalar(select(func.max(Dataset.metadata_modified)))
    key = (
        _visibility_key(actor, include_private, include_drafts), tuple(words), tuple(orgs), tuple(_list(groups)),
        tuple(fold(t) for t in tag_values), tuple(f.lower() for f in formats), tuple(licences), modified_since, modified_until,
        None if dataset_ids is None else tuple(sorted(dataset_ids)), tuple(facet_fields), facet_limit, facet_mincount, generation,
    )
    now = time.monotonic()
    base = select(Dataset.id)
    score: Any = None
    ranked_here: list[uuid.UUID] | None = None
    if words:
        hits_key = (*key[:10], generation, "hits")
        with _CACHE_LOCK:
            remembered = _RANKED.get(hits_key)
        if remembered is not None and now - remembered[0] <= CACHE_SECONDS:
            ranked_here = remembered[1]
        else:
            candidates = _word_scores(session, words)
            if len(candidates) <= IN_LIST_MAX:
                # Few enough hits: score in Python once, then filter by id (no repeated word joins).
                raw_id = type_coerce(Dataset.id, String)
                hits = session.execute(
                    select(raw_id, Dataset.metadata_modified).where(raw_id.in_(list(candidates)), *conditions)
                ).all() if candidates else []
                hits.sort(key=lambda h: (-candidates[h[0]], -h[1].timestamp(), str(h[0])))
                ranked_here = [_as_uuid(h[0]) for h in hits]
                with _CACHE_LOCK:
                    _RANKED[hits_key] = (now, ranked_here)
                    while len(_RANKED) > CACHE_SIZE // 4:
                        _RANKED.popitem(last=False)
    if ranked_here is not None:
        matched = select(Dataset.id).where(Dataset.id.in_(ranked_here)) if ranked_here else select(Dataset.id).where(false())
    else:
        if words:
            scores = _scores(words)
            base = base.join(scores, scores.c.dataset_id == Dataset.id)
            score = scores.c.score
        matched = base.where(*conditions)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and now - cached[0] > CACHE_SECONDS:
            cached = None
    if cached is not None:
        total, facets = cached[1], cached[2]
    else:
        if ranked_here is not None:
            total = len(ranked_here)
        else:
            total = session.scalar(select(func.count()).select_from(matched.subquery())) or 0
        facets = {name: _facet(session, name, matched, facet_limit, facet_mincount) for name in facet_fields}
        with _CACHE_LOCK:
            _CACHE[key] = (now, total, facets)
            _CACHE.move_to_end(key)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)

    order: list[Any]
    if sort == "relevance":
        order = ([score.desc()] if score is not None else []) + [Dataset.metadata_modified.desc(), Dataset.id]
    elif sort == "metadata_modified desc":
        order = [Dataset.metadata_modified.desc(), Dataset.id]
    elif sort == "metadata_modified asc":
        order = [Dataset.metadata_modified.asc(), Dataset.id]
    elif sort == "metadata_created desc":
        order = [Dataset.metadata_created.desc(), Dataset.id]
    elif sort == "name asc":
        order = [Dataset.name.asc()]
    elif sort == "name desc":
        order = [Dataset.name.desc()]
    elif sort == "title asc":
        order = [Dataset.title.asc(), Dataset.id]
    elif sort == "downloads desc":
        order = [Dataset.download_count.desc(), Dataset.metadata_modified.desc(), Dataset.id]
    else:  # id asc: what harvesters page with
        order = [Dataset.id.asc()]
    datasets: list[Dataset] = []
    ids: list[uuid.UUID] = []
    if rows and total > start:
        if ranked_here is not None and sort == "relevance":
            ids = ranked_here[start:start + rows]
        elif words and total <= RANKED_CACHE_MAX:
            # Ranking by score groups every matching index word; keep the ranked ids.
            ranked_key = (*key, sort)
            with _CACHE_LOCK:
                hit = _RANKED.get(ranked_key)
            if hit is None or now - hit[0] > CACHE_SECONDS:
                hit = (now, list(session.scalars(matched.order_by(*order))))
                with _CACHE_LOCK:
                    _RANKED[ranked_key] = hit
                    while len(_RANKED) > CACHE_SIZE // 4:
                        _RANKED.popitem(last=False)
            ids = hit[1][start:start + rows]
        else:
            ids = list(session.scalars(matched.order_by(*order).limit(rows).offset(start)))
        if ids and load:
            loaded = {d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_(ids)).options(selectinload(Dataset.resources)))}
            datasets = [loaded[i] for i in ids if i in loaded]
    return SearchResult(count=total, datasets=datasets, facets=dict(facets), rows=rows, start=start, found_ids=ids)


def _facet(session: Session, name: str, matched: Any, limit: int, mincount: int) -> list[FacetItem]:
    ids = matched.subquery()
    n = func.count().label("n")
    if name in ("organization", "license_id"):
        # Grouped on the datasets row itself (a covering index on state, private, column).
        column = Dataset.agency_id if name == "organization" else Dataset.license_id
        grouped = matched.with_only_columns(column, n).group_by(column).having(n >= max(1, mincount)).order_by(n.desc(), column)
        if limit is not None and limit >= 0:
            grouped = grouped.limit(limit)
        counts = list(session.execute(grouped))
        if name == "organization":
            names = {a.id: (a.code, a.name_vi) for a in session.scalars(select(Agency).where(Agency.id.in_([c for c, _ in counts])))}
            return [FacetItem(names[c][0], names[c][1], int(k)) for c, k in counts if c in names]
        titles = {lic.id: lic.title_vi for lic in session.scalars(select(License))}
        return [FacetItem(str(c), titles.get(c, str(c)), int(k)) for c, k in counts]
    if name == "groups":
        stmt = (select(Group.name, Group.title_vi, n).join(DatasetGroup, DatasetGroup.group_id == Group.id)
                .where(DatasetGroup.dataset_id.in_(select(ids.c.id))).group_by(Group.name, Group.title_vi))
    elif name == "tags":
        stmt = (select(Tag.name, Tag.name, n).join(DatasetTag, DatasetTag.tag_id == Tag.id)
                .where(DatasetTag.dataset_id.in_(select(ids.c.id))).group_by(Tag.name))
    elif name == "res_format":
        fmt = func.upper(Resource.format)
        stmt = (select(fmt, fmt, func.count(func.distinct(Resource.dataset_id)).label("n"))
                .where(Resource.dataset_id.in_(select(ids.c.id)), Resource.format != "").group_by(fmt))
        n = stmt.selected_columns[2]
    else:
        raise ValueError(name)
    stmt = stmt.having(n >= max(1, mincount)).order_by(n.desc(), stmt.selected_columns[0])
    if limit is not None and limit >= 0:
        stmt = stmt.limit(limit)
    return [FacetItem(str(key), str(label), int(count)) for key, label, count in session.execute(stmt)]


def newest(session: Session, actor: Actor, limit: int = 6) -> list[Dataset]:
    return search_datasets(session, actor, sort="metadata_created desc", rows=limit).datasets


def most_used(session: Session, actor: Actor, limit: int = 6) -> list[Dataset]:
    return search_datasets(session, actor, sort="downloads desc", rows=limit).datasets


def public_count(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(Dataset).where(visible_clause(actor))) or 0
