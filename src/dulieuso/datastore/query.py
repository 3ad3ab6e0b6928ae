# SPDX-License-Identifier: AGPL-3.0-or-later
"""Reading a resource's Parquet data with DuckDB: CKAN's ``datastore_search`` and
``datastore_search_sql``.

``search`` builds its SQL itself from checked field names and bound parameters, and runs
on a cursor of one shared in-memory DuckDB database (cursors are cheap, one per call, so
calls from many threads do not share state; DuckDB caches Parquet metadata across them).

``search_sql`` runs SQL that a member of the public wrote, so it gets a fresh database
per call in which only the named resources exist (as views), DuckDB's access to files
and the network is switched off and the configuration is locked, the statement is
parsed by DuckDB's own parser and refused unless it is one SELECT over those views, and
a timer interrupts it at the time limit.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import duckdb

from dulieuso.datastore import sorted_copies
from dulieuso.datastore.infer import literal, quote
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

DEFAULT_LIMIT = 100
MAX_LIMIT = 32000
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")

#: DuckDB type -> (Frictionless type, CKAN datastore type)
_TYPES = {
    "BIGINT": ("integer", "int"),
    "INTEGER": ("integer", "int"),
    "HUGEINT": ("integer", "int"),
    "SMALLINT": ("integer", "int"),
    "TINYINT": ("integer", "int"),
    "UBIGINT": ("integer", "int"),
    "DOUBLE": ("number", "numeric"),
    "FLOAT": ("number", "numeric"),
    "DECIMAL": ("number", "numeric"),
    "BOOLEAN": ("boolean", "bool"),
    "DATE": ("date", "date"),
    "TIMESTAMP": ("datetime", "timestamp"),
    "TIMESTAMP WITH TIME ZONE": ("datetime", "timestamp"),
    "VARCHAR": ("string", "text"),
}


def _type_of(duck_type: str) -> tuple[str, str]:
    base = duck_type.split("(")[0].upper()
    return _TYPES.get(base, ("string", "text"))


@dataclass(frozen=True)
class Column:
    id: str
    duck_type: str

    @property
    def type(self) -> str:
        """Frictionless type name."""
        return _type_of(self.duck_type)[0]

    @property
    def ckan_type(self) -> str:
        return _type_of(self.duck_type)[1]


# --------------------------------------------------------------------------- connections


@lru_cache(maxsize=1)
def _database() -> duckdb.DuckDBPyConnection:
    """The process's read-side DuckDB database (in memory; it only reads Parquet)."""
    con = duckdb.connect(":memory:")
    con.execute("LOAD parquet")
    return con


