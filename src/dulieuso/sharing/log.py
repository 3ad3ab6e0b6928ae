"""The sharing log (nhật ký chia sẻ dữ liệu, Decree 47 Art. 45): write, seal, verify,
export and purge.

Design (details and the reasoning in ``docs/exchange-log.md``):

* **One writer per process** (``LogWriter``): a thread that takes every pending entry
  off a queue, and per batch, inside one transaction holding the database's write lock
  (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``pg_advisory_xact_lock``), reads the chain
  head, assigns sequence numbers and chain hashes in order, inserts the entries and one
  signed ``batch`` checkpoint, commits, and only then completes each request's future.
  The gateway awaits that future before it releases the response (group commit: the
  fsync is paid once per batch, not once per call). Because the head is read under the
  database lock, several processes (uvicorn workers) can write to one log.
* **Chain**: ``entry_hash = sha256(prev_hash + "\\n" + canonical(entry))`` where the
  canonical form is every field of ``FIELDS`` in order, each as ``"=" + text`` or ``"~"``
  for NULL, joined by U+001F. Timestamps are ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC.
  The writer strips control characters from text, so the separator is unambiguous.
* **Checkpoints** are chained too (``prev_checkpoint_hash``) and each is signed with the
  Ed25519 key in the data dir, so the signature of the last checkpoint covers every
  earlier one; ``verify`` checks every link and the signatures of the last checkpoint
  and of every retention anchor.
* **Verify** streams ``(seq, prev_hash, entry_hash, prev_hash || canonical)`` rows,
  with the canonical text built by the database itself, and hashes in a tight loop.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import queue
import re
import threading
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger("dulieuso.sharing.log")

#: Every logged field, in canonical (hashed) order. Changing it is a format change.
FIELDS: tuple[str, ...] = (
    "request_id", "request_at", "response_at", "latency_us",
    "consumer_agency_id", "consumer_agency_code", "application_id", "account_id", "client_id",
    "service_id", "service_code", "service_version", "provider_agency_id", "operation",
    "method", "path", "query", "status", "outcome", "bytes_in", "bytes_out",
    "request_sha256", "response_sha256", "purpose", "case_id", "end_user",
    "agreement_id", "grant_id", "fields_returned", "client_ip",
)
TIME_FIELDS = frozenset({"request_at", "response_at"})
INT_FIELDS = frozenset({"latency_us", "status", "bytes_in", "bytes_out"})
REQUIRED = frozenset({"request_id", "request_at", "response_at", "method", "path", "status", "outcome"})
GENESIS = "0" * 64
SEP = "\x1f"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
FORMAT = "dulieuso-sharing-log-v1"
KEY_FILE = "sharing-log-ed25519.pem"
PUBLIC_KEY_FILE = "sharing-log-ed25519.pub.pem"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# An arbitrary, fixed key for pg_advisory_xact_lock: "dulieuso sharing log".
_PG_LOCK_KEY = 0x5D1E50_10


# -- canonical form ----------------------------------------------------------------------


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def clean_text(value: object, limit: int = 4000) -> str:
    """Text as stored: no control characters (they would blur the canonical form)."""
    return _CONTROL.sub(" ", str(value))[:limit]


def canonical(entry: dict[str, Any]) -> str:
    """The canonical text of an entry (its fields only, not seq or hashes)."""
    parts = []
    for name in FIELDS:
        value = entry.get(name)
        if value is None:
            parts.append("~")
        elif isinstance(value, datetime):
            parts.append("=" + format_time(value))
        else:
            parts.append("=" + str(value))
    return SEP.join(parts)


def chain_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical_text).encode()).hexdigest()


def normalise(entry: dict[str, Any]) -> dict[str, Any]:
    """Check and clean an entry before it is queued: required fields, types, no control chars."""
    missing = [name for name in REQUIRED if entry.get(name) in (None, "")]
    if missing:
        raise ValueError(f"log entry lacks {missing}")
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = entry.get(name)
        if value is None:
            out[name] = None
        elif name in TIME_FIELDS:
            if not isinstance(value, datetime):
                raise ValueError(f"{name} must be a datetime")
            out[name] = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        elif name in INT_FIELDS:
            out[name] = int(value)
        else:
            out[name] = clean_text(value)
    for name in ("bytes_in", "bytes_out", "latency_us"):
        if out[name] is None:
            out[name] = 0
    for name in ("request_sha256", "response_sha256"):
        if out[name] is None:
            out[name] = EMPTY_SHA256
    if out["query"] is None:
        out["query"] = ""
    return out


# -- the signing key -----------------------------------------------------------------------


def load_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The log's Ed25519 key, created on first use (file mode 0600) in the data dir."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two workers starting together must not write two different keys.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            (Path(data_dir) / PUBLIC_KEY_FILE).write_bytes(public_key_pem(key.public_key()))
    for _ in range(50):  # the other writer may still be writing it
        data = path.read_bytes()
        if data.strip().endswith(b"-----"):
            break
        time.sleep(0.05)
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(cp: dict[str, Any]) -> bytes:
    """What a checkpoint's signature covers."""
    return "\n".join(
        [
            FORMAT + "/checkpoint",
            str(cp["id"]),
            cp["kind"],
            str(cp["first_seq"]),
            str(cp["last_seq"]),
            cp["last_hash"],
            cp["archive_digest"] or "",
            format_time(cp["created_at"]) if isinstance(cp["created_at"], datetime) else cp["created_at"],
            cp["key_id"],
            cp["prev_checkpoint_hash"],
        ]
    ).encode()


