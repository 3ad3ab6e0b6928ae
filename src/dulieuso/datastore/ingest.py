# SPDX-License-Identifier: AGPL-3.0-or-later
"""Ingestion: an uploaded CSV, TSV, XLSX, JSON or GeoJSON file becomes a new Parquet
version of a resource, with a validation report and a data dictionary.

The heavy lifting is DuckDB's: the file is loaded once as text, the types are checked
over whole columns with SQL (see ``infer.py``) and the typed Parquet file is written by
``COPY``. Python only looks at the first megabyte (binary check, encoding, header), and
transcodes legacy encodings to a UTF-8 work file when they are found.

Nothing is served until the new version is complete: see ``storage.py``. A failure,
an exception raised by the ``progress`` callback, or ``cancel`` being set leaves the
previous version as it was.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dulieuso.datastore import encodings, readers, storage
from dulieuso.datastore.infer import ColumnType, literal, odd_rows, propose_all, quote, verify_converted
from dulieuso.datastore.readers import TextSource, invalid
from dulieuso.errors import DomainError, Invalid
from dulieuso.i18n import Msg, N_

FORMATS = ("csv", "tsv", "xlsx", "json", "geojson")
HEAD_BYTES = 1 << 20

# Stage texts passed to ``progress``: msgids, render with ``Msg(stage)``.
STAGE_READING = N_("Reading the file")
STAGE_CONVERTING = N_("Converting the text encoding")
STAGE_LOADING = N_("Loading rows")
STAGE_TYPES = N_("Checking column types")
STAGE_WRITING = N_("Writing the data")
STAGE_PUBLISHING = N_("Publishing the new version")
STAGE_DONE = N_("Done")

#: How each type is named in messages ("Column X is mostly numbers, ...").
TYPE_NAMES = {
    "integer": N_("whole numbers"),
    "number": N_("numbers"),
    "boolean": N_("true/false values"),
    "date": N_("dates"),
    "datetime": N_("dates with times"),
    "string": N_("text"),
}

#: Frictionless type -> CKAN datastore type (``fields[].type`` in datastore_search).
CKAN_TYPES = {
    "integer": "int",
    "number": "numeric",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
    "string": "text",
}

_BINARY_MAGIC = {
    b"PK\x03\x04": "ZIP/XLSX",
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"\xd0\xcf\x11\xe0": "Excel 97-2003 (.xls) / OLE",
    b"GIF8": "GIF",
    b"\x1f\x8b": "GZIP",
    b"PAR1": "Parquet",
}


class Cancelled(Exception):
    """The ingest was cancelled; the previous version is still served."""


@dataclass(frozen=True)
class IngestLimits:
    """Limits on what one upload may be. The defaults suit a 2-core, 24 GB server."""

    max_bytes: int = 1_000_000_000
    max_rows: int = 50_000_000
    max_columns: int = 1_000
    xlsx_max_uncompressed: int = 500_000_000
    xlsx_max_ratio: float = 100.0
    json_max_bytes: int = 200_000_000
    memory_limit: str = "4GB"


@dataclass(frozen=True)
class Field:
    """One column of the data dictionary."""

    id: str
    type: str  # Frictionless: integer, number, boolean, date, datetime, string
    label: str
    description: str = ""
    format: dict[str, str] = field(default_factory=dict)

    @property
    def ckan_type(self) -> str:
        return CKAN_TYPES[self.type]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "label": self.label, "description": self.description}
        if self.format:
            data["format"] = dict(self.format)
        return data


@dataclass(frozen=True)
class IngestResult:
    """What an ingest produced. ``report`` is the Frictionless-shaped validation report."""

    version: int
    parquet_path: Path
    report_path: Path
    rows: int
    fields: list[Field]
    notices: list[Msg]
    report: dict[str, Any]
    encoding: str
    format: str
    seconds: float

    @property
    def dictionary(self) -> list[dict[str, Any]]:
        """The data dictionary: ``[{id, type, label, description, format?}]``."""
        return [f.as_dict() for f in self.fields]


def detect_format(filename: str, head: bytes, declared: str | None = None) -> str:
    """The upload's format from what the uploader said, the file name, then the bytes."""
    if declared:
        name = declared.lower().strip().lstrip(".")
        name = {"text/csv": "csv", "text/tab-separated-values": "tsv", "application/json": "json",
                "application/geo+json": "geojson", "xls": "xlsx"}.get(name, name)
        if name in FORMATS:
            return name
        raise Invalid(Msg("The format {format} is not supported (CSV, TSV, XLSX, JSON, GeoJSON).", format=declared),
                      code="ingest_failed")
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if suffix in ("txt", "tab"):
        return "tsv" if b"\t" in head[:4096] else "csv"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if stripped[:1] in (b"[", b"{"):
        return "geojson" if b'"FeatureCollection"' in head else "json"
    return "csv"


