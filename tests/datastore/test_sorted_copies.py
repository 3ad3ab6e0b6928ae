# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sorted searches answered from a version's sorted copy (memory-mapped Arrow) return
exactly what DuckDB returns, and DuckDB still answers what the copy cannot."""

from __future__ import annotations

import itertools
import time

import duckdb
import pytest

from dulieuso.datastore import query, sorted_copies


def _row(i: int) -> str:
    huyen = ["A", "B", "C", "", "Đ"][i % 5]  # "" is a NULL
    gia = "" if i % 11 == 0 else str((i * 7919) % 97 / 4)  # many ties, some NULLs
    ngay = "" if i % 13 == 0 else f"2024-01-{i % 28 + 1:02d}"
    luc = f"2024-02-{i % 28 + 1:02d} {i % 24:02d}:30:00"
    return f"{i},{huyen},{gia},{ngay},{luc},{'true' if i % 3 else 'false'},Tên {i % 17}\n"


@pytest.fixture(params=["coded", "plain"])
def big(request, load, write, monkeypatch):
    """2,500 rows in batches of 256: searches cross batch boundaries. Its text columns
    have few distinct values: stored as dictionary codes, or (``plain``) as text."""
    monkeypatch.setattr(sorted_copies, "BATCH_ROWS", 256)
    if request.param == "plain":
        monkeypatch.setattr(sorted_copies, "DICTIONARY_MAX", 0)
    monkeypatch.setattr(query, "RESULT_CACHE_SIZE", 0)
    monkeypatch.setattr(query, "COUNT_CACHE_SIZE", 0)
    body = "ma,huyen,gia,ngay,luc,ok,ten\n" + "".join(_row(i) for i in range(2500))
    return load(write("big.csv", body)).parquet_path


@pytest.fixture
def served(monkeypatch):
    """What the sorted copy answered (None: it handed the search to DuckDB)."""
    answers: list[object] = []
    original = sorted_copies.first_rows

    def spy(*args, **kwargs):
        answers.append(found := original(*args, **kwargs))
        return found

    monkeypatch.setattr(sorted_copies, "first_rows", spy)
    return answers


@pytest.fixture
def counted(monkeypatch):
    """What the sorted copy counted (None: it left the count to DuckDB)."""
    answers: list[object] = []
    original = sorted_copies.count

    def spy(*args, **kwargs):
        answers.append(found := original(*args, **kwargs))
        return found

    monkeypatch.setattr(sorted_copies, "count", spy)
    return answers


def duckdb_answer(monkeypatch, parquet, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(sorted_copies, "first_rows", lambda *args: None)
        patch.setattr(sorted_copies, "count", lambda *args: None)
        return query.search(parquet, **kwargs)


FILTERS = [
    None,
    {"huyen": "B"},
    {"huyen": ["A", "Đ"]},
    {"huyen": None},
    {"huyen": ["C", None]},
    {"huyen": "B", "ok": "false"},
    {"ma": "17"},
    {"ma": [3, 1234, 2499]},
    {"gia": "0"},
    {"gia": ["12,25", 3.5]},
    {"ngay": "05/01/2024"},
    {"ngay": None, "ok": True},
    {"luc": "2024-02-03T02:30:00"},
    {"huyen": "Không có"},
]
SORTS = ["gia desc", "gia", "huyen, gia desc", '"ngay" desc nulls first', "ok, luc desc, ten"]
PAGES = [(0, 100), (7, 5), (250, 40), (2450, 100)]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_same_answers_as_duckdb(big, monkeypatch, served, filters):
    for sort in SORTS:
        query.prepare_sort(big, sort)
    shapes = itertools.cycle([
        {"fields": None, "records_format": "objects"},
        {"fields": "ma,gia,ngay", "records_format": "lists"},
        {"fields": ["_id", "huyen", "luc", "ok"], "records_format": "csv"},
        {"fields": "gia, ma", "records_format": "tsv"},
    ])
    for sort, (offset, limit) in itertools.product(SORTS, PAGES):
        kwargs = {"filters": filters, "sort": sort, "offset": offset, "limit": limit, **next(shapes)}
        served.clear()
        fast = query.search(big, **kwargs)
        assert served and served[0] is not None, kwargs  # the copy answered
        assert fast == duckdb_answer(monkeypatch, big, **kwargs), kwargs


def test_rows_and_their_json_types_are_duckdbs(big, served):
    query.prepare_sort(big, "gia desc")
    result = query.search(big, filters={"huyen": "B"}, sort="gia desc", limit=3)
    assert served[0] is not None
    # Row 61 is the first with the highest price (96 / 4) in district B.
    assert result["records"][0] == {
        "_id": 62, "ma": 61, "huyen": "B", "gia": 24.0, "ngay": "2024-01-06",
        "luc": "2024-02-06T13:30:00", "ok": True, "ten": "Tên 10",
    }
    assert [r["ma"] for r in result["records"]] == [61, 546, 1031]


@pytest.mark.parametrize(
    ("filters", "total"),
    [
        ({"huyen": ["A", None]}, 1000),
        ({"huyen": "B", "ok": "false"}, 167),
        ({"huyen": ["Không có", "C"], "ngay": None}, 38),
        ({"huyen": "Không có"}, 0),
        ({"huyen": []}, 0),
        ({"ok": True, "gia": ["0", "24"]}, 31),
    ],
)
def test_totals_counted_on_the_copy_are_duckdbs(big, monkeypatch, counted, filters, total):
    query.prepare_sort(big, "gia desc")
    kwargs = {"filters": filters, "sort": "gia desc", "limit": 10}
    result = query.search(big, **kwargs)
    assert result["total"] == total
    assert result == duckdb_answer(monkeypatch, big, **kwargs)
    if sorted_copies.DICTIONARY_MAX:
        assert counted == [total]


def test_plain_text_columns_are_counted_by_duckdb(big, counted):
    query.prepare_sort(big, "gia desc")
    result = query.search(big, filters={"huyen": "B"}, sort="gia desc", limit=1)
    assert result["total"] == 500
    assert counted == ([500] if sorted_copies.DICTIONARY_MAX else [None])


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"q": "tên 3"}, id="full text"),
        pytest.param({"q": {"ten": "ten 3"}}, id="full text in a field"),
        pytest.param({"distinct": True, "fields": "huyen", "sort": "huyen"}, id="distinct"),
        pytest.param({"limit": 0}, id="no rows asked"),
        pytest.param({"sort": None}, id="file order"),
    ],
)
def test_searches_the_copy_cannot_answer_go_to_duckdb(big, served, kwargs):
    query.prepare_sort(big, "gia desc")
    result = query.search(big, **{"sort": "gia desc", **kwargs})
    assert served == []
    assert result == query.search(big, **{"sort": "gia desc", **kwargs})


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param({"gia": "nan"}, id="NaN (DuckDB finds it equal to itself)"),
        pytest.param({"ma": str(2**70)}, id="an integer wider than the column"),
    ],
)
def test_values_arrow_would_compare_differently_go_to_duckdb(big, monkeypatch, served, filters):
    query.prepare_sort(big, "gia desc")
    result = query.search(big, filters=filters, sort="gia desc")
    assert served == [None]
    assert result == duckdb_answer(monkeypatch, big, filters=filters, sort="gia desc")


def test_types_the_copy_does_not_serve_go_to_duckdb(tmp_path, monkeypatch, served):
    parquet = tmp_path / "v1.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT range AS n, (range % 7)::DECIMAL(9, 2) AS d FROM range(100)) TO '{parquet}' (FORMAT parquet)"
    )
    query.prepare_sort(parquet, "d desc")
    for kwargs in ({"fields": "n, d"}, {"fields": "n", "filters": {"d": "3"}}):
        result = query.search(parquet, sort="d desc", **kwargs)
        assert served.pop() is None
        assert result == duckdb_answer(monkeypatch, parquet, sort="d desc", **kwargs)
    assert query.search(parquet, sort="d desc", fields="n", filters={"n": 5})["records"] == [{"n": 5}]
    assert served.pop() == [(5,)]


def test_built_in_the_background_then_used(big, monkeypatch, served):
    monkeypatch.setattr(query, "PROJECTION_MIN_ROWS", 1000)
    kwargs = {"filters": {"huyen": "C"}, "sort": "ngay desc", "limit": 20, "offset": 3}
    first = query.search(big, **kwargs)
    assert served == [None]  # no copy yet: DuckDB sorted, and the copy is being built
    target = query.projection_path(big, ['"ngay" DESC NULLS LAST', '"_id" ASC'])
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert target.name.startswith("v1.sorted-") and target.suffix == ".arrow"
    assert query.search(big, **kwargs) == first and served[-1] is not None


def test_a_copy_in_the_former_parquet_format_is_removed_when_the_arrow_copy_is_made(big):
    target = query.projection_path(big, ['"gia" DESC NULLS LAST', '"_id" ASC'])
    former = target.with_suffix(".parquet")
    duckdb.connect().execute(f"COPY (SELECT * FROM read_parquet('{big}')) TO '{former}' (FORMAT parquet)")
    other = big.with_name("v1.sorted-000000000000.parquet")  # another sort's: left for its own rebuild
    other.write_bytes(former.read_bytes())
    assert query.prepare_sort(big, "gia desc") == target and target.exists()
    assert not former.exists() and other.exists()


def test_small_resources_get_no_copy(big, served):
    query.search(big, sort="ngay desc")
    assert not list(big.parent.glob("v1.sorted-*"))


def test_many_threads_share_one_copy(big, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    query.prepare_sort(big, "gia desc")
    sorted_copies.forget()
    values = ["A", "B", "C", "Đ", None]
    expected = [duckdb_answer(monkeypatch, big, filters={"huyen": v}, sort="gia desc", limit=30) for v in values]

    def one(n):
        return query.search(big, filters={"huyen": values[n % 5]}, sort="gia desc", limit=30)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(80)))
    assert results == [expected[n % 5] for n in range(80)]