def checkpoint_hash(message: bytes, signature: str) -> str:
    return hashlib.sha256(message + b"\n" + signature.encode()).hexdigest()


# -- database access (DBAPI level: the writer and verify are the hot paths) ---------------


class _Backend:
    """One dedicated DBAPI connection with the few statements the log needs."""

    def __init__(self, engine: Engine, synchronous_full: bool = True) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.sqlite = self.dialect == "sqlite"
        self.raw = engine.raw_connection()
        self.conn: Any = self.raw.driver_connection
        if self.sqlite:
            # We issue BEGIN IMMEDIATE ourselves: it takes the write lock before we read
            # the chain head, so two processes cannot extend the chain from one head.
            self.conn.isolation_level = None
            if synchronous_full:
                # FULL: the WAL is fsynced on every commit (durable across power loss,
                # not just across a killed process); group commit pays it once per batch.
                self.conn.execute("PRAGMA synchronous=FULL")
        ph = "?" if self.sqlite else "%s"
        self.ph = ph
        cols = ("seq", "prev_hash", "entry_hash", *FIELDS)
        self.insert_entry_sql = (
            f"INSERT INTO sharing_log_entries ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
        )
        cp_cols = (
            "id", "kind", "first_seq", "last_seq", "last_hash", "archive_digest", "created_at",
            "key_id", "prev_checkpoint_hash", "signature", "checkpoint_hash",
        )
        self.cp_cols = cp_cols
        self.insert_cp_sql = (
            f"INSERT INTO sharing_log_checkpoints ({', '.join(cp_cols)}) "
            f"VALUES ({', '.join([ph] * len(cp_cols))})"
        )

    def close(self) -> None:
        try:
            if self.sqlite:
                self.conn.isolation_level = ""  # give the pool back what it lent
            self.raw.close()
        except Exception:  # pragma: no cover - closing a broken connection
            log.exception("closing the sharing-log connection failed")

    def begin_locked(self) -> Any:
        cur = self.conn.cursor()
        if self.sqlite:
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))
        return cur

    def commit(self) -> None:
        self.conn.commit() if not self.sqlite else self.conn.execute("COMMIT")

    def rollback(self) -> None:
        try:
            if self.sqlite:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            else:
                self.conn.rollback()
        except Exception:  # pragma: no cover
            log.exception("rollback of the sharing log failed")

    def time_param(self, value: datetime) -> Any:
        # SQLite: the same text SQLAlchemy's DateTime writes, so the ORM reads it back.
        return format_time(value) if self.sqlite else value

    def head(self, cur: Any) -> tuple[int, str]:
        """The last sequence number and hash (or the retention anchor, or genesis)."""
        cur.execute("SELECT seq, entry_hash FROM sharing_log_entries ORDER BY seq DESC LIMIT 1")
        row = cur.fetchone()
        if row:
            return int(row[0]), row[1]
        cur.execute(
            "SELECT last_seq, last_hash FROM sharing_log_checkpoints WHERE kind = 'anchor' "
            "ORDER BY id DESC LIMIT 1"
        )
        row = cur.fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def last_checkpoint(self, cur: Any) -> tuple[int, str]:
        cur.execute("SELECT id, checkpoint_hash FROM sharing_log_checkpoints ORDER BY id DESC LIMIT 1")
        row = cur.fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def add_checkpoint(
        self,
        cur: Any,
        key: Ed25519PrivateKey,
        kind: str,
        first_seq: int,
        last_seq: int,
        last_hash: str,
        archive_digest: str | None = None,
    ) -> dict[str, Any]:
        last_id, prev = self.last_checkpoint(cur)
        cp: dict[str, Any] = {
            "id": last_id + 1,
            "kind": kind,
            "first_seq": first_seq,
            "last_seq": last_seq,
            "last_hash": last_hash,
            "archive_digest": archive_digest,
            "created_at": datetime.now(UTC),
            "key_id": key_id(key.public_key()),
            "prev_checkpoint_hash": prev,
        }
        message = checkpoint_message(cp)
        cp["signature"] = base64.b64encode(key.sign(message)).decode()
        cp["checkpoint_hash"] = checkpoint_hash(message, cp["signature"])
        values = [cp[c] for c in self.cp_cols]
        values[self.cp_cols.index("created_at")] = self.time_param(cp["created_at"])
        cur.execute(self.insert_cp_sql, values)
        return cp

    def append(self, key: Ed25519PrivateKey, entries: Sequence[dict[str, Any]]) -> list[int]:
        """Chain, insert and seal ``entries`` in one locked transaction; returns their seqs."""
        cur = self.begin_locked()
        try:
            seq, prev = self.head(cur)
            first = seq + 1
            rows = []
            seqs = []
            for entry in entries:
                seq += 1
                digest = chain_hash(prev, canonical(entry))
                row = [seq, prev, digest]
                for name in FIELDS:
                    value = entry[name]
                    row.append(self.time_param(value) if name in TIME_FIELDS else value)
                rows.append(row)
                seqs.append(seq)
                prev = digest
            cur.executemany(self.insert_entry_sql, rows)
            self.add_checkpoint(cur, key, "batch", first, seq, prev)
            self.commit()
            return seqs
        except BaseException:
            self.rollback()
            raise
        finally:
            cur.close()


