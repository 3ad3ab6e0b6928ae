# SPDX-License-Identifier: AGPL-3.0-or-later
"""Datastore benchmarks, each side by side with its peer in the same run.

(a) Ingest: a generated 1,000,000-row x 10-column CSV (~100 MB) becomes a queryable
    Parquet version through ``datastore.ingest.ingest``, against DuckDB's own
    ``read_csv`` -> Parquet ``COPY`` on the same file. Target: within 2x.

(b) Search over 10,000,000 rows with a filter, a sort and limit 100, through HTTP, against
    Datasette serving the same rows from SQLite with an index on the filter and sort
    columns, tuned as its docs advise (immutable ``-i``, ``--inspect-file``,
    ``--setting suggest_facets off``); once with the total count and once without
    (``include_total=false`` / ``_nocount=1``). Load: ``wrk`` with a Lua script that
    rotates the filter value over the 8 districts. Our side is ``datastore.query.search``
    behind a minimal FastAPI app in this script (the portal's CKAN route is built
    separately), run by uvicorn, one process, like Datasette.

Loopback only; every load run is bounded in time. Generated files are kept in
``--work`` (default /tmp/dulieuso-datastore-bench) and reused by later runs.

    .venv/bin/python bench/datastore_bench.py [--seconds 8] [--out bench/results/datastore.json]

Needs ``pip install datasette`` in the venv (bench only, not a project dependency) and
Debian's ``wrk`` and ``sqlite3``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dulieuso.datastore import query  # noqa: E402
from dulieuso.datastore.ingest import ingest  # noqa: E402

DISTRICTS = ["Lai Châu", "Tam Đường", "Phong Thổ", "Sìn Hồ", "Mường Tè", "Than Uyên", "Tân Uyên", "Nậm Nhùn"]
DISTRICT_SQL = "[" + ", ".join("'" + d + "'" for d in DISTRICTS) + "]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=30).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


# --------------------------------------------------------------------------- (a) ingest


def make_ingest_csv(path: Path) -> None:
    if path.exists():
        return
    duckdb.connect().execute(
        f"""COPY (SELECT range + 1 AS id,
              'Nguyễn Văn ' || (range % 9973)::VARCHAR AS ho_ten,
              {DISTRICT_SQL}[(range % 8) + 1] AS huyen,
              (range * 7919 % 100000) / 100.0 AS so_tien,
              DATE '2020-01-01' + (range % 2000)::INT AS ngay,
              (range % 3 = 0) AS hoat_dong,
              (range % 1000)::INT AS ma_so,
              'Ghi chú số ' || range::VARCHAR AS ghi_chu,
              (range * 13 % 1000003) AS dan_so,
              round((range % 500) / 7.0, 3) AS ty_le
           FROM range(1000000)) TO '{path}' (HEADER)"""
    )


def bench_ingest(work: Path, repeats: int) -> dict[str, object]:
    source = work / "ingest_1m.csv"
    make_ingest_csv(source)
    ours, peer = [], []
    for n in range(repeats):
        target = work / f"duckdb_{n}.parquet"
        con = duckdb.connect()
        started = time.perf_counter()
        con.execute(f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet)")
        peer.append(time.perf_counter() - started)
        con.close()
        target.unlink()
        resource = work / f"resource_{n}"
        shutil.rmtree(resource, ignore_errors=True)
        started = time.perf_counter()
        result = ingest(source, resource_dir=resource, filename="ingest_1m.csv")
        # "Queryable": the first search answers.
        query.search(result.parquet_path, filters={"huyen": "Sìn Hồ"}, limit=1)
        ours.append(time.perf_counter() - started)
        shutil.rmtree(resource, ignore_errors=True)
    best_ours, best_peer = min(ours), min(peer)
    return {
        "file_bytes": source.stat().st_size,
        "rows": 1_000_000,
        "columns": 10,
        "ours_seconds": [round(x, 3) for x in ours],
        "duckdb_seconds": [round(x, 3) for x in peer],
        "ratio_best": round(best_ours / best_peer, 2),
        "ratio_median": round(sorted(ours)[len(ours) // 2] / sorted(peer)[len(peer) // 2], 2),
        "target": "within 2x of DuckDB read_csv -> Parquet",
    }


# --------------------------------------------------------------------------- (b) search


def make_search_data(work: Path, rows: int, timings: dict[str, float]) -> tuple[Path, Path, Path]:
    """The same rows as a Parquet resource version (ours) and an indexed SQLite file.

    Each side gets its access path built before the load: SQLite an index on
    (huyen, so_tien), we the copy sorted by so_tien desc (``query.prepare_sort``)."""
    parquet = work / f"search_{rows}" / "v1.parquet"
    sqlite = work / f"search_{rows}.db"
    inspect = work / f"search_{rows}.inspect.json"
    select = f"""SELECT range + 1 AS id,
          'Nguyễn Văn ' || (range % 99991)::VARCHAR AS ho_ten,
          {DISTRICT_SQL}[(range % 8) + 1] AS huyen,
          'Xã ' || (range % 97)::VARCHAR AS xa,
          (range * 7919 % 10000019) / 100.0 AS so_tien,
          DATE '2020-01-01' + (range % 2000)::INT AS ngay,
          'Ghi chú số ' || range::VARCHAR AS ghi_chu
       FROM range({rows})"""
    if not parquet.exists():
        parquet.parent.mkdir(parents=True, exist_ok=True)
        # The layout ingest writes: plain Parquet, file order, no _id column.
        duckdb.connect().execute(f"COPY ({select}) TO '{parquet}' (FORMAT parquet)")
    if not sqlite.exists():
        csv_path = work / "search.csv"
        duckdb.connect().execute(f"COPY ({select}) TO '{csv_path}' (HEADER false)")
        schema = (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, ho_ten TEXT, huyen TEXT, xa TEXT, so_tien REAL, ngay TEXT, ghi_chu TEXT);"
        )
        script = f"{schema}\n.mode csv\n.import {csv_path} t\n"
        subprocess.run(["sqlite3", str(sqlite)], input=script.encode(), check=True)
        csv_path.unlink()
        started = time.perf_counter()
        subprocess.run(
            ["sqlite3", str(sqlite)], input=b"CREATE INDEX t_huyen_so_tien ON t (huyen, so_tien);\nANALYZE;\n", check=True
        )
        timings["sqlite_index_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    existed = query.projection_path(parquet, ['"so_tien" DESC NULLS LAST', '"_id" ASC']).exists()
    copy = query.prepare_sort(parquet, "so_tien desc")
    if not existed:
        timings["sorted_copy_seconds"] = round(time.perf_counter() - started, 2)
    # Disk: the version, our access path beside it, and SQLite's file (rows + index).
    timings["parquet_bytes"] = parquet.stat().st_size
    timings["sorted_copy_bytes"] = copy.stat().st_size
    timings["sqlite_bytes"] = sqlite.stat().st_size
    if not inspect.exists():
        datasette = Path(sys.executable).with_name("datasette")
        subprocess.run([str(datasette), "inspect", str(sqlite), "--inspect-file", str(inspect)], check=True)
    return parquet, sqlite, inspect


APP = '''
import json
import os
from pathlib import Path
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from dulieuso.datastore import query
from dulieuso.errors import DomainError

PARQUET = Path(os.environ["BENCH_PARQUET"])
if os.environ.get("BENCH_NO_RESULT_CACHE"):
    query.RESULT_CACHE_SIZE = 0  # every request runs its queries
    query.COUNT_CACHE_SIZE = 0
app = FastAPI()

@app.get("/api/3/action/datastore_search")
def datastore_search(resource_id: str, filters: str = "{}", sort: str | None = None,
                     limit: int = 100, offset: int = 0, include_total: bool = True):
    try:
        result = query.search(PARQUET, filters=json.loads(filters), sort=sort, limit=limit, offset=offset,
                              include_total=include_total, resource_id=resource_id,
                              links_base="/api/3/action/datastore_search?resource_id=" + resource_id)
    except DomainError as error:
        return JSONResponse({"success": False, "error": error.body()["error"]}, status_code=409)
    # Serialised here, not by FastAPI's jsonable_encoder (1-2 ms per 100 records).
    body = json.dumps({"help": "", "success": True, "result": result}, ensure_ascii=False)
    return Response(body, media_type="application/json")
'''

LUA = """
local paths = {PATHS}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def run_wrk(base: str, paths: list[str], seconds: int, connections: int, work: Path) -> dict[str, float]:
    script = work / "rotate.lua"
    script.write_text(LUA.replace("{PATHS}", "{" + ", ".join(json.dumps(p) for p in paths) + "}"), encoding="utf-8")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), base],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    _, requests, duration_us, p50, p95, p99, errors = line.split()
    return {
        "requests": int(requests),
        "rps": round(int(requests) / (int(duration_us) / 1e6), 1),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "errors": int(errors),
    }


