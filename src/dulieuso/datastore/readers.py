# SPDX-License-Identifier: AGPL-3.0-or-later
"""Turning XLSX, JSON and GeoJSON uploads into a UTF-8 CSV that the CSV path loads.

CSV and TSV are read by DuckDB directly. The other formats go through Python (openpyxl,
json) into a plain CSV in the work folder, so that type inference, validation and the
Parquet writer are the same code for every format.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dulieuso.errors import Invalid
from dulieuso.i18n import Msg

Progress = Callable[[float], None]


@dataclass
class TextSource:
    """A UTF-8 delimited text file ready for DuckDB, and what is known about it."""

    path: Path
    delimiter: str | None = None  # None: let DuckDB's sniffer find it
    header: bool | None = None  # None: detect
    skip: int = 0
    first_data_row: int = 2  # row number (1-based, as people count) of the first data row
    line_offset: int = 0  # added to a line number of ``path`` to give the source's row number
    labels: list[str] | None = None
    notices: list[Msg] = field(default_factory=list)
    extra_fields: dict[str, dict[str, Any]] = field(default_factory=dict)


def invalid(message: Msg, *, kind: str, row: int | None = None, field_name: str | None = None) -> Invalid:
    """An ``Invalid`` error that says where in the file the problem is."""
    error = {
        "type": kind,
        "rowNumber": row,
        "fieldName": field_name,
        "message": message.vi,
        "message_en": message.en,
    }
    return Invalid(message, code="ingest_failed", extra={"errors": [error]})


# --------------------------------------------------------------------------- XLSX


def check_zip(path: Path, *, max_uncompressed: int, max_ratio: float, max_members: int = 10_000) -> None:
    """Refuse corrupt ZIPs and zip bombs before any parser opens the file."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError):
        raise invalid(
            Msg("The XLSX file is damaged or truncated (not a valid ZIP archive)."), kind="source-error"
        ) from None
    if len(infos) > max_members:
        raise invalid(Msg("The XLSX file has too many parts ({count}).", count=len(infos)), kind="source-error")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > max_uncompressed:
        raise invalid(
            Msg(
                "The XLSX file unpacks to {size} MB, more than the limit of {limit} MB.",
                size=total // 1_000_000,
                limit=max_uncompressed // 1_000_000,
            ),
            kind="source-error",
        )
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise invalid(
                Msg(
                    "The XLSX file looks like a zip bomb: part {name} is compressed {ratio}:1.",
                    name=info.filename,
                    ratio=int(info.file_size / max(info.compress_size, 1)),
                ),
                kind="source-error",
            )
    if packed and total > max_ratio * packed and total > 10_000_000:
        raise invalid(
            Msg(
                "The XLSX file looks like a zip bomb: part {name} is compressed {ratio}:1.",
                name="*",
                ratio=int(total / packed),
            ),
            kind="source-error",
        )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return unicodedata.normalize("NFC", str(value))


