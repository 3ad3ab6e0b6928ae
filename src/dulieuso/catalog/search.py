# SPDX-License-Identifier: AGPL-3.0-or-later
"""Searching the public catalog: diacritic- and case-insensitive, ranked, with facets.

The public catalog is the *published* (last accepted) version of every entry that is
not state-secret; drafts and secrets are never in it. ``catalog.service`` keeps the
index in two derived tables: ``SearchRow`` (the narrow row of each entry) and
``SearchTerm`` (each folded word of an entry with its weight: code or name 4, agency 3,
category 2, elsewhere 1).

Each process answers searches from an in-memory copy of those two tables (``_Index``),
reloaded when the token in ``catalog_search_state`` (rewritten by every index change, in
the same transaction) differs from the one it was loaded with; a search costs one
primary-key read of that token. Why in memory: the catalog is small (a province has
hundreds of databases; 10,000 with 200,000 elements is about 20 MB here) and read far
more than written, and the facets count every match. In SQL the common words of a
catalog ("so" in every "Sở …", "du lieu", a short prefix such as "ch") match most
entries, and joining and grouping thousands of index rows per query took 20–60 ms on
PostgreSQL before any facet was counted; over dictionaries it is a few milliseconds on
either database.

Matching: every query word but the last must be a whole word of the entry, the last may
be a prefix ("so tai chi" finds "Sở Tài chính"). The score adds, for each query word, the
weight of the best place it was found. Results are ordered by score, then by name
(diacritics folded, so "Đất đai" sorts with the D's) and code; without words, by name.
"""

from __future__ import annotations

import re
import threading
import uuid
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.models import DatabaseLevel, Importance, SearchRow, SearchState, SearchTerm, SharingForm
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

MAX_LIMIT = 200
MAX_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")
STATE_ID = 1

#: The sharing forms in the order of the flags of a row (``_Row.forms``).
FORMS = (SharingForm.OPEN_DATA, SharingForm.DEFAULT, SharingForm.SPECIAL_REQUEST, SharingForm.NOT_SHARED)


@dataclass(frozen=True)
class Hit:
    code: str
    name: str
    agency_code: str
    agency_name: str
    level: str | None
    importance: str
    sharing_forms: list[str]
    purpose: str
    score: int


@dataclass
class SearchResult:
    items: list[Hit]
    total: int
    limit: int
    offset: int
    #: ``{"agency": [{"value", "label", "count"}], "level": [...], "sharing_form": [...], "importance": [...]}``
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _words(q: str | None) -> list[str]:
    return _WORD.findall(fold(q))[:MAX_WORDS]