def bench_search(work: Path, rows: int, seconds: int, connections: list[int]) -> dict[str, object]:
    """Three servers: ours as shipped (result and count caches of immutable versions on),
    ours with both caches off (every request runs its queries), and Datasette."""
    from urllib.parse import quote

    timings: dict[str, float] = {}
    parquet, sqlite, inspect = make_search_data(work, rows, timings)
    (work / "bench_app.py").write_text(APP, encoding="utf-8")
    env = {**os.environ, "BENCH_PARQUET": str(parquet), "PYTHONPATH": f"{ROOT / 'src'}:{work}"}
    ports = {"ours": free_port(), "ours_uncached": free_port(), "datasette": free_port()}
    datasette = Path(sys.executable).with_name("datasette")
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench_app:app", "--port", str(ports[name]),
             "--log-level", "warning", "--no-access-log"],
            cwd=work, env={**env, **({"BENCH_NO_RESULT_CACHE": "1"} if name == "ours_uncached" else {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for name in ("ours", "ours_uncached")
    }
    procs["datasette"] = subprocess.Popen(
        [str(datasette), "serve", "-i", str(sqlite), "--inspect-file", str(inspect), "--port", str(ports["datasette"]),
         "--setting", "suggest_facets", "off", "--setting", "default_facet_size", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    results: dict[str, object] = {"rows": rows, "access_path_build": timings}
    db = sqlite.stem

    def ours_path(district: str, total: bool) -> str:
        filters = quote(json.dumps({"huyen": district}, ensure_ascii=False))
        return (f"/api/3/action/datastore_search?resource_id=r&filters={filters}&sort=so_tien%20desc&limit=100"
                + ("" if total else "&include_total=false"))

    def peer_path(district: str, total: bool) -> str:
        return (f"/{db}/t.json?huyen={quote(district)}&_sort_desc=so_tien&_size=100&_shape=objects"
                + ("" if total else "&_nocount=1"))

    makers = {"ours": ours_path, "ours_uncached": ours_path, "datasette": peer_path}
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        for name, proc in procs.items():
            probe = "/api/3/action/datastore_search?resource_id=r&limit=1" if name != "datasette" else f"/{db}/t.json?_size=1&_nocount=1"
            wait_until_up(bases[name] + probe, proc)
        # All answer the same question: the same first rows, and the same total.
        check = httpx.get(bases["ours"] + ours_path("Sìn Hồ", True), timeout=120).json()["result"]
        peer_check = httpx.get(bases["datasette"] + peer_path("Sìn Hồ", True), timeout=120).json()
        results["same_answer"] = (
            [r["id"] for r in check["records"]] == [r["id"] for r in peer_check["rows"]]
            and check["total"] == peer_check.get("filtered_table_rows_count")
        )
        # First request for each district (cold caches), then the timed runs.
        for name in procs:
            firsts = []
            for d in DISTRICTS:
                for total in (True, False):
                    started = time.perf_counter()
                    httpx.get(bases[name] + makers[name](d, total), timeout=120).raise_for_status()
                    firsts.append(round(1000 * (time.perf_counter() - started), 1))
            results[f"first_requests_ms_{name}"] = firsts
        for total in (True, False):
            label = "with_total" if total else "without_total"
            for c in connections:
                for name in procs:
                    paths = [makers[name](d, total) for d in DISTRICTS]
                    results[f"{label}_c{c}_{name}"] = run_wrk(bases[name], paths, seconds, c, work)
    finally:
        for proc in procs.values():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dulieuso-datastore-bench")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", default="1,4")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "duckdb": duckdb.__version__,
        "load_average_at_start": os.getloadavg(),
    }
    if not args.skip_ingest:
        report["ingest"] = bench_ingest(args.work, args.repeats)
        print(json.dumps(report["ingest"], ensure_ascii=False), flush=True)
    if not args.skip_search:
        report["search"] = bench_search(args.work, args.rows, args.seconds, [int(c) for c in args.connections.split(",")])
    report["load_average_at_end"] = os.getloadavg()
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
