# SPDX-License-Identifier: AGPL-3.0-or-later
"""Column types: proposed from a sample, held to the whole file by DuckDB.

A sample (the first rows plus slices from all across the file) proposes a type per
column, in Python (:func:`propose`). The ingest's ``COPY`` then converts every value with
SQL that *fails* on a value that does not fit (:meth:`ColumnType.copy_expression`), or
lets DuckDB's CSV reader parse the column natively and reject such rows with their line.
Either way a text value in row 900,000 is caught: the column becomes wider (integer →
number) or text, with a warning that names the rows (:func:`odd_rows`), and the
``COPY`` runs again. :func:`verify_converted` is the slow path that finds which columns
failed (``count(TRY_CAST(...))`` against ``count(value)`` over the whole file).

Types are Frictionless names: integer, number, boolean, date, datetime, string.
Vietnamese formats: dates dd/mm/yyyy (also dd-mm-yyyy, dd.mm.yyyy), numbers with a
decimal comma and dot thousands ("1.234,5"); English thousands ("1,234.5") too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import duckdb

SAMPLE_HEAD = 2000
SAMPLE_RANDOM = 3000
MOSTLY = 0.9  # a column this much of one type, with a few odd values, gets a warning

TRUE_WORDS: Final = ("true", "yes", "có", "đúng")
FALSE_WORDS: Final = ("false", "no", "không", "sai")

# Python mirrors of the SQL checks, used on the sample only.
_INT = re.compile(r"[+-]?(0|[1-9]\d{0,17})")
_NUM_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NUM_VI = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")
_NUM_EN = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")
_LEADING_ZERO = re.compile(r"[+-]?0\d")
_DATE_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_DATETIME_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_DMY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
_DMY_TIME = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})[ T]\d{1,2}:\d{2}(:\d{2})?")

SQL_TYPES: Final = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "string": "VARCHAR",
}


def quote(name: str) -> str:
    """A DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass
class ColumnType:
    """The type chosen for one column, and how to convert its text to it."""

    type: str = "string"
    format: dict[str, str] = field(default_factory=dict)

    def expression(self, column: str) -> str:
        """SQL turning the raw text column into this type (NULL where it cannot)."""
        # No trim(): TRY_CAST already ignores surrounding spaces, and trim() over every
        # value of every column costs more than the rest of the check.
        v = f"NULLIF({quote(column)}, '')"
        kind = self.type
        if kind == "string":
            return v
        if kind == "boolean":
            trues = ", ".join(literal(w) for w in TRUE_WORDS)
            falses = ", ".join(literal(w) for w in FALSE_WORDS)
            return (
                f"CASE WHEN lower({v}) IN ({trues}) THEN true "
                f"WHEN lower({v}) IN ({falses}) THEN false END"
            )
        if kind in ("integer", "number"):
            target = SQL_TYPES[kind]
            style = self.format.get("style", "plain")
            if style == "vi":
                pattern = r"[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?"
                clean = f"replace(replace({v}, '.', ''), ',', '.')"
            elif style == "en":
                pattern = r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?"
                clean = f"replace({v}, ',', '')"
            elif kind == "integer":
                # DuckDB casts "12.5" to the integer 13: refuse a decimal point instead.
                return f"CASE WHEN contains({v}, '.') THEN NULL ELSE TRY_CAST({v} AS BIGINT) END"
            else:
                return f"TRY_CAST({v} AS {target})"
            return (
                f"CASE WHEN regexp_full_match({v}, {literal(pattern)}) "
                f"THEN TRY_CAST({clean} AS {target}) END"
            )
        if kind == "date":
            fmt = self.format.get("pattern")
            if fmt:
                return f"CAST(try_strptime({v}, {literal(fmt)}) AS DATE)"
            return f"CASE WHEN length({v}) <= 12 THEN TRY_CAST({v} AS DATE) END"
        if kind == "datetime":
            fmt = self.format.get("pattern")
            if fmt:
                formats = [fmt + " %H:%M:%S", fmt + " %H:%M"]
                listed = ", ".join(literal(f) for f in formats)
                return f"try_strptime({v}, [{listed}])"
            return f"TRY_CAST({v} AS TIMESTAMP)"
        raise ValueError(kind)

    @property
    def native(self) -> str | None:
        """The DuckDB type the CSV reader parses this column as directly (ISO dates, plain
        numbers, true/false), or None when the text needs our SQL expression. Integers
        are read as DOUBLE (the reader would round "12.5" to 13) and checked in SQL."""
        if self.format or self.type == "string":
            return None
        return "DOUBLE" if self.type == "integer" else SQL_TYPES[self.type]

    def copy_expression(self, column: str) -> str:
        """SQL for the Parquet ``COPY``: like :meth:`expression`, but a value that does
        not convert raises an error (which sends the ingest down the slow, checking
        path) instead of silently becoming NULL."""
        if self.type == "string":
            return self.expression(column)
        c = quote(column)
        if self.native == "DOUBLE" and self.type == "integer":
            return (
                f"CASE WHEN {c} <> trunc({c}) OR abs({c}) >= 9007199254740992 "
                f"THEN error('not an integer: ' || {c}) ELSE CAST({c} AS BIGINT) END"
            )
        if self.native:
            return c
        expr = self.expression(column)
        return f"CASE WHEN NULLIF({c}, '') IS NOT NULL AND ({expr}) IS NULL THEN error('cannot convert: ' || {c}) ELSE {expr} END"

    def leading_zero_check(self, column: str) -> str | None:
        """SQL counting values with leading zeros ("007"): codes, kept as text."""
        if self.type not in ("integer", "number"):
            return None
        v = f"NULLIF({quote(column)}, '')"
        # A prefix test, not a regular expression: this runs over every value.
        return (
            f"count(*) FILTER (WHERE starts_with(ltrim({v}, '+-'), '0') "
            f"AND substr(ltrim({v}, '+-'), 2, 1) BETWEEN '0' AND '9')"
        )


