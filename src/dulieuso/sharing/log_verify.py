# SPDX-License-Identifier: AGPL-3.0-or-later
"""``dulieuso log verify``: recompute the sharing log's hash chain, check its signed
checkpoints, and name the first bad entry and what happened to it.

Why it is built this way (each step measured; figures in ``bench/README.md``):

* **One line per entry from the database.** Handing Python 33 columns costs more than
  everything else together, so the database writes each entry as one line,
  ``entry_hash TAB prev_hash TAB field1 … TAB field30 LF``: SQLite with one ``format()``
  call per row, PostgreSQL with ``COPY … TO STDOUT`` (its cheapest way out; only the two
  times go through ``to_char``). Format 2 of the canonical form (``log.py``) is exactly
  the part after the first TAB, so Python hashes a slice of the line.
* **Blocks, not rows.** Python checks a block of lines with C-level calls only: the
  SHA-256 of every slice, then one comparison of the joined digests with the joined
  stored hashes, and one of the joined ``prev_hash`` values with the chain. A block that
  fails is walked line by line to find the entry.
* **No sequence numbers in the stream.** ``seq`` is the primary key, so n rows read in
  ``seq`` order from a range of n numbers have no gap; a short read, or a failure, is
  followed by a query that finds the gap.
* **Parallel chunks.** A long range is cut at checkpoint boundaries into chunks that
  worker processes check independently: a chunk starts from the signed hash of the
  checkpoint before it, checks its entries against every checkpoint inside it, and ends
  on a checkpoint whose hash the next chunk started from (the parent checks each joint).
* **The newest entries may not be sealed yet.** The writer signs checkpoints
  periodically (``log.SEAL_SECONDS``); a tail that no checkpoint covers is waited for
  (``SEAL_SECONDS`` + ``SEAL_GRACE_SECONDS``), then the new checkpoints are checked like
  the others, and so are the entries they seal beyond the range read (appended since).
  A tail still unsealed after that is reported as ``unsealed``.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from dulieuso.sharing.log import (
    FIELDS,
    FORMAT_VERSION,
    GENESIS,
    PUBLIC_KEY_FILE,
    SEAL_GRACE_SECONDS,
    SEAL_SECONDS,
    TIME_FIELDS,
    checkpoint_hash,
    checkpoint_message,
    key_id,
    load_signing_key,
    seq_range,
)

#: Below this many entries (and unless ``workers`` is given) one process checks the range:
#: starting worker processes costs more than it saves.
PARALLEL_MIN_ENTRIES = 100_000
#: Chunks per worker process. More chunks than workers keep every worker busy when one
#: core is slowed down by other work; each chunk costs one database connection.
CHUNKS_PER_WORKER = 4
#: Lines handed from the database to Python at a time.
BLOCK_ROWS = 2_000

#: The columns of each line: the stored hashes, then the entry's canonical material.
_LINE_COLUMNS = ("entry_hash", "prev_hash", *FIELDS)
_SQLITE_LINES = (
    "SELECT CAST(format('" + "\t".join(["%s"] * len(_LINE_COLUMNS)) + "\n', " + ", ".join(_LINE_COLUMNS) + ") AS BLOB) "
    "FROM sharing_log_entries WHERE seq >= ? AND seq <= ? ORDER BY seq"
)
_POSTGRESQL_COLUMNS = ", ".join(
    f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" if name in TIME_FIELDS else name
    for name in _LINE_COLUMNS
)

# A line whose hashes are 64 characters: the stored entry hash, its prev_hash, and the
# material (prev_hash TAB fields) without the final LF. Taking the slices at fixed places
# is safe: a line that does not have this shape cannot pass the checks below (a digest
# is 64 hex digits, and TABs are counted by the hash of the material).
_ENTRY = itemgetter(slice(0, 64))
_PREV = itemgetter(slice(65, 129))
_MATERIAL = itemgetter(slice(65, -1))
_SHA256 = hashlib.sha256
_HEXDIGEST = type(hashlib.sha256()).hexdigest

# PostgreSQL's COPY text format escapes a backslash and these control characters.
_COPY_ESCAPES = {b"b": b"\x08", b"f": b"\x0c", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\x0b"}
_COPY_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    first_seq: int | None
    last_seq: int | None
    problem: str | None = None
    bad_seq: int | None = None
    #: altered | deleted | inserted | reordered | truncated | unsealed | checkpoint | format
    kind: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class _Chunk:
    """Entries ``lo..hi``; entry ``lo`` must link to ``prev``; ``ends`` are the signed
    checkpoint hashes of the batches that end inside the chunk."""

    lo: int
    hi: int
    prev: str
    ends: tuple[tuple[int, str], ...]


@dataclass
class _ChunkResult:
    problem: VerifyResult | None
    entries: int  # entries found intact (before the problem, if any)
    last_hash: str  # the chain's hash after the last intact entry


def verify(
    engine: Engine,
    data_dir: Path,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
    *,
    workers: int | None = None,
) -> VerifyResult:
    """Recompute the chain and the checkpoints; name the first bad entry.

    ``start``/``end`` are request times (datetimes) or sequence numbers (ints), inclusive
    of ``start`` and exclusive of a time ``end`` (inclusive of a seq ``end``).
    ``workers`` is the number of processes; by default as many as there are CPUs for
    ranges of ``PARALLEL_MIN_ENTRIES`` or more, one for shorter ones.
    """
    began = time.perf_counter()
    public = _public_key(data_dir)
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        sqlite = engine.dialect.name == "sqlite"
        first_seq, last_seq = seq_range(conn, start, end, sqlite)
        checkpoints = _read_checkpoints(conn, sqlite)

        def fail(kind: str, problem: str, seq: int | None, entries: int = 0) -> VerifyResult:
            return VerifyResult(False, entries, len(checkpoints), first_seq, last_seq, problem, seq, kind,
                                time.perf_counter() - began)

        # 1. Checkpoints: every link, every hash; signatures of anchors and of the last one.
        seals = _Seals(key_id(public))
        bad = seals.check(checkpoints, public)
        if bad is not None:
            return fail(*bad)
        batch_ends, anchor, sealed_to = seals.batch_ends, seals.anchor, seals.sealed_to

        # 2. Where the chain starts: the first entry's predecessor, a purge anchor, or genesis.
        cur = conn.cursor()
        # Two subqueries: SQLite answers a lone min() or max() from the key, but scans the
        # whole table for both in one SELECT.
        cur.execute("SELECT (SELECT min(seq) FROM sharing_log_entries), (SELECT max(seq) FROM sharing_log_entries)")
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
            prev = base_hash
        else:
            prev = _stored_hash(conn, sqlite, begin_seq - 1, before=True) or GENESIS
        if begin_seq > stop_seq:
            return VerifyResult(True, 0, len(checkpoints), first_seq, last_seq, seconds=time.perf_counter() - began)

        # 3. Only format 2 can be recomputed by this version.
        for cp in checkpoints:
            if (cp["kind"] == "batch" and int(cp["format_version"]) != FORMAT_VERSION
                    and int(cp["last_seq"]) >= begin_seq and int(cp["first_seq"]) <= stop_seq):
                return fail("format", f"entries {cp['first_seq']}..{cp['last_seq']} were written in format "
                            f"{cp['format_version']} (before migration 0012); this version checks format "
                            f"{FORMAT_VERSION} only", int(cp["first_seq"]))

        # 4. The entries, in chunks cut at checkpoint boundaries, by worker processes when
        # the range is long.
        total = stop_seq - begin_seq + 1
        if workers is None:
            workers = (os.cpu_count() or 1) if total >= PARALLEL_MIN_ENTRIES else 1
        if sqlite and engine.url.database in (None, "", ":memory:"):
            workers = 1  # another process would open an empty database of its own
        parts = 1 if workers <= 1 else min(workers * CHUNKS_PER_WORKER, total)
        chunks = _plan(conn, sqlite, begin_seq, stop_seq, prev, batch_ends, parts)
        problem, count, last_hash = _run(engine, conn, sqlite, chunks, workers)
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
                # The writer seals periodically: give it the time it may take, then check
                # the seal (and the entries it covers beyond this range) like the others.
                late = _await_seal(conn, sqlite, public, seals, checkpoints, hi, last_hash)
                if late is not None:
                    kind, problem_text, bad_seq = late
                    return fail(kind, problem_text, bad_seq, count)
        return VerifyResult(True, count, len(checkpoints), begin_seq, stop_seq,
                            seconds=time.perf_counter() - began)
    finally:
        raw.close()


def _public_key(data_dir: Path) -> Ed25519PublicKey:
    pub = Path(data_dir) / PUBLIC_KEY_FILE
    if pub.exists():
        key = serialization.load_pem_public_key(pub.read_bytes())
        assert isinstance(key, Ed25519PublicKey)
        return key
    return load_signing_key(data_dir).public_key()


_CHECKPOINT_COLUMNS = ("id", "kind", "first_seq", "last_seq", "last_hash", "archive_digest", "created_at",
                       "key_id", "prev_checkpoint_hash", "signature", "checkpoint_hash", "format_version")


def _read_checkpoints(conn: Any, sqlite: bool, after: int = 0) -> list[dict[str, Any]]:
    """The checkpoints with an id above ``after``, in id order."""
    created = "created_at" if sqlite else "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    columns = ", ".join(created if name == "created_at" else name for name in _CHECKPOINT_COLUMNS)
    cur = conn.cursor()
    cur.execute(f"SELECT {columns} FROM sharing_log_checkpoints WHERE id > {int(after)} ORDER BY id")
    rows = [dict(zip(_CHECKPOINT_COLUMNS, row, strict=True)) for row in cur.fetchall()]
    cur.close()
    return rows


class _Seals:
    """The checkpoint chain as checked so far: where batch checkpoints end (and the hashes
    they signed), the last purge anchor, and how far signed checkpoints reach."""

    def __init__(self, expected_key: str) -> None:
        self.expected_key = expected_key
        self.count = 0
        self.prev = GENESIS
        self.batch_ends: dict[int, str] = {}
        self.anchor: tuple[int, str] | None = None
        self.sealed_to = 0

    def check(self, checkpoints: list[dict[str, Any]], public: Ed25519PublicKey) -> tuple[str, str, int | None] | None:
        """Check ``checkpoints`` (the ones after those checked before): every link and hash,
        the signatures of anchors and of the last one. Returns (kind, problem, seq) or None."""
        last = len(checkpoints) - 1
        for index, cp in enumerate(checkpoints):
            if cp["id"] != self.count + 1:
                return "checkpoint", f"checkpoint {self.count + 1} is missing (found {cp['id']})", None
            message = checkpoint_message(cp)
            recomputed = checkpoint_hash(message, cp["signature"])
            if cp["prev_checkpoint_hash"] != self.prev or recomputed != cp["checkpoint_hash"]:
                return "checkpoint", f"checkpoint {cp['id']} was altered or its chain is broken", int(cp["last_seq"])
            if cp["kind"] == "anchor" or index == last:
                if cp["key_id"] != self.expected_key:
                    return "checkpoint", f"checkpoint {cp['id']} is signed by an unknown key {cp['key_id']}", None
                try:
                    public.verify(base64.b64decode(cp["signature"]), message)
                except Exception:
                    return "checkpoint", f"checkpoint {cp['id']} has an invalid signature", int(cp["last_seq"])
            if cp["kind"] == "batch":
                self.batch_ends[int(cp["last_seq"])] = cp["last_hash"]
                self.sealed_to = max(self.sealed_to, int(cp["last_seq"]))
            elif cp["kind"] == "anchor":
                self.anchor = (int(cp["last_seq"]), cp["last_hash"])
            self.prev = cp["checkpoint_hash"]
            self.count += 1
        return None


def _await_seal(conn: Any, sqlite: bool, public: Ed25519PublicKey, seals: _Seals, checkpoints: list[dict[str, Any]],
                hi: int, last_hash: str) -> tuple[str, str, int] | None:
    """The log's newest entries (up to ``hi``, whose hash is ``last_hash``) are not sealed
    yet. The writer seals within ``SEAL_SECONDS`` of a commit: wait that long (and a grace)
    for checkpoints that reach ``hi``, check them like the others, and check the entries
    they seal beyond ``hi`` (appended since verify began). Returns (kind, problem, seq)
    or None when the tail is sealed and intact."""
    unsealed_from = seals.sealed_to + 1
    deadline = time.monotonic() + SEAL_SECONDS + SEAL_GRACE_SECONDS
    while seals.sealed_to < hi:
        if time.monotonic() >= deadline:
            message = (f"entry {unsealed_from} is not sealed by any signed checkpoint (inserted after the fact, "
                       "or its writer stopped before sealing it)")
            return "unsealed", message, unsealed_from
        time.sleep(0.05)
        new = _read_checkpoints(conn, sqlite, after=seals.count)
        if new:
            bad = seals.check(new, public)
            if bad is not None:
                return bad[0], bad[1], bad[2] if bad[2] is not None else unsealed_from
            checkpoints.extend(new)
    # Ends up to hi: those entries were checked above, so their stored hashes are theirs.
    for seq in sorted(s for s in seals.batch_ends if unsealed_from <= s <= hi):
        stored = last_hash if seq == hi else _stored_hash(conn, sqlite, seq)
        if stored != seals.batch_ends[seq]:
            message = (f"entry {seq} does not match its signed checkpoint (entries were altered, inserted or "
                       "the chain rewritten)")
            return "altered", message, seq
    if seals.sealed_to > hi:
        ends = tuple((s, seals.batch_ends[s]) for s in sorted(seals.batch_ends) if hi < s <= seals.sealed_to)
        result = _scan(conn, sqlite, _Chunk(hi + 1, seals.sealed_to, last_hash, ends))
        if result.problem is not None:
            problem = result.problem
            return problem.kind or "altered", problem.problem or "", problem.bad_seq or hi + 1
    return None


def _stored_hash(conn: Any, sqlite: bool, seq: int, before: bool = False) -> str | None:
    """The stored ``entry_hash`` of entry ``seq`` (or, with ``before``, of the last entry
    up to ``seq``); None when there is none."""
    ph = "?" if sqlite else "%s"
    cur = conn.cursor()
    if before:
        cur.execute(f"SELECT entry_hash FROM sharing_log_entries WHERE seq <= {ph} ORDER BY seq DESC LIMIT 1", (seq,))
    else:
        cur.execute(f"SELECT entry_hash FROM sharing_log_entries WHERE seq = {ph}", (seq,))
    row = cur.fetchone()
    cur.close()
    return row[0] if row else None


# -- splitting the range ------------------------------------------------------------------


def _plan(conn: Any, sqlite: bool, lo: int, hi: int, prev: str, batch_ends: dict[int, str],
          parts: int) -> list[_Chunk]:
    """Cut ``lo..hi`` into about ``parts`` chunks, each ending on a checkpoint boundary
    where there is one near the ideal cut (its signed hash starts the next chunk)."""
    ends = sorted(batch_ends)
    cuts: list[int] = []
    for k in range(1, parts):
        target = lo + (hi - lo + 1) * k // parts - 1
        i = bisect.bisect_left(ends, target)
        near = [s for s in ends[max(i - 1, 0):i + 1] if lo <= s < hi]
        cut = min(near, key=lambda s: abs(s - target)) if near else target
        if lo <= cut < hi and (not cuts or cut > cuts[-1]):
            cuts.append(cut)
    chunks = []
    start, start_prev = lo, prev
    for cut in [*cuts, hi]:
        inside = ends[bisect.bisect_left(ends, start):bisect.bisect_right(ends, cut)]
        chunks.append(_Chunk(start, cut, start_prev, tuple((s, batch_ends[s]) for s in inside)))
        # Without a checkpoint at the cut the next chunk starts from the stored hash; the
        # parent then checks that this chunk really ended on it.
        start, start_prev = cut + 1, batch_ends.get(cut) or _stored_hash(conn, sqlite, cut) or ""
    return chunks


def _run(engine: Engine, conn: Any, sqlite: bool, chunks: list[_Chunk],
         workers: int) -> tuple[VerifyResult | None, int, str]:
    """Check the chunks (in this process, or in ``workers`` processes); return the first
    problem in seq order, the number of entries found intact before it, and the hash of
    the last entry (when all are intact)."""
    results: list[_ChunkResult] = []
    if workers <= 1 or len(chunks) == 1:
        for chunk in chunks:
            results.append(_scan(conn, sqlite, chunk))
            if results[-1].problem is not None:
                break
    else:
        url = engine.url.render_as_string(hide_password=False)
        # fork is quick and safe from a single-threaded CLI; a server process (threads) spawns.
        method = "fork" if threading.active_count() == 1 else "spawn"
        with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=multiprocessing.get_context(method)) as pool:
            futures: list[Future[_ChunkResult]] = [pool.submit(_scan_in_worker, url, chunk) for chunk in chunks]
            for future in futures:
                results.append(future.result())
                if results[-1].problem is not None:
                    for other in futures:
                        other.cancel()
                    break
    count = 0
    for index, result in enumerate(results):
        count += result.entries
        if result.problem is not None:
            result.problem.entries = count
            return result.problem, count, ""
        following = chunks[index + 1] if index + 1 < len(chunks) else None
        if following is not None and following.prev != result.last_hash:
            return VerifyResult(False, count, 0, None, None, f"entry {following.lo} does not link to entry "
                                f"{following.lo - 1}", following.lo, "altered"), count, ""
    return None, count, results[-1].last_hash if results else ""


def _scan_in_worker(url: str, chunk: _Chunk) -> _ChunkResult:
    """A worker process's chunk, on a connection of its own."""
    from sqlalchemy.pool import NullPool

    from dulieuso.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    raw = engine.raw_connection()
    try:
        return _scan(raw.driver_connection, engine.dialect.name == "sqlite", chunk)
    finally:
        raw.close()
        engine.dispose()


