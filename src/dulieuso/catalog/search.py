# SPDX-License-Identifier: AGPL-3.0-or-later
"""Searching the public catalog: diacritic- and case-insensitive, ranked, with facets.

The public catalog is the *published* (last accepted) version of every entry that is
not state-secret; drafts and secrets are never in it. Words are matched through
``SearchTerm``, an inverted index of folded words clustered on the word: every query
word but the last must match a whole word, the last may be a prefix ("so tai chi"
finds "Sở Tài chính"). The score adds, for each query word, the weight of the best
place it was found (code or name 4, agency 3, category 2, elsewhere 1).

Cost: with words, one query scores and fetches the narrow rows (``SearchRow``) of every
match, and facets, order and page are computed from them in Python (one pass instead of
re-running the scoring per facet). Without words, the page is read in name order from an
index and each facet is one aggregate over the narrow table. No per-row queries.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.models import DatabaseLevel, Importance, SearchRow, SearchTerm, SharingForm
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

MAX_LIMIT = 200
MAX_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")

FORM_COLUMNS = {
    SharingForm.OPEN_DATA: SearchRow.form_open_data,
    SharingForm.DEFAULT: SearchRow.form_default,
    SharingForm.SPECIAL_REQUEST: SearchRow.form_special_request,
    SharingForm.NOT_SHARED: SearchRow.form_not_shared,
}
#: Enum columns read as plain strings: the values were validated when indexed, and
#: skipping the Enum result processing matters when thousands of rows match.
_NARROW = (
    SearchRow.code, SearchRow.name, SearchRow.agency_code, SearchRow.agency_name,
    type_coerce(SearchRow.level, String).label("level"),
    type_coerce(SearchRow.importance, String).label("importance"), SearchRow.form_open_data, SearchRow.form_default, SearchRow.form_special_request,
    SearchRow.form_not_shared,
)


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


def _scores(session: Session, words: list[str]) -> Any | None:
    """``(id, score)`` of the candidate entries, or None when a whole word is unknown.

    Whole words: the rarest (counted first, one index range each) drives; each other
    word and the prefix word are correlated lookups per candidate in the word index
    (``(term, database_id)`` and ``(database_id, term)``), so neither a common word such
    as "so" (in every "Sở …") nor a short prefix such as "ch" expands to thousands of
    rows. ``score`` is NULL for a candidate missing a word; the caller drops those. A
    query of one word is a range scan grouped by database.
    """
    *whole, prefix = words
    if not whole:
        return (
            select(SearchTerm.database_id.label("id"), func.max(SearchTerm.weight).label("score"))
            .where(and_(SearchTerm.term >= prefix, SearchTerm.term < _after(prefix)))
            .group_by(SearchTerm.database_id)
            .subquery("scores")
        )
    counts = dict(
        session.execute(
            select(SearchTerm.term, func.count()).where(SearchTerm.term.in_(set(whole))).group_by(SearchTerm.term)
        ).all()
    )
    if any(word not in counts for word in whole):
        return None
    rarest, *others = sorted(whole, key=lambda w: counts[w])
    in_prefix = and_(SearchTerm.term >= prefix, SearchTerm.term < _after(prefix))
    # Counting a range stops early: we only need to know whether the prefix is rarer.
    prefix_rows = session.scalar(
        select(func.count()).select_from(select(SearchTerm.term).where(in_prefix).limit(counts[rarest]).subquery())
    ) or 0
    score: Any
    if prefix_rows < counts[rarest]:
        # A rare prefix ("du lich" → "lich…") drives; every whole word is a lookup.
        driver = (
            select(SearchTerm.database_id.label("id"), func.max(SearchTerm.weight).label("w"))
            .where(in_prefix).group_by(SearchTerm.database_id).subquery("driver")
        )
        score = driver.c.w
        lookups = whole
    else:
        driver = select(SearchTerm.database_id.label("id"), SearchTerm.weight.label("w")).where(SearchTerm.term == rarest).subquery("driver")
        score = driver.c.w
        lookups = others
        other = aliased(SearchTerm)
        score = score + (
            select(func.max(other.weight))
            .where(other.database_id == driver.c.id, other.term >= prefix, other.term < _after(prefix))
            .scalar_subquery()
        )
    for word in lookups:
        other = aliased(SearchTerm)
        score = score + select(other.weight).where(other.term == word, other.database_id == driver.c.id).scalar_subquery()
    # The filter is checked in the driver's loop (each lookup once per candidate); the
    # score is computed again only for the survivors.
    return select(driver.c.id, score.label("score")).where(score.is_not(None)).subquery("scores")


def _filters(
    agency: str | None, level: str | None, sharing_form: str | None, importance: str | None, limit: int, offset: int
) -> list[ColumnElement[bool]]:
    errors: dict[str, list[Msg]] = {}
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [Msg("limit must be between 1 and {n}.", n=MAX_LIMIT)]
    if offset < 0:
        errors["offset"] = [Msg("offset must be at least 0.")]
    filters: list[ColumnElement[bool]] = []
    if agency:
        filters.append(SearchRow.agency_code == agency.strip().upper())
    if level:
        try:
            filters.append(SearchRow.level == DatabaseLevel(level))
        except ValueError:
            errors["level"] = [Msg("Unknown value {value}.", value=level)]
    if importance:
        try:
            filters.append(SearchRow.importance == Importance(importance))
        except ValueError:
            errors["importance"] = [Msg("Unknown value {value}.", value=importance)]
    if sharing_form:
        try:
            filters.append(FORM_COLUMNS[SharingForm(sharing_form)].is_(True))
        except ValueError:
            errors["sharing_form"] = [Msg("Unknown value {value}.", value=sharing_form)]
    if errors:
        raise Invalid(fields=errors)
    return filters


def _forms_of(row: Any) -> list[str]:
    """The sharing forms flagged in a narrow row (flags at positions 6-9)."""
    return [form.value for form, flag in zip(FORM_COLUMNS, tuple(row)[6:10]) if flag]


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


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
    if words:
        return _search_words(session, words, filters, limit, offset)
    return _browse(session, filters, limit, offset)


def _hits(session: Session, rows: list[Any], scores: dict[str, int]) -> list[Hit]:
    codes = [r[0] for r in rows]
    purposes = dict(session.execute(select(SearchRow.code, SearchRow.purpose).where(SearchRow.code.in_(codes))).all()) if codes else {}
    return [
        Hit(
            code=r[0], name=r[1], agency_code=r[2], agency_name=r[3], level=r[4], importance=r[5],
            sharing_forms=_forms_of(r), purpose=purposes.get(r[0], ""), score=scores.get(r[0], 0),
        )
        for r in rows
    ]


def _search_words(session: Session, words: list[str], filters: list[ColumnElement[bool]], limit: int, offset: int) -> SearchResult:
    scores = _scores(session, words)
    if scores is None:
        return SearchResult(items=[], total=0, limit=limit, offset=offset,
                            facets={"agency": [], "level": [], "importance": [], "sharing_form": []})
    rows = [
        tuple(r)
        for r in session.execute(
            select(*_NARROW, scores.c.score).join(scores, scores.c.id == SearchRow.database_id).where(*filters)
        ).all()
        if r.score is not None
    ]
    # Plain tuples: (code, name, agency_code, agency_name, level, importance, 4 form flags, score).
    rows.sort(key=lambda r: (-r[10], r[1], r[0]))
    page = rows[offset : offset + limit]
    agencies: Counter[tuple[str, str]] = Counter()
    levels: Counter[Any] = Counter()
    importances: Counter[Any] = Counter()
    flags: Counter[tuple[bool, bool, bool, bool]] = Counter()
    for _code, _name, agency_code, agency_name, level, importance, f1, f2, f3, f4, _score in rows:
        agencies[(agency_code, agency_name)] += 1
        levels[level] += 1
        importances[importance] += 1
        flags[(bool(f1), bool(f2), bool(f3), bool(f4))] += 1
    form_counts = [sum(k for combo, k in flags.items() if combo[i]) for i in range(len(FORM_COLUMNS))]
    facets = {
        "agency": [{"value": c, "label": n, "count": k} for (c, n), k in sorted(agencies.items(), key=lambda i: (-i[1], i[0][0]))],
        "level": [{"value": v, "count": k} for v, k in levels.most_common()],
        "importance": [{"value": v, "count": k} for v, k in importances.most_common()],
        "sharing_form": [{"value": f.value, "count": n} for f, n in zip(FORM_COLUMNS, form_counts) if n],
    }
    return SearchResult(
        items=_hits(session, page, {r[0]: int(r[10]) for r in page}), total=len(rows), limit=limit,
        offset=offset, facets=facets,
    )


def _browse(session: Session, filters: list[ColumnElement[bool]], limit: int, offset: int) -> SearchResult:
    total = session.scalar(select(func.count()).select_from(SearchRow).where(*filters)) or 0
    page = session.execute(
        select(*_NARROW).where(*filters).order_by(SearchRow.name, SearchRow.code).limit(limit).offset(offset)
    ).all()
    count = func.count()
    # Grouped by code alone (an index); the names come from the agencies table.
    agency_rows = session.execute(
        select(SearchRow.agency_code, count).where(*filters).group_by(SearchRow.agency_code)
        .order_by(count.desc(), SearchRow.agency_code)
    ).all()
    names = dict(
        session.execute(select(Agency.code, Agency.name_vi).where(Agency.code.in_([c for c, _ in agency_rows]))).all()
    ) if agency_rows else {}
    facets: dict[str, list[dict[str, Any]]] = {
        "agency": [{"value": c, "label": names.get(c, c), "count": k} for c, k in agency_rows]
    }
    for name, column in (("level", SearchRow.level), ("importance", SearchRow.importance)):
        facet_rows = session.execute(select(column, count).where(*filters).group_by(column).order_by(count.desc())).all()
        facets[name] = [{"value": _value(v), "count": k} for v, k in facet_rows]
    sums = session.execute(
        select(*[func.sum(case((col.is_(True), 1), else_=0)) for col in FORM_COLUMNS.values()]).where(*filters)
    ).one()
    facets["sharing_form"] = [{"value": f.value, "count": int(n or 0)} for f, n in zip(FORM_COLUMNS, sums) if n]
    return SearchResult(items=_hits(session, list(page), {}), total=total, limit=limit, offset=offset, facets=facets)
