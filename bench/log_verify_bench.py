"""Time ``dulieuso log verify`` over a sharing log of N entries (default 1,000,000).

Builds a fresh database (a SQLite file, or a new PostgreSQL schema with ``--database-url``),
fills it through the log writer's own batch path (chained, sealed by signed checkpoints of
``--batch`` entries each), then times ``verify`` in-process with one process and with the
default worker processes, and as the CLI command (``python -m dulieuso.sharing.cli`` and
the ``dulieuso`` console script). Wall and CPU time are both reported, with the load
average, because the machine may be shared: CPU is this process plus its worker
processes, and on a local PostgreSQL also the server backend of the one-process run.

    .venv/bin/python bench/log_verify_bench.py [--entries 1000000] [--batch 1000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--keep] [--existing URL --data-dir DIR] [--repeat 1]
        [--out bench/results/log_verify.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from dulieuso.db import make_engine
from dulieuso.migrate import upgrade
from dulieuso.sharing import log as slog


def entry(i: int, at: datetime) -> dict[str, object]:
    return slog.normalise({
        "request_id": uuid.uuid4().hex, "request_at": at, "response_at": at + timedelta(milliseconds=4),
        "latency_us": 4000 + i % 997, "consumer_agency_id": "6f1c2a52-3b7e-4a55-9d0e-4c1f5e2b9a10",
        "consumer_agency_code": "SXD", "application_id": "0b7f5e2c-1d3a-4c8b-a1e2-6f7d8c9b0a11",
        "account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "client_id": "sxd-cap-phep",
        "service_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "service_code": "thua-dat", "service_version": "1.2",
        "provider_agency_id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a", "operation": "get_parcel", "method": "GET",
        "path": f"/gateway/thua-dat/parcels/LC-03385-12-{i % 500}", "query": "", "status": 200, "outcome": "ok",
        "bytes_in": 0, "bytes_out": 412, "request_sha256": slog.EMPTY_SHA256,
        "response_sha256": "3f" * 32, "purpose": "Thẩm định hồ sơ cấp phép xây dựng", "case_id": f"HS-{i}",
        "end_user": "can.bo.01", "agreement_id": None, "grant_id": "3e4f5a6b-7c8d-4e9f-0a1b-2c3d4e5f6a7b",
        "fields_returned": "area_m2,commune_code,land_use,parcel_id", "client_ip": "127.0.0.1",
    })


def fill(engine: Engine, data_dir: Path, entries: int, batch: int) -> float:
    key = slog.load_signing_key(data_dir)
    backend = slog._Backend(engine, synchronous_full=False)
    start = datetime.now(UTC) - timedelta(days=30)
    began = time.perf_counter()
    try:
        for first in range(0, entries, batch):
            size = min(batch, entries - first)
            at = start + timedelta(seconds=first / 50)
            backend.append(key, [entry(first + i, at) for i in range(size)])
    finally:
        backend.close()
    return time.perf_counter() - began


def cpu_seconds() -> float:
    """CPU of this process and of its finished children (the verify worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def backend_cpu(engine: Engine) -> tuple[int | None, float]:
    """(pid, CPU seconds) of the pooled connection's PostgreSQL backend, when it is local."""
    if engine.dialect.name != "postgresql":
        return None, 0.0
    with engine.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    return pid, _proc_cpu(pid)


def _proc_cpu(pid: int | None) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_verify(engine: Engine, data_dir: Path, workers: int | None) -> dict[str, Any]:
    # One pooled connection: verify's in-process scan runs on the same backend we measure.
    pid, server_before = backend_cpu(engine)
    load = os.getloadavg()[0]
    cpu = cpu_seconds()
    result = slog.verify(engine, data_dir, workers=workers)
    cpu = cpu_seconds() - cpu
    assert result.ok, result.problem
    out = {"wall": round(result.seconds, 3), "cpu_client": round(cpu, 3), "load_before": round(load, 2),
           "entries": result.entries, "checkpoints": result.checkpoints}
    if pid is not None and workers == 1:
        out["cpu_server"] = round(_proc_cpu(pid) - server_before, 3)
    return out


def timed_cli(command: list[str], url: str, data_dir: Path) -> dict[str, Any]:
    env = dict(os.environ, DULIEUSO_DATABASE_URL=url)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run([*command, "--data-dir", str(data_dir)], env=env, capture_output=True, text=True,
                          check=True)
    return {"wall": round(time.perf_counter() - began, 3), "load_before": round(load, 2),
            "output": done.stdout.strip()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (a schema is created)")
    parser.add_argument("--keep", action="store_true", help="keep the filled database (and say where it is)")
    parser.add_argument("--existing", default=None, help="URL of a database filled by an earlier --keep run")
    parser.add_argument("--data-dir", type=Path, default=None, help="its data dir (with --existing)")
    parser.add_argument("--repeat", type=int, default=1, help="time each variant this many times")
    parser.add_argument("--out", type=Path, default=Path("bench/results/log_verify.json"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dulieuso-logbench-"))
    schema = None
    admin = None
    if args.existing:
        url = args.existing
        data_dir = args.data_dir
    elif args.database_url:
        schema = f"logbench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.database_url else "?"
        url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
        data_dir = work / "data"
    else:
        url = f"sqlite:///{work / 'log.sqlite3'}"
        data_dir = work / "data"
    engine = make_engine(url, pool_size=1, max_overflow=0) if not url.startswith("sqlite") else make_engine(url)
    keep = args.keep or bool(args.existing)
    try:
        fill_seconds = None
        if not args.existing:
            upgrade(engine)
            data_dir.mkdir()
            fill_seconds = fill(engine, data_dir, args.entries, args.batch)
            print(f"filled {args.entries} entries in {fill_seconds:.1f} s")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in
                                                  ("one_process", "parallel", "cli_module", "cli_dulieuso")}
        script = shutil.which("dulieuso", path=str(Path(sys.executable).parent))
        for _ in range(args.repeat):
            runs["one_process"].append(timed_verify(engine, data_dir, 1))
            print("verify, 1 process:", runs["one_process"][-1])
            runs["parallel"].append(timed_verify(engine, data_dir, None))
            print("verify, default workers:", runs["parallel"][-1])
            module = [sys.executable, "-m", "dulieuso.sharing.cli", "verify"]
            runs["cli_module"].append(timed_cli(module, url, data_dir))
            print("python -m dulieuso.sharing.cli verify:", runs["cli_module"][-1])
            if script:
                runs["cli_dulieuso"].append(timed_cli([script, "log", "verify"], url, data_dir))
                print("dulieuso log verify:", runs["cli_dulieuso"][-1])
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "load_average_end": os.getloadavg()},
            "database": engine.dialect.name,
            "entries": args.entries,
            "batch": args.batch,
            "fill_seconds": round(fill_seconds, 2) if fill_seconds is not None else None,
            "runs": runs,
            "target_seconds": 5.0,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"written {args.out}")
        if args.keep and not args.existing:
            print(f"kept: --existing '{url}' --data-dir {data_dir}")
    finally:
        engine.dispose()
        if schema and admin is not None and not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if admin is not None:
            admin.dispose()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
