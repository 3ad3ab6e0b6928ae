# SPDX-License-Identifier: AGPL-3.0-or-later
"""Streamed dumps and downloads, formula injection neutralised, the dataset package."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import openpyxl
import pytest

from dulieuso.datastore import export, query
from dulieuso.errors import Invalid


@pytest.fixture
def injected(load):
    return load("formula_injection.csv")


def text_of(chunks):
    return b"".join(chunks).decode("utf-8-sig")


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_dumps_neutralise_formulas_and_keep_numbers(injected, fmt):
    data = b"".join(export.dump(injected.parquet_path, fmt, bom=True))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter="\t" if fmt == "tsv" else ","))
    assert rows[0] == ["_id", "ten", "cong_thuc", "so"]
    formulas = [r[2] for r in rows[1:]]
    assert formulas == ["'=HYPERLINK(\"http://x.invalid\",\"bấm\")", "'+84912345678", "'@SUM(A1:A2)", "'-2+3", "'\tđầu tab"]
    assert [r[3] for r in rows[1:]] == ["-5", "3", "4", "7", "8"]


def test_no_bom_unless_asked(injected):
    assert not b"".join(export.dump(injected.parquet_path, "csv")).startswith(b"\xef\xbb\xbf")


def test_json_dump_has_ckan_shape(injected):
    data = json.loads(b"".join(export.dump(injected.parquet_path, "json")))
    assert data["fields"][0] == {"id": "_id", "type": "int"}
    assert data["records"][0] == [1, "An", '=HYPERLINK("http://x.invalid","bấm")', -5]


def test_xlsx_dump_cells_are_text_not_formulas(injected):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(export.dump(injected.parquet_path, "xlsx"))))
    sheet = workbook.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["_id", "ten", "cong_thuc", "so"]
    assert values[1][2].startswith("'=HYPERLINK")
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert values[1][3] == -5


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx", "parquet", "tsv"])
def test_downloads_in_every_format_without_the_id(injected, fmt, tmp_path):
    data = b"".join(export.export(injected.parquet_path, fmt))
    if fmt == "csv":
        assert data.decode().splitlines()[0] == "ten,cong_thuc,so"
    elif fmt == "json":
        assert json.loads(data)[0] == {"ten": "An", "cong_thuc": '=HYPERLINK("http://x.invalid","bấm")', "so": -5}
    elif fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        assert [c.value for c in next(sheet.iter_rows())] == ["ten", "cong_thuc", "so"]
    elif fmt == "parquet":
        path = tmp_path / "x.parquet"
        path.write_bytes(data)
        assert [c.id for c in query.columns(path)] == ["_id", "ten", "cong_thuc", "so"]
        assert query.row_count(path) == 5


def test_unknown_format_is_refused_before_streaming(injected):
    with pytest.raises(Invalid) as caught:
        export.dump(injected.parquet_path, "pdf")
    assert "format" in caught.value.fields


def test_dataset_package_zip_with_datapackage_json(load):
    first = load("semicolon_decimal_comma.csv")
    second = load("points.geojson")
    meta = {"name": "du-lieu-xa", "title": "Dữ liệu xã", "licenses": [{"name": "CC-BY-4.0", "title": "CC BY 4.0"}]}
    data = b"".join(export.package_zip(meta, [("xa", first.parquet_path, first.dictionary), ("diem", second.parquet_path, None)]))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == ["data/diem.csv", "data/xa.csv", "datapackage.json"]
    descriptor = json.loads(archive.read("datapackage.json"))
    assert descriptor["profile"] == "tabular-data-package" and descriptor["title"] == "Dữ liệu xã"
    resource = descriptor["resources"][0]
    assert resource["path"] == "data/xa.csv" and resource["bytes"] == len(archive.read("data/xa.csv"))
    import hashlib

    assert resource["hash"] == "sha256:" + hashlib.sha256(archive.read("data/xa.csv")).hexdigest()
    assert resource["schema"]["fields"][3] == {"name": "Diện tích (km²)", "type": "number", "title": "Diện tích (km²)"}
    assert archive.read("data/xa.csv").decode().splitlines()[1].startswith("12001,Phường Tân Phong,2024-01-01,12.5")


def test_big_exports_stream_in_chunks(load, write):
    body = "ma,ten\n" + "".join(f"{i},Xã số {i}\n" for i in range(200_000))
    result = load(write("big.csv", body))
    chunks = list(export.export(result.parquet_path, "csv"))
    assert len(chunks) > 10 and max(len(c) for c in chunks) <= export.CHUNK