# -- one chunk --------------------------------------------------------------------------------


def _scan(conn: Any, sqlite: bool, chunk: _Chunk) -> _ChunkResult:
    """Check the entries of ``chunk``: hashes, links, checkpoint ends, no gaps."""
    chain = _Chain(chunk, escaped=not sqlite)
    lines = _sqlite_lines(conn, chunk.lo, chunk.hi) if sqlite else _postgresql_lines(conn, chunk.lo, chunk.hi)
    with closing(lines):
        for block in lines:
            if not chain.feed(block):
                break
    if not sqlite and chain.bad_seq is not None:
        conn.rollback()  # the COPY was cancelled: leave the aborted transaction first
    if chain.bad_seq is None and chain.seq == chunk.hi + 1:
        return _ChunkResult(None, chain.seq - chunk.lo, chain.prev)
    # A short read, or a failure: lines after a gap were checked at the wrong seqs, so a
    # gap before the failing line is the first problem.
    gap = _first_gap(conn, sqlite, chunk.lo, chunk.hi if chain.bad_seq is None else chain.bad_seq)
    if gap is not None or chain.bad_seq is None:
        missing_from, missing_to = gap or (chain.seq, chunk.hi)
        return _ChunkResult(VerifyResult(False, 0, 0, None, None,
                                         f"entries {missing_from}..{missing_to} are missing (deleted)",
                                         missing_from, "deleted"), missing_from - chunk.lo, "")
    count = chain.bad_seq - chunk.lo
    if chain.bad_end:
        moved = _seq_of_hash(conn, sqlite, chain.ends[chain.bad_seq], chain.bad_seq)
        if moved is not None:
            # The entry the checkpoint signed is further on, and the chain up to here is
            # intact: an entry that links to its predecessor was put in its place.
            problem = VerifyResult(False, 0, 0, None, None, f"entry {chain.bad_seq} was inserted (the entry "
                                   f"its checkpoint signed is now entry {moved})", chain.bad_seq, "inserted")
        else:
            problem = VerifyResult(False, 0, 0, None, None, f"entry {chain.bad_seq} does not match its signed "
                                   "checkpoint (entries were altered, inserted or the chain rewritten)",
                                   chain.bad_seq, "altered")
    else:
        problem = _diagnose(conn, sqlite, chain.bad_seq, chain.prev, chain.bad_prev, chain.bad_intact)
    return _ChunkResult(problem, count, "")


