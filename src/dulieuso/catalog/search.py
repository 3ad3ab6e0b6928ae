# SPDX-License-Identifier: AGPL-3.0-or-later
"""Searching the public catalog: diacritic- and case-insensitive, ranked, with facets.

The public catalog is the *published* (last accepted) version of every entry that is
not state-secret (``PublicEntry``); drafts and secrets are never in it. Words are
matched through ``SearchTerm``, an inverted index of folded words: every query word
but the last must match a whole word, the last may be a prefix ("so tai chi" finds
"Sở Tài chính"). The score adds, for each query word, the weight of the best place
it was found (code or name 4, agency 3, category 2, elsewhere 1). Each query is a few
index range scans and one aggregate per facet, with no per-row queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor, require
from dulieuso.catalog.models import DatabaseLevel, Importance, PublicEntry, SearchTerm, SharingForm
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

MAX_LIMIT = 200
MAX_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")

FORM_COLUMNS = {
    SharingForm.OPEN_DATA: PublicEntry.form_open_data,
    SharingForm.DEFAULT: PublicEntry.form_default,
    SharingForm.SPECIAL_REQUEST: PublicEntry.form_special_request,
    SharingForm.NOT_SHARED: PublicEntry.form_not_shared,
}


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


def _word_match(word: str, prefix: bool) -> ColumnElement[bool]:
    if prefix:
        return and_(SearchTerm.term >= word, SearchTerm.term < _after(word))
    return SearchTerm.term == word


def _scores(words: list[str]) -> Any:
    """``(database_id, score)`` of the entries containing every word."""
    matches = [_word_match(w, prefix=(i == len(words) - 1)) for i, w in enumerate(words)]
    which = case(*[(m, i) for i, m in enumerate(matches)], else_=-1).label("word")
    per_word = (
        select(SearchTerm.database_id, which, func.max(SearchTerm.weight).label("weight"))
        .where(or_(*matches))
        .group_by(SearchTerm.database_id, which)
        .subquery()
    )
    return (
        select(per_word.c.database_id, func.sum(per_word.c.weight).label("score"))
        .group_by(per_word.c.database_id)
        .having(func.count() == len(words))
        .subquery()
    )


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
    errors: dict[str, list[Msg]] = {}
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [Msg("limit must be between 1 and {n}.", n=MAX_LIMIT)]
    if offset < 0:
        errors["offset"] = [Msg("offset must be at least 0.")]
    filters: list[ColumnElement[bool]] = []
    if agency:
        filters.append(PublicEntry.agency_code == agency.strip().upper())
    if level:
        try:
            filters.append(PublicEntry.level == DatabaseLevel(level))
        except ValueError:
            errors["level"] = [Msg("Unknown value {value}.", value=level)]
    if importance:
        try:
            filters.append(PublicEntry.importance == Importance(importance))
        except ValueError:
            errors["importance"] = [Msg("Unknown value {value}.", value=importance)]
    if sharing_form:
        try:
            filters.append(FORM_COLUMNS[SharingForm(sharing_form)].is_(True))
        except ValueError:
            errors["sharing_form"] = [Msg("Unknown value {value}.", value=sharing_form)]
    if errors:
        raise Invalid(fields=errors)

    words = _words(q)
    score: Any
    if words:
        scores = _scores(words)
        score = scores.c.score

        def base(*columns: Any) -> Any:
            return (
                select(*columns)
                .select_from(PublicEntry)
                .join(scores, scores.c.database_id == PublicEntry.database_id)
                .where(*filters)
            )
    else:
        score = literal(0)

        def base(*columns: Any) -> Any:
            return select(*columns).select_from(PublicEntry).where(*filters)

    total = session.scalar(base(func.count())) or 0
    rows = session.execute(
        base(
            PublicEntry.code, PublicEntry.name, PublicEntry.agency_code, PublicEntry.agency_name,
            PublicEntry.level, PublicEntry.importance, PublicEntry.form_open_data, PublicEntry.form_default,
            PublicEntry.form_special_request, PublicEntry.form_not_shared, score.label("score"),
        )
        .order_by(score.desc(), PublicEntry.name, PublicEntry.code)
        .limit(limit)
        .offset(offset)
    ).all()
    codes = [r.code for r in rows]
    purposes = dict(
        session.execute(select(PublicEntry.code, PublicEntry.entry).where(PublicEntry.code.in_(codes))).all()
    ) if codes else {}
    items = [
        Hit(
            code=r.code, name=r.name, agency_code=r.agency_code, agency_name=r.agency_name,
            level=r.level.value if r.level else None, importance=r.importance.value,
            sharing_forms=[
                form.value
                for form, flag in zip(
                    FORM_COLUMNS, (r.form_open_data, r.form_default, r.form_special_request, r.form_not_shared)
                )
                if flag
            ],
            purpose=(purposes.get(r.code) or {}).get("purpose", ""),
            score=int(r.score or 0),
        )
        for r in rows
    ]
    facets: dict[str, list[dict[str, Any]]] = {}
    agency_rows = session.execute(
        base(PublicEntry.agency_code, PublicEntry.agency_name, func.count())
        .group_by(PublicEntry.agency_code, PublicEntry.agency_name)
        .order_by(func.count().desc(), PublicEntry.agency_code)
    ).all()
    facets["agency"] = [{"value": c, "label": n, "count": k} for c, n, k in agency_rows]
    for name, column in (("level", PublicEntry.level), ("importance", PublicEntry.importance)):
        facet_rows = session.execute(
            base(column, func.count()).group_by(column).order_by(func.count().desc())
        ).all()
        facets[name] = [{"value": v.value if v else None, "count": k} for v, k in facet_rows]
    sums = session.execute(
        base(*[func.sum(case((col.is_(True), 1), else_=0)) for col in FORM_COLUMNS.values()])
    ).one()
    facets["sharing_form"] = [
        {"value": form.value, "count": int(n or 0)} for form, n in zip(FORM_COLUMNS, sums) if n
    ]
    return SearchResult(items=items, total=total, limit=limit, offset=offset, facets=facets)