def xlsx_to_csv(path: Path, target: Path, *, max_rows: int, max_columns: int, progress: Progress) -> TextSource:
    """The first worksheet as CSV. Title rows above the header (common in Vietnamese
    reports: "UBND TỈNH LAI CHÂU ...") are skipped: the header is the first of the top
    rows that is nearly as wide as the widest of them."""
    import openpyxl  # imported here: only XLSX uploads pay for it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise invalid(
            Msg("The XLSX file cannot be read: {reason}", reason=type(error).__name__), kind="source-error"
        ) from None
    try:
        sheet = next((ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"), None)
        if sheet is None:
            raise invalid(Msg("The XLSX file has no worksheet."), kind="source-error")
        rows = sheet.iter_rows(values_only=True)
        head: list[tuple[Any, ...]] = []
        for row in rows:
            head.append(row)
            if len(head) >= 30:
                break
        widths = [sum(1 for v in row if v not in (None, "")) for row in head]
        if not head or max(widths, default=0) == 0:
            raise invalid(Msg("The file is empty."), kind="source-error")
        widest = max(widths)
        header_index = next(i for i, w in enumerate(widths) if w >= max(1, 0.6 * widest))
        header_row = head[header_index]
        last = max(i for i, v in enumerate(header_row) if v not in (None, "")) + 1
        labels = [_cell_text(v).strip() for v in header_row[:last]]
        if len(labels) > max_columns:
            raise invalid(
                Msg("The file has {count} columns; the limit is {limit}.", count=len(labels), limit=max_columns),
                kind="source-error",
            )
        source = TextSource(target, delimiter=",", header=True, first_data_row=header_index + 2,
                            line_offset=header_index, labels=labels)
        if header_index:
            source.notices.append(Msg("Skipped {count} title rows above the header.", count=header_index))

        def data_rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
            for offset, row in enumerate(head[header_index + 1 :]):
                yield header_index + 2 + offset, row
            number = len(head) + 1
            for row in rows:
                yield number, row
                number += 1

        written = 0
        pending_blank = 0
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(labels)
            for number, row in data_rows():
                cells = [_cell_text(v) for v in row]
                if not any(cells):
                    pending_blank += 1
                    continue
                for extra_index in range(last, len(cells)):
                    if cells[extra_index]:
                        raise invalid(
                            Msg(
                                "Row {row} has a value in column {column}, beyond the {count} columns of the header.",
                                row=number,
                                column=extra_index + 1,
                                count=last,
                            ),
                            kind="extra-cell",
                            row=number,
                        )
                for _ in range(pending_blank):
                    writer.writerow([""] * last)
                pending_blank = 0
                cells = (cells + [""] * last)[:last]
                writer.writerow(cells)
                written += 1
                if written > max_rows:
                    raise invalid(
                        Msg("The file has more than {limit} rows.", limit=max_rows), kind="source-error"
                    )
                if written % 20_000 == 0:
                    progress(min(0.9, written / max(1, sheet.max_row or written)))
        return source
    finally:
        workbook.close()


# --------------------------------------------------------------------------- JSON


def _flatten(record: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _json_text(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return _cell_text(value)


def _records_to_csv(records: Iterable[dict[str, Any]], target: Path) -> list[str]:
    flat = [dict(_flatten(r)) for r in records]
    columns: dict[str, None] = {}
    for record in flat:
        for key in record:
            columns.setdefault(key, None)
    labels = list(columns)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(labels)
        for record in flat:
            writer.writerow([_json_text(record.get(c)) for c in labels])
    return labels


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid(
            Msg(
                "The JSON is not valid at line {line}, column {column}: {reason}",
                line=error.lineno,
                column=error.colno,
                reason=error.msg,
            ),
            kind="source-error",
            row=error.lineno,
        ) from None


def json_to_csv(text: str, target: Path, *, max_rows: int) -> TextSource:
    """An array of objects, or ``{"data": [...]}``: nested objects become dotted
    columns ("address.city"), arrays are kept as JSON text."""
    data = _load_json(text)
    if isinstance(data, dict) and data.get("type") in ("FeatureCollection", "Feature"):
        return geojson_to_csv(data, target, max_rows=max_rows)
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise invalid(
            Msg('The JSON must be an array of objects, or an object with a "data" array.'), kind="source-error"
        )
    if len(data) > max_rows:
        raise invalid(Msg("The file has more than {limit} rows.", limit=max_rows), kind="source-error")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise invalid(
                Msg("Item {row} of the JSON array is not an object.", row=index + 1),
                kind="source-error",
                row=index + 1,
            )
    labels = _records_to_csv(data, target)
    source = TextSource(target, delimiter=",", header=True, first_data_row=1, line_offset=-1, labels=labels)
    if any(isinstance(v, dict) and v for r in data[:1000] for v in r.values()):
        source.notices.append(Msg("Nested JSON objects were flattened into columns named like address.city."))
    return source


# --------------------------------------------------------------------------- GeoJSON


def _coords(points: Any) -> str:
    return ", ".join(" ".join(repr(float(c)) if not float(c).is_integer() else str(int(c)) for c in p) for p in points)


def wkt(geometry: dict[str, Any] | None) -> str:
    """Well-Known Text of a GeoJSON geometry."""
    if not geometry:
        return ""
    kind = geometry.get("type")
    c = geometry.get("coordinates")
    if kind == "Point":
        return f"POINT ({_coords([c])})"
    if kind == "LineString":
        return f"LINESTRING ({_coords(c)})"
    if kind == "Polygon":
        return "POLYGON (" + ", ".join(f"({_coords(ring)})" for ring in c) + ")"
    if kind == "MultiPoint":
        return "MULTIPOINT (" + ", ".join(f"({_coords([p])})" for p in c) + ")"
    if kind == "MultiLineString":
        return "MULTILINESTRING (" + ", ".join(f"({_coords(line)})" for line in c) + ")"
    if kind == "MultiPolygon":
        return "MULTIPOLYGON (" + ", ".join(
            "(" + ", ".join(f"({_coords(ring)})" for ring in poly) + ")" for poly in c
        ) + ")"
    if kind == "GeometryCollection":
        return "GEOMETRYCOLLECTION (" + ", ".join(wkt(g) for g in geometry.get("geometries", [])) + ")"
    raise ValueError(kind)


def geojson_to_csv(data: Any, target: Path, *, max_rows: int, geometry: str = "wkt") -> TextSource:
    """Feature properties as columns, plus a ``geometry`` column (WKT, or GeoJSON text)."""
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise invalid(Msg("The GeoJSON must be a FeatureCollection."), kind="source-error")
    features = data["features"]
    if len(features) > max_rows:
        raise invalid(Msg("The file has more than {limit} rows.", limit=max_rows), kind="source-error")
    records = []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise invalid(
                Msg("Feature {row} of the GeoJSON is not a Feature.", row=index + 1), kind="source-error", row=index + 1
            )
        props = dict(feature.get("properties") or {})
        try:
            shape = feature.get("geometry")
            props["geometry"] = wkt(shape) if geometry == "wkt" else json.dumps(shape, ensure_ascii=False)
        except (ValueError, TypeError, KeyError):
            raise invalid(
                Msg("Feature {row} of the GeoJSON has a geometry that cannot be read.", row=index + 1),
                kind="source-error",
                row=index + 1,
            ) from None
        records.append(props)
    labels = _records_to_csv(records, target)
    source = TextSource(target, delimiter=",", header=True, first_data_row=1, line_offset=-1, labels=labels)
    source.extra_fields["geometry"] = {
        "description": "WKT" if geometry == "wkt" else "GeoJSON",
        "format": geometry,
    }
    return source