# -- the writer ---------------------------------------------------------------------------


class LogWriter:
    """Group-commit writer: ``await writer.append(entry)`` returns once the entry is durable."""

    MAX_BATCH = 1000

    def __init__(self, engine: Engine, data_dir: Path, *, synchronous_full: bool = True) -> None:
        self.engine = engine
        self.key = load_signing_key(data_dir)
        self.synchronous_full = synchronous_full
        self._queue: queue.SimpleQueue[tuple[dict[str, Any], Future[int]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sharing-log-writer", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.batches = 0
        self.entries = 0

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def submit(self, entry: dict[str, Any]) -> Future[int]:
        """Queue ``entry``; the future resolves to its sequence number once committed."""
        future: Future[int] = Future()
        self._queue.put((normalise(entry), future))
        if not self._started:
            self.start()
        return future

    async def append(self, entry: dict[str, Any]) -> int:
        import asyncio

        return await asyncio.wrap_future(self.submit(entry))

    def write(self, entry: dict[str, Any], timeout: float = 30) -> int:
        """Blocking variant for scripts and tests."""
        return self.submit(entry).result(timeout)

    def stop(self, timeout: float = 10) -> None:
        if self._started:
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        backend: _Backend | None = None
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            try:
                if backend is None:
                    backend = _Backend(self.engine, self.synchronous_full)
                seqs = backend.append(self.key, [entry for entry, _ in batch])
            except BaseException as error:  # every waiting request learns of it
                log.exception("sharing log batch of %d entries failed", len(batch))
                if backend is not None:
                    backend.close()
                    backend = None
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            self.entries += len(batch)
            for (_, future), seq in zip(batch, seqs, strict=True):
                future.set_result(seq)
        if backend is not None:
            backend.close()


_writers: dict[tuple[int, str], LogWriter] = {}
_writers_lock = threading.Lock()


def writer_for(engine: Engine, data_dir: Path, *, synchronous_full: bool = True) -> LogWriter:
    """The process's writer for this database (one per engine)."""
    key = (id(engine), str(data_dir))
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = LogWriter(engine, data_dir, synchronous_full=synchronous_full)
            writer.start()
        return writer


# -- verify -------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    first_seq: int | None
    last_seq: int | None
    problem: str | None = None
    bad_seq: int | None = None
    kind: str | None = None  # altered | deleted | inserted | reordered | truncated | unsealed | checkpoint
    seconds: float = 0.0


NOT_NULL = frozenset({"request_id", "request_at", "response_at", "latency_us", "method", "path", "query", "status",
                      "outcome", "bytes_in", "bytes_out", "request_sha256", "response_sha256"})


def _material_sql(dialect: str) -> str:
    """SQL for the UTF-8 bytes of ``prev_hash + "\n" + canonical(entry)``, built by the database.

    SQLite: one ``format()`` call per row (much cheaper than 60 ``||``); PostgreSQL: the
    same text through ``to_char`` for timestamps.
    """
    if dialect == "sqlite":
        fmt = "\x1f".join("=%s" if name in NOT_NULL else "%s" for name in FIELDS)
        args = ", ".join(name if name in NOT_NULL else f"iif({name} IS NULL, '~', '=' || {name})" for name in FIELDS)
        return f"CAST(prev_hash || char(10) || format('{fmt}', {args}) AS BLOB)"
    parts = []
    for name in FIELDS:
        if name in TIME_FIELDS:
            value = f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        else:
            value = f"{name}::text"
        parts.append(f"coalesce('=' || {value}, '~')")
    return "convert_to(prev_hash || chr(10) || " + " || chr(31) || ".join(parts) + ", 'UTF8')"


def _digest_sql(dialect: str) -> str:
    """The entry's recomputed hash (PostgreSQL hashes server-side) or, on SQLite, its material."""
    if dialect == "sqlite":
        return _material_sql(dialect)
    return f"encode(sha256({_material_sql(dialect)}), 'hex')"


def _seq_range(conn: Any, start: datetime | int | None, end: datetime | int | None, sqlite: bool) -> tuple[int | None, int | None]:
    """Map a time (or seq) range to the seqs it covers; None = open."""
    def bound(value: datetime | int | None, first: bool) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        param = format_time(value) if sqlite else value
        ph = "?" if sqlite else "%s"
        if first:
            sql = f"SELECT min(seq) FROM sharing_log_entries WHERE request_at >= {ph}"
        else:
            sql = f"SELECT max(seq) FROM sharing_log_entries WHERE request_at < {ph}"
        cur = conn.cursor()
        cur.execute(sql, (param,))
        row = cur.fetchone()
        cur.close()
        return int(row[0]) if row and row[0] is not None else (10**18 if first else -1)

    return bound(start, True), bound(end, False)


def _public_key(data_dir: Path) -> Ed25519PublicKey:
    pub = Path(data_dir) / PUBLIC_KEY_FILE
    if pub.exists():
        key = serialization.load_pem_public_key(pub.read_bytes())
        assert isinstance(key, Ed25519PublicKey)
        return key
    return load_signing_key(data_dir).public_key()


def verify(
    engine: Engine,
    data_dir: Path,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
    *,
    batch_rows: int = 20000,
    workers: int | None = None,
) -> VerifyResult:
    """Recompute the chain and the checkpoints; name the first bad entry.

    ``start``/``end`` are request times (datetimes) or sequence numbers (ints), inclusive
    of ``start`` and exclusive of a time ``end`` (inclusive of a seq ``end``).
    """
    began = time.perf_counter()
    public = _public_key(data_dir)
    expected_key = key_id(public)
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        sqlite = engine.dialect.name == "sqlite"
        ph = "?" if sqlite else "%s"
        first_seq, last_seq = _seq_range(conn, start, end, sqlite)

        # 1. Checkpoints: every link, every hash; signatures of anchors and of the last one.
        cur = conn.cursor()
        cur.execute(
            "SELECT id, kind, first_seq, last_seq, last_hash, archive_digest, "
            + ("created_at" if sqlite else "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
            + ", key_id, prev_checkpoint_hash, signature, checkpoint_hash "
            "FROM sharing_log_checkpoints ORDER BY id"
        )
        names = ("id", "kind", "first_seq", "last_seq", "last_hash", "archive_digest", "created_at",
                 "key_id", "prev_checkpoint_hash", "signature", "checkpoint_hash")
        checkpoints = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        cur.close()

        def fail(kind: str, problem: str, seq: int | None, entries: int = 0) -> VerifyResult:
            return VerifyResult(False, entries, len(checkpoints), first_seq, last_seq, problem, seq, kind,
                                time.perf_counter() - began)

        prev_cp = GENESIS
        expected_id = 1
        batch_ends: dict[int, str] = {}
        anchor: tuple[int, str] | None = None
        sealed_to = 0
        for index, cp in enumerate(checkpoints):
            if cp["id"] != expected_id:
                return fail("checkpoint", f"checkpoint {expected_id} is missing (found {cp['id']})", None)
            message = checkpoint_message(cp)
            if cp["prev_checkpoint_hash"] != prev_cp or checkpoint_hash(message, cp["signature"]) != cp["checkpoint_hash"]:
                return fail("checkpoint", f"checkpoint {cp['id']} was altered or its chain is broken",
                            int(cp["last_seq"]))
            if cp["kind"] == "anchor" or index == len(checkpoints) - 1:
                if cp["key_id"] != expected_key:
                    return fail("checkpoint", f"checkpoint {cp['id']} is signed by an unknown key {cp['key_id']}", None)
                try:
                    public.verify(base64.b64decode(cp["signature"]), message)
                except Exception:
                    return fail("checkpoint", f"checkpoint {cp['id']} has an invalid signature", int(cp["last_seq"]))
            if cp["kind"] == "batch":
                batch_ends[int(cp["last_seq"])] = cp["last_hash"]
                sealed_to = max(sealed_to, int(cp["last_seq"]))
            elif cp["kind"] == "anchor":
                anchor = (int(cp["last_seq"]), cp["last_hash"])
            prev_cp = cp["checkpoint_hash"]
            expected_id += 1

        # 2. Where the chain starts: the first entry's predecessor, a purge anchor, or genesis.
        cur = conn.cursor()
        cur.execute("SELECT min(seq), max(seq) FROM sharing_log_entries")
        lo, hi = cur.fetchone()
        cur.close()
        if lo is None:
            if sealed_to > (anchor[0] if anchor else 0):
                return fail("truncated", f"the log is empty but checkpoints seal it up to entry {sealed_to}",
                            (anchor[0] if anchor else 0) + 1)
            return VerifyResult(True, 0, len(checkpoints), first_seq, last_seq, seconds=time.perf_counter() - began)
        lo, hi = int(lo), int(hi)
        begin_seq = max(lo, first_seq) if first_seq is not None else lo
        stop_seq = min(hi, last_seq) if last_seq is not None else hi
        if begin_seq == lo:
            # Whole log from its start: it must begin at genesis or at the purge anchor.
            base_seq, base_hash = anchor if anchor else (0, GENESIS)
            if lo != base_seq + 1:
                kind = "deleted" if lo > base_seq + 1 else "inserted"
                return fail(kind, f"entries {base_seq + 1}..{lo - 1} are missing (deleted)"
                            if lo > base_seq + 1 else f"entry {lo} precedes the chain's start", base_seq + 1)
            expected_seq, prev = lo, base_hash
        else:
            cur = conn.cursor()
            cur.execute(f"SELECT entry_hash FROM sharing_log_entries WHERE seq < {ph} ORDER BY seq DESC LIMIT 1",
                        (begin_seq,))
            row = cur.fetchone()
            cur.close()
            expected_seq, prev = begin_seq, row[0] if row else GENESIS

        # 3. The entries, streamed; the database builds the canonical text (and on
        # PostgreSQL hashes it too); Python checks order, links and hashes in a tight loop.
        # Long ranges are split across processes (each chunk re-reads the entry before it,
        # so every link is checked once).
        total = stop_seq - begin_seq + 1
        chunks = workers if workers is not None else min(os.cpu_count() or 1, 4)
        if chunks > 1 and total >= PARALLEL_MIN_ENTRIES:
            problem, count = _scan_parallel(engine, begin_seq, stop_seq, expected_seq, prev, batch_ends,
                                            chunks, batch_rows)
        else:
            problem, count = _scan(conn, sqlite, begin_seq, stop_seq, expected_seq, prev, batch_ends, batch_rows)
        if problem is not None:
            problem.checkpoints = len(checkpoints)
            problem.first_seq, problem.last_seq = first_seq, last_seq
            problem.seconds = time.perf_counter() - began
            return problem
        if stop_seq == hi:
            if sealed_to > hi:
                return fail("truncated", f"entries {hi + 1}..{sealed_to} are missing: the log was truncated "
                            f"(checkpoints seal it up to entry {sealed_to})", hi + 1, count)
            if hi > sealed_to:
                return fail("unsealed", f"entry {sealed_to + 1} is not sealed by any signed checkpoint "
                            "(inserted after the fact)", sealed_to + 1, count)
        return VerifyResult(True, count, len(checkpoints), begin_seq, stop_seq,
                            seconds=time.perf_counter() - began)
    finally:
        raw.close()


PARALLEL_MIN_ENTRIES = 200_000


def _scan(conn: Any, sqlite: bool, lo: int, hi: int, expected_seq: int, prev: str,
          batch_ends: dict[int, str], batch_rows: int) -> tuple[VerifyResult | None, int]:
    """Check entries ``lo..hi``: order, links, hashes, checkpoint ends. (problem, entries checked)."""
    ph = "?" if sqlite else "%s"
    sql = (f"SELECT seq, prev_hash, entry_hash, {_digest_sql('sqlite' if sqlite else 'postgresql')} "
           f"FROM sharing_log_entries WHERE seq >= {ph} AND seq <= {ph} ORDER BY seq")
    if sqlite:
        cur = conn.cursor()
    else:
        cur = conn.cursor(name=f"sharing_log_verify_{lo}")  # server-side cursor
        cur.itersize = batch_rows
    cur.execute(sql, (lo, hi))
    sha256 = hashlib.sha256
    count = 0
    problem: VerifyResult | None = None
    get_end = batch_ends.get
    while problem is None:
        rows = cur.fetchmany(batch_rows)
        if not rows:
            break
        for seq, prev_hash, entry_hash, digest in rows:
            if sqlite:
                digest = sha256(digest).hexdigest()
            if seq != expected_seq or prev_hash != prev or digest != entry_hash:
                problem = _diagnose(conn, sqlite, seq, expected_seq, prev, prev_hash, digest == entry_hash, count)
                break
            end_hash = get_end(seq)
            if end_hash is not None and end_hash != entry_hash:
                problem = VerifyResult(False, count, 0, None, None,
                                       f"entry {seq} does not match its signed checkpoint (entries "
                                       "were altered, inserted or the chain rewritten)", seq, "altered")
                break
            prev = entry_hash
            expected_seq += 1
            count += 1
    cur.close()
    return problem, count


def _scan_chunk(url: str, lo: int, hi: int, batch_ends: dict[int, str],
                batch_rows: int) -> tuple[VerifyResult | None, int]:
    """A worker process's chunk: starts at entry ``lo - 1``, trusting only its ``prev_hash``."""
    from dulieuso.db import make_engine

    from sqlalchemy.pool import NullPool

    engine = make_engine(url, poolclass=NullPool)
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        sqlite = engine.dialect.name == "sqlite"
        ph = "?" if sqlite else "%s"
        cur = conn.cursor()
        cur.execute(f"SELECT prev_hash FROM sharing_log_entries WHERE seq = {ph}", (lo - 1,))
        row = cur.fetchone()
        cur.close()
        if row is None:
            return VerifyResult(False, 0, 0, None, None, f"entries {lo - 1}..{lo - 1} are missing (deleted)",
                                lo - 1, "deleted"), 0
        problem, count = _scan(conn, sqlite, lo - 1, hi, lo - 1, row[0], batch_ends, batch_rows)
        return problem, max(count - 1, 0)
    finally:
        raw.close()
        engine.dispose()


def _scan_parallel(engine: Engine, lo: int, hi: int, expected_seq: int, prev: str, batch_ends: dict[int, str],
                   chunks: int, batch_rows: int) -> tuple[VerifyResult | None, int]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    url = engine.url.render_as_string(hide_password=False)
    size = (hi - lo + 1 + chunks - 1) // chunks
    bounds = [(start, min(start + size - 1, hi)) for start in range(lo, hi + 1, size)]
    # fork is quick and safe from a single-threaded CLI; a server process (threads) spawns.
    method = "fork" if threading.active_count() == 1 else "spawn"
    with ProcessPoolExecutor(len(bounds), mp_context=multiprocessing.get_context(method)) as pool:
        futures = []
        for index, (a, b) in enumerate(bounds):
            ends = {k: v for k, v in batch_ends.items() if a - 1 <= k <= b}
            if index == 0:
                futures.append(pool.submit(_scan_first, url, a, b, expected_seq, prev, ends, batch_rows))
            else:
                futures.append(pool.submit(_scan_chunk, url, a, b, ends, batch_rows))
        results = [future.result() for future in futures]
    total = 0
    for problem, count in results:
        if problem is not None:
            problem.entries = total + count
            return problem, total + count
        total += count
    return None, total


def _scan_first(url: str, lo: int, hi: int, expected_seq: int, prev: str, batch_ends: dict[int, str],
                batch_rows: int) -> tuple[VerifyResult | None, int]:
    from sqlalchemy.pool import NullPool

    from dulieuso.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    raw = engine.raw_connection()
    try:
        return _scan(raw.driver_connection, engine.dialect.name == "sqlite", lo, hi, expected_seq, prev,
                     batch_ends, batch_rows)
    finally:
        raw.close()
        engine.dispose()


def _diagnose(conn: Any, sqlite: bool, seq: int, expected_seq: int, prev: str, prev_hash: str,
              intact: bool, count: int) -> VerifyResult:
    """Say what happened at the first entry that breaks the chain."""
    ph = "?" if sqlite else "%s"

    def result(kind: str, problem: str, bad: int) -> VerifyResult:
        return VerifyResult(False, count, 0, None, None, problem, bad, kind)

    cur = conn.cursor()
    cur.execute(f"SELECT prev_hash FROM sharing_log_entries WHERE seq = {ph}", (seq + 1,))
    following = cur.fetchone()
    cur.execute(f"SELECT entry_hash FROM sharing_log_entries WHERE seq = {ph}", (seq - 2,))
    two_back = cur.fetchone()
    cur.execute(f"SELECT seq FROM sharing_log_entries WHERE entry_hash = {ph} AND seq > {ph}", (prev_hash, seq))
    later = cur.fetchone()
    cur.close()
    if intact and seq == expected_seq and later is not None:
        return result("reordered", f"entry {seq} is out of order (its predecessor is now entry {later[0]})", seq)
    if seq == expected_seq and following is not None and following[0] == prev:
        return result("inserted", f"entry {seq} was inserted (entry {seq + 1} links past it to entry {seq - 1})",
                      seq)
    if not intact:
        return result("altered", f"entry {seq} was altered (its content does not match its hash)", seq)
    if seq > expected_seq:
        return result("deleted", f"entries {expected_seq}..{seq - 1} are missing (deleted)", expected_seq)
    if two_back is not None and two_back[0] == prev_hash and seq - 1 >= 1:
        return result("inserted", f"entry {seq - 1} was inserted (entry {seq} links past it to entry {seq - 2})",
                      seq - 1)
    return result("deleted", f"entry {seq} does not link to entry {seq - 1}: entries before it were deleted "
                  "and the rest renumbered", seq)


# -- export and the standalone archive verifier -------------------------------------------


def _rows(engine: Engine, sql: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(text(sql), params)
        for row in result.mappings():
            yield dict(row)


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if value is not None and name in TIME_FIELDS:
        return str(value)  # SQLite raw text is already canonical
    return value


def export(
    engine: Engine,
    data_dir: Path,
    out: Path,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
) -> dict[str, Any]:
    """Write a signed ZIP of the entries in the range; returns its manifest.

    The archive holds ``entries.jsonl``, ``checkpoints.jsonl`` (every checkpoint that
    seals part of the range), ``public_key.pem``, ``manifest.json`` (file digests, the
    range, the field order, and the previous archive's digest, like X-Road's linking
    info), ``manifest.sig`` (Ed25519 over manifest.json) and ``verify.py``.
    The export is recorded as a signed ``export`` checkpoint carrying the digest.
    """
    key = load_signing_key(data_dir)
    raw = engine.raw_connection()
    try:
        first_seq, last_seq = _seq_range(raw.driver_connection, start, end, engine.dialect.name == "sqlite")
    finally:
        raw.close()
    lo = first_seq if first_seq is not None else 0
    hi = last_seq if last_seq is not None else 10**18
    cols = ", ".join(("seq", "prev_hash", "entry_hash", *FIELDS))
    entries = io.StringIO()
    count = 0
    seq_first: int | None = None
    seq_last: int | None = None
    for row in _rows(engine, f"SELECT {cols} FROM sharing_log_entries WHERE seq >= :lo AND seq <= :hi ORDER BY seq",
                     {"lo": lo, "hi": hi}):
        record = {name: _json_value(name, value) for name, value in row.items()}
        entries.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
        seq_first = seq_first if seq_first is not None else int(row["seq"])
        seq_last = int(row["seq"])
    cps = io.StringIO()
    if seq_first is not None:
        cp_sql = ("SELECT * FROM sharing_log_checkpoints WHERE kind = 'batch' AND last_seq >= :lo "
                  "AND first_seq <= :hi ORDER BY id")
        for row in _rows(engine, cp_sql, {"lo": seq_first, "hi": seq_last}):
            record = {k: (format_time(v) if isinstance(v, datetime) else v) for k, v in row.items()}
            cps.write(json.dumps(record, separators=(",", ":")) + "\n")
    with engine.connect() as conn:
        previous = conn.execute(text(
            "SELECT archive_digest FROM sharing_log_checkpoints WHERE kind = 'export' ORDER BY id DESC LIMIT 1"
        )).scalar()
    public = public_key_pem(key.public_key())
    files = {
        "entries.jsonl": entries.getvalue().encode(),
        "checkpoints.jsonl": cps.getvalue().encode(),
        "public_key.pem": public,
        "verify.py": _standalone_source().encode(),
    }
    manifest = {
        "format": FORMAT + "/archive",
        "created_at": format_time(datetime.now(UTC)),
        "range": {"from": str(start) if start is not None else None, "to": str(end) if end is not None else None},
        "first_seq": seq_first,
        "last_seq": seq_last,
        "entry_count": count,
        "fields": list(FIELDS),
        "key_id": key_id(key.public_key()),
        "previous_archive_digest": previous,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    signature = key.sign(manifest_bytes)
    digest = hashlib.sha256(manifest_bytes + signature).hexdigest()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("manifest.sig", base64.b64encode(signature))
    os.replace(tmp, out)
    backend = _Backend(engine, synchronous_full=True)
    try:
        cur = backend.begin_locked()
        try:
            seq, last_hash = backend.head(cur)
            backend.add_checkpoint(cur, key, "export", seq_first or 0, seq_last or 0,
                                   _entry_hash(cur, backend.ph, seq_last) or last_hash, archive_digest=digest)
            backend.commit()
        except BaseException:
            backend.rollback()
            raise
        finally:
            cur.close()
    finally:
        backend.close()
    manifest["archive_digest"] = digest
    return manifest


def _entry_hash(cur: Any, ph: str, seq: int | None) -> str | None:
    if seq is None:
        return None
    cur.execute(f"SELECT entry_hash FROM sharing_log_entries WHERE seq = {ph}", (seq,))
    row = cur.fetchone()
    return row[0] if row else None


def _standalone_source() -> str:
    import inspect

    return (
        '"""Verify a dulieuso sharing-log archive: python verify.py ARCHIVE.zip --public-key KEY.pem\n\n'
        "Needs Python 3.11+ and the `cryptography` package. Exit 0 when the archive is intact.\n"
        'Get the public key from the provider out of band (not only from inside the archive)."""\n\n'
        + inspect.getsource(verify_archive)
        + "\n\nif __name__ == '__main__':\n"
        "    import argparse, sys\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('archive')\n"
        "    parser.add_argument('--public-key', help='PEM file; default: the one in the archive')\n"
        "    args = parser.parse_args()\n"
        "    pem = open(args.public_key, 'rb').read() if args.public_key else None\n"
        "    problems = verify_archive(args.archive, pem)\n"
        "    print('\\n'.join(problems) or 'archive intact')\n"
        "    sys.exit(1 if problems else 0)\n"
    )


def verify_archive(path, public_key_pem=None):  # type: ignore[no-untyped-def]
    """Check an exported archive; return a list of problems (empty: intact).

    Self-contained on purpose (stdlib + ``cryptography``): ``export`` copies this function
    into the archive as ``verify.py`` so that a third party can run it without dulieuso.
    """
    import base64
    import hashlib
    import json
    import zipfile

    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    problems = []
    try:
        archive = zipfile.ZipFile(path)
        manifest_bytes = archive.read("manifest.json")
        signature = base64.b64decode(archive.read("manifest.sig"))
        manifest = json.loads(manifest_bytes)
    except Exception as error:
        return [f"not a readable archive: {error}"]
    key = load_pem_public_key(public_key_pem or archive.read("public_key.pem"))
    try:
        key.verify(signature, manifest_bytes)
    except Exception:
        return ["the manifest signature is invalid (wrong key, or the manifest was changed)"]
    for name, digest in manifest["files"].items():
        try:
            data = archive.read(name)
        except KeyError:
            problems.append(f"{name} is missing")
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{name} was modified (digest mismatch)")
    if problems:
        return problems
    fields = manifest["fields"]
    prev = None
    last_seq = None
    hashes = {}
    for number, line in enumerate(archive.read("entries.jsonl").decode().splitlines(), 1):
        entry = json.loads(line)
        material = "\x1f".join("~" if entry[f] is None else "=" + str(entry[f]) for f in fields)
        digest = hashlib.sha256((entry["prev_hash"] + "\n" + material).encode()).hexdigest()
        if digest != entry["entry_hash"]:
            problems.append(f"entry {entry['seq']} was altered")
            break
        if prev is not None and (entry["prev_hash"] != prev or entry["seq"] != last_seq + 1):
            problems.append(f"entry {entry['seq']} does not follow entry {last_seq}")
            break
        prev, last_seq = entry["entry_hash"], entry["seq"]
        hashes[entry["seq"]] = digest
    count = len(hashes)
    if not problems and count != manifest["entry_count"]:
        problems.append(f"{count} entries, the manifest says {manifest['entry_count']}")
    for line in archive.read("checkpoints.jsonl").decode().splitlines():
        cp = json.loads(line)
        message = "\n".join([
            "dulieuso-sharing-log-v1/checkpoint", str(cp["id"]), cp["kind"], str(cp["first_seq"]),
            str(cp["last_seq"]), cp["last_hash"], cp["archive_digest"] or "", cp["created_at"], cp["key_id"],
            cp["prev_checkpoint_hash"],
        ]).encode()
        try:
            key.verify(base64.b64decode(cp["signature"]), message)
        except Exception:
            problems.append(f"checkpoint {cp['id']} has an invalid signature")
            continue
        if cp["last_seq"] in hashes and hashes[cp["last_seq"]] != cp["last_hash"]:
            problems.append(f"entry {cp['last_seq']} does not match signed checkpoint {cp['id']}")
    return problems


# -- retention purge -----------------------------------------------------------------------


def purge(engine: Engine, data_dir: Path, before: datetime) -> int:
    """Delete entries requested before ``before`` (Art. 45(3) retention), keeping the chain
    verifiable: a signed ``anchor`` checkpoint records the last purged entry's seq and hash
    first, and the database trigger only lets sealed-by-anchor entries be deleted.
    Returns the number of entries deleted.
    """
    key = load_signing_key(data_dir)
    backend = _Backend(engine)
    try:
        cur = backend.begin_locked()
        try:
            ph = backend.ph
            # Only a prefix of the chain may go: stop before the first entry that is still
            # within retention, even if some later entry is older (seq order rules).
            cur.execute(f"SELECT min(seq) FROM sharing_log_entries WHERE request_at >= {ph}",
                        (backend.time_param(before),))
            keep_from = cur.fetchone()[0]
            if keep_from is None:
                cur.execute("SELECT max(seq) FROM sharing_log_entries")
                top = cur.fetchone()[0]
                cut = int(top) if top is not None else None
            else:
                cut = int(keep_from) - 1
            cur.execute("SELECT min(seq) FROM sharing_log_entries")
            low = cur.fetchone()[0]
            if cut is None or low is None or cut < int(low):
                backend.rollback()
                return 0
            cut_hash = _entry_hash(cur, ph, cut)
            assert cut_hash is not None
            backend.add_checkpoint(cur, key, "anchor", int(low), cut, cut_hash)
            cur.execute(f"DELETE FROM sharing_log_entries WHERE seq <= {ph}", (cut,))
            deleted = cur.rowcount
            backend.commit()
            return int(deleted)
        except BaseException:
            backend.rollback()
            raise
        finally:
            cur.close()
    finally:
        backend.close()


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def parse_bound(value: str | None) -> datetime | int | None:
    """CLI bound: a sequence number (``#123`` or digits), a date or an ISO datetime (UTC if naive)."""
    if value is None or value == "":
        return None
    value = value.strip()
    if value.lstrip("#").isdigit() and (value.startswith("#") or len(value) < 8):
        return int(value.lstrip("#"))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
