# SPDX-License-Identifier: AGPL-3.0-or-later
"""CKAN ``package_search`` benchmark: 50,000 datasets, two facets, through HTTP.

    .venv/bin/python bench/package_search_bench.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/package_search_bench.py --db sqlite --datasets 5000   # quicker
    .venv/bin/python bench/package_search_bench.py --readme        # also update bench/README.md

The datasets are bulk-inserted with SQL (the service would take minutes for 50,000 and
is not what is measured): 40 agencies, 16 topics, 600 tags, Vietnamese titles built
from realistic parts, 1-3 tags, a topic, 1-2 resources and the search-index words
(weights as ``opendata.service.reindex``: title 4, tag 3, agency 2, other 1) each.
Then a real uvicorn server (a subprocess, one worker, loopback) serves the CKAN facade
and one client sends requests one after another, as ``ckanapi`` does:

* ``q + 2 facets``: ``package_search?q=<word>&facet.field=["organization","tags"]&rows=10``
  with words of different selectivity (the target: p95 < 50 ms);
* ``no q + 2 facets``: the same over all 50,000 datasets (facets count everything);
* ``harvester page``: ``fq=organization:x metadata_modified:[... TO *]``, ``sort=id asc``,
  ``rows=100``;
* ``q + 2 facets after an edit``: before each request the benchmark itself changes one
  dataset (its tags and ``metadata_modified``, through the ORM, committed), so every
  request first brings the server's search index up to date (``--edits``, 0 to skip).

The first request after the server starts is reported apart (``first request``): it loads
the search index. Each run also reports the 1-minute load average and the CPU time of a
fixed Python loop (``reference_cpu_ms``): on a shared machine both say how far the
numbers of two runs can be compared. ``--in-process`` calls the action function directly instead (no server,
no HTTP) and reports the CPU time per request too, which other work on the machine
disturbs less than wall time; ``--profile FILE`` then also writes cProfile statistics of
the ``q`` requests. ``PKGBENCH_SRC=/other/checkout/src`` measures another version of the
code on the same data (e.g. the previous commit, exported with ``git archive``).

PostgreSQL: ``--pg-url`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
in a schema of its own, dropped afterwards. SQLite: a temporary file.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
# Which code to measure: this checkout's, or another's (see the module docstring).
sys.path.insert(0, os.environ.get("PKGBENCH_SRC") or str(ROOT / "src"))

from dulieuso.agencies.models import Agency, AgencyType
from dulieuso.migrate import upgrade
from dulieuso.opendata.models import (
    Dataset,
    DatasetGroup,
    DatasetSearchTerm,
    DatasetState,
    DatasetTag,
    Group,
    Resource,
    Tag,
    UrlType,
)
from dulieuso.opendata.text import words
from dulieuso.vntext import fold, slugify

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
README = ROOT / "bench" / "README.md"
START, END = "<!-- package-search-bench:start -->", "<!-- package-search-bench:end -->"

SUBJECTS = [
    "Danh sách trường học", "Số lượng học sinh", "Cơ sở y tế", "Dân số trung bình", "Thu ngân sách",
    "Chi ngân sách", "Doanh nghiệp đăng ký mới", "Diện tích đất nông nghiệp", "Sản lượng lúa", "Diện tích rừng",
    "Hộ nghèo", "Lao động có việc làm", "Tai nạn giao thông", "Đường giao thông nông thôn", "Điểm du lịch",
    "Di tích lịch sử", "Thủ tục hành chính", "Văn bản quy phạm pháp luật", "Quan trắc môi trường", "Chất lượng nước",
    "Giá đất", "Dự án đầu tư công", "Cán bộ công chức", "Bảo hiểm xã hội", "Trạm y tế xã", "Chợ nông thôn",
    "Hợp tác xã", "Giống cây trồng", "Đàn gia súc", "Thủy điện nhỏ", "Lượng mưa", "Mạng lưới điện",
    "Trạm phát sóng di động", "Thư viện công cộng", "Nhà văn hóa thôn bản", "Người dân tộc thiểu số",
]
PLACES = [
    "tỉnh Lai Châu", "thành phố Lai Châu", "huyện Tam Đường", "huyện Phong Thổ", "huyện Sìn Hồ", "huyện Mường Tè",
    "huyện Than Uyên", "huyện Tân Uyên", "huyện Nậm Nhùn", "xã Bình Lư", "xã Khun Há", "xã Pa Tần",
]
TAG_ROOTS = [
    "giáo dục", "y tế", "ngân sách", "dân số", "nông nghiệp", "lâm nghiệp", "môi trường", "giao thông", "du lịch",
    "văn hóa", "lao động", "an sinh xã hội", "đất đai", "xây dựng", "năng lượng", "viễn thông", "hành chính công",
    "doanh nghiệp", "đầu tư", "thống kê", "bản đồ", "quy hoạch", "thời tiết", "nước sạch",
]
TOPICS = [
    ("giao-duc", "Giáo dục"), ("y-te", "Y tế"), ("tai-chinh", "Tài chính"), ("dan-so", "Dân số"),
    ("nong-nghiep", "Nông nghiệp"), ("moi-truong", "Môi trường"), ("giao-thong", "Giao thông"),
    ("du-lich", "Du lịch"), ("lao-dong", "Lao động"), ("dat-dai", "Đất đai"), ("xay-dung", "Xây dựng"),
    ("nang-luong", "Năng lượng"), ("khoa-hoc-cong-nghe", "Khoa học công nghệ"), ("hanh-chinh", "Hành chính"),
    ("van-hoa", "Văn hóa"), ("doanh-nghiep", "Doanh nghiệp"),
]
FORMATS = ["CSV", "CSV", "CSV", "XLSX", "XLSX", "JSON", "PDF", "GEOJSON"]
QUERIES = ["trường học", "dan so", "ngân sách", "y tế xã", "giao thong", "lúa", "rung", "du lịch", "Mường Tè", "doanh nghiep", "điện", "quan trắc"]


# ----------------------------------------------------------------------- data


def load(url: str, n: int, seed: int = 47) -> dict[str, Any]:
    """Create the schema and bulk-insert ``n`` datasets; returns facts for the queries."""
    rng = random.Random(seed)
    engine = create_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    agencies = [
        {"id": uuid.uuid4(), "code": f"BENCH-{i:02d}", "name_vi": f"Sở Thử nghiệm số {i}", "type": AgencyType.DEPARTMENT, "search_text": f"bench-{i:02d}"}
        for i in range(40)
    ]
    groups = [{"id": uuid.uuid4(), "name": name, "title_vi": title, "title_en": "", "position": i} for i, (name, title) in enumerate(TOPICS)]
    tag_names = sorted({f"{root} {place.split()[-1].lower()}" if i % 3 else root for i, root in enumerate(TAG_ROOTS * 25) for place in [rng.choice(PLACES)]})[:600]
    tags = [{"id": uuid.uuid4(), "name": name, "folded": fold(name)} for name in tag_names]
    with engine.begin() as conn:
        conn.execute(insert(Agency.__table__), agencies)
        conn.execute(insert(Group.__table__), groups)
        conn.execute(insert(Tag.__table__), tags)
        license_ids = [row[0] for row in conn.execute(text("SELECT id FROM licenses"))]
    batch = 5000
    for offset in range(0, n, batch):
        datasets, resources, links, memberships, terms = [], [], [], [], []
        for i in range(offset, min(n, offset + batch)):
            agency = agencies[i % len(agencies)]
            title = f"{rng.choice(SUBJECTS)} {rng.choice(PLACES)} năm {rng.randint(2015, 2026)}"
            ident = uuid.uuid4()
            modified = now - timedelta(minutes=rng.randint(0, 60 * 24 * 700))
            private = rng.random() < 0.05
            datasets.append({
                "id": ident, "name": f"{slugify(title)[:80]}-{i}", "title": title, "title_en": "",
                "notes": f"Số liệu {title.lower()} do {agency['name_vi']} công bố.", "agency_id": agency["id"],
                "license_id": rng.choice(license_ids), "private": private,
                "state": DatasetState.ACTIVE, "metadata_created": modified - timedelta(days=30),
                "metadata_modified": modified, "update_frequency": "yearly", "search_text": "",
            })
            chosen_tags = rng.sample(tags, rng.randint(1, 3))
            links.extend({"dataset_id": ident, "tag_id": t["id"]} for t in chosen_tags)
            memberships.append({"dataset_id": ident, "group_id": rng.choice(groups)["id"]})
            for position in range(rng.randint(1, 2)):
                fmt = rng.choice(FORMATS)
                resources.append({
                    "id": uuid.uuid4(), "dataset_id": ident, "name": f"Tệp {fmt}", "url_type": UrlType.LINK,
                    "url": f"https://example.vn/{ident}/{position}.{fmt.lower()}", "format": fmt, "position": position,
                })
            weights: dict[str, int] = {}
            for text_, weight in ((agency["name_vi"], 2), *((t["name"], 3) for t in chosen_tags), (title, 4)):
                for word in words(text_):
                    weights[word] = max(weights.get(word, 0), weight)
            terms.extend({"dataset_id": ident, "term": w, "weight": wt} for w, wt in weights.items())
        with engine.begin() as conn:
            conn.execute(insert(Dataset.__table__), datasets)
            conn.execute(insert(Resource.__table__), resources)
            conn.execute(insert(DatasetTag.__table__), links)
            conn.execute(insert(DatasetGroup.__table__), memberships)
            conn.execute(insert(DatasetSearchTerm.__table__), terms)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"load_s": time.perf_counter() - started, "orgs": [a["code"].lower() for a in agencies], "now": now}


# ----------------------------------------------------------------------- server


def serve(url: str, port: int, data_dir: str) -> None:
    """Run the platform with the CKAN facade under uvicorn (the ``--serve`` mode)."""
    import uvicorn

    from dulieuso.app import create_app
    from dulieuso.config import Settings
    from dulieuso.opendata import ckan_api

    settings = Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench-secret-key-not-for-production", log_level="WARNING")
    app = create_app(settings, migrate=False)
    if not any(getattr(r, "path", "") == "/api/3/action/{name}" for r in app.router.routes):
        app.router.routes[:0] = list(ckan_api.router.routes)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mixes(facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    since = (facts["now"] - timedelta(days=60)).replace(tzinfo=None).isoformat()
    return {
        "q + 2 facets": lambda: {"q": rng.choice(QUERIES), "facet.field": '["organization","tags"]', "rows": "10"},
        "no q + 2 facets": lambda: {"facet.field": '["organization","tags"]', "rows": "10"},
        "harvester page (rows=100)": lambda: {
            "fq": f"organization:{rng.choice(facts['orgs'])} metadata_modified:[{since}Z TO *]",
            "sort": "id asc", "rows": "100",
        },
    }


class Editor:
    """Changes one dataset per call as an editor's save would (another tag, a new
    ``metadata_modified``), through the ORM in this process, and commits."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        import dulieuso.models  # noqa: F401  every table a flush may meet through foreign keys

        self.engine = create_engine(url)
        self.session = Session(self.engine)
        self.ids = list(self.session.scalars(select(Dataset.id).where(Dataset.private.is_(False)).limit(5000)))
        self.tags = list(self.session.scalars(select(Tag.id)))
        self.rng = random.Random(11)

    def __call__(self) -> None:
        from sqlalchemy import select

        dataset = self.session.get(Dataset, self.rng.choice(self.ids))
        assert dataset is not None
        for link in self.session.scalars(select(DatasetTag).where(DatasetTag.dataset_id == dataset.id)).all()[:1]:
            self.session.delete(link)
        self.session.flush()
        taken = set(self.session.scalars(select(DatasetTag.tag_id).where(DatasetTag.dataset_id == dataset.id)))
        self.session.add(DatasetTag(dataset_id=dataset.id, tag_id=self.rng.choice([t for t in self.tags if t not in taken])))
        dataset.metadata_modified = datetime.now(UTC)
        self.session.commit()

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def reference_cpu_ms() -> float:
    """CPU time of a fixed pure-Python loop (3 million empty iterations): how fast this
    machine runs Python right now, so that runs under different load can be compared."""
    started = time.process_time()
    for _ in range(3_000_000):
        pass
    return (time.process_time() - started) * 1000


