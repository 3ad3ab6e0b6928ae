# SPDX-License-Identifier: AGPL-3.0-or-later
"""The personal-data guard: look for personal data in a resource before it is published.

Every column is scanned whole, in DuckDB, with regular expressions (RE2):

- **CCCD** (căn cước công dân): 12 digits whose first three are the code of the province
  where the birth was registered (``cccd_prefix`` in ``data/vn-provinces.csv``, from
  Thông tư 07/2016/TT-BCA); the 4th digit (century and sex) is 0-9. A 12-digit number
  with any other prefix is not a CCCD.
- **CMND** (old identity card): exactly 9 digits in a text column (a code kept as text,
  leading zeros and all), counted when the column header names an identity number or
  most of the column is such numbers. Nine-digit quantities in number columns are not.
- **Phone numbers**: mobile (+84/84/0 then 3[2-9], 5[25689], 7[06-9], 8[1-9], 9x and 7
  digits) and landline (0 + 2xx area code + 8 digits after the 2017 renumbering), with
  spaces, dots or dashes between digit groups.
- **E-mail addresses**; those at ``.gov.vn`` are reported as institutional (not blocking).
- **Name + date of birth**: a column that looks like Vietnamese full names (a common
  family name — including the Thái, Hmông and Dao names usual in Lai Châu — and 2-4
  words) together with a date column whose header says birth, or whose values are dates
  of people (between 1900 and 14 years ago).

The verdict is ``personal_data`` (publication must be blocked until an approver
overrides it), ``review`` (only institutional contacts or landlines) or ``clear``.
Blocking and overrides are the open-data portal's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dulieuso.datastore import query
from dulieuso.datastore.infer import literal, quote
from dulieuso.vntext import fold

DATA_DIR = Path(__file__).parent / "data"
THRESHOLD = 0.5  # share of a column's values that makes a weak pattern count

FAMILY_NAMES = (
    "nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đào đoàn "
    "vương trịnh trương lâm lương đinh mai cao hà tạ chu châu quách tô triệu thái kiều "
    "lò lường quàng tòng cầm điêu khoàng lù giàng sùng vàng thào lầu hầu mùa ly chảo tẩn "
    "phàn lục nông hứa lã mạc tăng la"
).split()

_MOBILE = r"(\+?84|0)(3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-9])[0-9]{7}"
_LANDLINE = r"(\+?84|0)2[0-9]{9}"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_ID_HEADER = re.compile(r"cmnd|cccd|chung minh|can cuoc|dinh danh|so giay to|identity|id card|passport|ho chieu")
_BIRTH_HEADER = re.compile(r"sinh|birth|dob|\bns\b")

VERDICT_CLEAR = "clear"
VERDICT_REVIEW = "review"
VERDICT_PERSONAL = "personal_data"


@dataclass(frozen=True)
class PiiFinding:
    """Personal data of one kind found in one column (or a pair, for name + birth date)."""

    kind: str  # cccd, cmnd, phone, landline, email, institutional_email, name_dob
    fields: tuple[str, ...]
    count: int
    share: float  # of the column's non-empty values
    examples: tuple[str, ...]  # masked
    blocking: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fields": list(self.fields),
            "count": self.count,
            "share": round(self.share, 4),
            "examples": list(self.examples),
            "blocking": self.blocking,
        }


@dataclass(frozen=True)
class PiiReport:
    verdict: str
    rows: int
    columns_scanned: int
    findings: list[PiiFinding] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return self.verdict == VERDICT_PERSONAL

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "blocking": self.blocking,
            "rows": self.rows,
            "columns_scanned": self.columns_scanned,
            "findings": [f.as_dict() for f in self.findings],
        }


@lru_cache
def cccd_prefixes() -> tuple[str, ...]:
    """The 3-digit CCCD province prefixes (63 pre-2025 provinces; they do not change
    when provinces merge)."""
    with (DATA_DIR / "vn-provinces.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(sorted({row["cccd_prefix"] for row in csv.DictReader(handle) if row["cccd_prefix"]}))


def mask(value: str, keep_start: int = 4, keep_end: int = 2) -> str:
    """``001234567834`` → ``0012******34``; e-mails keep the first letter and the domain."""
    value = value.strip()
    if "@" in value:
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_name(value: str) -> str:
    """``Nguyễn Văn An`` → ``N***** V** A*``."""
    return " ".join(w[:1] + "*" * (len(w) - 1) for w in value.split())


def _digits(expr: str) -> str:
    return f"regexp_replace({expr}, '[ .()-]', '', 'g')"


def scan(parquet_path: Path, *, today: dt.date | None = None) -> PiiReport:
    """Scan every column of a resource's Parquet file for personal data."""
    path = Path(parquet_path)
    columns = [c for c in query.columns(path) if c.id != "_id"]
    rows = query.row_count(path)
    findings: list[PiiFinding] = []
    text_columns = [c for c in columns if c.type in ("string", "integer")]
    prefixes = ", ".join(literal(p) for p in cccd_prefixes())
    family = "|".join(FAMILY_NAMES)
    name_pattern = f"^({family})( [^ 0-9]+){{1,3}}$"
    parts: list[str] = []
    for column in text_columns:
        v = f"NULLIF(trim(CAST({quote(column.id)} AS VARCHAR)), '')"
        d = _digits(v)
        twelve = f"regexp_extract({v}, '(^|[^0-9])([0-9]{{12}})([^0-9]|$)', 2)"
        parts += [
            f"count({v})",
            f"count(*) FILTER (WHERE {twelve} <> '' AND substr({twelve}, 1, 3) IN ({prefixes}))",
            f"count(*) FILTER (WHERE regexp_full_match({v}, '[0-9]{{9}}'))",
            f"count(*) FILTER (WHERE regexp_matches({d}, '(^|[^0-9+]){_MOBILE}([^0-9]|$)'))",
            f"count(*) FILTER (WHERE regexp_matches({d}, '(^|[^0-9+]){_LANDLINE}([^0-9]|$)'))",
            f"count(*) FILTER (WHERE regexp_matches({v}, '{_EMAIL}'))",
            f"count(*) FILTER (WHERE regexp_matches({v}, '{_EMAIL}') AND regexp_matches(lower({v}), '@[a-z0-9.-]*gov\\.vn'))",
            f"count(*) FILTER (WHERE regexp_full_match(lower({v}), '{name_pattern}'))",
        ]
    per = 8
    counts: tuple[Any, ...] = ()
    with query.cursor() as cur:
        if parts:
            found = cur.execute(f"SELECT {', '.join(parts)} FROM {query.relation(path)}").fetchone()
            counts = tuple(found or ())

        def examples(column: str, condition: str) -> tuple[str, ...]:
            got = cur.execute(
                f"SELECT DISTINCT CAST({quote(column)} AS VARCHAR) AS v FROM {query.relation(path)} "
                f"WHERE {condition} LIMIT 3"
            ).fetchall()
            return tuple(str(r[0]) for r in got)

        name_columns: list[tuple[str, int]] = []
        for i, column in enumerate(text_columns):
            present, cccd, nine, mobile, landline, email, gov_email, names = counts[i * per : (i + 1) * per]
            if not present:
                continue
            v = f"NULLIF(trim(CAST({quote(column.id)} AS VARCHAR)), '')"
            header = fold(column.id)
            if cccd:
                twelve = f"regexp_extract({v}, '(^|[^0-9])([0-9]{{12}})([^0-9]|$)', 2)"
                cond = f"{twelve} <> '' AND substr({twelve}, 1, 3) IN ({prefixes})"
                raw = examples(column.id, cond)
                masked = tuple(mask(re.search(r"\d{12}", x).group(0) if re.search(r"\d{12}", x) else x) for x in raw)
                findings.append(PiiFinding("cccd", (column.id,), cccd, cccd / present, masked, True))
            if nine and column.type == "string" and (_ID_HEADER.search(header) or nine / present >= THRESHOLD):
                raw = examples(column.id, f"regexp_full_match({v}, '[0-9]{{9}}')")
                findings.append(PiiFinding("cmnd", (column.id,), nine, nine / present, tuple(mask(x, 3, 2) for x in raw), True))
            if mobile and (column.type == "string" or mobile / present >= THRESHOLD):
                raw = examples(column.id, f"regexp_matches({_digits(v)}, '(^|[^0-9+]){_MOBILE}([^0-9]|$)')")
                findings.append(PiiFinding("phone", (column.id,), mobile, mobile / present, tuple(mask(x, 4, 3) for x in raw), True))
            if landline and (column.type == "string" or landline / present >= THRESHOLD):
                raw = examples(column.id, f"regexp_matches({_digits(v)}, '(^|[^0-9+]){_LANDLINE}([^0-9]|$)')")
                findings.append(PiiFinding("landline", (column.id,), landline, landline / present, tuple(mask(x, 4, 3) for x in raw), False))
            personal_email = email - gov_email
            if personal_email:
                cond = f"regexp_matches({v}, '{_EMAIL}') AND NOT regexp_matches(lower({v}), '@[a-z0-9.-]*gov\\.vn')"
                raw = examples(column.id, cond)
                findings.append(PiiFinding("email", (column.id,), personal_email, personal_email / present, tuple(mask(x) for x in raw), True))
            if gov_email:
                raw = examples(column.id, f"regexp_matches(lower({v}), '@[a-z0-9.-]*gov\\.vn')")
                findings.append(PiiFinding("institutional_email", (column.id,), gov_email, gov_email / present, tuple(mask(x) for x in raw), False))
            if names and names / present >= THRESHOLD and column.type == "string":
                name_columns.append((column.id, names))

        if name_columns:
            birth = _birth_columns(cur, path, columns, today or dt.date.today())
            for name_column, _count in name_columns:
                for birth_column in birth:
                    both = cur.execute(
                        f"SELECT count(*) FROM {query.relation(path)} "
                        f"WHERE {quote(name_column)} IS NOT NULL AND {quote(birth_column)} IS NOT NULL"
                    ).fetchone()
                    n = int(both[0]) if both else 0
                    if not n:
                        continue
                    raw = cur.execute(
                        f"SELECT {quote(name_column)}, CAST({quote(birth_column)} AS VARCHAR) FROM {query.relation(path)} "
                        f"WHERE {quote(name_column)} IS NOT NULL AND {quote(birth_column)} IS NOT NULL LIMIT 3"
                    ).fetchall()
                    shown = tuple(f"{mask_name(str(a))} / ****{str(b)[4:7] if len(str(b)) >= 10 else ''}**" for a, b in raw)
                    findings.append(PiiFinding("name_dob", (name_column, birth_column), n, n / max(rows, 1), shown, True))

    if any(f.blocking for f in findings):
        verdict = VERDICT_PERSONAL
    elif findings:
        verdict = VERDICT_REVIEW
    else:
        verdict = VERDICT_CLEAR
    return PiiReport(verdict, rows, len(columns), findings)


def _birth_columns(cur: Any, path: Path, columns: list[query.Column], today: dt.date) -> list[str]:
    """Date columns that hold birth dates: by header, or by values all within a life span."""
    found = []
    latest = today.replace(year=today.year - 14)
    for column in columns:
        header = fold(column.id)
        if column.type in ("date", "datetime"):
            if _BIRTH_HEADER.search(header):
                found.append(column.id)
                continue
            stats = cur.execute(
                f"SELECT min({quote(column.id)})::DATE, max({quote(column.id)})::DATE, "
                f"count(DISTINCT year({quote(column.id)})) FROM {query.relation(path)}"
            ).fetchone()
            if stats and stats[0] and stats[0] >= dt.date(1900, 1, 1) and stats[1] <= latest and stats[2] >= 5:
                found.append(column.id)
        elif column.type in ("string", "integer") and _BIRTH_HEADER.search(header) and re.search(r"ngay|nam|date|dob|birth", header):
            found.append(column.id)
    return found
