# SPDX-License-Identifier: AGPL-3.0-or-later
"""The in-memory dataset search index of a process, and how it stays current.

Why in memory: without Solr (ANCHORS §1.4), a ``package_search`` over 50,000 datasets
must match words, check visibility, apply filters, rank, and count two facets over every
match. In SQL that is a join over the word index, a lookup of each candidate's wide
``datasets`` row and one ``GROUP BY`` per facet: 100-900 ms per search at that size.
Held as Python sets and dicts, the same work is set intersections and counters that run
in C, a few milliseconds.

What it holds, per dataset that is not deleted (a *doc*, numbered densely): the facts
that visibility, filters, facets and sorts need (agency, licence, state, private, dates,
name, title, tags, topics, resource formats) and the dataset's words from
``dataset_search_terms`` with their weights, as posting lists (word → {doc: weight}).
Plus the inverted sets the filters need (per agency, tag, topic, format, licence,
state and privacy), and the orders of the sorts in use, kept sorted as docs change.
Download counts change on every download and are read live from SQL
(``opendata.search``), never from here.

A changed dataset becomes a new doc; its old number is retired, never reused, and stays
in the posting lists (removing it would mean keeping every doc's words twice). A retired
doc is in no visibility set, and every search intersects with one, so it can never be
found; a full reload compacts the index once retired docs are a quarter of the live
ones.

How it stays current: ``opendata.models`` gives every dataset a change could show in a
search (its row, tags, topics, resource formats, words) a new random ``search_token``
when the change is flushed, and on commit writes one ``DatasetSearchChange`` naming those
datasets and moves the token of ``dataset_search_state``, in the same transaction.
Before every search the index reads that token (a primary-key read). When it differs,
the index follows the chain of changes back to its own token and reloads only the
datasets they name (a few milliseconds); when the chain does not lead there (entries
older than a day, or an index loaded from rows that were never committed) it compares
every dataset's ``search_token`` with its own (one index scan) instead. A session's own
flushed, uncommitted changes are reloaded for its own searches. Dataset rows are read
before their tags, topics, formats and words, so what is loaded is never older than the
token recorded with it: a concurrent commit makes a later search reload again, never
keeps a stale row.

Threads: one lock per index, held by ``opendata.search`` from the freshness check to the
end of the reads, so that a refresh never changes a set under a reader and no search
sees what another session loaded from its uncommitted transaction.
"""

from __future__ import annotations

import bisect
import heapq
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, islice, repeat
from operator import add
from sys import intern
from typing import Any

from sqlalchemy import BigInteger, Integer, String, bindparam, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.opendata.models import (
    NAMES_CHANGED,
    SEARCH_PENDING,
    SEARCH_STATE_ID,
    Dataset,
    DatasetGroup,
    DatasetSearchChange,
    DatasetSearchState,
    DatasetSearchTerm,
    DatasetState,
    DatasetTag,
    Group,
    License,
    Resource,
    Tag,
)
from dulieuso.opendata.service import Audience

ACTIVE, DRAFT = DatasetState.ACTIVE.value, DatasetState.DRAFT.value
#: The (state, private) classes a listed dataset can be in.
CLASSES = ((ACTIVE, False), (ACTIVE, True), (DRAFT, False), (DRAFT, True))
#: Beyond this share of changed datasets, one full load is cheaper than many small ones.
FULL_RELOAD_SHARE = 0.2
#: At most this many committed changes are followed back; beyond, every token is compared.
CHAIN_STEPS = 200
#: Retired docs (see the module docstring) beyond this share of the live ones: reload.
RETIRED_SHARE = 0.25
#: Matches beyond this share of all docs are paged by walking the sort's order.
DENSE = 1 / 8
_CHUNK = 500
Sort = tuple[tuple[str, bool], ...]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: ``int_keys``: a date in 64 bits (microseconds, shifted to be positive), an id in 128.
_DATE_OFFSET, _DATE_MASK, _ID_MASK = 1 << 62, (1 << 64) - 1, (1 << 128) - 1