def new_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to the shared database; the caller closes it. Use it to stream a
    result across ``yield``s (the next chunk may be asked for from another thread)."""
    cur = _database().cursor()
    # Per-connection settings. Versions never change in place, so caching Parquet
    # footers is safe; it halves the time of a small search on a big file.
    cur.execute("SET enable_progress_bar = false")
    cur.execute("SET parquet_metadata_cache = true")
    return cur


_local = threading.local()


@contextmanager
def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """This thread's connection to the shared database, made once per thread (making one
    costs milliseconds). Fetch everything before leaving the ``with`` block."""
    cur = getattr(_local, "cursor", None)
    if cur is None:
        cur = _local.cursor = new_cursor()
    yield cur


def relation(parquet_path: Path) -> str:
    """SQL for a resource's rows with CKAN's ``_id`` (the row's position, from 1)."""
    return (
        f"(SELECT file_row_number + 1 AS _id, * EXCLUDE (file_row_number) "
        f"FROM read_parquet({literal(str(parquet_path))}, file_row_number = true))"
    )


_schema_lock = threading.Lock()
_schemas: OrderedDict[tuple[str, int], list[Column]] = OrderedDict()


def columns(parquet_path: Path) -> list[Column]:
    """The columns of a Parquet file, ``_id`` first (cached: versions never change)."""
    path = Path(parquet_path)
    key = (str(path), path.stat().st_mtime_ns)
    with _schema_lock:
        if key in _schemas:
            _schemas.move_to_end(key)
            return _schemas[key]
    with cursor() as cur:
        described = cur.execute(f"DESCRIBE SELECT * FROM {relation(path)}").fetchall()
    found = [Column(str(row[0]), str(row[1])) for row in described]
    with _schema_lock:
        _schemas[key] = found
        while len(_schemas) > 512:
            _schemas.popitem(last=False)
    return found


def row_count(parquet_path: Path) -> int:
    """Rows in the file, from the Parquet footer (no scan; cached per version)."""
    path = Path(parquet_path)
    return _row_count(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=1024)
def _row_count(path: str, _mtime_ns: int) -> int:
    with cursor() as cur:
        found = cur.execute(f"SELECT sum(num_rows) FROM parquet_file_metadata({literal(path)})").fetchone()
    return int(found[0] or 0) if found else 0


def _dictionary_info(parquet_path: Path, dictionary: Sequence[Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    if dictionary is None:
        sidecar = Path(parquet_path).with_suffix(".json")
        try:
            dictionary = json.loads(sidecar.read_text(encoding="utf-8")).get("dictionary") or []
        except (OSError, ValueError):
            dictionary = []
    info: dict[str, dict[str, Any]] = {}
    for entry in dictionary or []:
        field_id = str(entry.get("id", ""))
        info[field_id] = {
            "label": entry.get("label", ""),
            "notes": entry.get("description", ""),
            "type_override": "",
        }
    return info


def info(
    parquet_path: Path, *, resource_id: str | None = None, dictionary: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """CKAN ``datastore_info``: ``{meta: {id, count, size, table_type, aliases}, fields:
    [{id, type, info?}]}`` (``_id`` is not listed, as in CKAN)."""
    path = Path(parquet_path)
    described = _dictionary_info(path, dictionary)
    fields = []
    for column in columns(path):
        if column.id == "_id":
            continue
        entry: dict[str, Any] = {"id": column.id, "type": column.ckan_type}
        if column.id in described:
            entry["info"] = described[column.id]
        fields.append(entry)
    meta = {"id": resource_id, "count": row_count(path), "size": path.stat().st_size,
            "table_type": "BASE TABLE", "aliases": []}
    return {"meta": meta, "fields": fields}


# --------------------------------------------------------------------------- values


def json_value(value: Any) -> Any:
    """A DuckDB value as JSON: ISO dates, no NaN."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def _unknown_field(name: str, where: str) -> Invalid:
    return Invalid(
        Msg("Field \"{field}\" does not exist in this resource.", field=name),
        code="unknown_field",
        fields={where: [Msg("Field \"{field}\" does not exist in this resource.", field=name)]},
    )


def _convert(column: Column, value: Any) -> Any:
    """A filter value (often a string from a query string) as the column's type."""
    if value is None:
        return None
    kind = column.type
    text = str(value).strip()
    try:
        if kind == "integer":
            if isinstance(value, bool):
                raise ValueError
            return int(value) if isinstance(value, int) else int(text)
        if kind == "number":
            return float(value) if isinstance(value, (int, float)) else float(text.replace(",", "."))
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if text.lower() in ("true", "1", "yes", "có"):
                return True
            if text.lower() in ("false", "0", "no", "không"):
                return False
            raise ValueError
        if kind == "date":
            if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
                day, month, year = (int(p) for p in text.split("/"))
                return dt.date(year, month, day)
            return dt.date.fromisoformat(text[:10])
        if kind == "datetime":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except (ValueError, TypeError):
        msg = Msg("The value \"{value}\" is not a valid {type} for field \"{field}\".", value=text[:100], type=kind, field=column.id)
        raise Invalid(msg, code="invalid_filter", fields={column.id: [msg]}) from None
    return text if not isinstance(value, str) else value


_SORT = re.compile(
    r'^\s*(?:"(?P<quoted>[^"]+)"|(?P<plain>.+?))(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*$',
    re.IGNORECASE,
)


def parse_sort(sort: str | Sequence[str] | None, known: Mapping[str, Column]) -> list[str]:
    """``"f1, f2 desc"`` (CKAN's form; names may hold spaces or be "quoted") → SQL."""
    if not sort:
        return []
    parts = [p for p in (sort.split(",") if isinstance(sort, str) else list(sort)) if p.strip()]
    clauses = []
    for part in parts:
        match = _SORT.match(part)
        if not match:
            raise _unknown_field(part.strip(), "sort")
        name = (match["quoted"] or match["plain"] or "").strip()
        if name not in known:
            raise _unknown_field(name, "sort")
        direction = (match["dir"] or "asc").upper()
        nulls = f" NULLS {match['nulls'].upper()}" if match["nulls"] else " NULLS LAST"
        clauses.append(f"{quote(name)} {direction}{nulls}")
    return clauses


def _fold_sql(expr: str) -> str:
    """Diacritic- and case-folding in SQL, the same as ``vntext.fold``."""
    return f"lower(strip_accents(replace(replace({expr}, 'đ', 'd'), 'Đ', 'D')))"


# --------------------------------------------------------------------------- counts

_count_lock = threading.Lock()
_counts: OrderedDict[tuple[Any, ...], int] = OrderedDict()


def _cached_count(key: tuple[Any, ...]) -> int | None:
    with _count_lock:
        if key in _counts:
            _counts.move_to_end(key)
            return _counts[key]
    return None


#: Exact counts kept per (version, filters); 0 turns the cache off.
COUNT_CACHE_SIZE = 4096


def _store_count(key: tuple[Any, ...], value: int) -> None:
    if not COUNT_CACHE_SIZE:
        return
    with _count_lock:
        _counts[key] = value
        while len(_counts) > COUNT_CACHE_SIZE:
            _counts.popitem(last=False)


# --------------------------------------------------------------------------- result cache

#: Pages of up to this many rows are kept, for this many recent searches. A version never
#: changes, so a page read from it stays right until the version is gone. 0 turns it off.
RESULT_CACHE_ROWS = 1000
RESULT_CACHE_SIZE = 256
_rows_lock = threading.Lock()
_rows_cache: OrderedDict[tuple[Any, ...], list[tuple[Any, ...]]] = OrderedDict()


def _cached_rows(
    cur: duckdb.DuckDBPyConnection, path: Path, select: str, params: list[Any], fast: Any = None
) -> list[tuple[Any, ...]]:
    """The rows of ``select``: from the cache, else from ``fast()`` (an access path that
    returns the same rows, or None when it cannot), else from DuckDB."""
    key = (str(path), path.stat().st_mtime_ns, select, tuple(map(repr, params)))
    if RESULT_CACHE_SIZE:
        with _rows_lock:
            if key in _rows_cache:
                _rows_cache.move_to_end(key)
                return _rows_cache[key]
    rows = fast() if fast is not None else None
    if rows is None:
        rows = cur.execute(select, params).fetchall()
    if RESULT_CACHE_SIZE and len(rows) <= RESULT_CACHE_ROWS:
        with _rows_lock:
            _rows_cache[key] = rows
            while len(_rows_cache) > RESULT_CACHE_SIZE:
                _rows_cache.popitem(last=False)
    return rows


# --------------------------------------------------------------------------- sorted copies

#: Below this many rows a sort over the whole file is cheap enough.
PROJECTION_MIN_ROWS = 500_000
_building: set[Path] = set()
_building_lock = threading.Lock()
_builder: ThreadPoolExecutor | None = None


def projection_path(parquet_path: Path, order: Sequence[str]) -> Path:
    """Where the copy of a version sorted by ``order`` (SQL clauses) lives: beside the
    version, named after it, so that pruning the version removes it too."""
    digest = hashlib.sha1("|".join(order).encode()).hexdigest()[:12]
    return sorted_copies.path_for(Path(parquet_path), digest)


def prepare_sort(parquet_path: Path, sort: str | Sequence[str]) -> Path:
    """Write the sorted copy that makes ``search(..., sort=sort)`` fast on big resources
    (the role an index plays in SQLite; see ``sorted_copies``). Versions never change,
    so the copy stays valid until the version is pruned. Call it after an ingest for the
    sorts a resource's page offers; ``search`` also builds one in the background the
    first time it needs it."""
    path = Path(parquet_path)
    known = {c.id: c for c in columns(path)}
    order = parse_sort(sort, known) + ['"_id" ASC']
    target = projection_path(path, order)
    if target.exists():
        return target
    texts = [c.id for c in known.values() if c.duck_type == "VARCHAR"]
    cur = new_cursor()  # its own: this thread's cursor may hold a result not yet read
    try:
        sorted_copies.write(cur, relation(path), order, texts, target)
    finally:
        cur.close()
    # The same sort's copy in the former format (Parquet), which nothing reads any more.
    target.with_suffix(".parquet").unlink(missing_ok=True)
    return target


def text_path(parquet_path: Path) -> Path:
    """Where the folded full-text column of a version lives (beside it, pruned with it)."""
    path = Path(parquet_path)
    return path.with_name(f"{path.stem}.text.parquet")


def prepare_text(parquet_path: Path) -> Path | None:
    """Write the version's full-text column: its text fields joined and folded
    (lower case, no diacritics), one row per row of the version, in the same order.
    ``search(q=...)`` then matches words against this one column instead of folding
    every text value of every row on every search (35-70x faster on 10 M rows). Built in
    the background on first use for big resources; None when there is no text field."""
    path = Path(parquet_path)
    texts = [c for c in columns(path) if c.type == "string"]
    if not texts:
        return None
    target = text_path(path)
    if target.exists():
        return target
    joined = _fold_sql("concat_ws(' ', " + ", ".join(quote(c.id) for c in texts) + ")")
    tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
    with cursor() as cur:
        cur.execute(
            f"COPY (SELECT {joined} AS _text FROM read_parquet({literal(str(path))})) "
            f"TO {literal(str(tmp))} (FORMAT parquet)"
        )
    os.replace(tmp, target)
    return target


def _build_later(target: Path, build_it: Any) -> None:
    """Run ``build_it()`` once in the background (a sorted copy, a text column)."""
    global _builder
    with _building_lock:
        if target in _building:
            return
        _building.add(target)
        if _builder is None:
            _builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datastore-sort")

    def build() -> None:
        try:
            build_it()
        except (OSError, ValueError, duckdb.Error):  # pyarrow's errors are ValueErrors
            pass  # the plain query keeps working; the next search tries again
        finally:
            with _building_lock:
                _building.discard(target)

    _builder.submit(build)


# --------------------------------------------------------------------------- search


def search(
    parquet_path: Path,
    *,
    filters: Mapping[str, Any] | None = None,
    q: str | Mapping[str, str] | None = None,
    fields: str | Sequence[str] | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    include_total: bool = True,
    total_estimation_threshold: int | None = None,
    records_format: str = "objects",
    distinct: bool = False,
    links_base: str | None = None,
    resource_id: str | None = None,
    dictionary: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """CKAN ``datastore_search`` over one Parquet file. Returns CKAN's result dict:
    ``fields [{id, type, info?}], records, total, total_was_estimated, limit, offset,
    filters, _links {start, next}`` (``_links`` only with ``links_base``, the URL of this
    search without ``offset``, e.g. ``/api/3/action/datastore_search?resource_id=x``).

    ``filters`` maps field → value or list of values (equality, OR within a list);
    ``q`` is full text, diacritic- and case-insensitive, over all text fields (a string)
    or per field (a dict); ``sort`` is ``"f1, f2 desc"``; ``limit`` ≤ 32000 (default
    100). Unknown fields or bad values raise ``Invalid`` naming the field.
    ``include_total=False`` skips counting; without filters the total comes from the
    Parquet footer; with filters it is counted (cached per version) or, with
    ``total_estimation_threshold`` and more rows than that, estimated from a 10% sample.
    """
    path = Path(parquet_path)
    all_columns = columns(path)
    known = {c.id: c for c in all_columns}
    if limit is None:
        limit = DEFAULT_LIMIT
    limit = int(limit)
    offset = int(offset or 0)
    if limit < 0 or offset < 0:
        msg = Msg("limit and offset must not be negative.")
        raise Invalid(msg, code="invalid_paging", fields={"limit" if limit < 0 else "offset": [msg]})
    limit = min(limit, MAX_LIMIT)
    if records_format not in RECORDS_FORMATS:
        msg = Msg("records_format must be one of: {formats}.", formats=", ".join(RECORDS_FORMATS))
        raise Invalid(msg, code="invalid_format", fields={"records_format": [msg]})

    if fields:
        names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else [str(f) for f in fields]
        for name in names:
            if name not in known:
                raise _unknown_field(name, "fields")
        selected = [known[n] for n in names if n]
    else:
        selected = all_columns

    where: list[str] = []
    params: list[Any] = []
    conditions: list[sorted_copies.Condition] = []
    for name, value in (filters or {}).items():
        if name not in known:
            raise _unknown_field(name, "filters")
        column = known[name]
        values = value if isinstance(value, (list, tuple, set)) else [value]
        converted = [_convert(column, v) for v in values]
        non_null = [v for v in converted if v is not None]
        conditions.append(
            sorted_copies.Condition(name, column.duck_type, tuple(non_null), len(non_null) < len(converted))
        )
        clause = []
        if non_null:
            clause.append(f"{quote(name)} IN ({', '.join('?' for _ in non_null)})")
            params.extend(non_null)
        if len(non_null) < len(converted):
            clause.append(f"{quote(name)} IS NULL")
        where.append("(" + " OR ".join(clause or ["false"]) + ")")

    text_columns = [c for c in all_columns if c.type == "string"]
    source = relation(path)
    full_text = False
    if isinstance(q, Mapping):
        for name, text in q.items():
            if name not in known:
                raise _unknown_field(name, "q")
            for word in fold(str(text)).split():
                where.append(f"contains({_fold_sql(f'CAST({quote(name)} AS VARCHAR)')}, ?)")
                params.append(word)
    elif q and str(q).strip():
        if text_columns:
            full_text = True
            haystack = _fold_sql("concat_ws(' ', " + ", ".join(quote(c.id) for c in text_columns) + ")")
            folded = text_path(path)
            if folded.exists():
                # The version's folded text, joined row by row (same order, same count).
                source = (
                    f"(SELECT v.*, t._text FROM {relation(path)} AS v "
                    f"POSITIONAL JOIN read_parquet({literal(str(folded))}) AS t)"
                )
                haystack = "_text"
            elif row_count(path) >= PROJECTION_MIN_ROWS:
                _build_later(folded, lambda: prepare_text(path))
            for word in fold(str(q)).split():
                where.append(f"contains({haystack}, ?)")
                params.append(word)
        else:
            where.append("false")

    sort_clauses = parse_sort(sort, known)
    # _id breaks ties, so that paging through equal values is stable (as in CKAN).
    order = sort_clauses + ['"_id" ASC'] if not distinct else sort_clauses
    select_list = ", ".join(quote(c.id) for c in selected)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    base = f"FROM {source}{condition}"
    select = f"SELECT {'DISTINCT ' if distinct else ''}{select_list} {base}"
    if distinct and order:
        select = f"SELECT * FROM ({select}) ORDER BY {', '.join(order)}"
    elif not sort_clauses:
        # The default order is _id, which is the file's order: no ORDER BY, so DuckDB
        # (which keeps insertion order) stops reading at the first ``limit`` matches.
        pass
    elif order:
        select = f"{select} ORDER BY {', '.join(order)}"
    select += f" LIMIT {limit} OFFSET {offset}"

    fast: Any = None
    count_copy: Any = None
    if sort_clauses and not distinct and not q:
        # A big resource sorted on a column: the copy sorted that way answers the
        # equality filters from its first record batches, and counts their matches
        # (``sorted_copies``); full text and what the copy cannot answer exactly go to
        # DuckDB.
        sorted_copy = projection_path(path, order)
        if row_count(path) >= PROJECTION_MIN_ROWS and not sorted_copy.exists():
            _build_later(sorted_copy, lambda: prepare_sort(path, sort or []))
        wanted = [(c.id, c.duck_type) for c in selected]
        fast = partial(sorted_copies.first_rows, sorted_copy, conditions, wanted, offset, limit)
        count_copy = partial(sorted_copies.count, sorted_copy, conditions)

    total: int | None = None
    estimated = False
    with cursor() as cur:
        rows = _cached_rows(cur, path, select, params, fast) if limit else []
        if include_total:
            if not where and not distinct:
                total = row_count(path)
            else:
                key = (str(path), path.stat().st_mtime_ns, base, tuple(map(str, params)), distinct, select_list if distinct else "")
                total = _cached_count(key)
                if total is None:
                    full = row_count(path)
                    if total_estimation_threshold is not None and full > total_estimation_threshold and not distinct:
                        sampled = cur.execute(
                            f"SELECT count(*) FROM (SELECT * FROM {source} USING SAMPLE 10 PERCENT (system, 11))"
                            + (f" WHERE {' AND '.join(where)}" if where else ""),
                            params,
                        ).fetchone()
                        total = int((sampled[0] if sampled else 0) * 10)
                        estimated = True
                    elif count_copy is not None and (found := count_copy()) is not None:
                        total = found
                        _store_count(key, total)
                    else:
                        count_sql = (
                            f"SELECT count(*) FROM (SELECT DISTINCT {select_list} {base})"
                            if distinct
                            else f"SELECT count(*) {base}"
                        )
                        counted = cur.execute(count_sql, params).fetchone()
                        total = int(counted[0]) if counted else 0
                        _store_count(key, total)

    info = _dictionary_info(path, dictionary)
    result_fields = []
    for column in selected:
        entry: dict[str, Any] = {"id": column.id, "type": column.ckan_type}
        if column.id in info:
            entry["info"] = info[column.id]
        result_fields.append(entry)
    records = _format_records(rows, [c.id for c in selected], records_format, selected)

    result: dict[str, Any] = {
        "include_total": include_total,
        "limit": limit,
        "offset": offset,
        "records_format": records_format,
        "fields": result_fields,
        "records": records,
        "filters": dict(filters or {}),
        "total_was_estimated": estimated,
    }
    if resource_id is not None:
        result["resource_id"] = resource_id
    if q:
        result["q"] = q
    if sort:
        result["sort"] = sort
    if include_total:
        result["total"] = total
    if links_base is not None:
        separator = "&" if "?" in links_base else "?"
        result["_links"] = {
            "start": links_base,
            "next": f"{links_base}{separator}offset={offset + limit}",
        }
    return result


def _as_json_column(column: Column | None, values: Sequence[Any]) -> Sequence[Any]:
    """One column's values as JSON values (a column at a time: a request's 100 rows x 8
    fields cost one loop per field that needs converting, not a call per value)."""
    kind = column.type if column is not None else ""
    if kind in ("integer", "string", "boolean"):
        return values  # as DuckDB returns them
    if kind in ("date", "datetime"):
        return [v.isoformat() if isinstance(v, dt.date) else json_value(v) for v in values]
    if kind == "number":
        return [v if type(v) is float and math.isfinite(v) else json_value(v) for v in values]
    return [json_value(v) for v in values]


def _format_records(
    rows: Sequence[tuple[Any, ...]], names: Sequence[str], records_format: str, kinds: Sequence[Column] | None = None
) -> Any:
    if records_format in ("objects", "lists"):
        if not rows:
            return []
        columns = list(zip(*rows, strict=True))
        converted = [_as_json_column(kinds[i] if kinds is not None else None, col) for i, col in enumerate(columns)]
        if records_format == "objects":
            return [dict(zip(names, row, strict=True)) for row in zip(*converted, strict=True)]
        return [list(row) for row in zip(*converted, strict=True)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t" if records_format == "tsv" else ",", lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else json_value(v) for v in row])
    return buffer.getvalue()


# --------------------------------------------------------------------------- search_sql

#: Functions that read the host's state or files even with external access off.
_DENIED_FUNCTIONS = frozenset(
    {
        "current_setting", "getenv", "read_text", "read_blob", "read_csv", "read_csv_auto",
        "read_parquet", "read_json", "read_json_auto", "read_ndjson", "glob", "query",
        "query_table", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
        "parquet_kv_metadata", "sniff_csv", "duckdb_settings", "duckdb_extensions",
        "duckdb_secrets", "which_secret", "install_extension", "load_extension",
        "set_config", "pragma_version", "current_database", "current_schema", "version",
    }
)
_ALLOWED_REFS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY", "EMPTY_FROM"})


def _sql_refused(reason: Msg) -> Invalid:
    return Invalid(reason, code="sql_refused", fields={"sql": [reason]})


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_sql(sql: str, allowed: Sequence[str]) -> str:
    """Refuse anything but one SELECT over the ``allowed`` views; return its text."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise _sql_refused(Msg("The SQL is not valid: {reason}", reason=str(error).splitlines()[0][:300])) from None
    if len(statements) != 1:
        raise _sql_refused(Msg("Send exactly one SQL statement (found {count}).", count=len(statements)))
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise _sql_refused(Msg("Only SELECT queries are allowed."))
    query = statement.query.strip().rstrip(";").strip()
    with duckdb.connect(":memory:") as con:
        tree_row = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    tree = json.loads(tree_row[0]) if tree_row else {"error": True}
    if tree.get("error"):
        raise _sql_refused(Msg("The SQL is not valid: {reason}", reason=str(tree.get("error_message", ""))[:300]))
    allowed_lower = {a.lower() for a in allowed}
    ctes = {
        str(entry.get("key", "")).lower()
        for node in _walk(tree)
        for entry in (node.get("cte_map", {}) or {}).get("map", []) or []
        if isinstance(entry, dict)
    }
    for node in _walk(tree):
        kind = node.get("type")
        if node.get("class") == "FUNCTION" or kind == "TABLE_FUNCTION":
            function = node.get("function", node) if kind == "TABLE_FUNCTION" else node
            name = str(function.get("function_name", "")).lower() if isinstance(function, dict) else ""
            if kind == "TABLE_FUNCTION":
                raise _sql_refused(Msg("Table functions such as {name}() are not allowed; query the resources by their id.", name=name or "?"))
            if name in _DENIED_FUNCTIONS:
                raise _sql_refused(Msg("The function {name}() is not allowed.", name=name))
        if "table_name" in node and kind == "BASE_TABLE":
            name = str(node.get("table_name", "")).lower()
            if node.get("schema_name") or node.get("catalog_name") or (name not in allowed_lower and name not in ctes):
                raise _sql_refused(Msg("Table \"{table}\" is not a datastore resource you can query.", table=node.get("table_name")))
        elif kind and "query_location" in node and "alias" in node and "sample" in node and kind not in _ALLOWED_REFS:
            raise _sql_refused(Msg("This kind of table reference ({kind}) is not allowed.", kind=str(kind)))
    return query


def search_sql(
    sql: str,
    *,
    tables: Mapping[str, Path],
    timeout_s: float = 5.0,
    max_rows: int = MAX_LIMIT,
) -> dict[str, Any]:
    """CKAN ``datastore_search_sql``: ``{fields, records, records_truncated?}``.

    ``tables`` maps each resource id the caller may read to its Parquet file; each
    becomes a view of that name (with ``_id``). Refused with ``Invalid`` (field ``sql``):
    more than one statement, anything but SELECT, other tables, table functions
    (``read_csv``, ``read_parquet``, ``glob`` ...), and reading settings or the
    environment. The query is interrupted after ``timeout_s`` seconds.
    """
    query = check_sql(sql, list(tables))
    con = duckdb.connect(
        ":memory:",
        config={"memory_limit": "1GB", "autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    con.execute("SET enable_progress_bar = false")
    try:
        for name, path in tables.items():
            con.execute(f"CREATE VIEW {quote(name)} AS SELECT * FROM {relation(Path(path))}")
        paths = ", ".join(literal(str(Path(p))) for p in tables.values())
        con.execute(f"SET allowed_paths = [{paths}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        timer = threading.Timer(timeout_s, con.interrupt)
        timer.start()
        try:
            result = con.execute(f"SELECT * FROM ({query}) AS q LIMIT {int(max_rows) + 1}")
            description = result.description or []
            rows = result.fetchall()
        except duckdb.InterruptException:
            msg = Msg("The query took longer than {seconds} seconds and was stopped.", seconds=timeout_s)
            raise Invalid(msg, code="query_timeout", fields={"sql": [msg]}) from None
        except duckdb.Error as error:
            msg = Msg("The query failed: {reason}", reason=str(error).splitlines()[0][:300])
            raise Invalid(msg, code="query_failed", fields={"sql": [msg]}) from None
        finally:
            timer.cancel()
    finally:
        con.close()
    names = [d[0] for d in description]
    fields = [{"id": d[0], "type": _type_of(str(d[1]))[1]} for d in description]
    truncated = len(rows) > max_rows
    records = [{n: json_value(v) for n, v in zip(names, row, strict=True)} for row in rows[:max_rows]]
    out: dict[str, Any] = {"sql": sql, "fields": fields, "records": records}
    if truncated:
        out["records_truncated"] = True
    return out