def _sqlite_lines(conn: Any, lo: int, hi: int) -> Iterator[list[bytes]]:
    cur = conn.cursor()
    try:
        cur.execute(_SQLITE_LINES, (lo, hi))
        first = itemgetter(0)
        while rows := cur.fetchmany(BLOCK_ROWS):
            yield list(map(first, rows))
    finally:
        cur.close()


def _postgresql_lines(conn: Any, lo: int, hi: int) -> Iterator[list[bytes]]:
    import psycopg

    # NULL '': an absent value is written as nothing, as in the canonical form. Closing
    # this generator early makes psycopg cancel the COPY (the caller then rolls back).
    sql = (f"COPY (SELECT {_POSTGRESQL_COLUMNS} FROM sharing_log_entries WHERE seq >= {int(lo)} "
           f"AND seq <= {int(hi)} ORDER BY seq) TO STDOUT WITH (NULL '')")
    with conn.cursor() as cur:
        cur.execute("SET LOCAL client_encoding = 'UTF8'")
        with cur.copy(sql):
            # Lines straight from libpq (psycopg.pq, psycopg's public wrapper of it):
            # Copy.read() costs a round through psycopg's generator machinery per line,
            # measured as a sixth of the client's time. psycopg still starts the COPY, and
            # cancels and drains it if this generator is closed early.
            pgconn = conn.pgconn
            get = pgconn.get_copy_data
            block: list[bytes] = []
            while True:
                nbytes, data = get(0)
                if nbytes <= 0:
                    break
                block.append(bytes(data))
                if len(block) == BLOCK_ROWS:
                    yield block
                    block = []
            if nbytes == -2:
                raise psycopg.OperationalError(pgconn.get_error_message())
            while (result := pgconn.get_result()) is not None:
                if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
                    raise psycopg.OperationalError(result.get_error_message())
            if block:
                yield block


