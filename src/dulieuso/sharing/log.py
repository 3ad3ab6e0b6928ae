# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sharing log (nhật ký chia sẻ dữ liệu, Decree 47 Art. 45): write, seal, export and
purge. Verification is in ``log_verify.py``.

Design (details and the reasoning in ``docs/exchange-log.md``):

* **One writer per process** (``LogWriter``): a thread that takes every pending entry
  off a queue, and per batch, inside one transaction holding the database's write lock
  (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``pg_advisory_xact_lock``), assigns sequence
  numbers and chain hashes in order, inserts the entries, commits, and only then
  completes each request's future. The gateway awaits that future before it releases
  the response (group commit: the fsync is paid once per batch, not once per call).
* **Several processes** (uvicorn workers) can write to one log: the chain head is taken
  under the database lock. The writer keeps the head it last wrote in memory and reads
  it again only when another connection may have appended: on SQLite when ``PRAGMA
  data_version`` (which changes only on other connections' commits) has moved, on
  PostgreSQL with one small query per batch.
* **Chain** (format 2): ``entry_hash = sha256(prev_hash TAB canonical(entry))`` where the
  canonical form is the text of every field of ``FIELDS`` in order, joined by TAB, with
  an absent value (NULL) written as nothing. Timestamps are
  ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, integers in decimal. The writer replaces
  control characters in text (so no stored value holds a TAB) and stores absent values
  as NULL, never as empty text. The form is what SQLite's ``format('%s', …)`` and
  PostgreSQL's ``COPY … TO STDOUT`` print for the stored columns, so the database can
  hand a whole entry over as one line, which is what makes ``verify`` fast.
* **Checkpoints** are chained too (``prev_checkpoint_hash``) and each is signed with the
  Ed25519 key in the data dir, so the signature of the last checkpoint covers every
  earlier one; ``verify`` checks every link and the signatures of the last checkpoint
  and of every retention anchor. Each checkpoint records the format of the entries it
  seals (``format_version``).
* **Sealing is periodic** (like X-Road's asynchronous time-stamping of the message log):
  the writer signs one ``batch`` checkpoint over everything committed since the previous
  one once ``SEAL_ENTRIES`` entries or ``SEAL_SECONDS`` have gone by, and when it stops,
  instead of one per commit. Tamper evidence of the newest entries: until that seal
  (at most ``SEAL_SECONDS`` after their commit, while the writer runs), the newest
  entries are chained but not signed, so someone who can write to the database could
  rewrite or remove *that tail* without ``verify`` noticing; ``verify`` waits up to
  ``SEAL_SECONDS`` + ``SEAL_GRACE_SECONDS`` for a tail to be sealed and otherwise
  reports it as ``unsealed``. Everything sealed is protected exactly as before. (The
  seal signs the hash the writer computed itself, not one read back, so a rewrite or a
  removal of its own unsealed tail is still caught when no other writer appended after it.)
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import hashlib
import io
import json
import logging
import os
import queue
import threading
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from dulieuso.sharing.log_verify import VerifyResult

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
#: Columns declared NOT NULL; every other field may be absent (stored as NULL).
NOT_NULL = frozenset({"request_id", "request_at", "response_at", "latency_us", "method", "path", "query", "status",
                      "outcome", "bytes_in", "bytes_out", "request_sha256", "response_sha256"})
GENESIS = "0" * 64
#: Separates the prev hash and the fields in the hashed text (and the columns of the
#: lines ``verify`` reads). The writer keeps it out of every stored value.
SEP = "\t"
#: The canonical form written by this version. 1 was ``"=" + text`` or ``"~"`` per
#: field, joined by U+001F, after ``prev_hash + "\n"`` (up to migration 0012).
FORMAT_VERSION = 2
FORMAT = f"dulieuso-sharing-log-v{FORMAT_VERSION}"
KEY_FILE = "sharing-log-ed25519.pem"
PUBLIC_KEY_FILE = "sharing-log-ed25519.pub.pem"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: The writer seals (signs a checkpoint over) its committed entries once this many are
#: unsealed or the oldest of them has waited this long, and when it stops. The window
#: in which the newest entries are chained but not yet signed (see the module docstring).
SEAL_ENTRIES = 1000
SEAL_SECONDS = 0.5
#: How much longer than ``SEAL_SECONDS`` ``verify`` waits for an unsealed tail to be
#: sealed (a loaded machine, an fsync) before it reports the tail as ``unsealed``.
SEAL_GRACE_SECONDS = 1.5
#: The characters the writer replaces with a space in text: C0 controls and DEL.
_CONTROL_CHARS = "".join(map(chr, range(0x20))) + "\x7f"
_CLEAN = str.maketrans(_CONTROL_CHARS, " " * len(_CONTROL_CHARS))
# An arbitrary, fixed key for pg_advisory_xact_lock: "dulieuso sharing log".
_PG_LOCK_KEY = 0x5D1E50_10
#: PostgreSQL batches up to this many entries are inserted with one text INSERT sent
#: together with COMMIT (one round trip); larger ones with COPY.
_PG_TEXT_ROWS = 16


# -- canonical form ----------------------------------------------------------------------


def format_time(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (a naive value is taken as UTC).

    The same text SQLAlchemy stores for a datetime on SQLite, so the stored column is
    already canonical there. ``isoformat`` rather than ``strftime``: several times faster
    and on the writer's hot path. A value in UTC (what ``normalise`` hands the writer) is
    cut from its own ``isoformat``: ``+00:00`` is the only thing after the microseconds.
    """
    if value.tzinfo is UTC:
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def clean_text(value: object, limit: int = 4000) -> str:
    """Text as stored: no control characters (they would blur the canonical form).

    ``isprintable`` first: a C-level scan that is true for almost every value (no control
    character can be printable), so the replacement runs only on the rest.
    """
    text = value if type(value) is str else str(value)
    if not text.isprintable():
        text = text.translate(_CLEAN)
    return text[:limit] if len(text) > limit else text


def field_text(value: object) -> str:
    """One field in the canonical form: nothing for NULL, the time format, or ``str``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def canonical(entry: dict[str, Any]) -> str:
    """The canonical text of an entry (its fields only, not seq or hashes)."""
    return SEP.join([field_text(entry.get(name)) for name in FIELDS])


def chain_hash(prev_hash: str, canonical_text: str) -> str:
    """The entry's hash: SHA-256 over its predecessor's hash, TAB, its canonical text."""
    return hashlib.sha256((prev_hash + SEP + canonical_text).encode()).hexdigest()


_NULLABLE_TEXT = tuple(name for name in FIELDS if name not in NOT_NULL)
_NOT_NULL_TEXT = tuple(name for name in FIELDS if name in NOT_NULL and name not in TIME_FIELDS | INT_FIELDS)
_REQUIRED = tuple(sorted(REQUIRED))
#: Filled in when absent (the columns are NOT NULL).
_DEFAULTS = {"latency_us": 0, "bytes_in": 0, "bytes_out": 0, "query": "",
             "request_sha256": EMPTY_SHA256, "response_sha256": EMPTY_SHA256}


def normalise(entry: dict[str, Any]) -> dict[str, Any]:
    """Check and clean an entry before it is queued: required fields, types, no control
    chars, and absent values as None (the canonical form writes NULL and empty text
    alike, so the writer never stores empty text where NULL is allowed).

    On the event loop for every gateway call, hence written out field kind by field kind
    instead of one generic loop: clean text (almost all of it) costs one ``isprintable``.
    """
    get = entry.get
    missing = [name for name in _REQUIRED if get(name) is None or get(name) == ""]
    if missing:
        raise ValueError(f"log entry lacks {missing}")
    out: dict[str, Any] = {}
    for name in ("request_at", "response_at"):
        value = get(name)
        if not isinstance(value, datetime):
            raise ValueError(f"{name} must be a datetime")
        tz = value.tzinfo
        out[name] = value if tz is UTC else value.astimezone(UTC) if tz else value.replace(tzinfo=UTC)
    for name in ("latency_us", "status", "bytes_in", "bytes_out"):
        value = get(name)
        out[name] = value if type(value) is int else _DEFAULTS[name] if value is None else int(value)
    for name in _NOT_NULL_TEXT:
        value = get(name)
        if value is None:
            out[name] = _DEFAULTS.get(name, "")
            continue
        text = value if type(value) is str else str(value)
        if not text.isprintable():
            text = text.translate(_CLEAN)
        out[name] = text[:4000] if len(text) > 4000 else text
    for name in _NULLABLE_TEXT:
        value = get(name)
        if value is None:
            out[name] = None
            continue
        text = value if type(value) is str else str(value)
        if not text.isprintable():
            text = text.translate(_CLEAN)
        out[name] = (text[:4000] if len(text) > 4000 else text) or None
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
    """What a checkpoint's signature covers, the format of the entries it seals included
    (a checkpoint without ``format_version`` predates the column: format 1)."""
    version = int(cp.get("format_version") or 1)
    return "\n".join(
        [
            f"dulieuso-sharing-log-v{version}/checkpoint",
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


@dataclass
class _Head:
    """What the writer knows of the log's end: the last entry, the last checkpoint, and
    how far signed checkpoints (``batch`` or ``anchor``) reach."""

    seq: int
    hash: str
    cp_id: int
    cp_hash: str
    sealed_to: int


_FIELD_VALUES = itemgetter(*FIELDS)
_TIME_AT = tuple(i for i, name in enumerate(FIELDS) if name in TIME_FIELDS)
_INT_AT = tuple(i for i, name in enumerate(FIELDS) if name in INT_FIELDS)


class _Backend:
    """One dedicated DBAPI connection with the few statements the log needs, and the
    head of the log as this connection last wrote or read it."""

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
        else:
            # PostgreSQL: BEGIN and COMMIT are ours too, so that they travel with other
            # statements (each round trip costs the writer thread more than the SQL).
            import psycopg

            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.rollback()  # what a pool's ping may have begun
            self.conn.autocommit = True

            self.literal = psycopg.ClientCursor(self.conn)  # for statements sent as text
        ph = "?" if self.sqlite else "%s"
        self.ph = ph
        cols = ("seq", "prev_hash", "entry_hash", *FIELDS)
        self.insert_entry_sql = (
            f"INSERT INTO sharing_log_entries ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
        )
        self.copy_entries_sql = f"COPY sharing_log_entries ({', '.join(cols)}) FROM STDIN"
        self.row_sql = f"({', '.join([ph] * len(cols))})"
        self.insert_entries_head = f"INSERT INTO sharing_log_entries ({', '.join(cols)}) VALUES "
        cp_cols = (
            "id", "kind", "first_seq", "last_seq", "last_hash", "archive_digest", "created_at",
            "key_id", "prev_checkpoint_hash", "signature", "checkpoint_hash", "format_version",
        )
        self.cp_cols = cp_cols
        self.insert_cp_sql = (
            f"INSERT INTO sharing_log_checkpoints ({', '.join(cp_cols)}) "
            f"VALUES ({', '.join([ph] * len(cp_cols))})"
        )
        #: The head as of this connection's last commit (None: read it again).
        self.known: _Head | None = None
        #: SQLite's ``data_version`` when ``known`` was last right.
        self.data_version: int | None = None
        self._key: Ed25519PrivateKey | None = None
        self._key_id = ""

    def close(self) -> None:
        try:
            if self.sqlite:
                self.conn.isolation_level = ""  # give the pool back what it lent
            else:
                self.rollback()
                self.conn.autocommit = False
            self.raw.close()
        except Exception:  # pragma: no cover - closing a broken connection
            log.exception("closing the sharing-log connection failed")

    def begin_locked(self) -> Any:
        cur = self.conn.cursor()
        if self.sqlite:
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur.execute(f"BEGIN; SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        return cur

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.known = None  # whatever was assumed in the transaction is void
        try:
            if self.sqlite:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            elif self.conn.info.transaction_status != 0:  # not IDLE
                self.conn.execute("ROLLBACK")
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
        return self._anchor(cur)

    def _anchor(self, cur: Any) -> tuple[int, str]:
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

    _HEAD_SQL = (
        "SELECT (SELECT seq FROM sharing_log_entries ORDER BY seq DESC LIMIT 1), "
        "(SELECT entry_hash FROM sharing_log_entries ORDER BY seq DESC LIMIT 1), "
        "(SELECT id FROM sharing_log_checkpoints ORDER BY id DESC LIMIT 1), "
        "(SELECT checkpoint_hash FROM sharing_log_checkpoints ORDER BY id DESC LIMIT 1), "
        "(SELECT last_seq FROM sharing_log_checkpoints WHERE kind <> 'export' ORDER BY last_seq DESC LIMIT 1)"
    )

    def begin_head(self) -> tuple[Any, _Head]:
        """Begin the locked transaction and take the head: the one this connection knows,
        unless another connection may have written since.

        SQLite: ``data_version`` changes when another connection commits, never for our
        own, so the head is read only then. PostgreSQL has no such counter: BEGIN, the
        lock and the head query go in one round trip (statements of one simple query
        each take their own snapshot, so the head is read after the lock is held)."""
        if self.sqlite:
            cur = self.begin_locked()
            version = cur.execute("PRAGMA data_version").fetchone()[0]
            if self.known is not None and version == self.data_version:
                return cur, self.known
            self.data_version = version
            cur.execute(self._HEAD_SQL)
        else:
            cur = self.conn.cursor()
            cur.execute(f"BEGIN; SELECT pg_advisory_xact_lock({_PG_LOCK_KEY}); {self._HEAD_SQL}")
            cur.nextset()
            cur.nextset()
        return cur, self._head_from(cur, cur.fetchone())

    def _head_from(self, cur: Any, row: tuple[Any, ...]) -> _Head:
        known = self.known
        seq, entry_hash, cp_id, cp_hash, sealed_to = row
        if seq is None:
            seq, entry_hash = self._anchor(cur)
        head = _Head(int(seq), entry_hash, int(cp_id or 0), cp_hash or GENESIS, int(sealed_to or 0))
        if known is not None and head.seq <= known.seq and (head.seq, head.hash) != (known.seq, known.hash):
            # Fewer entries than this writer wrote, or other ones: its newest entries were
            # removed or rewritten in the database (the log only grows otherwise; another
            # writer's entries make it longer). Chaining on from what this writer wrote
            # leaves that visible to verify, where a seal would otherwise sign it.
            log.error("sharing log: the database ends at entry %d, not at entry %d as this writer wrote it "
                      "(removed or rewritten?); the chain continues from the written one", head.seq, known.seq)
            head.seq, head.hash = known.seq, known.hash
        return head

    def key_id_of(self, key: Ed25519PrivateKey) -> str:
        if key is not self._key:  # deriving the public key costs a scalar multiplication
            self._key, self._key_id = key, key_id(key.public_key())
        return self._key_id

    def add_checkpoint(
        self,
        cur: Any,
        key: Ed25519PrivateKey,
        kind: str,
        first_seq: int,
        last_seq: int,
        last_hash: str,
        archive_digest: str | None = None,
        prev: tuple[int, str] | None = None,
    ) -> dict[str, Any]:
        """Sign and insert a checkpoint; ``prev`` is the last checkpoint's (id, hash)
        when the caller knows it (read otherwise)."""
        cp, values = self.sign_checkpoint(key, kind, first_seq, last_seq, last_hash, archive_digest,
                                          prev if prev is not None else self.last_checkpoint(cur))
        cur.execute(self.insert_cp_sql, values)
        self.known = None  # callers other than append() change the checkpoint head
        return cp

    def sign_checkpoint(
        self,
        key: Ed25519PrivateKey,
        kind: str,
        first_seq: int,
        last_seq: int,
        last_hash: str,
        archive_digest: str | None = None,
        prev: tuple[int, str] = (0, GENESIS),
    ) -> tuple[dict[str, Any], list[Any]]:
        """A signed checkpoint after ``prev`` (the last one's id and hash), and the values
        of its row."""
        last_id, prev_hash = prev
        cp: dict[str, Any] = {
            "id": last_id + 1,
            "kind": kind,
            "first_seq": first_seq,
            "last_seq": last_seq,
            "last_hash": last_hash,
            "archive_digest": archive_digest,
            "created_at": datetime.now(UTC),
            "key_id": self.key_id_of(key),
            "prev_checkpoint_hash": prev_hash,
            "format_version": FORMAT_VERSION,
        }
        message = checkpoint_message(cp)
        cp["signature"] = base64.b64encode(key.sign(message)).decode()
        cp["checkpoint_hash"] = checkpoint_hash(message, cp["signature"])
        values = [cp[c] for c in self.cp_cols]
        values[self.cp_cols.index("created_at")] = self.time_param(cp["created_at"])
        return cp, values

    def append(self, key: Ed25519PrivateKey, entries: Sequence[dict[str, Any]], *, seal: bool = True) -> list[int]:
        """Chain and insert ``entries`` (normalised) in one locked transaction; with
        ``seal``, also sign a ``batch`` checkpoint over every entry not yet sealed (this
        connection's, other writers', or a crashed writer's). Returns their seqs.
        ``entries`` may be empty: then only the seal."""
        cur = None
        try:
            cur, head = self.begin_head()
            seq, prev = head.seq, head.hash
            rows = []
            seqs = []
            sha256 = hashlib.sha256
            sqlite = self.sqlite
            for entry in entries:
                seq += 1
                values = _FIELD_VALUES(entry)
                texts = ["" if value is None else value for value in values]
                for i in _TIME_AT:
                    texts[i] = format_time(values[i])
                for i in _INT_AT:
                    texts[i] = str(values[i])
                digest = sha256((prev + SEP + SEP.join(texts)).encode()).hexdigest()
                row = [seq, prev, digest, *values]
                if sqlite:  # the canonical text of a time is what SQLite stores for it
                    for i in _TIME_AT:
                        row[3 + i] = texts[i]
                rows.append(row)
                seqs.append(seq)
                prev = digest
            # Statements that travel together to PostgreSQL, as text, ending with COMMIT.
            tail: list[str] = []
            if rows:
                if sqlite:
                    cur.executemany(self.insert_entry_sql, rows)
                elif len(rows) <= _PG_TEXT_ROWS:
                    # Values quoted by psycopg itself (client-side binding).
                    tail.append(self.insert_entries_head + ", ".join(
                        self.literal.mogrify(self.row_sql, row) for row in rows))
                else:
                    # COPY rather than executemany: one statement per batch instead of one
                    # per entry (measured: about 10 times faster for a batch of 1,000).
                    with cur.copy(self.copy_entries_sql) as copy:
                        for row in rows:
                            copy.write_row(row)
            after = _Head(seq, prev, head.cp_id, head.cp_hash, head.sealed_to)
            if seal and after.sealed_to < seq:
                cp, values = self.sign_checkpoint(key, "batch", after.sealed_to + 1, seq, prev,
                                                  prev=(head.cp_id, head.cp_hash))
                if sqlite:
                    cur.execute(self.insert_cp_sql, values)
                else:
                    tail.append(self.literal.mogrify(self.insert_cp_sql, values))
                after.cp_id, after.cp_hash, after.sealed_to = cp["id"], cp["checkpoint_hash"], seq
            if sqlite:
                self.commit()
            else:
                tail.append("COMMIT")
                cur.execute("; ".join(tail))
            self.known = after
            return seqs
        except BaseException:
            self.rollback()
            raise
        finally:
            if cur is not None:
                cur.close()


# -- the writer ---------------------------------------------------------------------------


def _resolve(waiters: list[tuple[asyncio.Future[int], int]]) -> None:
    """On the caller's event loop: complete the futures of one committed batch."""
    for future, seq in waiters:
        if not future.done():  # a cancelled call: its entry is committed all the same
            future.set_result(seq)


def _reject(waiters: list[asyncio.Future[int]], error: BaseException) -> None:
    for future in waiters:
        if not future.done():
            future.set_exception(error)


#: A queue item that only asks the writer to seal (``stop`` uses None).
_SEAL = object()


class LogWriter:
    """Group-commit writer: ``await writer.append(entry)`` returns once the entry is durable.

    Entries are sealed by a signed checkpoint every ``seal_entries`` entries or
    ``seal_seconds`` (see the module docstring), and on ``stop`` (also at interpreter
    exit for the writers made by ``writer_for``).
    """

    MAX_BATCH = 1000

    def __init__(self, engine: Engine, data_dir: Path, *, synchronous_full: bool = True,
                 seal_entries: int = SEAL_ENTRIES, seal_seconds: float = SEAL_SECONDS) -> None:
        self.engine = engine
        self.key = load_signing_key(data_dir)
        self.synchronous_full = synchronous_full
        self.seal_entries = seal_entries
        self.seal_seconds = seal_seconds
        # Items: (entry, future, loop). An asyncio future (``append``) is completed on its
        # loop, all of a batch's in one call_soon_threadsafe per loop; a concurrent
        # future (``submit``, loop None) directly.
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sharing-log-writer", daemon=True)
        self._started = False
        self._lock = threading.Lock()
        self.batches = 0
        self.entries = 0
        self.seals = 0
        #: Entries this writer committed and has not sealed, and when the first of them was
        #: committed (``time.monotonic``); None: nothing of ours is waiting.
        self._unsealed = 0
        self._unsealed_since: float | None = None

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def submit(self, entry: dict[str, Any]) -> Future[int]:
        """Queue ``entry``; the future resolves to its sequence number once committed."""
        future: Future[int] = Future()
        self._queue.put((normalise(entry), future, None))
        if not self._started:
            self.start()
        return future

    async def append(self, entry: dict[str, Any]) -> int:
        """Queue ``entry`` and wait until it is committed; returns its sequence number."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.put((normalise(entry), future, loop))
        if not self._started:
            self.start()
        return await future

    def write(self, entry: dict[str, Any], timeout: float = 30) -> int:
        """Blocking variant for scripts and tests."""
        return self.submit(entry).result(timeout)

    def seal(self) -> None:
        """Ask the writer to seal what is committed now (without waiting for it)."""
        if self._started:
            self._queue.put(_SEAL)

    def stop(self, timeout: float = 10) -> None:
        """Write what is queued, seal, and end the thread."""
        if self._started and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        backend: _Backend | None = None
        stopping = False
        # The first commit also seals: a writer that crashed may have left a tail.
        seal_first = True
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        while not stopping:
            since = self._unsealed_since
            if since is None:
                item = get()
            else:
                try:
                    item = get(timeout=max(since + self.seal_seconds - time.monotonic(), 0))
                except queue.Empty:
                    item = _SEAL
            batch = []
            asked = item is _SEAL
            if item is None:
                stopping = True
            elif not asked:
                batch.append(item)
                while len(batch) < self.MAX_BATCH:
                    try:
                        more = get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    if more is _SEAL:
                        asked = True
                        continue
                    batch.append(more)
            pending = self._unsealed + len(batch)
            since = self._unsealed_since
            seal = asked or (pending > 0 and (
                seal_first or stopping or pending >= self.seal_entries
                or (since is not None and time.monotonic() - since >= self.seal_seconds)))
            if not batch and not seal:
                continue
            try:
                if backend is None:
                    backend = _Backend(self.engine, self.synchronous_full)
                seqs = backend.append(self.key, [item[0] for item in batch], seal=seal)
            except BaseException as error:  # every waiting request learns of it
                log.exception("sharing log batch of %d entries failed", len(batch))
                if backend is not None:
                    backend.close()
                    backend = None
                self._fail(batch, error)
                if not batch:  # a seal alone failed: try again a period later
                    self._unsealed_since = time.monotonic()
                continue
            if seal:
                seal_first = False
                self.seals += 1
                self._unsealed, self._unsealed_since = 0, None
            elif batch:
                self._unsealed = pending
                if since is None:
                    self._unsealed_since = time.monotonic()
            if batch:
                self.batches += 1
                self.entries += len(batch)
                self._complete(batch, seqs)
        if backend is not None:
            backend.close()

    @staticmethod
    def _complete(batch: list[Any], seqs: list[int]) -> None:
        by_loop: dict[Any, list[tuple[asyncio.Future[int], int]]] = {}
        for (_, future, loop), seq in zip(batch, seqs, strict=True):
            if loop is not None:
                waiters = by_loop.get(loop)
                if waiters is None:
                    waiters = by_loop[loop] = []
                waiters.append((future, seq))
            elif not future.done():
                try:
                    future.set_result(seq)
                except InvalidStateError:  # cancelled in between
                    pass
        for loop, waiters in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, waiters)
            except RuntimeError:  # the loop was closed: nobody is waiting any more
                pass

    @staticmethod
    def _fail(batch: list[Any], error: BaseException) -> None:
        by_loop: dict[Any, list[asyncio.Future[int]]] = {}
        for _, future, loop in batch:
            if loop is not None:
                by_loop.setdefault(loop, []).append(future)
            elif not future.done():
                try:
                    future.set_exception(error)
                except InvalidStateError:
                    pass
        for loop, waiters in by_loop.items():
            try:
                loop.call_soon_threadsafe(_reject, waiters, error)
            except RuntimeError:
                pass


_writers: dict[tuple[int, str], LogWriter] = {}
_writers_lock = threading.Lock()


def writer_for(engine: Engine, data_dir: Path, *, synchronous_full: bool = True) -> LogWriter:
    """The process's writer for this database (one per engine)."""
    key = (id(engine), str(data_dir))
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            if not _writers:
                atexit.register(_stop_writers)
            writer = _writers[key] = LogWriter(engine, data_dir, synchronous_full=synchronous_full)
            writer.start()
        return writer


def _stop_writers() -> None:
    """At interpreter exit: seal what the process's writers committed."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        if writer._unsealed_since is not None or not writer._queue.empty():
            writer.stop(timeout=5)


# -- verify (implemented in log_verify.py) ---------------------------------------------------


def verify(
    engine: Engine,
    data_dir: Path,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
    *,
    workers: int | None = None,
) -> VerifyResult:
    """Recompute the chain and the checkpoints; name the first bad entry. See
    ``log_verify.verify``: imported on call, because that module builds on this one."""
    from dulieuso.sharing.log_verify import verify as run

    return run(engine, data_dir, start, end, workers=workers)


# -- ranges ---------------------------------------------------------------------------------


def seq_range(
    conn: Any, start: datetime | int | None, end: datetime | int | None, sqlite: bool
) -> tuple[int | None, int | None]:
    """Map a time (or seq) range to the seqs it covers (None: open). ``conn`` is a DBAPI
    connection; a time bound that matches no entry gives an empty range."""

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
        first_seq, last_seq = seq_range(raw.driver_connection, start, end, engine.dialect.name == "sqlite")
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
    if manifest.get("format") != "dulieuso-sharing-log-v2/archive":
        return [f"the archive is in format {manifest.get('format')}: check it with the verify.py inside it"]
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
    # split("\n"), not splitlines(): JSON escapes newlines, but not U+2028 or U+0085.
    for line in filter(None, archive.read("entries.jsonl").decode().split("\n")):
        entry = json.loads(line)
        # Format 2: the prev hash and every field's text (nothing for null), TAB-separated.
        material = "\t".join([entry["prev_hash"]] + ["" if entry[f] is None else str(entry[f]) for f in fields])
        digest = hashlib.sha256(material.encode()).hexdigest()
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
    for line in filter(None, archive.read("checkpoints.jsonl").decode().split("\n")):
        cp = json.loads(line)
        message = "\n".join([
            f"dulieuso-sharing-log-v{cp.get('format_version') or 1}/checkpoint", str(cp["id"]), cp["kind"],
            str(cp["first_seq"]), str(cp["last_seq"]), cp["last_hash"], cp["archive_digest"] or "", cp["created_at"],
            cp["key_id"], cp["prev_checkpoint_hash"],
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
