# SPDX-License-Identifier: AGPL-3.0-or-later
"""datastore_search semantics (CKAN's result shape) over a resource's Parquet file."""

from __future__ import annotations

import pytest

from dulieuso.datastore import query
from dulieuso.errors import Invalid

DATA = (
    "ma,ten,huyen,dan_so,ngay,con_hoat_dong\n"
    "1,Phường Tân Phong,Thành phố Lai Châu,15234,2024-01-01,true\n"
    "2,Xã Sìn Hồ,Sìn Hồ,8123,2024-02-01,true\n"
    "3,Xã Mường Tè,Mường Tè,6045,2024-03-01,false\n"
    "4,Xã Tả Lèng,Tam Đường,7310,2024-04-01,true\n"
    "5,Xã Pa Ủ,Mường Tè,3310,,false\n"
)


@pytest.fixture
def parquet(load, write):
    return load(write("xa.csv", DATA)).parquet_path


def ids(result):
    return [r["ma"] for r in result["records"]]


def test_result_shape_matches_ckan(parquet):
    result = query.search(parquet, links_base="/api/3/action/datastore_search?resource_id=r1", resource_id="r1")
    assert result["fields"][0] == {"id": "_id", "type": "int"}
    assert [f["type"] for f in result["fields"][1:]] == ["int", "text", "text", "int", "date", "bool"]
    assert result["fields"][1]["info"] == {"label": "ma", "notes": "", "type_override": ""}
    assert result["total"] == 5 and result["total_was_estimated"] is False
    assert result["limit"] == 100 and result["offset"] == 0
    assert result["records"][0] == {
        "_id": 1, "ma": 1, "ten": "Phường Tân Phong", "huyen": "Thành phố Lai Châu",
        "dan_so": 15234, "ngay": "2024-01-01", "con_hoat_dong": True,
    }
    assert result["_links"] == {
        "start": "/api/3/action/datastore_search?resource_id=r1",
        "next": "/api/3/action/datastore_search?resource_id=r1&offset=100",
    }
    assert result["resource_id"] == "r1"


def test_filters_with_single_values_and_lists(parquet):
    assert ids(query.search(parquet, filters={"huyen": "Mường Tè"})) == [3, 5]
    result = query.search(parquet, filters={"huyen": ["Sìn Hồ", "Tam Đường"], "con_hoat_dong": "true"})
    assert ids(result) == [2, 4] and result["total"] == 2
    assert ids(query.search(parquet, filters={"dan_so": "6045"})) == [3]
    assert ids(query.search(parquet, filters={"ngay": "01/03/2024"})) == [3]
    assert ids(query.search(parquet, filters={"ngay": None})) == [5]
    assert result["filters"] == {"huyen": ["Sìn Hồ", "Tam Đường"], "con_hoat_dong": "true"}


def test_full_text_ignores_diacritics_and_case(parquet):
    assert ids(query.search(parquet, q="muong te")) == [3, 5]
    assert ids(query.search(parquet, q="XA SIN")) == [2]
    assert ids(query.search(parquet, q="ta leng tam duong")) == [4]
    assert ids(query.search(parquet, q={"ten": "pa u"})) == [5]
    assert ids(query.search(parquet, q="không có")) == []


def test_sort_paging_and_links(parquet):
    result = query.search(parquet, sort="dan_so desc", limit=2, offset=1, links_base="/x?resource_id=r")
    assert ids(result) == [2, 4]
    assert result["_links"]["next"] == "/x?resource_id=r&offset=3"
    assert ids(query.search(parquet, sort="huyen, ma desc")) == [5, 3, 2, 4, 1]
    assert ids(query.search(parquet, sort=['"ngay" desc nulls first'])) == [5, 4, 3, 2, 1]


def test_fields_choose_columns(parquet):
    result = query.search(parquet, fields="ma, ten", limit=1)
    assert result["records"] == [{"ma": 1, "ten": "Phường Tân Phong"}]
    assert [f["id"] for f in result["fields"]] == ["ma", "ten"]


def test_include_total_false_counts_nothing(parquet):
    result = query.search(parquet, filters={"huyen": "Mường Tè"}, include_total=False)
    assert "total" not in result and ids(result) == [3, 5]


def test_records_as_lists_and_csv(parquet):
    lists = query.search(parquet, fields=["ma", "huyen"], limit=2, records_format="lists")
    assert lists["records"] == [[1, "Thành phố Lai Châu"], [2, "Sìn Hồ"]]
    csv_result = query.search(parquet, fields=["ma", "ten"], limit=2, records_format="csv")
    assert csv_result["records"] == "1,Phường Tân Phong\n2,Xã Sìn Hồ\n"


def test_limit_is_capped_and_zero_gives_only_fields_and_total(parquet):
    assert query.search(parquet, limit=100000)["limit"] == 32000
    result = query.search(parquet, limit=0)
    assert result["records"] == [] and result["total"] == 5


def test_estimated_total_over_the_threshold(parquet):
    result = query.search(parquet, filters={"huyen": "Mường Tè"}, total_estimation_threshold=1)
    assert result["total_was_estimated"] is True
    exact = query.search(parquet, filters={"huyen": "Mường Tè"}, total_estimation_threshold=1000)
    assert exact["total"] == 2 and exact["total_was_estimated"] is False