class _Chain:
    """Walks the lines of one chunk in seq order and stops at the first that fails."""

    def __init__(self, chunk: _Chunk, escaped: bool) -> None:
        self.seq = chunk.lo  # the seq of the next line
        self.prev = chunk.prev  # the hash the next line must link to
        self.ends = dict(chunk.ends)
        self.end_seqs = [seq for seq, _ in chunk.ends]
        self.escaped = escaped  # PostgreSQL's COPY escapes backslashes (and control characters)
        self.bad_seq: int | None = None
        self.bad_prev = ""
        self.bad_intact = False
        self.bad_end = False  # intact and linked, but not the hash its checkpoint signed

    def feed(self, lines: list[bytes]) -> bool:
        """Check the next block; False once a line fails (``bad_*`` then say how)."""
        if self.escaped and any(map(bytes.__contains__, lines, repeat(b"\\"))):
            lines = [_unescape(line) if b"\\" in line else line for line in lines]
        digests = "".join(map(_HEXDIGEST, map(_SHA256, map(_MATERIAL, lines))))
        entries = b"".join(map(_ENTRY, lines)).decode("latin-1")
        prevs = b"".join(map(_PREV, lines)).decode("latin-1")
        if digests != entries or prevs != self.prev + entries[:-64]:
            return self._walk(lines)
        first, after = self.seq, self.seq + len(lines)
        for i in range(bisect.bisect_left(self.end_seqs, first), bisect.bisect_left(self.end_seqs, after)):
            seq = self.end_seqs[i]
            offset = (seq - first) * 64
            if entries[offset:offset + 64] != self.ends[seq]:
                self.bad_seq, self.bad_end = seq, True
                return False
        self.seq, self.prev = after, entries[-64:]
        return True

    def _walk(self, lines: list[bytes]) -> bool:
        """The same checks line by line, parsing each line fully."""
        for line in lines:
            entry, prev_hash, material = _parse(line)
            intact = _SHA256(material).hexdigest() == entry
            if not intact or prev_hash != self.prev:
                self.bad_seq, self.bad_prev, self.bad_intact = self.seq, prev_hash, intact
                return False
            if self.ends.get(self.seq, entry) != entry:
                self.bad_seq, self.bad_end = self.seq, True
                return False
            self.seq, self.prev = self.seq + 1, entry
        return True