def _after(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` ([a-z0-9] words)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# -- the in-memory index --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    code: str
    name: str
    agency_code: str
    agency_name: str
    level: str | None
    importance: str
    #: One flag per form of ``FORMS``.
    forms: tuple[bool, bool, bool, bool]
    purpose: str


@dataclass(frozen=True)
class _Index:
    """One process's copy of the search tables; never changed once built."""

    token: str
    #: Rows in browse order (folded name, name, code): a row's position is its rank
    #: among equal scores, so sorting positions sorts by name.
    rows: list[_Row]
    #: word → {position: weight}
    postings: dict[str, dict[int, int]]
    #: every word, sorted, for prefix ranges
    words: list[str]
    #: per position: (agency code, level, importance, form flags), what the facets count
    facet_keys: list[tuple[str, str | None, str, tuple[bool, bool, bool, bool]]]
    #: agency code → name, for the facet labels
    agency_names: dict[str, str]


_indexes: weakref.WeakKeyDictionary[Engine, _Index] = weakref.WeakKeyDictionary()
_loading = threading.Lock()


def mark_changed(session: Session) -> None:
    """Tell every process that the search index changed (call in the changing transaction)."""
    token = uuid.uuid4().hex
    if session.execute(update(SearchState).where(SearchState.id == STATE_ID).values(token=token)).rowcount == 0:
        session.add(SearchState(id=STATE_ID, token=token))
        session.flush()


def _current(session: Session) -> _Index:
    """The index as this session sees it: the cached copy, or a fresh one when stale."""
    token = session.scalar(select(SearchState.token).where(SearchState.id == STATE_ID)) or ""
    bind = session.get_bind()
    engine: Engine = getattr(bind, "engine", bind)
    index = _indexes.get(engine)
    if index is not None and index.token == token:
        return index
    with _loading:
        index = _indexes.get(engine)
        if index is None or index.token != token:
            index = _load(session, token)
            _indexes[engine] = index
    return index


def warm(session: Session) -> None:
    """Load the index now (at server start) rather than on the first search."""
    _current(session)


def _load(session: Session, token: str) -> _Index:
    # Ids as text on both databases: cheaper than building 200,000+ UUID objects.
    row_id = cast(SearchRow.database_id, String)
    loaded = [
        (ident, _Row(code, name, agency_code, agency_name, getattr(level, "value", level),
                     getattr(importance, "value", importance), (bool(f1), bool(f2), bool(f3), bool(f4)), purpose or ""))
        for ident, code, name, agency_code, agency_name, level, importance, f1, f2, f3, f4, purpose in session.execute(
            select(row_id, SearchRow.code, SearchRow.name, SearchRow.agency_code, SearchRow.agency_name, SearchRow.level,
                   SearchRow.importance, SearchRow.form_open_data, SearchRow.form_default, SearchRow.form_special_request,
                   SearchRow.form_not_shared, SearchRow.purpose)
        )
    ]
    loaded.sort(key=lambda item: (fold(item[1].name), item[1].name, item[1].code))
    position = {ident: n for n, (ident, _row) in enumerate(loaded)}
    # The words come grouped per entry and weight (one string each, split here): a tenth
    # of the rows and of the time of reading one row per word.
    postings: dict[str, dict[int, int]] = {}
    for ident, weight, text in session.execute(
        select(cast(SearchTerm.database_id, String), SearchTerm.weight, func.aggregate_strings(SearchTerm.term, " "))
        .group_by(SearchTerm.database_id, SearchTerm.weight)
    ):
        at = position.get(ident)
        if at is not None:
            for word in text.split(" "):
                found = postings.get(word)
                if found is None:
                    postings[word] = {at: weight}
                else:
                    found[at] = weight
    rows = [row for _ident, row in loaded]
    return _Index(
        token=token, rows=rows, postings=postings, words=sorted(postings),
        facet_keys=[(row.agency_code, row.level, row.importance, row.forms) for row in rows],
        agency_names={row.agency_code: row.agency_name for row in rows},
    )


def _match(index: _Index, words: list[str]) -> dict[int, int]:
    """``{position: score}`` of the entries with every whole word and the prefix."""
    *whole, prefix = words
    lists = []
    for word in whole:
        found = index.postings.get(word)
        if found is None:
            return {}
        lists.append(found)
    start, stop = bisect_left(index.words, prefix), bisect_left(index.words, _after(prefix))
    prefix_lists = [index.postings[word] for word in index.words[start:stop]]
    if not prefix_lists:
        return {}
    if not lists:
        best: dict[int, int] = {}
        for found in prefix_lists:
            for at, weight in found.items():
                if weight > best.get(at, 0):
                    best[at] = weight
        return best
    # The rarest word drives; each other word is a dictionary lookup per candidate.
    lists.sort(key=len)
    scores = dict(lists[0])
    for found in lists[1:]:
        scores = {at: score + found[at] for at, score in scores.items() if at in found}
    # The prefix's best weight per candidate: walk either the candidates or the prefix's
    # postings, whichever is fewer lookups.
    prefix_size = sum(len(found) for found in prefix_lists)
    result: dict[int, int] = {}
    if len(scores) * len(prefix_lists) < prefix_size:
        for at, score in scores.items():
            weight = max((found.get(at, 0) for found in prefix_lists), default=0)
            if weight:
                result[at] = score + weight
        return result
    best = {}
    for found in prefix_lists:
        for at, weight in found.items():
            if at in scores and weight > best.get(at, 0):
                best[at] = weight
    return {at: scores[at] + weight for at, weight in best.items()}


# -- searching ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filters:
    """The filters of a search, checked against a row's facet key."""

    agency: str | None = None
    level: str | None = None
    importance: str | None = None
    #: position of the form in ``FORMS``
    form: int | None = None

    def apply(self, keys: list[tuple[str, str | None, str, tuple[bool, bool, bool, bool]]], matched: Iterable[int]) -> list[int]:
        """The positions of ``matched`` that pass, in the same order (one pass per filter)."""
        kept = list(matched)
        for field_at, value in ((0, self.agency), (1, self.level), (2, self.importance)):
            if value is not None:
                kept = [at for at in kept if keys[at][field_at] == value]
        if self.form is not None:
            form = self.form
            kept = [at for at in kept if keys[at][3][form]]
        return kept


def _filters(
    agency: str | None, level: str | None, sharing_form: str | None, importance: str | None, limit: int, offset: int
) -> _Filters | None:
    """The filters (None when there are none); unknown values and a bad page are a 422."""
    errors: dict[str, list[Msg]] = {}
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [Msg("limit must be between 1 and {n}.", n=MAX_LIMIT)]
    if offset < 0:
        errors["offset"] = [Msg("offset must be at least 0.")]
    wanted: dict[str, Any] = {}
    if agency:
        wanted["agency"] = agency.strip().upper()
    if level:
        try:
            wanted["level"] = DatabaseLevel(level).value
        except ValueError:
            errors["level"] = [Msg("Unknown value {value}.", value=level)]
    if importance:
        try:
            wanted["importance"] = Importance(importance).value
        except ValueError:
            errors["importance"] = [Msg("Unknown value {value}.", value=importance)]
    if sharing_form:
        try:
            wanted["form"] = FORMS.index(SharingForm(sharing_form))
        except ValueError:
            errors["sharing_form"] = [Msg("Unknown value {value}.", value=sharing_form)]
    if errors:
        raise Invalid(fields=errors)
    return _Filters(**wanted) if wanted else None


def _facets(labels: dict[str, str], keys: Iterable[tuple[str, str | None, str, tuple[bool, bool, bool, bool]]]) -> dict[str, list[dict[str, Any]]]:
    """Facet counts of the matches, from their facet keys (counted in one C-level pass,
    then summed over the few distinct combinations)."""
    agencies: Counter[str] = Counter()
    levels: Counter[str | None] = Counter()
    importances: Counter[str] = Counter()
    form_counts = [0] * len(FORMS)
    for (agency, level, importance, forms), k in Counter(keys).items():
        agencies[agency] += k
        levels[level] += k
        importances[importance] += k
        for i, flag in enumerate(forms):
            if flag:
                form_counts[i] += k
    return {
        "agency": [{"value": c, "label": labels[c], "count": k} for c, k in sorted(agencies.items(), key=lambda i: (-i[1], i[0]))],
        "level": [{"value": v, "count": k} for v, k in levels.most_common()],
        "importance": [{"value": v, "count": k} for v, k in importances.most_common()],
        "sharing_form": [{"value": f.value, "count": n} for f, n in zip(FORMS, form_counts) if n],
    }


def search_databases(
    session: Session,
    actor: Actor,
    q: str | None = None,
    agency: str | None = None,
    level: str | None = None,
    sharing_form: str | None = None,
    importance: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search the public catalog; facets count the filtered result set."""
    require(actor, CatalogAction.VIEW)
    filters = _filters(agency, level, sharing_form, importance, limit, offset)
    words = _words(q)
    index = _current(session)
    rows = index.rows
    if words:
        scores = _match(index, words)
        ranked = sorted(scores, key=lambda at: (-scores[at], at))
    else:
        scores = {}
        ranked = range(len(rows))  # type: ignore[assignment]
    matched = filters.apply(index.facet_keys, ranked) if filters else ranked
    page = matched[offset : offset + limit]
    return SearchResult(
        items=[_hit(rows[at], scores.get(at, 0)) for at in page],
        total=len(matched), limit=limit, offset=offset,
        facets=_facets(index.agency_names, map(index.facet_keys.__getitem__, matched)),
    )


def _hit(row: _Row, score: int) -> Hit:
    return Hit(
        code=row.code, name=row.name, agency_code=row.agency_code, agency_name=row.agency_name, level=row.level,
        importance=row.importance, sharing_forms=[form.value for form, flag in zip(FORMS, row.forms) if flag],
        purpose=row.purpose, score=score,
    )