def _check_text(head: bytes) -> None:
    """Refuse binary files given as text: a known file signature, or NUL bytes."""
    for magic, kind in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise invalid(
                Msg("The file is not text: it looks like a {kind} file. Upload CSV, TSV, XLSX or JSON.", kind=kind),
                kind="source-error",
            )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 has NUL bytes by nature
    nul = head.find(b"\x00")
    control = sum(head.count(bytes([b])) for b in range(0x20) if b not in (9, 10, 12, 13, 26))
    if nul >= 0 or (head and control / len(head) > 0.01):
        position = nul if nul >= 0 else 0
        raise invalid(
            Msg("The file is not text: binary data near byte {offset}.", offset=position),
            kind="source-error",
        )


def _clean_ids(labels: list[str]) -> list[str]:
    """Field ids from header labels: trimmed, NFC, no leading underscore (reserved, as in
    CKAN: ``_id``), unique; empty headers become column_N."""
    ids: list[str] = []
    seen: set[str] = set()
    for index, label in enumerate(labels):
        name = " ".join(unicodedata.normalize("NFC", label or "").split()).lstrip("_").replace('"', "'")[:100]
        if not name:
            name = f"column_{index + 1}"
        base, n = name, 2
        while name.lower() in seen:
            name = f"{base}_{n}"
            n += 1
        seen.add(name.lower())
        ids.append(name)
    return ids


