"""CPU cost of the sharing log per gateway call: the writer thread and the hand-off.

Drives ``LogWriter`` the way the gateway does (``await writer.append(entry)`` on an event
loop, uvloop when installed, as under uvicorn) against a fresh database, and reads CPU
time per thread: the writer thread's from its POSIX CPU clock, the event-loop thread's
with ``time.thread_time()`` (on PostgreSQL also the writer's server backend from
``/proc``, when the server is local). Two shapes:

* ``1``: one caller, so every entry is a batch of its own (the 1-client case);
* ``64``: 64 callers at once, ``gather`` of 64 appends per round (the 64-client case).

The loop thread's figure is the whole hand-off as the gateway pays it: checking and
cleaning the entry, queueing it, and being woken with the result (the coroutine and task
switches around the ``await`` included). ``normalise`` alone is timed separately. Runs
against whatever ``dulieuso`` is on ``sys.path`` (``PYTHONPATH=/other/tree/src`` to time
another tree with the same script).

    .venv/bin/python bench/log_writer_bench.py [--calls 3000] [--rounds 150]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--fsync]
        [--out bench/results/log_writer.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import timeit
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

import dulieuso
from dulieuso.db import make_engine
from dulieuso.migrate import upgrade
from dulieuso.sharing import log as slog


def gateway_entry(i: int) -> dict[str, Any]:
    """An entry as the gateway builds it: every field set, clean text."""
    at = datetime.now(UTC)
    return {
        "request_id": uuid.uuid4().hex, "request_at": at, "response_at": at + timedelta(milliseconds=2),
        "latency_us": 2000 + i % 997, "consumer_agency_id": "6f1c2a52-3b7e-4a55-9d0e-4c1f5e2b9a10",
        "consumer_agency_code": "SXD", "application_id": "0b7f5e2c-1d3a-4c8b-a1e2-6f7d8c9b0a11",
        "account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "client_id": "sxd-cap-phep",
        "service_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "service_code": "thua-dat", "service_version": "1.2",
        "provider_agency_id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a", "operation": "get_parcel", "method": "GET",
        "path": f"/gateway/thua-dat/parcels/LC-03385-12-{i % 500}", "query": "", "status": 200, "outcome": "ok",
        "bytes_in": 0, "bytes_out": 412, "request_sha256": slog.EMPTY_SHA256,
        "response_sha256": "3f" * 32, "purpose": "Thẩm định hồ sơ cấp phép xây dựng", "case_id": f"HS-{i}",
        "end_user": "can.bo.01", "agreement_id": None, "grant_id": "3e4f5a6b-7c8d-4e9f-0a1b-2c3d4e5f6a7b",
        "fields_returned": "area_m2,commune_code,land_use,parcel_id", "client_ip": "127.0.0.1",
    }


def proc_cpu(pid: int) -> float:
    """User + system seconds of a local process (0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU seconds of the loop thread, the writer thread and the writer's server backend."""

    def __init__(self, writer: slog.LogWriter, backend_pids: list[int]) -> None:
        self.writer = writer
        self.backend_pids = backend_pids

    def read(self) -> tuple[float, float, float]:
        thread = self.writer._thread  # the writer's own thread: its CPU clock
        writer_cpu = time.clock_gettime(time.pthread_getcpuclockid(thread.ident)) if thread.ident else 0.0
        server = sum(proc_cpu(pid) for pid in self.backend_pids)
        return time.thread_time(), writer_cpu, server


async def run_shape(writer: slog.LogWriter, meter: Meter, callers: int, calls: int) -> dict[str, Any]:
    entries = [gateway_entry(i) for i in range(calls)]
    batches0 = writer.batches
    loop0, writer0, server0 = meter.read()
    wall0 = time.perf_counter()
    if callers == 1:
        for entry in entries:
            await writer.append(entry)
    else:
        for first in range(0, calls, callers):
            await asyncio.gather(*(writer.append(e) for e in entries[first:first + callers]))
    wall = time.perf_counter() - wall0
    loop1, writer1, server1 = meter.read()
    batches = writer.batches - batches0
    return {
        "callers": callers, "calls": calls, "batches": batches, "entries_per_batch": round(calls / max(batches, 1), 1),
        "wall_s": round(wall, 3),
        "loop_us_per_call": round((loop1 - loop0) / calls * 1e6, 1),
        "writer_us_per_entry": round((writer1 - writer0) / calls * 1e6, 1),
        "server_us_per_entry": round((server1 - server0) / calls * 1e6, 1) if meter.backend_pids else None,
    }


def normalise_us() -> float:
    entries = [gateway_entry(i) for i in range(1000)]
    best = min(timeit.repeat(lambda: [slog.normalise(e) for e in entries], number=5, repeat=7, timer=time.thread_time))
    return round(best / 5000 * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="calls of the 1-caller shape")
    parser.add_argument("--rounds", type=int, default=150, help="rounds of 64 calls")
    parser.add_argument("--database-url", help="PostgreSQL URL (a fresh schema is made in it); default SQLite")
    parser.add_argument("--fsync", action="store_true", help="synchronous=FULL on SQLite (default NORMAL)")
    parser.add_argument("--out", help="append the result as a JSON line to this file")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        uvloop = None

    folder = Path(tempfile.mkdtemp(prefix="log-writer-bench-"))
    admin = schema = None
    if args.database_url:
        schema = f"logbench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.database_url else "?"
        url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{folder / 'log.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    backend_pids: list[int] = []
    if args.database_url:
        event.listen(engine, "connect", lambda dbapi, _record: backend_pids.append(dbapi.info.backend_pid))
    data_dir = folder / "data"
    writer = slog.LogWriter(engine, data_dir, synchronous_full=args.fsync)
    meter = Meter(writer, backend_pids)
    result: dict[str, Any] = {
        "time_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "load_before": os.getloadavg()[0],
        "database": engine.dialect.name, "fsync": args.fsync, "tree": str(Path(dulieuso.__file__).parent),
        "python": platform.python_version(), "loop": "uvloop" if uvloop else "asyncio",
    }
    try:
        result["normalise_us"] = normalise_us()

        async def session() -> list[dict[str, Any]]:
            await run_shape(writer, meter, 1, 200)  # warm-up: connection, statement caches
            return [await run_shape(writer, meter, 1, args.calls),
                    await run_shape(writer, meter, 64, args.rounds * 64)]

        shapes = uvloop.run(session()) if uvloop else asyncio.run(session())
        writer.stop()
        result["shapes"] = shapes
        result["load_after"] = os.getloadavg()[0]
        check = slog.verify(engine, data_dir)
        result["verify_ok"] = check.ok
        result["entries"] = check.entries
        if not check.ok:
            result["verify_problem"] = check.problem
    finally:
        writer.stop()
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.exit(0 if result.get("verify_ok") else 1)


if __name__ == "__main__":
    main()
