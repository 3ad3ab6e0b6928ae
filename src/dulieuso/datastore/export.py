# SPDX-License-Identifier: AGPL-3.0-or-later
"""Streamed downloads of a resource (CSV, TSV, JSON, XLSX, Parquet) and the ZIP
"package" of a whole dataset with a Frictionless ``datapackage.json``.

Every exported CSV, TSV and XLSX cell of text that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe, so that a spreadsheet shows
it instead of running it as a formula (OWASP "CSV injection"). Numbers are numbers and
are left alone.

DuckDB writes CSV, TSV, JSON and Parquet to a work file with ``COPY`` (fast, constant
memory) and the file is streamed in chunks and removed; XLSX goes through openpyxl's
write-only mode.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from dulieuso.datastore import query
from dulieuso.datastore.infer import literal, quote
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg

CHUNK = 1 << 16
DUMP_FORMATS = ("csv", "tsv", "json", "xlsx")
EXPORT_FORMATS = ("csv", "tsv", "json", "xlsx", "parquet")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",
}
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """``=cmd|' /C calc'!A0`` → ``'=cmd|' /C calc'!A0``: shown, never run."""
    return "'" + value if value.startswith(_DANGEROUS) else value


def _neutralise_sql(expr: str) -> str:
    return f"CASE WHEN regexp_matches({expr}, '^[=+\\-@\\t\\r]') THEN '''' || {expr} ELSE {expr} END"


def _select(parquet_path: Path, include_id: bool, neutral: bool) -> str:
    parts = []
    for column in query.columns(parquet_path):
        if column.id == "_id" and not include_id:
            continue
        expr = quote(column.id)
        if neutral and column.type == "string":
            expr = f"{_neutralise_sql(expr)} AS {quote(column.id)}"
        parts.append(expr)
    return f"SELECT {', '.join(parts)} FROM {query.relation(parquet_path)} ORDER BY _id"


def _check(fmt: str, allowed: Sequence[str]) -> str:
    fmt = (fmt or "").lower()
    if fmt not in allowed:
        msg = Msg("The format {format} is not available (choose {formats}).", format=fmt, formats=", ".join(allowed))
        raise Invalid(msg, code="invalid_format", fields={"format": [msg]})
    return fmt


def _stream_file(path: Path, prefix: bytes = b"") -> Iterator[bytes]:
    try:
        if prefix:
            yield prefix
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def _work_file(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="dulieuso-export-")) / name


def dump(parquet_path: Path, format: str = "csv", *, bom: bool = False, include_id: bool = True) -> Iterator[bytes]:
    """CKAN's ``/datastore/dump/{id}?format=csv|tsv|json|xlsx&bom=true``, streamed.

    JSON is CKAN's dump shape, ``{"fields": [...], "records": [[...], ...]}``."""
    fmt = _check(format, DUMP_FORMATS)
    return _produce(Path(parquet_path), fmt, bom=bom, include_id=include_id, json_shape="ckan")


def export(parquet_path: Path, format: str = "csv", *, bom: bool = False) -> Iterator[bytes]:
    """A resource's data for download, without ``_id``: CSV, TSV, JSON (an array of
    objects), XLSX or Parquet. See ``MEDIA_TYPES`` for the content types."""
    fmt = _check(format, EXPORT_FORMATS)
    return _produce(Path(parquet_path), fmt, bom=bom, include_id=False, json_shape="objects")


def _produce(path: Path, fmt: str, *, bom: bool, include_id: bool, json_shape: str) -> Iterator[bytes]:
    # Validate before the first byte is sent: a generator would fail mid-response.
    query.columns(path)
    if fmt == "xlsx":
        return _xlsx(path, include_id)
    if fmt == "json" and json_shape == "ckan":
        return _ckan_json(path, include_id)
    target = _work_file(f"data.{fmt}")
    select = _select(path, include_id, neutral=fmt in ("csv", "tsv"))
    options = {
        "csv": "FORMAT csv, HEADER true",
        "tsv": "FORMAT csv, HEADER true, DELIMITER '\t'",
        "json": "FORMAT json, ARRAY true",
        "parquet": "FORMAT parquet",
    }[fmt]
    with query.cursor() as cur:
        cur.execute(f"COPY ({select}) TO {literal(str(target))} ({options})")
    prefix = b"\xef\xbb\xbf" if bom and fmt in ("csv", "tsv") else b""
    return _stream_file(target, prefix)


