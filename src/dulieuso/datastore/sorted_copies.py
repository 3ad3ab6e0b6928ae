# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sorted copies of a version: the access path of sorted searches on big resources.

A sorted copy holds all the rows of one version, ``_id`` included, in the order of one
sort (ties broken by ``_id``), as an uncompressed Arrow IPC file (Feather v2) beside the
version. It is memory-mapped, so reading a row costs a page fault at most, not the
decoding of a Parquet row group: ``first_rows`` evaluates a search's equality filters
over the filter columns a record batch at a time, stops once it has ``offset + limit``
matches, and then takes only those rows, only in the requested fields. This is what an
index on (filter, sort) gives SQLite, for any filter column.

Text columns with few distinct values (districts, communes, categories: the columns
people filter on) are stored as codes into one dictionary per column, so a filter
compares small integers; ``count`` counts a search's matches over those codes (or over
fixed-width columns) in one vectorised pass, 5-10x faster than DuckDB re-reading the
Parquet file.

The copy is written once (by ``query.prepare_sort``) and never changed, like the version
it comes from; pruning the version removes it (its name starts with the version's).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dulieuso.datastore.infer import quote

#: Rows per record batch of a sorted copy: the unit of work of a search. 100 matches
#: of a filter that keeps 1 row in 8 lie in the first batch.
BATCH_ROWS = 16384

#: Text columns with at most this many distinct values are stored as int16 codes.
DICTIONARY_MAX = 32767

#: DuckDB column type -> the Arrow types a copy may hold for it. Only these columns are
#: served from a copy: their values compare (``=``, ``IN``, ``IS NULL``) and come back
#: (Python ``int``, ``float``, ``bool``, ``date``, naive ``datetime``, ``str``) exactly as
#: DuckDB's. The types ingest writes are all here; anything else goes to DuckDB.
_ARROW_TYPES: dict[str, tuple[pa.DataType, ...]] = {
    "BIGINT": (pa.int64(),),
    "INTEGER": (pa.int32(),),
    "DOUBLE": (pa.float64(),),
    "BOOLEAN": (pa.bool_(),),
    "DATE": (pa.date32(),),
    "TIMESTAMP": (pa.timestamp("us"),),
    "VARCHAR": (pa.string(), pa.large_string(), pa.string_view()),
}


def _serves(kind: pa.DataType | None, duck_type: str) -> bool:
    if kind is not None and pa.types.is_dictionary(kind):
        return duck_type == "VARCHAR" and kind.value_type in _ARROW_TYPES["VARCHAR"]
    return kind in _ARROW_TYPES.get(duck_type, ())


def path_for(parquet_path: Path, digest: str) -> Path:
    """The copy's file: ``v3.sorted-<digest>.arrow`` beside ``v3.parquet``."""
    path = Path(parquet_path)
    return path.with_name(f"{path.stem}.sorted-{digest}.arrow")


def _dictionaries(cur: duckdb.DuckDBPyConnection, source: str, texts: Sequence[str]) -> dict[str, pa.Array]:
    """The distinct values of each text column that has few of them."""
    if not texts:
        return {}
    estimate = ", ".join(f"approx_count_distinct({quote(name)})" for name in texts)
    counts = cur.sql(f"SELECT {estimate} FROM {source}").fetchall()[0]
    found = {}
    for name, estimated in zip(texts, counts, strict=True):
        if estimated > DICTIONARY_MAX:
            continue
        column = quote(name)
        values = cur.sql(
            f"SELECT DISTINCT {column} FROM {source} WHERE {column} IS NOT NULL ORDER BY 1"
        ).to_arrow_table().column(0).combine_chunks()
        if len(values) <= DICTIONARY_MAX:  # the estimate can be a little low
            found[name] = values
    return found


def write(cur: duckdb.DuckDBPyConnection, source: str, order: Sequence[str], texts: Sequence[str], target: Path) -> None:
    """Write the rows of ``source`` (SQL of a relation) sorted by ``order`` to
    ``target``, streamed a batch at a time (memory stays bounded whatever the size),
    the ``texts`` columns with few distinct values as dictionary codes; then rename the
    file into place. ``cur`` must have no pending result."""
    tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
    try:
        dictionaries = _dictionaries(cur, source, texts)
        reader = cur.sql(f"SELECT * FROM {source} ORDER BY {', '.join(order)}").to_arrow_reader(BATCH_ROWS)
        schema = reader.schema
        coded = {}
        for name, dictionary in dictionaries.items():
            index = schema.get_field_index(name)
            coded[index] = dictionary
            schema = schema.set(index, pa.field(name, pa.dictionary(pa.int16(), dictionary.type)))
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for batch in reader:  # of BATCH_ROWS rows, the last one excepted
                if coded:
                    arrays = list(batch.columns)
                    for index, dictionary in coded.items():
                        codes = pc.index_in(arrays[index], value_set=dictionary).cast(pa.int16())
                        arrays[index] = pa.DictionaryArray.from_arrays(codes, dictionary)
                    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
                writer.write_batch(batch)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- open copies


@dataclass(frozen=True)
class _Copy:
    batches: tuple[pa.RecordBatch, ...]
    types: Mapping[str, pa.DataType]
    #: Each column's values over the whole copy (its batches' buffers, nothing copied);
    #: the codes, for a dictionary-coded column.
    columns: Mapping[str, pa.ChunkedArray]


_open_lock = threading.Lock()
_open: OrderedDict[tuple[str, int], _Copy] = OrderedDict()
#: Copies kept mapped (a mapping costs address space, not memory: the kernel pages the
#: file in and out). A pruned copy's disk space is freed when it leaves this cache.
OPEN_COPIES = 32


def _opened(path: Path) -> _Copy | None:
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None
    with _open_lock:
        found = _open.get(key)
        if found is not None:
            _open.move_to_end(key)
            return found
    # Reading a memory-mapped, uncompressed IPC file copies nothing: the batches point
    # into the mapping (and keep it alive). Batches are immutable; threads share them.
    table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    batches = tuple(table.to_batches())
    columns = {}
    for field in table.schema:
        coded = pa.types.is_dictionary(field.type)
        chunks = [batch.column(field.name).indices if coded else batch.column(field.name) for batch in batches]
        columns[field.name] = pa.chunked_array(chunks, type=field.type.index_type if coded else field.type)
    opened = _Copy(batches, {f.name: f.type for f in table.schema}, columns)
    with _open_lock:
        _open[key] = opened
        while len(_open) > OPEN_COPIES:
            _open.popitem(last=False)
    return opened


def forget() -> None:
    """Unmap every copy (tests; a process that wants the disk space of pruned copies)."""
    with _open_lock:
        _open.clear()


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Condition:
    """``column IN (values) OR column IS NULL`` (the latter when ``with_null``)."""

    column: str
    duck_type: str
    values: tuple[Any, ...]
    with_null: bool


def _exact(value: Any) -> bool:
    """Whether Arrow compares a filter value the way DuckDB does."""
    if isinstance(value, float):
        return not math.isnan(value)  # DuckDB finds NaN equal to NaN, Arrow does not
    if isinstance(value, dt.datetime):
        return value.tzinfo is None  # DuckDB's TIMESTAMP compares naive times
    return True


class _Matcher:
    """One condition, its values converted once to the column's Arrow type (to codes,
    for a dictionary-coded column). Masks are null where SQL's answer is NULL;
    ``indices_nonzero`` and ``sum`` skip those, as WHERE does."""

    def __init__(self, condition: Condition, copy: _Copy) -> None:
        self.column = condition.column
        kind = copy.types[condition.column]
        self.coded = pa.types.is_dictionary(kind)
        self.with_null = condition.with_null
        values: Sequence[Any] = condition.values
        if self.coded and values:
            dictionary = copy.batches[0].column(condition.column).dictionary
            codes = pc.index_in(pa.array(values, type=kind.value_type), value_set=dictionary)
            values = [c for c in codes.to_pylist() if c is not None]  # absent values match nothing
            kind = kind.index_type
        self.empty = not values and not condition.with_null
        self.scalars: list[pa.Scalar] = []
        self.value_set: pa.Array | None = None
        if len(values) == 1 or pa.types.is_floating(kind):
            # Floats compare as numbers (-0.0 = 0.0, as in DuckDB), not by is_in's bits.
            self.scalars = [pa.scalar(v, kind) for v in values]
        elif values:
            self.value_set = pa.array(values, type=kind)

    def values(self, batch: pa.RecordBatch) -> pa.Array:
        column = batch.column(self.column)
        return column.indices if self.coded else column

    def mask(self, values: pa.Array | pa.ChunkedArray) -> Any:
        parts = [pc.equal(values, scalar) for scalar in self.scalars]
        if self.value_set is not None:
            parts.append(pc.is_in(values, value_set=self.value_set))
        if self.with_null:
            parts.append(pc.is_null(values))
        mask = parts[0]
        for part in parts[1:]:
            mask = pc.or_kleene(mask, part)
        return mask


def first_rows(
    copy_path: Path,
    conditions: Sequence[Condition],
    fields: Sequence[tuple[str, str]],
    offset: int,
    limit: int,
) -> list[tuple[Any, ...]] | None:
    """Rows ``offset`` to ``offset + limit`` of the copy that meet all ``conditions``
    (AND), in the copy's order, as tuples of the ``fields`` ((name, DuckDB type)
    pairs): exactly what DuckDB returns for the same search. None when the copy cannot
    answer exactly (no copy yet, a type it does not serve, a value Arrow would compare
    differently from DuckDB): the caller asks DuckDB."""
    try:
        copy = _opened(copy_path)
    except (OSError, pa.ArrowException):
        return None  # pruned between two calls, or unreadable: DuckDB still answers
    if copy is None or not copy.batches:
        return None
    names = [name for name, _ in fields]
    wanted = [*fields, *((c.column, c.duck_type) for c in conditions)]
    for name, duck_type in wanted:
        if not _serves(copy.types.get(name), duck_type):
            return None
    if not all(_exact(v) for condition in conditions for v in condition.values):
        return None
    try:
        matchers = [_Matcher(c, copy) for c in conditions]
        if any(m.empty for m in matchers):
            return []
        skip = offset
        found: list[pa.RecordBatch] = []
        got = 0
        for batch in copy.batches:
            if matchers:
                mask = matchers[0].mask(matchers[0].values(batch))
                for matcher in matchers[1:]:
                    mask = pc.and_kleene(mask, matcher.mask(matcher.values(batch)))
                positions = pc.indices_nonzero(mask)
            else:
                positions = pa.array(range(min(batch.num_rows, skip + limit - got)), pa.int64())
            if skip >= len(positions):
                skip -= len(positions)
                continue
            positions = positions[skip : skip + limit - got]
            skip = 0
            found.append(batch.select(names).take(positions))
            got += len(positions)
            if got >= limit:
                break
    except (pa.ArrowException, OverflowError, TypeError):
        return None  # a filter value Arrow cannot hold in the column's type: ask DuckDB
    rows: list[tuple[Any, ...]] = []
    try:
        for part in found:
            rows.extend(zip(*(_values(column) for column in part.columns), strict=True))
    except (ValueError, OverflowError):
        return None  # a date outside Python's range: DuckDB says what it says about it
    return rows


def count(copy_path: Path, conditions: Sequence[Condition]) -> int | None:
    """How many rows of the copy meet all ``conditions`` (at least one), counted in one
    pass over their columns; None when DuckDB would do it better or differently (a plain
    text column, which DuckDB scans in parallel from the Parquet file; see
    ``first_rows``)."""
    if not conditions:
        return None
    try:
        copy = _opened(copy_path)
    except (OSError, pa.ArrowException):
        return None
    if copy is None or not copy.batches:
        return None
    for condition in conditions:
        kind = copy.types.get(condition.column)
        if not _serves(kind, condition.duck_type) or (condition.duck_type == "VARCHAR" and not pa.types.is_dictionary(kind)):
            return None
    if not all(_exact(v) for condition in conditions for v in condition.values):
        return None
    try:
        matchers = [_Matcher(c, copy) for c in conditions]
        if any(m.empty for m in matchers):
            return 0
        mask = matchers[0].mask(copy.columns[matchers[0].column])
        for matcher in matchers[1:]:
            mask = pc.and_kleene(mask, matcher.mask(copy.columns[matcher.column]))
        return int(pc.sum(mask).as_py() or 0)
    except (pa.ArrowException, OverflowError, TypeError):
        return None


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _values(column: pa.Array) -> list[Any]:
    """A column's values as Python values, the ones DuckDB returns. Dates and coded text
    are decoded here: pyarrow's own conversion of them is 3-10x slower than this."""
    if pa.types.is_dictionary(column.type):
        return column.dictionary.take(column.indices).to_pylist()
    if column.type == pa.date32():
        days = column.cast(pa.int32()).to_pylist()
        return [None if d is None else dt.date.fromordinal(d + _EPOCH_ORDINAL) for d in days]
    return column.to_pylist()