class _Run:
    """One ingest: the DuckDB connection, the work folder, progress and cancellation."""

    def __init__(
        self,
        work: Path,
        limits: IngestLimits,
        progress: Callable[[float, str], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self.work = work
        self.limits = limits
        self._progress = progress
        self.cancel = cancel
        self.notices: list[Msg] = []
        self.warnings: list[dict[str, Any]] = []
        self.copies = 0
        (work / "duckdb").mkdir()
        self.con = duckdb.connect(
            ":memory:",
            config={
                "memory_limit": limits.memory_limit,
                "temp_directory": str(work / "duckdb"),
                "preserve_insertion_order": True,
            },
        )
        # Track query progress (for the long COPY) without printing a bar.
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")
        self._lock = threading.Lock()
        self._span: tuple[float, float, str] | None = None  # progress range of the running COPY
        self._failed: BaseException | None = None
        self._report_lock = threading.Lock()
        self._last = 0.0
        self._watch_stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="ingest-watch")
        self._watcher.start()

    def _watch(self) -> None:
        """Interrupt DuckDB when cancelled; report the progress of a long ``COPY``."""
        while not self._watch_stop.wait(0.25):
            if self.cancel is not None and self.cancel.is_set():
                self.con.interrupt()
                return
            with self._lock:
                span = self._span
            if span is None or self._progress is None:
                continue
            done = self.con.query_progress()
            if done < 0:
                continue
            low, high, stage = span
            try:
                self._report(low + (high - low) * min(done, 100.0) / 100.0, stage, only_while_tracking=True)
            except BaseException as error:  # the callback says stop: stop the query
                self._failed = error
                self.con.interrupt()
                return

    def track(self, low: float, high: float, stage: str) -> None:
        """Report the running query's progress as ``low``..``high`` of the whole ingest."""
        with self._lock:
            self._span = (low, high, stage)

    def untrack(self) -> None:
        # Under the report lock too: once this returns, no late report from the
        # watcher can follow the main thread's next stage.
        with self._report_lock, self._lock:
            self._span = None

    def progress(self, fraction: float, stage: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()
        self._report(fraction, stage)

    def _report(self, fraction: float, stage: str, only_while_tracking: bool = False) -> None:
        """Call the progress callback, from either thread, never going backwards."""
        if self._progress is None:
            return
        fraction = max(0.0, min(1.0, fraction))
        with self._report_lock:
            if only_while_tracking and self._span is None:
                return
            if fraction < self._last:
                return
            self._last = fraction
            self._progress(fraction, stage)

    def close(self) -> None:
        self._watch_stop.set()
        self._watcher.join()
        self.con.close()

    def stopped(self) -> BaseException:
        """What to raise after DuckDB was interrupted: the progress callback's own error,
        or ``Cancelled``."""
        return self._failed if self._failed is not None else Cancelled()

    def sql(self, query: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(query)
        except duckdb.InterruptException:
            raise self.stopped() from None


def ingest(
    source: Path,
    *,
    resource_dir: Path,
    filename: str,
    format: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    limits: IngestLimits = IngestLimits(),
    cancel: threading.Event | None = None,
    geometry: str = "wkt",
) -> IngestResult:
    """Load ``source`` as the next version of the resource stored in ``resource_dir``.

    ``filename`` (the uploader's name for the file) and ``format`` help to tell the
    format; ``progress(fraction, stage)`` is called between stages (``stage`` is a
    msgid: ``Msg(stage).vi``); raising from it, or setting ``cancel``, stops the ingest.
    ``geometry`` is how GeoJSON geometries are stored: ``"wkt"`` or ``"geojson"``.

    Raises ``dulieuso.errors.Invalid`` (``extra["errors"]``: located errors with
    ``type``, ``rowNumber``, ``fieldName``, ``message`` (vi), ``message_en``) when the file
    cannot be loaded, and :class:`Cancelled` when stopped. Either way the previous
    version stays served.
    """
    started = time.perf_counter()
    source = Path(source)
    size = source.stat().st_size
    if size > limits.max_bytes:
        raise invalid(
            Msg("The file is {size} MB; the limit is {limit} MB.", size=size // 1_000_000, limit=limits.max_bytes // 1_000_000),
            kind="source-error",
        )
    if size == 0:
        raise invalid(Msg("The file is empty."), kind="source-error")
    with source.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    fmt = detect_format(filename, head, format)

    with storage.ingest_lock(resource_dir) as work:
        run = _Run(work, limits, progress, cancel)
        try:
            run.progress(0.02, STAGE_READING)
            text_source, encoding = _prepare(run, source, head, fmt, geometry)
            parquet_tmp = work / "data.parquet"
            rows, fields = _load(run, text_source, parquet_tmp)
            run.progress(0.95, STAGE_PUBLISHING)
            report = _report(run, fields, rows, size, encoding, fmt, started)
            metadata = {
                "filename": filename,
                "format": fmt,
                "encoding": encoding,
                "rows": rows,
                "dictionary": [f.as_dict() for f in fields],
                "notices": [{"message": m.vi, "message_en": m.en} for m in run.notices],
                "report": report,
            }
            published = storage.publish(resource_dir, parquet_tmp, metadata)
            run.progress(1.0, STAGE_DONE)
        finally:
            run.close()
    return IngestResult(
        version=published.number,
        parquet_path=published.parquet_path,
        report_path=published.report_path,
        rows=rows,
        fields=fields,
        notices=list(run.notices),
        report=report,
        encoding=encoding,
        format=fmt,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- stages


def _prepare(run: _Run, source: Path, head: bytes, fmt: str, geometry: str) -> tuple[TextSource, str]:
    """Make a UTF-8 delimited text file of the upload; return it and the source encoding."""
    limits = run.limits
    if fmt == "xlsx":
        readers.check_zip(source, max_uncompressed=limits.xlsx_max_uncompressed, max_ratio=limits.xlsx_max_ratio)
        run.progress(0.05, STAGE_LOADING)
        text = readers.xlsx_to_csv(
            source,
            run.work / "sheet.csv",
            max_rows=limits.max_rows,
            max_columns=limits.max_columns,
            progress=lambda f: run.progress(0.05 + 0.4 * f, STAGE_LOADING),
        )
        run.notices.extend(text.notices)
        return text, "xlsx"
    _check_text(head)
    try:
        detection = encodings.detect(head)
    except encodings.UnknownEncoding:
        raise invalid(
            Msg("The text encoding of the file could not be recognised (expected UTF-8, Windows-1258, TCVN3 or VNI)."),
            kind="encoding-error",
        ) from None
    if fmt in ("json", "geojson"):
        if source.stat().st_size > limits.json_max_bytes:
            raise invalid(
                Msg("JSON files are limited to {limit} MB; upload large data as CSV.", limit=limits.json_max_bytes // 1_000_000),
                kind="source-error",
            )
        decoded = encodings.decode(source.read_bytes(), detection.encoding)
        if decoded.notice:
            run.notices.append(decoded.notice)
        target = run.work / "records.csv"
        if fmt == "geojson":
            data = readers._load_json(decoded.text)
            text = readers.geojson_to_csv(data, target, max_rows=limits.max_rows, geometry=geometry)
        else:
            text = readers.json_to_csv(decoded.text, target, max_rows=limits.max_rows)
        run.notices.extend(text.notices)
        return text, detection.encoding
    path = source
    if detection.needs_transcoding:
        run.progress(0.05, STAGE_CONVERTING)
        path = run.work / "utf8.csv"
        encodings.transcode_file(source, path, detection.encoding)
    if detection.notice:
        run.notices.append(detection.notice)
    text = TextSource(path, delimiter="\t" if fmt == "tsv" else None)
    if detection.encoding in (encodings.UTF8, encodings.UTF8_BOM):
        sample = head.decode("utf-8-sig", errors="ignore")
        text.extra_fields["_nfc"] = {"needed": not unicodedata.is_normalized("NFC", sample)}
    return text, detection.encoding


_DELIMITERS = (",", ";", "\t", "|")


def _sniff_dialect(head: str) -> tuple[str, int]:
    """Delimiter and number of title lines before the header, from the first lines.

    The delimiter is the one that splits the most lines into the same number (> 1) of
    fields; title lines ("BÁO CÁO ...") above the header have fewer fields."""
    lines = head.splitlines()[:200]
    if len(head) >= HEAD_BYTES - 16 and len(lines) > 1:
        lines = lines[:-1]
    best: tuple[int, int, str, int] | None = None
    for delimiter in _DELIMITERS:
        widths = [len(r) for r in csv.reader(lines, delimiter=delimiter)]
        if not widths:
            continue
        counts: dict[int, int] = {}
        for width in widths:
            counts[width] = counts.get(width, 0) + 1
        width, agree = max(counts.items(), key=lambda item: (item[1], item[0]))
        if width < 2:
            continue
        skip = next((i for i, w in enumerate(widths) if w == width), 0)
        score = (agree, width, delimiter, skip)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        return ",", 0
    return best[2], best[3]


def _sniff(run: _Run, text: TextSource) -> None:
    """Delimiter, title lines to skip and header of a CSV file (done in Python on the
    first megabyte: DuckDB's sniffer costs more than it saves here)."""
    if text.labels is not None:
        return
    with text.path.open("rb") as handle:
        head = handle.read(HEAD_BYTES).decode("utf-8-sig", errors="replace")
    delimiter, skip = _sniff_dialect(head)
    if text.delimiter is None:
        text.delimiter = delimiter
        text.skip = skip
    if text.header is None:
        text.header = _looks_like_header(text)
    first = _first_record(text)
    text.labels = first if text.header else [f"column_{i + 1}" for i in range(len(first))]
    text.first_data_row = text.skip + (2 if text.header else 1)


def _first_record(text: TextSource) -> list[str]:
    with text.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for _ in range(text.skip):
            handle.readline()
        reader = csv.reader(io.StringIO(handle.read(HEAD_BYTES)), delimiter=text.delimiter or ",")
        return next(reader, [])


_NUMBERISH = re.compile(r"[+-]?[\d.,/:-]+")


def _looks_like_header(text: TextSource) -> bool:
    """The first row is a header unless one of its cells is a number or a date (names
    may repeat or be empty: they are made unique and filled in)."""
    cells = [c.strip() for c in _first_record(text)]
    return any(cells) and not any(_NUMBERISH.fullmatch(c) for c in cells if c)


def _read_csv_sql(text: TextSource, **extra: str) -> str:
    options = {
        "auto_detect": "false",
        "all_varchar": "true",
        "header": "true" if text.header else "false",
        "delim": literal(text.delimiter or ","),
        "quote": literal('"'),
        "escape": literal('"'),
        "skip": str(text.skip),
        "null_padding": "false",
        "strict_mode": "true",
        "max_line_size": str(8 << 20),
        "columns": "{" + ", ".join(f"{literal(f'c{i}')}: 'VARCHAR'" for i in range(len(text.labels or []))) + "}",
        **extra,
    }
    return f"read_csv({literal(str(text.path))}, " + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"


_ERROR_KINDS = {
    "CAST": "type-error",
    "MISSING COLUMNS": "missing-cell",
    "TOO MANY COLUMNS": "extra-cell",
    "UNQUOTED VALUE": "source-error",
    "LINE SIZE OVER MAXIMUM": "source-error",
    "INVALID UNICODE": "encoding-error",
    "INVALID STATE": "source-error",
}
REJECTS_LIMIT = 1000


def _error_kind(error_type: str) -> str:
    if "UNICODE" in error_type or "ENCODING" in error_type:
        return "encoding-error"
    return _ERROR_KINDS.get(error_type, "source-error")


@dataclass(frozen=True)
class _Reject:
    row: int  # as people count rows in the source
    column: str | None  # c{i}
    kind: str
    line: str


def _reject_msg(reject: _Reject, columns: int) -> Msg:
    if reject.kind == "missing-cell":
        return Msg("Row {row} has fewer cells than the {count} columns of the header.", row=reject.row, count=columns)
    if reject.kind == "extra-cell":
        return Msg("Row {row} has more cells than the {count} columns of the header.", row=reject.row, count=columns)
    if reject.kind == "encoding-error":
        return Msg("Row {row} is not valid UTF-8 text.", row=reject.row)
    return Msg("Row {row} cannot be read (for example an unclosed quote or a truncated line).", row=reject.row)


def _structural_error(rejects: list[_Reject], columns: int, ids: dict[str, str]) -> Invalid:
    errors = []
    for reject in rejects[:20]:
        msg = _reject_msg(reject, columns)
        errors.append({"type": reject.kind, "rowNumber": reject.row, "fieldName": ids.get(reject.column or ""),
                       "message": msg.vi, "message_en": msg.en})
    summary = Msg(
        "The file has {count} rows with structural errors; the first: {first}",
        count=len(rejects) if len(rejects) < REJECTS_LIMIT else str(REJECTS_LIMIT) + "+",
        first=_reject_msg(rejects[0], columns),
    )
    return Invalid(summary, code="ingest_failed", extra={"errors": errors})


class _ConversionFailed(Exception):
    """A value did not convert to its column's proposed type during the fast ``COPY``."""


def _read_error(error: duckdb.Error) -> Invalid:
    return _read_error_text(str(error).splitlines()[0][:300])


def _read_error_text(reason: str) -> Invalid:
    msg = Msg("The file cannot be read as CSV: {reason}", reason=reason)
    return Invalid(msg, code="ingest_failed", extra={"errors": [
        {"type": "source-error", "rowNumber": None, "fieldName": None, "message": msg.vi, "message_en": msg.en}]})


def _sample_rows(text: TextSource, width: int) -> list[list[str]]:
    """Rows to propose types from: the first ones and some from all across the file.

    The file is UTF-8 here. Reading 32 slices at spread offsets costs milliseconds; a
    row cut by a slice start is dropped (wrong width). The proposal is only a guess: the
    whole-file check in SQL decides."""
    rows: list[list[str]] = []
    delimiter = text.delimiter or ","
    size = text.path.stat().st_size
    with text.path.open("rb") as handle:
        head = handle.read(HEAD_BYTES).decode("utf-8-sig", errors="replace")
        lines = head.splitlines(keepends=True)
        if len(head.encode()) >= HEAD_BYTES and lines:
            lines = lines[:-1]  # the last line may be cut
        reader = csv.reader(lines[text.skip + (1 if text.header else 0) :], delimiter=delimiter)
        for record in reader:
            if len(record) == width:
                rows.append(record)
            if len(rows) >= 2000:
                break
        if size > HEAD_BYTES:
            for k in range(1, 33):
                handle.seek(size * k // 33)
                chunk = handle.read(32_768).decode("utf-8", errors="replace").splitlines()[1:-1]
                for record in csv.reader(chunk[:100], delimiter=delimiter):
                    if len(record) == width:
                        rows.append(record)
    return rows


def _load(run: _Run, text: TextSource, target: Path) -> tuple[int, list[Field]]:
    """Write the Parquet file: propose types from a sample, check the columns our SQL
    converts over the whole file, then one ``COPY`` in which DuckDB's CSV reader parses
    and checks the rest. A value the reader rejects (with its line) makes that column
    wider or text, and the ``COPY`` runs again."""
    run.progress(0.1, STAGE_LOADING)
    _sniff(run, text)
    labels = text.labels or []
    if not labels:
        raise invalid(Msg("The file is empty."), kind="source-error")
    if len(labels) > run.limits.max_columns:
        raise invalid(
            Msg("The file has {count} columns; the limit is {limit}.", count=len(labels), limit=run.limits.max_columns),
            kind="source-error",
        )
    columns = [f"c{i}" for i in range(len(labels))]
    ids = _clean_ids(labels)
    by_column = dict(zip(columns, ids, strict=True))
    chosen, mostly = propose_all(columns, _sample_rows(text, len(labels)))
    text_relation = _read_csv_sql(text)
    run.progress(0.3, STAGE_WRITING)
    rows = 0
    checked = False
    for attempt in range(len(columns) + 3):
        target.unlink(missing_ok=True)
        try:
            rows, rejects = _copy(run, text, columns, ids, chosen, target, attempt)
        except _ConversionFailed:
            if checked:
                raise _read_error_text("a value could not be converted") from None
            # Slow path: find the columns whose values do not all convert.
            run.progress(0.4, STAGE_TYPES)
            checked = True
            try:
                failed = verify_converted(run.con, text_relation, chosen)
            except duckdb.InterruptException:
                raise run.stopped() from None
            except duckdb.Error as error:
                if "unicode" in str(error).lower() and text.path.suffix != ".utf8":
                    _retry_as_legacy(run, text)
                    return _load(run, text, target)
                raise _read_error(error) from None
            for column, (wanted, share) in failed.items():
                if share >= 0.5:
                    _warn_fallback(run, column, by_column[column], wanted, share,
                                   odd_rows(run.con, text_relation, column, wanted), text.first_data_row)
            continue
        structural = [r for r in rejects if r.kind != "type-error"]
        if structural:
            if any(r.kind == "encoding-error" for r in structural) and text.path.suffix != ".utf8":
                _retry_as_legacy(run, text)
                return _load(run, text, target)
            raise _structural_error(structural, len(columns), by_column)
        if not rejects:
            break
        failing: dict[str, list[_Reject]] = {}
        for reject in rejects:
            if reject.column:
                failing.setdefault(reject.column, []).append(reject)
        for column, found in failing.items():
            wanted = chosen[column]
            values = [_cell(r.line, columns.index(column), text.delimiter or ",") for r in found]
            if wanted.type == "integer" and all(_is_float(v) for v in values):
                chosen[column] = ColumnType("number")
                continue
            chosen[column] = ColumnType("string")
            if len(found) < REJECTS_LIMIT:
                total = rows + len({r.row for r in rejects})
                share = 1 - len(found) / max(total, 1)
                examples = [(r.row - text.first_data_row, v) for r, v in zip(found, values, strict=True)][:5]
                _warn_fallback(run, column, by_column[column], wanted, share, examples, text.first_data_row)
        run.progress(0.4 + 0.1 * (attempt + 1), STAGE_WRITING)
    if rows > run.limits.max_rows:
        raise invalid(Msg("The file has more than {limit} rows.", limit=run.limits.max_rows), kind="source-error")
    for column, wanted in mostly.items():
        examples = odd_rows(run.con, text_relation, column, wanted)
        if examples:
            _warn_fallback(run, column, by_column[column], wanted, None, examples, text.first_data_row)
    fields: list[Field] = []
    for column, field_id, label in zip(columns, ids, labels, strict=True):
        kind = chosen[column]
        fmt = {k: v for k, v in kind.format.items() if k != "style"}
        extra = text.extra_fields.get(label, {})
        fields.append(Field(field_id, kind.type, label.strip() or field_id, extra.get("description", ""), fmt))
    return rows, fields


def _cell(line: str, index: int, delimiter: str) -> str:
    record = next(csv.reader([line], delimiter=delimiter), [])
    return record[index] if index < len(record) else ""


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _copy(
    run: _Run, text: TextSource, columns: list[str], ids: list[str], chosen: dict[str, ColumnType], target: Path, attempt: int
) -> tuple[int, list[_Reject]]:
    """One ``COPY`` to Parquet. The CSV reader parses ISO dates and plain numbers itself
    (as fast as DuckDB alone) and keeps the rows it cannot read in a rejects table;
    the other columns are read as text and converted by our SQL."""
    parts = []
    for column, field_id in zip(columns, ids, strict=True):
        kind = chosen[column]
        expr = kind.copy_expression(column)
        if kind.type == "string" and text.extra_fields.get("_nfc", {}).get("needed"):
            expr = f"nfc_normalize({expr})"
        parts.append(f"{expr} AS {quote(field_id)}")
    typed = "{" + ", ".join(f"{literal(c)}: {literal(chosen[c].native or 'VARCHAR')}" for c in columns) + "}"
    run.copies += 1  # a fresh rejects table for every COPY, also across reloads
    table, scan = f"rejects_{run.copies}", f"reject_scans_{run.copies}"
    relation = _read_csv_sql(
        text, all_varchar="false", columns=typed, store_rejects="true", ignore_errors="true",
        rejects_table=literal(table), rejects_scan=literal(scan), rejects_limit=str(REJECTS_LIMIT),
    )
    # No ORDER BY: preserve_insertion_order keeps the file's order, which read_parquet's
    # file_row_number turns into _id.
    run.track(0.3, 0.9, STAGE_WRITING)
    try:
        result = run.con.execute(
            f"COPY (SELECT {', '.join(parts)} FROM {relation}) TO {literal(str(target))} (FORMAT parquet)"
        ).fetchall()
    except duckdb.InterruptException:
        raise run.stopped() from None
    except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
        if "unicode" in str(error).lower():
            raise _read_error(error) from None
        raise _ConversionFailed() from None
    except duckdb.Error as error:
        raise _read_error(error) from None
    finally:
        run.untrack()
    rows = int(result[0][0]) if result else 0
    found = run.sql(f"SELECT line, column_name, error_type, csv_line FROM {table} ORDER BY line").fetchall()
    name_to_column = {c: c for c in columns}
    rejects = [
        _Reject(int(line) + text.line_offset, name_to_column.get(name) if name else None, _error_kind(str(kind)), str(csv_line or ""))
        for line, name, kind, csv_line in found
    ]
    return rows, rejects


def _retry_as_legacy(run: _Run, text: TextSource) -> None:
    """The head was UTF-8 but a later line is not: detect the encoding on the whole file
    (without UTF-8 as a candidate) and transcode it; the caller loads again."""
    data = text.path.read_bytes()
    best = max(encodings.LEGACY, key=lambda name: encodings.vietnamese_score(encodings.decode_as(data, name)))
    target = run.work / "whole.utf8"
    encodings.transcode_file(text.path, target, best)
    notice = encodings.Detection(best).notice
    if notice:
        run.notices.append(notice)
    text.path = target


def _warn_fallback(
    run: _Run, column: str, field_id: str, wanted: ColumnType, share: float | None,
    examples: list[tuple[int, str]], first_row: int,
) -> None:
    if not examples:
        return
    index, value = examples[0]
    msg = Msg(
        "Column {field} is mostly {type}, but row {row} has the value \"{value}\": it is stored as text.",
        field=field_id,
        type=Msg(TYPE_NAMES[wanted.type]),
        row=index + first_row,
        value=value[:80],
    )
    run.notices.append(msg)
    run.warnings.append(
        {
            "type": "type-fallback",
            "fieldName": field_id,
            "rowNumber": index + first_row,
            "cell": value[:200],
            "rows": [i + first_row for i, _ in examples],
            "share": None if share is None else round(share, 4),
            "message": msg.vi,
            "message_en": msg.en,
        }
    )


def _report(run: _Run, fields: list[Field], rows: int, size: int, encoding: str, fmt: str, started: float) -> dict[str, Any]:
    """A Frictionless-shaped report (one task) of a successful load."""
    seconds = round(time.perf_counter() - started, 3)
    notices = [{"type": "notice", "message": m.vi, "message_en": m.en} for m in run.notices]
    warnings = run.warnings + [n for n in notices if n["message_en"] not in {w["message_en"] for w in run.warnings}]
    stats = {"errors": 0, "warnings": len(warnings), "seconds": seconds, "rows": rows, "fields": len(fields), "bytes": size}
    return {
        "valid": True,
        "stats": stats,
        "errors": [],
        "warnings": warnings,
        "tasks": [
            {
                "name": "data",
                "type": "table",
                "valid": True,
                "place": fmt,
                "labels": [f.label for f in fields],
                "stats": {**stats, "encoding": encoding, "format": fmt},
                "errors": [],
                "warnings": warnings,
            }
        ],
        "schema": {"fields": [{"name": f.id, "type": f.type, "title": f.label, **({"format": f.format} if f.format else {})} for f in fields]},
    }


def ingest_error_report(error: DomainError) -> dict[str, Any]:
    """The report of a failed ingest, in the same shape, to keep beside the resource."""
    errors = list(error.extra.get("errors", [])) or [
        {"type": "source-error", "rowNumber": None, "fieldName": None, "message": error.message.vi, "message_en": error.message.en}
    ]
    stats = {"errors": len(errors), "warnings": 0, "seconds": 0}
    return {"valid": False, "stats": stats, "errors": errors, "warnings": [],
            "tasks": [{"name": "data", "type": "table", "valid": False, "stats": stats, "errors": errors, "warnings": []}]}


__all__ = [
    "CKAN_TYPES",
    "Cancelled",
    "ColumnType",
    "Field",
    "IngestLimits",
    "IngestResult",
    "detect_format",
    "ingest",
    "ingest_error_report",
]
