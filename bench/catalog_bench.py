# SPDX-License-Identifier: AGPL-3.0-or-later
"""Catalog benchmark: public search latency at 10,000 databases / 200,000 elements, and
the import time of a 5,000-row spreadsheet, on SQLite and on PostgreSQL.

    .venv/bin/python bench/catalog_bench.py                   # both databases
    .venv/bin/python bench/catalog_bench.py --db sqlite --databases 2000   # quicker
    .venv/bin/python bench/catalog_bench.py --readme          # also write bench/README.md

PostgreSQL: ``--pg-url`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
the run uses a schema of its own and drops it afterwards. SQLite: a temporary file.

What is measured:

* **search**: ``catalog.search.search_databases`` (the function behind
  ``GET /api/v1/databases``) with a realistic mix of queries: with diacritics, without,
  a prefix being typed, an agency facet, a level filter, a sharing-form filter and the
  empty query; then the same mix through the HTTP route (in-process ASGI client, no
  network). Targets: p95 < 50 ms.
* **import**: a 5,000-row template (1,000 database rows + 4,000 element rows) parsed,
  checked (preview) and saved through ``catalog.imports`` (the code behind the page, the
  API and ``dulieuso catalog import``), into the already loaded catalog. Target < 10 s.

The catalog is loaded with bulk inserts (the service would take minutes for 10,000
entries and is not what is measured); every entry is accepted and published, then
``service.rebuild_search_index`` builds the search index as the platform would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from dulieuso.agencies.models import Agency, AgencyType  # noqa: E402
from dulieuso.audit.service import EventTag, install_guard, record  # noqa: E402
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM  # noqa: E402
from dulieuso.catalog import imports, search, service  # noqa: E402
from dulieuso.catalog.models import (  # noqa: E402
    CategoryAvailability,
    DataCategory,
    Database,
    DatabaseLevel,
    DataElement,
    ElementType,
    EntryStatus,
    Importance,
    PublicEntry,
    SharingForm,
    SharingScope,
    UpdateFrequency,
    UserType,
)
from dulieuso.catalog.spreadsheet import write_workbook  # noqa: E402
from dulieuso.db import make_engine, make_sessionmaker  # noqa: E402
from dulieuso.migrate import upgrade  # noqa: E402
from dulieuso.vntext import fold  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
README = ROOT / "bench" / "README.md"
START, END = "<!-- catalog-bench:start -->", "<!-- catalog-bench:end -->"

AGENCIES = [
    ("B-STC", "Sở Tài chính"), ("B-SNNMT", "Sở Nông nghiệp và Môi trường"), ("B-SYT", "Sở Y tế"),
    ("B-SGDDT", "Sở Giáo dục và Đào tạo"), ("B-SXD", "Sở Xây dựng"), ("B-SCT", "Sở Công Thương"),
    ("B-SKHCN", "Sở Khoa học và Công nghệ"), ("B-SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("B-SNV", "Sở Nội vụ"), ("B-STP", "Sở Tư pháp"), ("B-CAT", "Công an tỉnh"), ("B-BHXH", "Bảo hiểm xã hội tỉnh"),
    ("B-CTK", "Thống kê tỉnh"), ("B-VPUB", "Văn phòng UBND tỉnh"), ("B-BQLKKT", "Ban Quản lý Khu kinh tế"),
    ("B-SDTTG", "Sở Dân tộc và Tôn giáo"), ("B-TTHCC", "Trung tâm Phục vụ hành chính công"),
    ("B-UBTP", "UBND thành phố Lai Châu"), ("B-UBTD", "UBND xã Tam Đường"), ("B-UBPT", "UBND xã Phong Thổ"),
]
TOPICS = [
    ("đất đai", ["Thửa đất", "Chủ sử dụng đất", "Giá đất", "Quy hoạch sử dụng đất"]),
    ("dân cư", ["Nhân khẩu", "Hộ gia đình", "Biến động dân cư", "Cư trú"]),
    ("doanh nghiệp", ["Đăng ký doanh nghiệp", "Người đại diện", "Ngành nghề kinh doanh", "Vốn điều lệ"]),
    ("y tế", ["Cơ sở khám chữa bệnh", "Hồ sơ sức khỏe", "Tiêm chủng", "Nhân lực y tế"]),
    ("giáo dục", ["Trường học", "Học sinh", "Giáo viên", "Kết quả học tập"]),
    ("nông nghiệp", ["Cây trồng", "Vật nuôi", "Hợp tác xã", "Thủy lợi"]),
    ("lâm nghiệp", ["Rừng phòng hộ", "Rừng sản xuất", "Chi trả dịch vụ môi trường rừng", "Cháy rừng"]),
    ("du lịch", ["Điểm du lịch", "Cơ sở lưu trú", "Lượt khách", "Lễ hội"]),
    ("quan trắc môi trường", ["Trạm quan trắc", "Chất lượng nước", "Chất lượng không khí", "Chất thải rắn"]),
    ("giao thông", ["Đường bộ", "Cầu", "Phương tiện", "Tai nạn giao thông"]),
    ("cán bộ, công chức", ["Hồ sơ cán bộ", "Biên chế", "Đào tạo bồi dưỡng", "Khen thưởng kỷ luật"]),
    ("thủ tục hành chính", ["Hồ sơ thủ tục", "Kết quả giải quyết", "Đánh giá hài lòng", "Phí lệ phí"]),
    ("hộ tịch", ["Khai sinh", "Kết hôn", "Khai tử", "Thay đổi hộ tịch"]),
    ("tài chính ngân sách", ["Thu ngân sách", "Chi ngân sách", "Đầu tư công", "Tài sản công"]),
]
PLACES = ["tỉnh Lai Châu", "thành phố Lai Châu", "xã Tam Đường", "xã Phong Thổ", "xã Sìn Hồ", "xã Mường Tè",
          "xã Than Uyên", "xã Tân Uyên", "xã Nậm Nhùn", "xã Bình Lư"]
ELEMENTS = ["Mã định danh", "Tên", "Ngày cập nhật", "Địa chỉ", "Số lượng", "Diện tích", "Ghi chú", "Trạng thái",
            "Mã đơn vị hành chính", "Người cập nhật", "Tọa độ", "Năm", "Giá trị", "Loại", "Số hiệu"]
ELEMENT_TYPES = list(ElementType)

#: The query mix: (label, keyword arguments of search_databases).
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("diacritics", {"q": "đất đai"}),
    ("diacritics", {"q": "Sở Tài chính"}),
    ("diacritics", {"q": "giáo dục Tam Đường"}),
    ("no diacritics", {"q": "dat dai"}),
    ("no diacritics", {"q": "so tai chinh"}),
    ("no diacritics", {"q": "rung phong ho"}),
    ("no diacritics", {"q": "ho tich khai sinh"}),
    ("prefix", {"q": "thu tuc hanh ch"}),
    ("prefix", {"q": "doanh ng"}),
    ("agency facet", {"q": "y te", "agency": "B-SYT"}),
    ("agency facet", {"agency": "B-SNNMT"}),
    ("level filter", {"q": "du lich", "level": "local_shared"}),
    ("level filter", {"level": "sector"}),
    ("sharing form", {"q": "dan cu", "sharing_form": "open_data"}),
    ("empty query", {}),
    ("empty query", {"offset": 200}),
]


# -- databases ------------------------------------------------------------------------


@contextmanager
def target(kind: str, pg_url: str) -> Iterator[tuple[Engine, str]]:
    """A fresh, migrated database: a temp SQLite file or a PostgreSQL schema (dropped after)."""
    install_guard()
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench.sqlite3")
            upgrade(engine)
            version = engine.connect().exec_driver_sql("select sqlite_version()").scalar()
            yield engine, f"SQLite {version}"
            engine.dispose()
        return
    schema = f"bench_catalog_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        version = conn.execute(text("show server_version")).scalar()
    sep = "&" if "?" in pg_url else "?"
    engine = make_engine(f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield engine, f"PostgreSQL {version}"
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(factory: sessionmaker[Session], databases: int, per_category: int, categories: int) -> dict[str, Any]:
    """Bulk-load ``databases`` accepted, published entries; returns counts and seconds."""
    rng = random.Random(47)
    started = time.perf_counter()
    with factory() as session:
        agencies: list[Agency] = []
        for code, name in AGENCIES:
            agency = Agency(code=code, name_vi=name, type=AgencyType.DEPARTMENT, search_text=fold(f"{code} {name}"))
            session.add(agency)
            record(session, SYSTEM, EventTag.AGENCY_CREATE, agency, label=code)
            agencies.append(agency)
        session.commit()
        levels = list(DatabaseLevel)
        forms = list(SharingForm)
        elements_total = 0
        chunk = 500
        for start in range(0, databases, chunk):
            db_rows, cat_rows, el_rows, av_rows, pub_rows = [], [], [], [], []
            for number in range(start, min(start + chunk, databases)):
                agency = agencies[number % len(agencies)]
                topic, category_names = TOPICS[number % len(TOPICS)]
                place = PLACES[(number // len(TOPICS)) % len(PLACES)]
                db_id = uuid.uuid4()
                code = f"B-{number:05d}"
                name = f"Cơ sở dữ liệu {topic} {place} {number}"
                level = levels[number % len(levels)]
                purpose = f"Quản lý thống nhất dữ liệu {topic} trên địa bàn {place}"
                db_rows.append({
                    "id": db_id, "code": code, "name": name, "purpose": purpose, "scope": place,
                    "content": ", ".join(category_names), "collection_mechanism": "Số hóa và cập nhật trực tuyến",
                    "update_mechanism": "Cập nhật khi có thay đổi", "update_frequency": UpdateFrequency.ON_CHANGE,
                    "data_sources": f"{agency.name_vi}", "owner_agency_id": agency.id, "level": level,
                    "legal_basis": "Nghị định 47/2020/NĐ-CP", "sharing_scope": SharingScope.SHARED,
                    "importance": Importance.OTHER, "status": EntryStatus.ACCEPTED, "revision": 1,
                    "search_text": fold(f"{code} {name} {purpose}"),
                })
                entry_categories = []
                for position in range(categories):
                    cat_id = uuid.uuid4()
                    cat_name = category_names[position % len(category_names)] + ("" if position < len(category_names) else f" {position}")
                    cat_rows.append({"id": cat_id, "database_id": db_id, "name": cat_name, "description": "", "position": position})
                    matrix = {u.value: rng.choice(forms).value for u in UserType}
                    av_rows.extend({"category_id": cat_id, "user_type": UserType(u), "sharing_form": SharingForm(f)} for u, f in matrix.items())
                    entry_elements = []
                    for index in range(per_category):
                        element = f"{ELEMENTS[(index + position) % len(ELEMENTS)]} {cat_name.lower()}"
                        kind = ELEMENT_TYPES[index % len(ELEMENT_TYPES)]
                        el_rows.append({"id": uuid.uuid4(), "category_id": cat_id, "name": element, "data_type": kind,
                                        "description": "", "position": index, "search_text": fold(element)})
                        entry_elements.append({"name": element, "data_type": kind.value, "description": "", "unit": None,
                                               "required": False, "code_list": None, "is_master_data": False,
                                               "is_personal_data": False, "dictionary_id": None})
                    elements_total += per_category
                    entry_categories.append({"name": cat_name, "description": "", "availability": matrix, "elements": entry_elements})
                entry = {"code": code, "name": name, "owner_agency": {"code": agency.code, "name": agency.name_vi},
                         "purpose": purpose, "scope": place, "content": ", ".join(category_names), "level": level.value,
                         "importance": "other", "revision": 1, "categories": entry_categories}
                flags = {f for c in entry_categories for f in c["availability"].values()}
                pub_rows.append({
                    "database_id": db_id, "code": code, "name": name, "owner_agency_id": agency.id,
                    "agency_code": agency.code, "agency_name": agency.name_vi, "level": level,
                    "importance": Importance.OTHER, "form_open_data": "open_data" in flags, "form_default": "default" in flags,
                    "form_special_request": "special_request" in flags, "form_not_shared": "not_shared" in flags,
                    "revision": 1, "entry": entry,
                })
            # Core inserts: the bulk load bypasses the ORM (and so the audit guard) on purpose.
            session.execute(insert(Database), db_rows)
            session.execute(insert(DataCategory), cat_rows)
            session.execute(insert(DataElement), el_rows)
            session.execute(insert(CategoryAvailability), av_rows)
            session.execute(insert(PublicEntry), pub_rows)
            session.commit()
        loaded = time.perf_counter() - started
        indexed = service.rebuild_search_index(session)
        session.commit()
        # Fresh tables have no planner statistics (PostgreSQL's autovacuum gets to them only
        # later); a running catalog has them, so measure with them.
        session.execute(text("ANALYZE"))
        session.commit()
    return {"databases": databases, "elements": elements_total, "indexed": indexed,
            "load_s": round(loaded, 1), "index_s": round(time.perf_counter() - started - loaded, 1)}


# -- measuring --------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 2), "p95_ms": round(percentile(values, 95), 2),
            "max_ms": round(max(values), 2), "mean_ms": round(statistics.fmean(values), 2)}


def time_queries(run: Callable[[dict[str, Any]], Any], rounds: int) -> dict[str, Any]:
    for _, params in QUERIES:  # warm caches and plans once
        run(params)
    overall: list[float] = []
    cpu: list[float] = []
    by_kind: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    for _ in range(rounds):
        for kind, params in QUERIES:
            started, cpu_started = time.perf_counter(), time.process_time()
            total = run(params)
            elapsed = (time.perf_counter() - started) * 1000
            cpu.append((time.process_time() - cpu_started) * 1000)
            overall.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
            totals[json.dumps(params, ensure_ascii=False)] = total
    return {"overall": summary(overall), "cpu": summary(cpu), "by_kind": {k: summary(v) for k, v in by_kind.items()},
            "hits": totals}


def bench_search(factory: sessionmaker[Session], rounds: int) -> dict[str, Any]:
    with factory() as session:
        def run(params: dict[str, Any]) -> int:
            return search.search_databases(session, ANONYMOUS, limit=20, **params).total

        return time_queries(run, rounds)


def bench_http(factory: sessionmaker[Session], rounds: int) -> dict[str, Any] | None:
    from fastapi.testclient import TestClient

    from dulieuso.app import create_app
    from dulieuso.config import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), secret_key="bench-secret-key-not-for-production", log_level="WARNING")
        app = create_app(settings, session_factory=factory, migrate=False)
        with TestClient(app) as client:
            def run(params: dict[str, Any]) -> int:
                response = client.get("/api/v1/databases", params={**params, "limit": 20})
                response.raise_for_status()
                return int(response.json().get("total", 0))

            return time_queries(run, rounds)


def import_rows(agency: str, databases: int, elements_per: int) -> bytes:
    entries = []
    for number in range(databases):
        entries.append({
            "code": f"I-{number:05d}", "name": f"Cơ sở dữ liệu nhập thử {number}", "owner_agency": {"code": agency, "name": ""},
            "purpose": "Quản lý dữ liệu chuyên ngành", "scope": "Toàn tỉnh", "content": "Hồ sơ, chỉ tiêu",
            "collection_mechanism": "Số hóa", "update_mechanism": "Cập nhật trực tuyến", "update_frequency": "monthly",
            "data_sources": "Báo cáo của các xã", "level": "sector", "sharing_scope": "shared", "importance": "other",
            "start_year": 2020, "record_count_estimate": 10_000 + number,
            "categories": [{
                "name": "Thông tin chung",
                "availability": {"province_agencies": "default", "central_agencies": "default",
                                 "other_provinces": "special_request", "organisations": "special_request",
                                 "individuals": "not_shared"},
                "elements": [{"name": f"Trường {k}", "data_type": "text", "description": "Mô tả trường"} for k in range(elements_per)],
            }],
        })
    return write_workbook(entries)


def bench_import(factory: sessionmaker[Session], databases: int = 1000, elements_per: int = 4) -> dict[str, Any]:
    from dulieuso.catalog.spreadsheet import parse_workbook

    agency = AGENCIES[0][0]
    data = import_rows(agency, databases, elements_per)
    started = time.perf_counter()
    parse_workbook(data, agency=agency)  # timed alone, for the breakdown
    parse_s = time.perf_counter() - started
    # CPU time of this process too: on SQLite (in-process) it is what an idle machine would take.
    with factory() as session:
        started, cpu = time.perf_counter(), time.process_time()
        parsed, plan = imports.plan_import(session, SYSTEM, data, agency)  # parse + check + compare
        plan_s, plan_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        result = imports.apply_import(session, SYSTEM, data, agency, parsed=parsed)
        session.commit()
        apply_s, apply_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "rows": parsed.database_rows + parsed.element_rows, "database_rows": parsed.database_rows,
        "element_rows": parsed.element_rows, "file_kb": len(data) // 1024, "parse_s": round(parse_s, 2),
        "preview_s": round(plan_s, 2), "import_s": round(apply_s, 2), "total_s": round(plan_s + apply_s, 2),
        "preview_cpu_s": round(plan_cpu, 2), "import_cpu_s": round(apply_cpu, 2),
        "created": len(result.created),
        "counts": plan.counts(),
    }


# -- reporting ------------------------------------------------------------------------------


#: What dominates the time, from profiling this benchmark (per-statement timings of
#: ``search_databases`` and cProfile of the import); kept with the numbers it explains.
ANALYSIS = """\
**What dominates.**