def test_distinct(parquet):
    result = query.search(parquet, fields="huyen", distinct=True, sort="huyen")
    assert [r["huyen"] for r in result["records"]] == ["Mường Tè", "Sìn Hồ", "Tam Đường", "Thành phố Lai Châu"]
    assert result["total"] == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"filters": {"khong_co": 1}}, "filters"),
        ({"sort": "khong_co desc"}, "sort"),
        ({"fields": "ma,khong_co"}, "fields"),
        ({"q": {"khong_co": "x"}}, "q"),
    ],
)
def test_unknown_fields_are_named_in_a_validation_error(parquet, kwargs, field):
    with pytest.raises(Invalid) as caught:
        query.search(parquet, **kwargs)
    assert "khong_co" in caught.value.message.en
    assert field in caught.value.fields
    assert "khong_co" in caught.value.message.vi


def test_a_filter_value_of_the_wrong_type_names_the_field(parquet):
    with pytest.raises(Invalid) as caught:
        query.search(parquet, filters={"dan_so": "nhiều"})
    assert list(caught.value.fields) == ["dan_so"]


def test_searches_from_many_threads_do_not_interfere(parquet):
    from concurrent.futures import ThreadPoolExecutor

    def one(n):
        return ids(query.search(parquet, filters={"ma": n % 5 + 1}))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(64)))
    assert results == [[n % 5 + 1] for n in range(64)]


class TestSortedCopies:
    """Big resources sorted on a column read a sorted copy and stop early."""

    @pytest.fixture
    def big(self, load, write):
        body = "ma,huyen,gia\n" + "".join(f"{i},{['A', 'B', 'C'][i % 3]},{(i * 7919) % 1000}\n" for i in range(30000))
        return load(write("big.csv", body)).parquet_path

    def test_same_records_as_the_plain_query_including_ties_and_paging(self, big):
        kwargs = {"filters": {"huyen": ["B", "C"]}, "sort": "gia desc", "limit": 50, "offset": 25}
        plain = query.search(big, **kwargs)
        copy = query.prepare_sort(big, "gia desc")
        assert copy.exists() and copy.name.startswith("v1.sorted-")
        assert query.search(big, **kwargs) == plain

    def test_built_in_the_background_for_big_resources(self, big, monkeypatch):
        import time

        monkeypatch.setattr(query, "PROJECTION_MIN_ROWS", 1000)
        query.search(big, sort="gia")
        target = query.projection_path(big, ['"gia" ASC NULLS LAST', '"_id" ASC'])
        deadline = time.monotonic() + 20
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists()

    def test_pruning_a_version_removes_its_sorted_copies(self, big, write):
        from dulieuso.datastore import storage
        from dulieuso.datastore.ingest import ingest

        copy = query.prepare_sort(big, "gia")
        for n in range(2):
            ingest(write(f"n{n}.csv", "ma\n1\n"), resource_dir=big.parent, filename="n.csv")
        assert not copy.exists() and storage.versions(big.parent) == [2, 3]


def test_info_lists_fields_and_count(parquet):
    result = query.info(parquet, resource_id="r1")
    assert result["meta"]["count"] == 5 and result["meta"]["id"] == "r1"
    assert result["fields"][0] == {"id": "ma", "type": "int", "info": {"label": "ma", "notes": "", "type_override": ""}}


def test_caches_of_immutable_versions_give_the_same_answers(parquet, monkeypatch):
    kwargs = {"filters": {"huyen": "Mường Tè"}, "sort": "dan_so desc"}
    cached = [query.search(parquet, **kwargs) for _ in range(2)]
    monkeypatch.setattr(query, "RESULT_CACHE_SIZE", 0)
    monkeypatch.setattr(query, "COUNT_CACHE_SIZE", 0)
    assert cached[0] == cached[1] == query.search(parquet, **kwargs)


class TestFullTextColumn:
    """Big resources search a folded text column written once per version."""

    def test_same_answers_with_the_text_column(self, parquet):
        questions = ["muong te", "XA SIN", "ta leng tam duong", "không có", "phuong"]
        before = [query.search(parquet, q=q, sort="dan_so desc") for q in questions]
        written = query.prepare_text(parquet)
        assert written is not None and written.name == "v1.text.parquet"
        assert [query.search(parquet, q=q, sort="dan_so desc") for q in questions] == before
        estimated = query.search(parquet, q="xa", total_estimation_threshold=1)
        assert estimated["total_was_estimated"] is True

    def test_built_in_the_background_for_big_resources(self, parquet, monkeypatch):
        import time

        monkeypatch.setattr(query, "PROJECTION_MIN_ROWS", 1)
        query.search(parquet, q="lai chau")
        deadline = time.monotonic() + 20
        while not query.text_path(parquet).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert query.text_path(parquet).exists()

    def test_no_text_fields_no_text_column(self, load, write):
        numbers = load(write("n.csv", "a,b\n1,2\n")).parquet_path
        assert query.prepare_text(numbers) is None