def _dmy_pattern(values: Sequence[str], regex: re.Pattern[str]) -> str | None:
    """The strptime pattern for day-first (or, with proof, month-first) dates."""
    separator = None
    day_first_proof = month_first_proof = False
    for value in values:
        match = regex.fullmatch(value)
        if not match:
            return None
        first, sep, second = int(match[1]), match[2], int(match[3])
        if separator not in (None, sep):
            return None
        separator = sep
        if first > 12:
            day_first_proof = True
        if second > 12:
            month_first_proof = True
    if separator is None or (day_first_proof and month_first_proof):
        return None
    if month_first_proof:
        return f"%m{separator}%d{separator}%Y"
    return f"%d{separator}%m{separator}%Y"


def propose(values: Sequence[str]) -> tuple[ColumnType, float]:
    """The narrowest type all sample ``values`` fit, or string; with the share of the
    values that fit the best non-string type (for the "mostly" warning)."""
    values = [v.strip() for v in values if v is not None and v.strip()]
    if not values:
        return ColumnType("string"), 0.0
    n = len(values)
    leading_zero = any(_LEADING_ZERO.match(v) and not v.lstrip("+-").startswith("0.") for v in values)
    candidates: list[tuple[ColumnType, float]] = []
    if not leading_zero:
        ints = sum(1 for v in values if _INT.fullmatch(v))
        candidates.append((ColumnType("integer"), ints / n))
        plain = sum(1 for v in values if _NUM_PLAIN.fullmatch(v))
        candidates.append((ColumnType("number"), plain / n))
        has_comma = any("," in v for v in values)
        if has_comma:
            vi = sum(1 for v in values if _NUM_VI.fullmatch(v))
            en = sum(1 for v in values if _NUM_EN.fullmatch(v))
            # "1,234,567" proves English grouping; otherwise a comma is the decimal mark.
            english = any(v.count(",") > 1 for v in values) or any("." in v and "," in v and v.index(",") < v.index(".") for v in values)
            if english:
                candidates.append((ColumnType("number", {"style": "en", "groupChar": ",", "decimalChar": "."}), en / n))
            else:
                candidates.append((ColumnType("number", {"style": "vi", "groupChar": ".", "decimalChar": ","}), vi / n))
        elif any(v.count(".") > 1 for v in values):
            vi = sum(1 for v in values if _NUM_VI.fullmatch(v))
            candidates.append((ColumnType("integer", {"style": "vi", "groupChar": "."}), vi / n))
    lowered = [v.lower() for v in values]
    bools = sum(1 for v in lowered if v in TRUE_WORDS or v in FALSE_WORDS)
    plain_bools = all(v in ("true", "false") for v in lowered)
    candidates.append((ColumnType("boolean", {} if plain_bools else {"style": "words"}), bools / n))
    iso_dates = sum(1 for v in values if _DATE_ISO.fullmatch(v))
    candidates.append((ColumnType("date"), iso_dates / n))
    iso_times = sum(1 for v in values if _DATETIME_ISO.fullmatch(v))
    candidates.append((ColumnType("datetime"), iso_times / n))
    dmy = [v for v in values if _DMY.fullmatch(v)]
    if dmy:
        pattern = _dmy_pattern(dmy, _DMY)
        if pattern:
            candidates.append((ColumnType("date", {"pattern": pattern}), len(dmy) / n))
    dmy_t = [v for v in values if _DMY_TIME.fullmatch(v)]
    if dmy_t:
        pattern = _dmy_pattern([v.split()[0].split("T")[0] for v in dmy_t], _DMY)
        if pattern:
            candidates.append((ColumnType("datetime", {"pattern": pattern}), len(dmy_t) / n))
    best_share = max((share for _, share in candidates), default=0.0)
    for candidate, share in candidates:
        if share == 1.0:
            return candidate, 1.0
    return ColumnType("string"), best_share