class _Statements:
    """The index's queries, built once per kind of database: reusing statement objects
    skips SQLAlchemy's construction and result adaptation on every call. Uuid columns
    are read as 32 lower-case hex digits (``uuid.hex``) on both databases, without
    building a ``uuid.UUID`` per row; ``*_of`` variants take the ids as ``ids``."""

    def __init__(self, postgresql: bool) -> None:
        def hexed(column: Any) -> Any:
            if postgresql:
                return func.replace(cast(column, String), "-", "")
            return type_coerce(column, String)  # SQLite stores uuids as 32 hex digits

        def microseconds(column: Any) -> Any:
            """A timestamp as whole microseconds since 1970 (UTC), exact, computed by the
            database instead of building a timezone-aware ``datetime`` per row."""
            if postgresql:
                return cast(func.extract("epoch", column) * 1_000_000, BigInteger)
            # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (SQLAlchemy's SQLite format).
            text = type_coerce(column, String)
            return cast(func.strftime("%s", text), Integer) * 1_000_000 + cast(func.substr(text, 21, 6), Integer)

        ids = bindparam("ids", expanding=True)
        changes = DatasetSearchChange.__table__
        self.token = select(DatasetSearchState.token).where(DatasetSearchState.id == SEARCH_STATE_ID)
        self.change = select(changes.c.previous, changes.c.dataset_ids).where(changes.c.token == bindparam("token"))
        self.scan = select(hexed(Dataset.id), Dataset.search_token)
        self.datasets = select(
            hexed(Dataset.id), Dataset.search_token, hexed(Dataset.agency_id), Dataset.license_id,
            type_coerce(Dataset.state, String), Dataset.private, microseconds(Dataset.metadata_modified),
            microseconds(Dataset.metadata_created), Dataset.name, Dataset.title,
        )
        self.datasets_of = self.datasets.where(Dataset.id.in_(ids))
        self.tags_of = (
            select(hexed(DatasetTag.dataset_id), hexed(DatasetTag.tag_id), Tag.name, Tag.folded)
            .join(Tag, Tag.id == DatasetTag.tag_id).where(DatasetTag.dataset_id.in_(ids))
        )
        self.groups_of = select(hexed(DatasetGroup.dataset_id), hexed(DatasetGroup.group_id)).where(DatasetGroup.dataset_id.in_(ids))
        self.formats_of = (
            select(hexed(Resource.dataset_id), func.upper(Resource.format)).where(Resource.format != "", Resource.dataset_id.in_(ids))
        )
        # For a full load, the datasets of each word (of one weight), tag, topic and format
        # in one row, as a comma-separated string: about 1,000 rows instead of 1.1 million
        # at 50,000 datasets, split in C.
        def joined(column: Any) -> Any:
            return func.string_agg(hexed(column), ",") if postgresql else func.group_concat(hexed(column), ",")

        term = DatasetSearchTerm
        self.postings = select(term.term, term.weight, joined(term.dataset_id)).group_by(term.term, term.weight)
        self.tag_postings = (
            select(hexed(Tag.id), Tag.name, Tag.folded, joined(DatasetTag.dataset_id))
            .join(Tag, Tag.id == DatasetTag.tag_id).group_by(Tag.id, Tag.name, Tag.folded)
        )
        self.group_postings = select(hexed(DatasetGroup.group_id), joined(DatasetGroup.dataset_id)).group_by(DatasetGroup.group_id)
        upper = func.upper(Resource.format)
        self.format_postings = select(upper, joined(Resource.dataset_id)).where(Resource.format != "").group_by(upper)
        self.terms_of = select(hexed(term.dataset_id), term.term, term.weight).where(term.dataset_id.in_(ids))
        # Names shown in facets and used by filters, read again after any change.
        self.agencies = select(hexed(Agency.id), Agency.code, Agency.name_vi)
        self.topics = select(hexed(Group.id), Group.name, Group.title_vi)
        self.licences = select(License.id, License.title_vi)


