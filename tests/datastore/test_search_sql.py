# SPDX-License-Identifier: AGPL-3.0-or-later
"""datastore_search_sql: one read-only SELECT over the given resources, nothing else."""

from __future__ import annotations

import time

import pytest

from dulieuso.datastore import query
from dulieuso.errors import Invalid


@pytest.fixture
def tables(load, write):
    a = load(write("a.csv", "ma,huyen,dan_so\n1,Sìn Hồ,10\n2,Mường Tè,20\n3,Sìn Hồ,30\n")).parquet_path
    b = load(write("b.csv", "huyen,dien_tich\nSìn Hồ,1.5\nMường Tè,2.5\n")).parquet_path
    return {"res-a": a, "res_b": b}


def test_a_select_with_a_join_and_aggregate(tables):
    result = query.search_sql(
        'SELECT a.huyen, sum(dan_so) AS tong, max(b.dien_tich) AS dt FROM "res-a" a JOIN res_b b USING (huyen) '
        "GROUP BY 1 ORDER BY 2 DESC",
        tables=tables,
    )
    assert result["records"] == [{"huyen": "Sìn Hồ", "tong": 40, "dt": 1.5}, {"huyen": "Mường Tè", "tong": 20, "dt": 2.5}]
    assert result["fields"] == [{"id": "huyen", "type": "text"}, {"id": "tong", "type": "int"}, {"id": "dt", "type": "numeric"}]
    assert "records_truncated" not in result


def test_ctes_and_the_id_column_are_allowed(tables):
    result = query.search_sql('WITH x AS (SELECT _id, ma FROM "res-a") SELECT * FROM x ORDER BY _id LIMIT 1;', tables=tables)
    assert result["records"] == [{"_id": 1, "ma": 1}]


def test_rows_are_capped_and_marked_truncated(tables):
    result = query.search_sql('SELECT * FROM "res-a"', tables=tables, max_rows=2)
    assert len(result["records"]) == 2 and result["records_truncated"] is True


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ('INSERT INTO res_b VALUES (\'x\', 1)', "Only SELECT"),
        ("UPDATE res_b SET dien_tich = 0", "Only SELECT"),
        ("DELETE FROM res_b", "Only SELECT"),
        ("ATTACH '/tmp/x.duckdb' AS x", "Only SELECT"),
        ("COPY res_b TO '/tmp/out.csv'", "Only SELECT"),
        ("PRAGMA database_list", "Only SELECT"),
        ("CREATE TABLE t AS SELECT 1", "Only SELECT"),
        ("SET enable_external_access = true", "Only SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet"),
        ("SELECT * FROM glob('/*')", "glob"),
        ("SELECT * FROM '/etc/passwd'", "not a datastore resource"),
        ("SELECT * FROM other_resource", "not a datastore resource"),
        ("SELECT * FROM information_schema.tables", "not a datastore resource"),
        ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
        ("SELECT current_setting('allowed_paths')", "current_setting"),
        ("SELECT getenv('HOME')", "getenv"),
        ("SELECT 1; SELECT 2", "exactly one"),
        ("SELECT 1; DROP TABLE res_b", "exactly one"),
        ("SELEC 1", "not valid"),
    ],
)
def test_anything_else_is_refused(tables, sql, words):
    with pytest.raises(Invalid) as caught:
        query.search_sql(sql, tables=tables)
    assert words in caught.value.message.en
    assert "sql" in caught.value.fields


def test_a_runaway_query_is_stopped_within_the_limit(tables):
    started = time.perf_counter()
    with pytest.raises(Invalid) as caught:
        # 3^23 rows: a self cross join as in OCHA-DAP/hdx-ckan#2379, only bigger.
        query.search_sql(
            'SELECT count(*) FROM "res-a" a, "res-a" b, "res-a" c, "res-a" d, "res-a" e, "res-a" f, "res-a" g, '
            '"res-a" h, "res-a" i, "res-a" j, "res-a" k, "res-a" l, "res-a" m, "res-a" n, "res-a" o, "res-a" p, '
            '"res-a" q, "res-a" r, "res-a" s, "res-a" t, "res-a" u, "res-a" v, "res-a" w',
            tables=tables,
            timeout_s=0.5,
        )
    assert caught.value.code == "query_timeout"
    assert time.perf_counter() - started < 5


def test_file_access_is_off_even_if_a_check_were_missed(tables):
    import duckdb

    # The second line of defence: the connection itself cannot read other files.
    con = duckdb.connect()
    con.execute("SET enable_external_access = false")
    with pytest.raises(duckdb.PermissionException):
        con.execute("SELECT * FROM read_csv('/etc/passwd')")