def _summary(times: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    times = sorted(times)
    out = {"n": len(times), "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1]}
    if cpu:
        out["cpu_mean"] = statistics.fmean(cpu)
        out["cpu_p95"] = sorted(cpu)[int(0.95 * (len(cpu) - 1))]
    return out


def _print(name: str, r: dict[str, float]) -> None:
    cpu = f"  cpu mean {r['cpu_mean']:6.1f} ms" if "cpu_mean" in r else ""
    print(f"  {name:30} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms{cpu}  (n={r['n']})", flush=True)


def measure(url: str, facts: dict[str, Any], requests: int, edits: int) -> dict[str, dict[str, float]]:
    """Through HTTP: a uvicorn server in a subprocess, one client."""
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="pkgbench-")
    proc = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port), data_dir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/3/action/package_search"
    try:
        with httpx.Client(timeout=180) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get(f"http://127.0.0.1:{port}/api/3/action/site_read").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))
                time.sleep(0.2)
            results: dict[str, Any] = {}
            t0 = time.perf_counter()
            client.get(base, params={"rows": 0}).raise_for_status()
            results["_first_ms"] = (time.perf_counter() - t0) * 1000
            print(f"  first request (loads the index) {results['_first_ms']:.0f} ms", flush=True)
            mixes = _mixes(facts, random.Random(7))
            load_before = os.getloadavg()[0]
            for name, params in mixes.items():
                count = requests if name == "q + 2 facets" else max(20, requests // 3)
                for _ in range(10):  # warm-up
                    client.get(base, params=params()).raise_for_status()
                times = []
                for _ in range(count):
                    p = params()
                    t0 = time.perf_counter()
                    response = client.get(base, params=p)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.text
                results[name] = _summary(times)
                _print(name, results[name])
            if edits:
                editor = Editor(url)
                try:
                    times = []
                    for _ in range(edits):
                        editor()
                        p = mixes["q + 2 facets"]()
                        t0 = time.perf_counter()
                        response = client.get(base, params=p)
                        times.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, response.text
                finally:
                    editor.close()
                results["q + 2 facets after an edit"] = _summary(times)
                _print("q + 2 facets after an edit", results["q + 2 facets after an edit"])
            results["_load"] = {"before": load_before, "after": os.getloadavg()[0]}
            results["_reference_ms"] = reference_cpu_ms()
            print(f"  load average {load_before:.1f} → {results['_load']['after']:.1f}; "
                  f"reference loop {results['_reference_ms']:.0f} ms of CPU", flush=True)
            return results
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(data_dir, ignore_errors=True)


def measure_in_process(url: str, facts: dict[str, Any], requests: int, edits: int, profile: Path | None) -> dict[str, Any]:
    """The action function called directly: wall and CPU time per request, no HTTP."""
    from dulieuso.auth.permissions import ANONYMOUS
    from dulieuso.config import Settings
    from dulieuso.db import make_engine, make_sessionmaker
    from dulieuso.opendata import ckan_api

    data_dir = tempfile.mkdtemp(prefix="pkgbench-")
    settings = Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench-secret-key-not-for-production", log_level="WARNING")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)

    def search(params: dict[str, Any]) -> tuple[float, float]:
        session = factory()
        try:
            call = ckan_api.Call(session, ANONYMOUS, settings, "vi", "http://bench", "package_search")
            wall, cpu = time.perf_counter(), time.process_time()
            ckan_api.package_search(call, params)
            return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
        finally:
            session.rollback()
            session.close()

    results: dict[str, Any] = {}
    try:
        results["_first_ms"] = search({"rows": "0"})[0]
        print(f"  first request (loads the index) {results['_first_ms']:.0f} ms", flush=True)
        mixes = _mixes(facts, random.Random(7))
        load_before = os.getloadavg()[0]
        profiler = cProfile.Profile() if profile else None
        for name, params in mixes.items():
            count = requests if name == "q + 2 facets" else max(20, requests // 3)
            for _ in range(10):
                search(params())
            times, cpu = [], []
            for _ in range(count):
                p = params()
                if profiler is not None and name == "q + 2 facets":
                    profiler.enable()
                wall_ms, cpu_ms = search(p)
                if profiler is not None:
                    profiler.disable()
                times.append(wall_ms)
                cpu.append(cpu_ms)
            results[name] = _summary(times, cpu)
            _print(name, results[name])
        if edits:
            editor = Editor(url)
            try:
                times, cpu = [], []
                for _ in range(edits):
                    editor()
                    wall_ms, cpu_ms = search(mixes["q + 2 facets"]())
                    times.append(wall_ms)
                    cpu.append(cpu_ms)
            finally:
                editor.close()
            results["q + 2 facets after an edit"] = _summary(times, cpu)
            _print("q + 2 facets after an edit", results["q + 2 facets after an edit"])
        results["_load"] = {"before": load_before, "after": os.getloadavg()[0]}
        results["_reference_ms"] = reference_cpu_ms()
        print(f"  load average {load_before:.1f} → {results['_load']['after']:.1f}; "
              f"reference loop {results['_reference_ms']:.0f} ms of CPU", flush=True)
        if profiler is not None and profile is not None:
            profiler.dump_stats(str(profile))
            stats = pstats.Stats(profiler).sort_stats("tottime")
            stats.print_stats(25)
    finally:
        engine.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


# ----------------------------------------------------------------------- runs


def _measure(url: str, facts: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    if args.in_process:
        return measure_in_process(url, facts, args.requests, args.edits, args.profile)
    return measure(url, facts, args.requests, args.edits)


def run_sqlite(n: int, args: argparse.Namespace) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="pkgbench-db-")
    url = f"sqlite:///{folder}/bench.sqlite3"
    try:
        facts = load(url, n)
        print(f"SQLite: loaded {n} datasets in {facts['load_s']:.1f} s", flush=True)
        return {"load_s": facts["load_s"], "results": _measure(url, facts, args)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_postgresql(n: int, args: argparse.Namespace) -> dict[str, Any]:
    base = args.pg_url
    schema = f"pkgbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        facts = load(url, n)
        print(f"PostgreSQL: loaded {n} datasets in {facts['load_s']:.1f} s", flush=True)
        return {"load_s": facts["load_s"], "results": _measure(url, facts, args)}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def readme_section(n: int, runs: dict[str, dict[str, Any]]) -> str:
    lines = [
        START,
        "## CKAN `package_search` over 50,000 datasets (`bench/package_search_bench.py`)",
        "",
        (
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} × {os.cpu_count()} cores "
            f"({platform.processor() or platform.platform()}), Python {platform.python_version()}; {n:,} datasets "
            "(bulk-inserted), one uvicorn worker on loopback, one client sending requests one after another "
            "(keep-alive). Target: p95 < 50 ms for `q` + two facets."
        ),
        "",
    ]
    in_process = any("cpu_mean" in r for run in runs.values() for r in run["results"].values() if isinstance(r, dict))
    if in_process:
        lines[-2] = lines[-2].replace("one uvicorn worker on loopback, one client sending requests one after another (keep-alive)",
                                      "the action function called in-process (no server, no HTTP)")
    lines += [
        "| database | query | n | p50 ms | p95 ms | max ms |" + (" CPU mean ms |" if in_process else ""),
        "|---|---|---:|---:|---:|---:|" + ("---:|" if in_process else ""),
    ]
    for db, run in runs.items():
        for name, r in run["results"].items():
            if name.startswith("_"):
                continue
            cpu = f" {r['cpu_mean']:.1f} |" if in_process else ""
            lines.append(f"| {db} | {name} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |{cpu}")
    lines.append("")
    for db, run in runs.items():
        load = run["results"].get("_load", {})
        lines.append(f"{db}: load {run['load_s']:.0f} s for the bulk insert; first request after the start (loads the "
                     f"search index) {run['results'].get('_first_ms', 0):,.0f} ms; 1-minute load average "
                     f"{load.get('before', 0):.1f} → {load.get('after', 0):.1f} during the measurement; reference loop "
                     f"(`reference_cpu_ms`) {run['results'].get('_reference_ms', 0):.0f} ms of CPU after it.")
    lines += ["", "<!-- package-search-bench:notes -->", END]
    return "\n".join(lines)


def write_readme(section: str, notes: str) -> None:
    section = section.replace("<!-- package-search-bench:notes -->", notes.strip())
    current = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        current = before + section + after
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(current, encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--datasets", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--readme", action="store_true", help="write the results into bench/README.md")
    parser.add_argument("--notes", default="", help="text to put under the table (with --readme)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--edits", type=int, default=60, help="requests of the 'after an edit' mix (0: skip it)")
    parser.add_argument("--in-process", action="store_true", help="call the action directly (no server); report CPU time")
    parser.add_argument("--profile", type=Path, help="with --in-process: write cProfile stats of the q requests here")
    args = parser.parse_args()
    runs: dict[str, dict[str, Any]] = {}
    if args.db in ("sqlite", "both"):
        runs["SQLite"] = run_sqlite(args.datasets, args)
    if args.db in ("postgresql", "both"):
        runs["PostgreSQL"] = run_postgresql(args.datasets, args)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2, default=str))
    if args.readme:
        write_readme(readme_section(args.datasets, runs), args.notes)


if __name__ == "__main__":
    main()