def microseconds(value: datetime) -> int:
    """A time as whole microseconds since 1970 (UTC; a naive time is UTC), as the index
    keeps ``metadata_modified`` and ``metadata_created``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(microseconds=1)


@dataclass
class Word:
    """The postings of one query word: one map for a whole word, one per index term for the
    last word, which is matched as a prefix ("truong h" finds "trường học")."""

    maps: list[dict[int, int]]

    @property
    def size(self) -> int:
        return sum(len(m) for m in self.maps)


class _Order:
    """The live docs in the order of one sort, kept sorted as docs come and go (a bisect
    and a list insertion or deletion, in C) instead of sorted again after each change."""

    def __init__(self, key: Callable[[int], Any], docs: Iterable[int]) -> None:
        pairs = sorted((key(d), d) for d in docs)
        self.key = key
        self.keys = [k for k, _ in pairs]
        self.docs = [d for _, d in pairs]

    def add(self, doc: int) -> None:
        key = self.key(doc)
        at = bisect.bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.docs.insert(at, doc)

    def discard(self, doc: int) -> None:
        at = bisect.bisect_left(self.keys, self.key(doc))
        if at < len(self.docs) and self.docs[at] == doc:
            del self.keys[at]
            del self.docs[at]


class DatasetIndex:
    """The index of one database (see the module docstring). Call every method with
    ``lock`` held."""

    def __init__(self, postgresql: bool) -> None:
        self.lock = threading.RLock()
        self.sql = _Statements(postgresql)
        self.token: str | None = None
        self._clear()

    def _clear(self) -> None:
        self.row_tokens: dict[str, str] = {}  # every dataset row, deleted ones too: hex id -> search_token
        self.doc_of: dict[str, int] = {}  # live docs
        self.hex_ids: list[str] = []  # every doc, retired ones too
        self.agency: list[int] = []
        self.license: list[str] = []
        self.klass: list[tuple[str, bool]] = []
        self.modified: list[int] = []  # microseconds since 1970, UTC
        self.created: list[int] = []
        self.name: list[str] = []
        self.title: list[str] = []
        self.tags: list[tuple[int, ...]] = []
        self.groups: list[tuple[int, ...]] = []
        self.formats: list[tuple[str, ...]] = []
        self.postings: dict[str, dict[int, int]] = {}
        self.sorted_terms: list[str] = []
        self.by_class: dict[tuple[str, bool], set[int]] = {c: set() for c in CLASSES}
        self.by_agency: dict[int, set[int]] = {}
        self.by_license: dict[str, set[int]] = {}
        self.by_tag: dict[int, set[int]] = {}
        self.by_group: dict[int, set[int]] = {}
        self.by_format: dict[str, set[int]] = {}
        self.by_name: dict[str, int] = {}
        # Agencies, tags and topics are numbered too (hex id -> number and back).
        self.agency_no: dict[str, int] = {}
        self.agency_hex: list[str] = []
        self.group_no: dict[str, int] = {}
        self.group_hex: list[str] = []
        self.tag_no: dict[str, int] = {}
        self.tag_names: list[str] = []
        self.tags_by_folded: dict[str, set[int]] = {}
        self._orders: dict[Sort, _Order] = {}
        self._int_keys: dict[Sort, list[int]] = {}
        self._names: dict[str, Any] = {}
        self._audiences: dict[Audience, set[int]] = {}
        self.facet_totals: dict[tuple[Any, ...], Counter[Any]] = {}

    # ------------------------------------------------------------------ freshness

    def ensure_current(self, session: Session) -> None:
        """Bring the index up to date with what ``session`` sees: the committed changes
        since the index's token, then the changes this session has flushed but not
        committed (``models.SEARCH_PENDING``). Call with ``lock`` held, and search before
        releasing it: another session's next call undoes what only this one may see."""
        token = session.scalar(self.sql.token) or ""
        pending = session.info.get(SEARCH_PENDING)
        if token == self.token and not pending:
            return
        self._audiences.clear()
        self.facet_totals.clear()
        self._names.clear()
        try:
            if token != self.token:
                if self.token is None or len(self.hex_ids) - len(self.doc_of) > RETIRED_SHARE * max(len(self.doc_of), 4000):
                    self._clear()
                    self._load_all(session)
                else:
                    self._catch_up(session, token)
                self.token = token
            if pending:
                # Loaded from a transaction that may never commit: a label no committed
                # token equals, so that the next search compares every dataset's token.
                self._reload(session, sorted(pending - {NAMES_CHANGED}))
                self.token = "uncommitted"
        except BaseException:
            # Half loaded (a database error, a cancelled request): start again next time.
            self._clear()
            self.token = None
            raise

    def _catch_up(self, session: Session, token: str) -> None:
        """Reload what changed between the index's token and ``token``: follow the chain of
        ``DatasetSearchChange`` back (one primary-key read per committed change); when it
        does not lead to the index's token (entries cleared, or the index was loaded from
        uncommitted rows), compare every dataset's ``search_token`` instead."""
        connection = session.connection()
        changed: set[str] = set()
        current = token
        for _ in range(CHAIN_STEPS):
            if current == self.token:
                self._reload(session, sorted(changed))
                return
            row = connection.execute(self.sql.change, {"token": current}).first()
            if row is None or row.dataset_ids == "*":
                break
            changed.update(k for k in row.dataset_ids.split(",") if k)
            current = row.previous
        self._compare_all(session)

    def _compare_all(self, session: Session) -> None:
        current: dict[str, str] = {k: t for k, t in session.connection().execute(self.sql.scan)}
        changed = [k for k, tok in current.items() if self.row_tokens.get(k) != tok]
        gone = [k for k in self.row_tokens if k not in current]
        if len(changed) + len(gone) > max(200, FULL_RELOAD_SHARE * len(current)):
            self._clear()
            self._load_all(session)
            return
        for key in gone:
            self.row_tokens.pop(key, None)
            self._retire(key)
        self._reload(session, changed)

    # ------------------------------------------------------------------ loading

    def _load_all(self, session: Session) -> None:
        """Load every dataset: their rows, then the datasets of each tag, topic, format and
        word (grouped in SQL, split in C), and from those each dataset's tags, topics and
        formats."""
        connection = session.connection()
        sql = self.sql
        for row in connection.execute(sql.datasets).all():
            self._add_row(row)
        lookup = self.doc_of.get

        def docs(joined: str) -> set[int]:
            found = set(map(lookup, joined.split(",")))
            found.discard(None)  # of deleted datasets
            return found  # type: ignore[return-value]

        for tag, name, folded, joined in connection.execute(sql.tag_postings).all():
            number = self._tag_number(tag, name, folded)
            self.by_tag[number] = docs(joined)
        for group, joined in connection.execute(sql.group_postings).all():
            self.by_group[self._number(group, self.group_no, self.group_hex)] = docs(joined)
        for fmt, joined in connection.execute(sql.format_postings).all():
            self.by_format[fmt] = docs(joined)
        for index, column in ((self.by_tag, self.tags), (self.by_group, self.groups), (self.by_format, self.formats)):
            for value, members in index.items():
                for doc in members:
                    column[doc] += (value,)  # type: ignore[operator]
        postings = self.postings
        for term, weight, joined in connection.execute(sql.postings).all():
            weights = dict.fromkeys(map(lookup, joined.split(",")), weight)
            weights.pop(None, None)  # words of deleted datasets
            found = postings.get(term)
            if found is None:
                postings[intern(term)] = weights
            else:
                found.update(weights)
        for term in [t for t, found in postings.items() if not found]:
            del postings[term]
        self.sorted_terms = sorted(postings)

    def _reload(self, session: Session, keys: list[str]) -> None:
        """Reload the datasets ``keys`` (hex ids): each live one becomes a new doc."""
        connection = session.connection()
        sql = self.sql
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            for key in chunk:
                self.row_tokens.pop(key, None)
                self._retire(key)
            fresh: set[int] = set()
            for row in connection.execute(sql.datasets_of, {"ids": [uuid.UUID(hex=k) for k in chunk]}).all():
                doc = self._add_row(row)
                if doc is not None:
                    fresh.add(doc)
            if not fresh:
                continue
            by_id = {"ids": [uuid.UUID(hex=self.hex_ids[d]) for d in fresh]}
            self._add_links(connection.execute(sql.tags_of, by_id).all(), connection.execute(sql.groups_of, by_id).all(),
                            connection.execute(sql.formats_of, by_id).all(), fresh)
            doc_of = self.doc_of
            for key, term, weight in connection.execute(sql.terms_of, by_id).all():
                doc = doc_of.get(key)
                if doc in fresh:
                    found = self.postings.get(term)
                    if found is None:
                        found = self.postings[intern(term)] = {}
                        bisect.insort(self.sorted_terms, term)
                    found[doc] = weight
            for doc in fresh:
                for order in self._orders.values():
                    order.add(doc)

    def _add_row(self, row: Any) -> int | None:
        """A new doc for a ``datasets`` row (None for a deleted dataset, never listed),
        in the sets of its class, agency, licence and name."""
        key, token, agency, license_id, state, private, modified, created, name, title = row
        self.row_tokens[key] = token
        if state not in (ACTIVE, DRAFT):
            return None
        doc = len(self.hex_ids)
        self.doc_of[key] = doc
        self.hex_ids.append(key)
        agency_no = self.agency_no.get(agency)
        if agency_no is None:
            agency_no = self._number(agency, self.agency_no, self.agency_hex)
        klass = (state, bool(private))
        self.agency.append(agency_no)
        self.license.append(license_id)
        self.klass.append(klass)
        self.modified.append(modified or 0)
        self.created.append(created or 0)
        self.name.append(name)
        self.title.append(title)
        self.tags.append(())
        self.groups.append(())
        self.formats.append(())
        self.by_class[klass].add(doc)
        found = self.by_agency.get(agency_no)
        if found is None:
            found = self.by_agency[agency_no] = set()
        found.add(doc)
        found = self.by_license.get(license_id)
        if found is None:
            found = self.by_license[license_id] = set()
        found.add(doc)
        self.by_name[name] = doc
        return doc

    def _add_links(self, tags: Iterable[Any], groups: Iterable[Any], formats: Iterable[Any], only: set[int]) -> None:
        """Tags, topics and formats of the reloaded docs ``only``, per doc and in the
        inverted sets (a row per link: few rows)."""
        doc_of = self.doc_of
        for key, tag, name, folded in tags:
            doc = doc_of.get(key)
            if doc in only:
                number = self._tag_number(tag, name, folded)
                self.tags[doc] += (number,)
                self.by_tag.setdefault(number, set()).add(doc)
        for key, group in groups:
            doc = doc_of.get(key)
            if doc in only:
                number = self._number(group, self.group_no, self.group_hex)
                self.groups[doc] += (number,)
                self.by_group.setdefault(number, set()).add(doc)
        for key, fmt in formats:
            doc = doc_of.get(key)
            if doc in only and fmt not in self.formats[doc]:
                self.formats[doc] += (fmt,)
                self.by_format.setdefault(fmt, set()).add(doc)

    def _tag_number(self, tag: str, name: str, folded: str) -> int:
        number = self.tag_no.get(tag)
        if number is None:  # tags are never renamed: a number keeps its name
            number = self.tag_no[tag] = len(self.tag_names)
            self.tag_names.append(name)
            self.tags_by_folded.setdefault(folded, set()).add(number)
        return number

    @staticmethod
    def _number(key: str, numbers: dict[str, int], keys: list[str]) -> int:
        number = numbers.get(key)
        if number is None:
            number = numbers[key] = len(keys)
            keys.append(key)
        return number

    def _retire(self, key: str) -> None:
        """Take a dataset's doc out of every set and order (see the module docstring)."""
        doc = self.doc_of.pop(key, None)
        if doc is None:
            return
        self.by_class[self.klass[doc]].discard(doc)
        self.by_agency[self.agency[doc]].discard(doc)
        self.by_license[self.license[doc]].discard(doc)
        for tag in self.tags[doc]:
            self.by_tag[tag].discard(doc)
        for group in self.groups[doc]:
            self.by_group[group].discard(doc)
        for fmt in self.formats[doc]:
            self.by_format[fmt].discard(doc)
        if self.by_name.get(self.name[doc]) == doc:
            del self.by_name[self.name[doc]]
        for order in self._orders.values():
            order.discard(doc)

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.doc_of)

    def visible(self, seen: Audience) -> set[int]:
        """The docs ``seen`` may list (``service.Audience``); do not change the set."""
        public = self.by_class[(ACTIVE, False)]
        if seen.public_only:
            return public
        found = self._audiences.get(seen)
        if found is None:
            states = [s.value for s in seen.states]
            hidden = set().union(*(self.by_class[(s, p)] for s in states for p in ((False, True) if seen.private else (False,))))
            if seen.every_agency:
                found = hidden
            else:
                agency = self.agency_no.get(seen.agency_id.hex) if seen.agency_id is not None else None
                own = self.by_agency.get(agency, set()) if agency is not None else set()
                found = public | (own & hidden)
            self._audiences[seen] = found
        return found

    def docs_with(self, field: str, values: Sequence[Any]) -> set[int]:
        """The docs whose ``field`` is one of ``values`` (agency and topic numbers from
        ``agency_no`` / ``group_no``, tag numbers from ``tag_numbers``)."""
        index: dict[Any, set[int]] = {
            "organization": self.by_agency, "groups": self.by_group, "tags": self.by_tag,
            "res_format": self.by_format, "license_id": self.by_license,
        }[field]
        return set().union(*(index.get(v, ()) for v in values))

    def docs_by_name(self, names: Iterable[str]) -> set[int]:
        return {self.by_name[n] for n in names if n in self.by_name}

    def docs_by_id(self, ids: Iterable[uuid.UUID]) -> set[int]:
        return {self.doc_of[i.hex] for i in ids if i.hex in self.doc_of}

    def docs_in_states(self, states: Iterable[str], private: Iterable[bool] = (False, True)) -> set[int]:
        wanted = list(private)
        return set().union(*(self.by_class.get((s, p), ()) for s in states for p in wanted))

    def tag_numbers(self, folded: Iterable[str]) -> list[int]:
        return list(chain.from_iterable(self.tags_by_folded.get(f, ()) for f in folded))

    def between(self, docs: Iterable[int], field: str, low: int | None, high: int | None,
                low_inclusive: bool = True, high_inclusive: bool = True) -> set[int]:
        """The docs whose ``metadata_modified`` / ``metadata_created`` (``microseconds``) lie
        within the bounds (``None`` = open)."""
        values = self.modified if field == "metadata_modified" else self.created
        lo = -(2**63) if low is None else low
        hi = 2**63 if high is None else high
        if low_inclusive and high_inclusive:
            return {d for d in docs if lo <= values[d] <= hi}
        return {
            d for d in docs
            if (lo <= values[d] if low_inclusive else lo < values[d]) and (values[d] <= hi if high_inclusive else values[d] < hi)
        }

    def word(self, word: str, prefix: bool) -> Word | None:
        """The postings of a query word, or None when no dataset has it."""
        if not prefix:
            found = self.postings.get(word)
            return Word([found]) if found else None
        terms = self.sorted_terms
        first = bisect.bisect_left(terms, word)
        last = bisect.bisect_left(terms, word[:-1] + chr(ord(word[-1]) + 1), first)
        maps = [self.postings[t] for t in terms[first:last]]
        return Word(maps) if maps else None

    def sort_key(self, sort: Sort) -> Callable[[int], Any] | None:
        """A key function for ``sort`` (``metadata_modified``, ``metadata_created``,
        ``name``, ``title`` or ``id``, each with "descending?"; ``score`` and ``downloads``
        are the caller's, see ``sort_by_passes``) that ends with the id, then the doc
        (unique: an order can find each doc again). None when a text key is descending:
        text cannot be negated, and ``first`` then sorts by passes."""
        numbers = {"metadata_modified": self.modified, "metadata_created": self.created}
        texts = {"name": self.name, "title": self.title, "id": self.hex_ids}
        parts: list[Callable[[int], Any]] = []
        for field, descending in sort:
            if field in numbers:
                column = numbers[field]
                parts.append((lambda d, c=column: -c[d]) if descending else column.__getitem__)
            elif descending:
                return None
            else:
                parts.append(texts[field].__getitem__)
        hex_ids = self.hex_ids
        if not parts:
            return lambda d: (hex_ids[d], d)
        if len(parts) == 1:
            only = parts[0]
            return lambda d: (only(d), hex_ids[d], d)
        return lambda d: (*(part(d) for part in parts), hex_ids[d], d)

    def int_keys(self, sort: Sort) -> list[int] | None:
        """Per doc, one integer that orders like ``sort`` and then the id, when ``sort``
        has only dates and the id (None otherwise): the fields packed from the most
        significant bits, a descending one inverted, the id in the lowest 128 bits. Paging
        then compares plain integers (in C). Kept for the next search, extended as docs
        are added (``int_keys`` of a retired doc are never read)."""
        found = self._int_keys.get(sort)
        if found is None:
            if any(field not in ("metadata_modified", "metadata_created", "id") for field, _ in sort):
                return None
            found = self._int_keys[sort] = []
        if len(found) < len(self.hex_ids):
            columns = {"metadata_modified": self.modified, "metadata_created": self.created}
            for doc in range(len(found), len(self.hex_ids)):
                ident = int(self.hex_ids[doc], 16)
                key = 0
                for field, descending in sort:
                    if field == "id":
                        key = (key << 128) | ((_ID_MASK - ident) if descending else ident)
                    else:
                        value = columns[field][doc] + _DATE_OFFSET
                        key = (key << 64) | ((_DATE_MASK - value) if descending else value)
                found.append((key << 128) | ident)
        return found

    def first(self, docs: set[int] | list[int], sort: Sort, count: int) -> list[int]:
        """The first ``count`` of ``docs`` in the order ``sort``, ties by id. Many docs:
        walk the order of the sort, kept for the next search; few: select among their
        ``int_keys`` (or, with a text key, their key tuples)."""
        if len(docs) < DENSE * len(self.doc_of):
            ints = self.int_keys(sort)
            if ints is not None:
                keyed = map(ints.__getitem__, docs)
                chosen = heapq.nsmallest(count, keyed) if count * 8 < len(docs) else sorted(keyed)[:count]
                return [self.doc_of[format(k & _ID_MASK, "032x")] for k in chosen]
        key = self.sort_key(sort)
        if key is None:
            return self.sort_by_passes(list(docs), sort)[:count]
        if len(docs) >= DENSE * len(self.doc_of):
            order = self._orders.get(sort)
            if order is None:
                order = self._orders[sort] = _Order(key, self.doc_of.values())
            members = docs if isinstance(docs, set) else set(docs)
            return list(islice((d for d in order.docs if d in members), count))
        if count * 8 < len(docs):
            return heapq.nsmallest(count, docs, key=key)
        return sorted(docs, key=key)[:count]

    def sort_by_passes(self, docs: list[int], sort: Sort, extra: dict[str, dict[int, Any]] | None = None) -> list[int]:
        """Sort ``docs`` in place by any keys, also descending text: one stable sort per
        key (in C), the last key first, after a first sort by id (the final tie-break).
        ``extra`` holds per doc the values of keys the index does not keep (``score``,
        ``downloads``)."""
        columns: dict[str, Any] = {"metadata_modified": self.modified, "metadata_created": self.created, "name": self.name,
                                   "title": self.title, "id": self.hex_ids, **(extra or {})}
        docs.sort(key=self.hex_ids.__getitem__)
        for field, descending in reversed(sort):
            docs.sort(key=columns[field].__getitem__, reverse=descending)
        return docs

    def count(self, facet: str, docs: Iterable[int]) -> Counter[Any]:
        """How many of ``docs`` have each value of ``facet``: agency numbers, licence ids,
        tag numbers, topic numbers or formats (counted in C: ``Counter`` over ``map``)."""
        if facet == "organization":
            return Counter(map(self.agency.__getitem__, docs))
        if facet == "license_id":
            return Counter(map(self.license.__getitem__, docs))
        column = {"tags": self.tags, "groups": self.groups, "res_format": self.formats}[facet]
        return Counter(chain.from_iterable(map(column.__getitem__, docs)))  # type: ignore[attr-defined]

    def agency_names(self, session: Session) -> dict[str, tuple[str, str]]:
        """``{hex id: (code, Vietnamese name)}`` of every agency."""
        return self._named(session, "agencies")

    def topic_names(self, session: Session) -> dict[str, tuple[str, str]]:
        """``{hex id: (name, Vietnamese title)}`` of every topic."""
        return self._named(session, "topics")

    def licence_titles(self, session: Session) -> dict[str, str]:
        """``{licence id: Vietnamese title}``."""
        return self._named(session, "licences")

    def _named(self, session: Session, kind: str) -> Any:
        # Read on first use after any change: a change to an agency, topic or licence
        # moves the token too (``models.NAMES_CHANGED``).
        found = self._names.get(kind)
        if found is None:
            rows = session.connection().execute(getattr(self.sql, kind)).all()
            found = {r[0]: r[1] for r in rows} if kind == "licences" else {r[0]: (r[1], r[2]) for r in rows}
            self._names[kind] = found
        return found

    def hex_of(self, doc: int) -> str:
        return self.hex_ids[doc]


def scores(docs: list[int], words: list[Word]) -> list[int]:
    """Relevance of each of ``docs`` (which hold every word): for each query word the
    highest weight among the index terms it matched (title 4, tag 3, agency 2, other 1,
    as ``service.reindex`` weighs them), added up. Computed with ``map`` (in C)."""
    total: list[int] = [0] * len(docs)
    for word in words:
        if len(word.maps) == 1:
            found = list(map(word.maps[0].__getitem__, docs))
        else:
            found = list(map(max, *(map(m.get, docs, repeat(0)) for m in word.maps)))
        total = list(map(add, total, found))
    return total


_INDEXES: dict[str, DatasetIndex] = {}
_INDEXES_LOCK = threading.Lock()


def index_for(session: Session) -> DatasetIndex:
    """The index of the database ``session`` is bound to: one per database URL and
    process, created empty on first use. Use it as ``with index.lock:
    index.ensure_current(session)`` and the reads; the first call after a start loads
    every dataset."""
    key = session.get_bind().engine.url.render_as_string(hide_password=False)
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = DatasetIndex(postgresql=session.get_bind().dialect.name == "postgresql")
    return index