def _ckan_json(path: Path, include_id: bool) -> Iterator[bytes]:
    columns = [c for c in query.columns(path) if include_id or c.id != "_id"]
    fields = [{"id": c.id, "type": c.ckan_type} for c in columns]
    row = "json_array(" + ", ".join(quote(c.id) for c in columns) + ")::VARCHAR"
    select = f"SELECT {row} FROM {query.relation(path)} ORDER BY _id"

    def generate() -> Iterator[bytes]:
        yield b'{"fields": ' + json.dumps(fields, ensure_ascii=False).encode() + b', "records": ['
        first = True
        cur = query.new_cursor()  # kept across yields: not this thread's shared cursor
        try:
            result = cur.execute(select)
            while batch := result.fetchmany(10_000):
                text = ",\n".join(r[0] for r in batch)
                yield (b"\n" if first else b",\n") + text.encode()
                first = False
        finally:
            cur.close()
        yield b"\n]}\n"

    return generate()


def _xlsx(path: Path, include_id: bool) -> Iterator[bytes]:
    from openpyxl import Workbook  # only XLSX downloads pay for it
    from openpyxl.cell import WriteOnlyCell

    total = query.row_count(path)
    if total > XLSX_MAX_ROWS:
        msg = Msg("The data has {rows} rows, more than one Excel sheet holds; download CSV instead.", rows=total)
        raise Invalid(msg, code="too_many_rows", fields={"format": [msg]})
    columns = [c for c in query.columns(path) if include_id or c.id != "_id"]
    select = f"SELECT {', '.join(quote(c.id) for c in columns)} FROM {query.relation(path)} ORDER BY _id"
    target = _work_file("data.xlsx")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append([c.id for c in columns])
    with query.cursor() as cur:
        result = cur.execute(select)
        while batch := result.fetchmany(10_000):
            for row in batch:
                cells = []
                for value in row:
                    if isinstance(value, str):
                        # Stored as a string cell: openpyxl would otherwise turn "=..." into a formula.
                        cell = WriteOnlyCell(sheet, value=neutralise(value))
                        cell.data_type = "s"
                        cells.append(cell)
                    else:
                        cells.append(value)
                sheet.append(cells)
    workbook.save(str(target))
    return _stream_file(target)


# --------------------------------------------------------------------------- package


class _Sink:
    """A write-only file that hands over what was written (for a streamed ZIP)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _resource_schema(path: Path, dictionary: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    info = {str(d.get("id")): d for d in dictionary or []}
    fields = []
    for column in query.columns(path):
        if column.id == "_id":
            continue
        entry: dict[str, Any] = {"name": column.id, "type": column.type}
        described = info.get(column.id, {})
        if described.get("label"):
            entry["title"] = described["label"]
        if described.get("description"):
            entry["description"] = described["description"]
        fields.append(entry)
    return {"fields": fields}


def package_zip(
    dataset_meta: Mapping[str, Any],
    resources: Sequence[tuple[str, Path, Sequence[Mapping[str, Any]] | None]],
) -> Iterator[bytes]:
    """A ZIP of a dataset, streamed: ``data/<name>.csv`` for each resource and a
    Frictionless ``datapackage.json`` (tabular-data-package) describing them, with each
    file's size and SHA-256.

    ``dataset_meta`` holds ``name`` (slug), ``title``, ``description``, ``licenses``
    (``[{name, path, title}]``), ``version``, ``homepage``, ``keywords``... and is copied
    into the descriptor; ``resources`` are ``(name, parquet_path, dictionary)``."""
    for _, path, _dictionary in resources:
        query.columns(Path(path))  # fail before the first byte

    def generate() -> Iterator[bytes]:
        sink = _Sink()
        described = []
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
            for name, path, dictionary in resources:
                member = f"data/{name}.csv"
                digest = hashlib.sha256()
                size = 0
                with archive.open(member, "w", force_zip64=True) as out:
                    for chunk in export(Path(path), "csv"):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                        if sink.parts:
                            yield sink.take()
                described.append(
                    {
                        "name": name,
                        "path": member,
                        "profile": "tabular-data-resource",
                        "format": "csv",
                        "mediatype": "text/csv",
                        "encoding": "utf-8",
                        "bytes": size,
                        "hash": f"sha256:{digest.hexdigest()}",
                        "schema": _resource_schema(Path(path), dictionary),
                    }
                )
            descriptor = {"profile": "tabular-data-package", **dict(dataset_meta), "resources": described}
            archive.writestr("datapackage.json", json.dumps(descriptor, ensure_ascii=False, indent=2, default=str))
        yield sink.take()

    return generate()


def write_stream(chunks: Iterator[bytes], handle: IO[bytes]) -> int:
    """Write a stream to a file; return the bytes written (for tests and the CLI)."""
    total = 0
    for chunk in chunks:
        handle.write(chunk)
        total += len(chunk)
    return total