def _unescape(line: bytes) -> bytes:
    """A line of PostgreSQL's COPY text format as the values' own text. Done on the whole
    line: an escape never spans a column boundary, so this equals unescaping each column
    (a TAB that was escaped inside a value comes back as a TAB, and then fails the hash)."""
    return _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), line)


def _parse(line: bytes) -> tuple[str, str, bytes]:
    """(entry_hash, prev_hash, material) of one line, whatever its shape."""
    entry, _, material = (line[:-1] if line.endswith(b"\n") else line).partition(b"\t")
    return entry.decode("latin-1"), material.partition(b"\t")[0].decode("latin-1"), material


def _seq_of_hash(conn: Any, sqlite: bool, entry_hash: str, after: int) -> int | None:
    """The first entry after ``after`` with this stored hash (None: none). Only after a failure."""
    ph = "?" if sqlite else "%s"
    cur = conn.cursor()
    cur.execute(f"SELECT min(seq) FROM sharing_log_entries WHERE entry_hash = {ph} AND seq > {ph}", (entry_hash, after))
    row = cur.fetchone()
    cur.close()
    return int(row[0]) if row and row[0] is not None else None


def _first_gap(conn: Any, sqlite: bool, lo: int, hi: int) -> tuple[int, int] | None:
    """The first run of missing seqs in ``lo..hi`` (None: no gap). Only after a failure."""
    ph = "?" if sqlite else "%s"
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) FROM sharing_log_entries WHERE seq >= {ph} AND seq <= {ph}", (lo, hi))
    if cur.fetchone()[0] == hi - lo + 1:
        cur.close()
        return None
    cur.execute(f"SELECT seq FROM sharing_log_entries WHERE seq >= {ph} AND seq <= {ph} ORDER BY seq", (lo, hi))
    expected = lo
    for (seq,) in cur:
        if seq != expected:
            cur.close()
            return expected, int(seq) - 1
        expected += 1
    cur.close()
    return expected, hi