*Search* (`catalog.search.search_databases`, behind `GET /api/v1/databases`): each process
answers from an in-memory copy of the index tables (`catalog_search_rows`,
`catalog_search_terms`), checked against the change token in `catalog_search_state` (one
primary-key read per search) and reloaded when it differs. What is left per query is that
read, the dictionary intersection of the words (the rarest drives), sorting the matches
and counting the facets over them (one C-level `Counter` over per-entry facet keys).
Before this design the same search ran in SQL: the words every catalog shares ("so" of
every "Sở", "du lieu", a prefix such as "ch") match most of the 10,000 entries, and joining
and grouping their index rows cost 20–60 ms per query on PostgreSQL before any facet was
counted (p95 744 ms on this machine at 12:45 UTC, quiet). Reloading the copy after a change
costs about 1 s at this size (words read grouped per entry and weight: one string per
group), about 30 MB of memory.

*Import*: `catalog.service.save_entries` checks every entry first (agencies, systems, code
lists and existing entries loaded once, `catalog/lookups.py`), then writes 500 entries per
flush; audit events go in with the flush (one statement per table per flush). Per 100 new
entries: preview 3 statements (was 102), save about 11 (was 1,003). What remains is CPU in
this process: openpyxl parsing the XLSX (about 2 s of the preview) and the ORM building
12,000 objects (about 4 s of the save); the SQL itself is under 2 s on PostgreSQL.
"""


def verdict(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def run_facts() -> dict[str, str]:
    """When, where and how this run was made (kept in the JSON for ``--from-json``)."""
    return {
        "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "load": "/".join(f"{x:.1f}" for x in os.getloadavg()),
        "command": "bench/catalog_bench.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
    }


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, facts: dict[str, str]) -> str:
    lines = [
        START,
        "## Catalog: search and spreadsheet import (`bench/catalog_bench.py`)",
        "",
        f"Measured {facts['measured_at']} on {facts['machine']}; load average at the end {facts['load']} "
        "(1/5/15 min)" + (": other work shared the 2 cores, so every number is slower than on an idle machine"
                          if float(facts['load'].split('/')[0]) > 2.5 else "; the machine was otherwise quiet")
        + f". Command: `.venv/bin/python {facts['command']}`.",
        "",
        f"Catalog: {args.databases:,} accepted databases × {args.categories} categories × {args.per_category} elements; "
        f"each query of the mix ({len(QUERIES)} queries) run {args.rounds} times after one warm-up. "
        "Targets: search p95 < 50 ms; import of a 5,000-row template < 10 s. \"CPU of this process\" is "
        "`time.process_time()` of the benchmark: on SQLite it includes the database engine and is close to "
        "what an idle machine would take; on PostgreSQL the server's work is not in it.",
        *(["", facts["note"]] if facts.get("note") else []),
        "",
        "| database | elements | search p50 | search p95 | target | HTTP p50 | HTTP p95 | import of 5,000 rows | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, h, i = r["search"]["overall"], (r.get("http") or {}).get("overall"), r["import"]
        total = i.get("total_s", i["preview_s"] + i["import_s"])
        lines.append(
            f"| {r['engine']} | {r['seed']['elements']:,} | {s['p50_ms']} ms | {s['p95_ms']} ms"
            + (f" (CPU of this process: p50 {r['search']['cpu']['p50_ms']}, p95 {r['search']['cpu']['p95_ms']} ms)"
               if "cpu" in r["search"] else "")
            + f" | {verdict(s['p95_ms'] < 50)} | "
            f"{h['p50_ms'] if h else '–'} ms | {h['p95_ms'] if h else '–'} ms | "
            f"preview {i['preview_s']} s + save {i['import_s']} s = {total:.1f} s (parsing alone: {i['parse_s']} s)"
            + (f"; CPU of this process: {i['preview_cpu_s']} + {i['import_cpu_s']} s" if "import_cpu_s" in i else "")
            + " | "
            f"{verdict(total < 10)} |"
        )
    lines += ["", "p95 by kind of query (function call):", "", "| database | " + " | ".join(sorted({k for r in results for k in r["search"]["by_kind"]})) + " |",
              "|---|" + "---|" * len({k for r in results for k in r["search"]["by_kind"]})]
    kinds = sorted({k for r in results for k in r["search"]["by_kind"]})
    for r in results:
        lines.append(f"| {r['engine']} | " + " | ".join(f"{r['search']['by_kind'][k]['p95_ms']} ms" for k in kinds) + " |")
    lines += ["", "Loading the benchmark catalog (bulk inserts, then `service.rebuild_search_index`): " + "; ".join(
        f"{r['engine']} {r['seed']['load_s']} s + index {r['seed']['index_s']} s" for r in results) + ".", ""]
    lines += [ANALYSIS, END]
    return "\n".join(lines)


def write_readme(section: str) -> None:
    if README.exists():
        current = README.read_text()
    else:
        current = "# Benchmarks\n\nMeasured numbers of the benchmarks in this folder; each script owns its section.\n"
    if START in current and END in current:
        current = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: section, current, flags=re.S)
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("DULIEUSO_BENCH_PG_URL", PG_URL))
    parser.add_argument("--databases", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--per-category", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP route")
    parser.add_argument("--readme", action="store_true", help="write the results into bench/README.md")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--note", help="a sentence to print under the numbers (e.g. the code version measured)")
    parser.add_argument("--from-json", type=Path, help="do not measure: report the results saved by --json")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        if args.note:
            saved["facts"]["note"] = args.note
        section = markdown(saved["results"], argparse.Namespace(**saved["args"]), saved["facts"])
        print(section)
        if args.readme:
            write_readme(section)
        return
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        with target(kind, args.pg_url) as (engine, label):
            factory = make_sessionmaker(engine)
            print(f"[{label}] loading {args.databases:,} databases…", flush=True)
            seeded = seed(factory, args.databases, args.per_category, args.categories)
            print(f"[{label}] loaded: {seeded}", flush=True)
            searched = bench_search(factory, args.rounds)
            print(f"[{label}] search: {searched['overall']}", flush=True)
            http = None if args.no_http else bench_http(factory, max(1, args.rounds // 2))
            if http:
                print(f"[{label}] http: {http['overall']}", flush=True)
            imported = bench_import(factory)
            print(f"[{label}] import: {imported}", flush=True)
            results.append({"engine": label, "seed": seeded, "search": searched, "http": http, "import": imported})
    facts = run_facts()
    if args.note:
        facts["note"] = args.note
    section = markdown(results, args, facts)
    print(section)
    if args.json:
        kept = {k: v for k, v in vars(args).items() if k in {"databases", "categories", "per_category", "rounds"}}
        args.json.write_text(json.dumps({"facts": facts, "args": kept, "results": results}, ensure_ascii=False, indent=2))
    if args.readme:
        write_readme(section)


if __name__ == "__main__":
    main()
