"""Time ``dulieuso log verify`` over a sharing log of N entries (default 1,000,000).

Builds a fresh database (a SQLite file, or a new PostgreSQL schema with ``--database-url``),
fills it through the log writer's own batch path (chained, sealed by signed checkpoints of
``--batch`` entries each), then times ``verify`` in-process and as the CLI command.

    .venv/bin/python bench/log_verify_bench.py [--entries 1000000] [--batch 1000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--out bench/results/log_verify.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (a schema is created)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/log_verify.json"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dulieuso-logbench-"))
    schema = None
    if args.database_url:
        schema = f"logbench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.database_url else "?"
        url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{work / 'log.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        data_dir = work / "data"
        data_dir.mkdir()
        key = slog.load_signing_key(data_dir)
        backend = slog._Backend(engine, synchronous_full=False)
        start = datetime.now(UTC) - timedelta(days=30)
        began = time.perf_counter()
        for first in range(0, args.entries, args.batch):
            size = min(args.batch, args.entries - first)
            at = start + timedelta(seconds=first / 50)
            backend.append(key, [entry(first + i, at) for i in range(size)])
        backend.close()
        fill = time.perf_counter() - began
        print(f"filled {args.entries} entries in {fill:.1f} s")

        cpu = time.process_time()
        serial = slog.verify(engine, data_dir, workers=1)
        serial_cpu = time.process_time() - cpu
        assert serial.ok, serial.problem
        print(f"verify (in-process, 1 process): {serial.entries} entries, {serial.checkpoints} checkpoints, "
              f"{serial.seconds:.2f} s wall, {serial_cpu:.2f} s CPU")
        result = slog.verify(engine, data_dir)
        assert result.ok, result.problem
        print(f"verify (in-process, default workers): {result.seconds:.2f} s wall")
        env = dict(os.environ, DULIEUSO_DATABASE_URL=url)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "dulieuso.sharing.cli", "verify", "--data-dir", str(data_dir)],
                              env=env, capture_output=True, text=True, check=True)
        cli_seconds = time.perf_counter() - began
        print(f"dulieuso log verify (CLI, incl. start-up): {cli_seconds:.2f} s: {done.stdout.strip()}")
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "load_average": os.getloadavg()},
            "database": engine.dialect.name,
            "entries": args.entries,
            "batch": args.batch,
            "checkpoints": result.checkpoints,
            "fill_seconds": round(fill, 2),
            "verify_seconds_one_process": round(serial.seconds, 3),
            "verify_cpu_seconds_one_process": round(serial_cpu, 3),
            "verify_seconds_parallel": round(result.seconds, 3),
            "cli_seconds": round(cli_seconds, 3),
            "target_seconds": 5.0,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
        print(f"written {args.out}")
    finally:
        engine.dispose()
        if schema:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