def _diagnose(conn: Any, sqlite: bool, seq: int, prev: str, prev_hash: str, intact: bool) -> VerifyResult:
    """Say what happened at entry ``seq``, the first that breaks the chain (no gap before
    it): ``prev`` is the hash it should link to, ``prev_hash`` the one it holds, and
    ``intact`` whether its content still matches its own hash."""
    ph = "?" if sqlite else "%s"

    def result(kind: str, problem: str, bad: int) -> VerifyResult:
        return VerifyResult(False, 0, 0, None, None, problem, bad, kind)

    cur = conn.cursor()
    cur.execute(f"SELECT prev_hash FROM sharing_log_entries WHERE seq = {ph}", (seq + 1,))
    following = cur.fetchone()
    cur.execute(f"SELECT entry_hash FROM sharing_log_entries WHERE seq = {ph}", (seq - 2,))
    two_back = cur.fetchone()
    cur.execute(f"SELECT seq FROM sharing_log_entries WHERE entry_hash = {ph} AND seq > {ph}", (prev_hash, seq))
    later = cur.fetchone()
    cur.close()
    if intact and later is not None:
        return result("reordered", f"entry {seq} is out of order (its predecessor is now entry {later[0]})", seq)
    if following is not None and following[0] == prev:
        return result("inserted", f"entry {seq} was inserted (entry {seq + 1} links past it to entry {seq - 1})",
                      seq)
    if not intact:
        return result("altered", f"entry {seq} was altered (its content does not match its hash)", seq)
    if two_back is not None and two_back[0] == prev_hash and seq - 1 >= 1:
        return result("inserted", f"entry {seq - 1} was inserted (entry {seq} links past it to entry {seq - 2})",
                      seq - 1)
    return result("deleted", f"entry {seq} does not link to entry {seq - 1}: entries before it were deleted "
                  "and the rest renumbered", seq)