def _best_partial(values: Sequence[str]) -> ColumnType | None:
    """The type that most of the sample fits (numbers or dates), to find the odd rows."""
    values = [v.strip() for v in values if v is not None and v.strip()]
    fitting = [
        v
        for v in values
        if _NUM_PLAIN.fullmatch(v) or _NUM_VI.fullmatch(v) or _DATE_ISO.fullmatch(v) or _DMY.fullmatch(v)
    ]
    if not fitting:
        return None
    candidate, share = propose(fitting)
    return candidate if share == 1.0 and candidate.type != "string" else None


def propose_all(
    columns: Sequence[str], sample_rows: Sequence[Sequence[str | None]]
) -> tuple[dict[str, ColumnType], dict[str, ColumnType]]:
    """Proposed types from the sample, and for text columns that were mostly of another
    type, that type (to find the odd rows in the whole file)."""
    chosen: dict[str, ColumnType] = {}
    mostly: dict[str, ColumnType] = {}
    for index, column in enumerate(columns):
        values = [row[index] for row in sample_rows if index < len(row) and row[index] is not None]
        candidate, share = propose(values)
        chosen[column] = candidate
        if candidate.type == "string" and share >= MOSTLY:
            partial = _best_partial(values)
            if partial is not None:
                mostly[column] = partial
    return chosen, mostly


def verify_converted(
    con: duckdb.DuckDBPyConnection, relation: str, chosen: dict[str, ColumnType]
) -> dict[str, tuple[ColumnType, float]]:
    """Check every typed column over the whole file (the slow path, taken when the fast
    ``COPY`` met a value that does not convert). An integer column with decimals becomes
    a number; other failing columns become text. Returns the columns that became text,
    with the type they were meant to have and the share of values that had it."""
    failed: dict[str, tuple[ColumnType, float]] = {}
    pending = [c for c, k in chosen.items() if k.type != "string"]
    if not pending:
        return failed
    parts: list[str] = []
    for column in pending:
        parts.append(f"count(NULLIF({quote(column)}, ''))")
        parts.append(f"count({chosen[column].expression(column)})")
        parts.append(f"count(TRY_CAST(NULLIF({quote(column)}, '') AS DOUBLE))")
    counts = con.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchone()
    assert counts is not None
    for i, column in enumerate(pending):
        present, converted, as_double = counts[3 * i : 3 * i + 3]
        if converted == present:
            continue
        kind = chosen[column]
        if kind.type == "integer" and not kind.format and as_double == present:
            chosen[column] = ColumnType("number")
            continue
        failed[column] = (kind, converted / present if present else 0.0)
        chosen[column] = ColumnType("string")
    return failed


def odd_rows(
    con: duckdb.DuckDBPyConnection, relation: str, column: str, wanted: ColumnType, limit: int = 5
) -> list[tuple[int, str]]:
    """The first values of ``column`` that are not of type ``wanted``: (0-based data row,
    value). Only run when a column fell back to text."""
    expr = wanted.expression(column)
    rows = con.execute(
        f"SELECT n, v FROM (SELECT row_number() OVER () - 1 AS n, {quote(column)} AS v, "
        f"({expr}) AS typed FROM {relation}) "
        f"WHERE NULLIF(trim(v), '') IS NOT NULL AND typed IS NULL ORDER BY n LIMIT {limit}"
    ).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]
