# SPDX-License-Identifier: AGPL-3.0-or-later
"""Ingest of the awkward-files corpus: each file loads with the right types, values and
notices, or fails with a clear error that says where."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dulieuso.datastore import query
from dulieuso.datastore.ingest import IngestLimits
from dulieuso.errors import Invalid


def types(result):
    return {f.id: f.type for f in result.fields}


def rows(result, **kwargs):
    return query.search(result.parquet_path, limit=1000, **kwargs)["records"]


class TestEncodings:
    @pytest.mark.parametrize(
        ("name", "encoding", "notice"),
        [
            ("tcvn3.csv", "tcvn3", "Đã chuyển mã từ TCVN3 sang Unicode"),
            ("vni.csv", "vni", "Đã chuyển mã từ VNI sang Unicode"),
            ("cp1258.csv", "cp1258", "Đã chuyển mã từ Windows-1258 sang Unicode"),
        ],
    )
    def test_legacy_file_is_converted_with_a_notice(self, load, name, encoding, notice):
        result = load(name)
        assert result.encoding == encoding
        assert [m.vi for m in result.notices] == [notice]
        records = rows(result)
        assert records[0]["co_quan"] == "Sở Thông tin và Truyền thông"
        assert records[0]["nguoi_lien_he"] == "Nguyễn Văn Hùng"
        assert records[2]["nguoi_lien_he"] == "Giàng A Páo"
        assert types(result)["so_ban_ghi"] == "integer"

    def test_utf8_bom_is_removed_from_the_first_header(self, load):
        result = load("utf8_bom.csv")
        assert result.fields[0].id == "Mã xã"
        assert "BOM" in result.notices[0].en
        assert types(result) == {"Mã xã": "integer", "Tên xã": "string", "Huyện": "string",
                                 "Dân số": "integer", "Diện tích (km²)": "number"}
        assert rows(result)[2]["Diện tích (km²)"] == 1234.5

    def test_utf16_spreadsheet_text_is_converted(self, load):
        result = load("utf16.tsv")
        assert result.encoding == "utf-16"
        assert [r["ten"] for r in rows(result)] == ["Tân Uyên", "Than Uyên"]

    def test_a_legacy_line_after_a_utf8_head_converts_the_whole_file(self, load, write):
        from dulieuso.datastore.encodings import encode

        head = "ma,ten\n" + "".join(f"{i},ascii {i}\n" for i in range(70000))
        tail = encode("70000,Sở Tài chính tỉnh Lai Châu\n", "tcvn3")
        result = load(write("late_legacy.csv", head.encode() + tail))
        assert rows(result, filters={"ma": 70000})[0]["ten"] == "Sở Tài chính tỉnh Lai Châu"
        assert any("TCVN3" in m.en for m in result.notices)


class TestVietnameseFormats:
    def test_semicolons_decimal_commas_and_day_first_dates(self, load):
        result = load("semicolon_decimal_comma.csv")
        assert types(result) == {
            "Mã xã": "integer", "Tên xã": "string", "Ngày cập nhật": "date",
            "Diện tích (km²)": "number", "Ngân sách (đồng)": "integer",
        }
        first, second, third = rows(result)[:3]
        assert first["Ngày cập nhật"] == "2024-01-01"
        assert second["Ngày cập nhật"] == "2024-02-15"
        assert third["Diện tích (km²)"] == 1234.5
        assert first["Ngân sách (đồng)"] == 1234567
        dictionary = {d["id"]: d for d in result.dictionary}
        assert dictionary["Diện tích (km²)"]["format"] == {"groupChar": ".", "decimalChar": ","}
        assert dictionary["Ngày cập nhật"]["format"] == {"pattern": "%d/%m/%Y"}

    def test_tab_separated_with_decimal_comma(self, load):
        result = load("tabs.tsv")
        assert types(result)["gia_tri"] == "number"
        assert [r["gia_tri"] for r in rows(result)] == [3.5, 4.25]

    def test_vietnamese_booleans_and_day_first_datetimes(self, load):
        result = load("vi_booleans_datetimes.csv")
        assert types(result) == {"ten": "string", "con_hoat_dong": "boolean", "thoi_diem": "datetime"}
        assert [r["con_hoat_dong"] for r in rows(result)] == [True, False, True]
        assert rows(result)[1]["thoi_diem"] == "2024-03-16T17:05:00"

    def test_codes_with_leading_zeros_stay_text(self, load):
        result = load("leading_zeros.csv")
        assert types(result)["ma_xa"] == "string"
        assert rows(result)[0]["ma_xa"] == "00001"


class TestWholeFileTypes:
    def test_a_text_value_late_in_the_file_makes_the_column_text_and_is_reported(self, load):
        result = load("mixed_late.csv")
        assert types(result)["so_luong"] == "string"
        warning = next(w for w in result.report["warnings"] if w.get("type") == "type-fallback")
        assert warning["fieldName"] == "so_luong"
        assert warning["rowNumber"] == 58001
        assert warning["cell"] == "không rõ"
        assert "58001" in result.notices[0].vi and "không rõ" in result.notices[0].vi

    def test_a_decimal_late_in_an_integer_column_makes_it_a_number_not_rounded(self, load):
        result = load("mixed_late.csv")
        assert types(result)["ty_le"] == "number"
        assert rows(result, filters={"ma": "M59999"})[0]["ty_le"] == 12.5

    def test_a_late_text_value_in_a_vietnamese_number_column(self, load, write):
        lines = ["ma;gia"] + [f"{i};{i},5" for i in range(30000)] + ["30000;xem ghi chú"]
        result = load(write("late_vi.csv", "\n".join(lines) + "\n"))
        assert types(result)["gia"] == "string"
        assert result.report["warnings"][0]["rowNumber"] == 30002

    def test_headerless_numbers_get_column_names(self, load):
        result = load("headerless.csv")
        assert types(result) == {"column_1": "integer", "column_2": "date", "column_3": "number"}
        assert result.rows == 3


class TestOtherFormats:
    def test_xlsx_with_title_rows_dates_and_a_total_formula(self, load):
        result = load("report_with_title_rows.xlsx")
        assert types(result) == {
            "STT": "integer", "Tên trường": "string", "Ngày thành lập": "date",
            "Số học sinh": "integer", "Tỷ lệ đạt chuẩn": "number", "Công lập": "boolean",
        }
        assert result.rows == 5
        records = rows(result)
        assert records[0]["Ngày thành lập"] == "1999-09-05"
        assert records[2]["Tỷ lệ đạt chuẩn"] == 0.825
        assert records[4]["Tên trường"] == "Tổng cộng"
        assert any("3" in m.en and "title rows" in m.en for m in result.notices)

    def test_geojson_properties_and_wkt_geometry(self, load):
        result = load("points.geojson")
        assert types(result) == {"ten": "string", "loai": "string", "so_tang": "integer", "geometry": "string"}
        records = rows(result)
        assert records[0]["geometry"] == "POINT (103.4587 22.3964)"
        assert records[1]["geometry"].startswith("POLYGON ((102.9 22.1, 103 22.1")
        assert records[2]["geometry"] == "LINESTRING (103.45 22.39, 103.6 22.35)"

    def test_geojson_geometry_can_be_kept_as_geojson(self, load):
        result = load("points.geojson", geometry="geojson")
        assert json.loads(rows(result)[0]["geometry"]) == {"type": "Point", "coordinates": [103.4587, 22.3964]}

    def test_nested_json_with_a_data_key_is_flattened(self, load):
        result = load("nested.json")
        assert types(result)["co_quan.ten"] == "string"
        assert types(result)["so_ban_ghi"] == "integer"
        assert types(result)["cap_nhat"] == "date"
        first = rows(result)[0]
        assert first["co_quan.ma"] == "CA"
        assert json.loads(first["the"]) == ["dân cư", "định danh"]
        assert any("flattened" in m.en for m in result.notices)

    def test_json_array_with_keys_missing_in_some_objects(self, load):
        result = load("array.json")
        assert [r["z"] for r in rows(result)] == [None, True]

    def test_title_lines_above_a_csv_header_are_skipped(self, load):
        result = load("title_rows.csv")
        assert [f.id for f in result.fields] == ["ma", "ten", "dan_so"]
        assert rows(result)[1]["ten"] == "Sìn Hồ"


class TestBadInput:
    @pytest.mark.parametrize(
        ("name", "row", "kind", "words"),
        [
            ("ragged.csv", 4, "missing-cell", "fewer cells"),
            ("truncated.csv", 2, "source-error", "cannot be read"),
            ("not_json.json", 1, "source-error", "JSON is not valid"),
            ("binary_as.csv", None, "source-error", "PNG"),
            ("nul_bytes.csv", None, "source-error", "binary data near byte 10"),
            ("zip_bomb.xlsx", None, "source-error", "zip bomb"),
            ("damaged.xlsx", None, "source-error", "damaged or truncated"),
        ],
    )
    def test_fails_with_a_located_error_in_both_languages(self, load, name, row, kind, words):
        with pytest.raises(Invalid) as caught:
            load(name)
        error = caught.value
        assert words in error.message.en
        assert error.message.vi != error.message.en
        first = error.extra["errors"][0]
        assert first["rowNumber"] == row
        assert first["type"] == kind
        assert first["message"] and first["message_en"]

    def test_ragged_rows_are_all_listed(self, load):
        with pytest.raises(Invalid) as caught:
            load("ragged.csv")
        assert [(e["rowNumber"], e["type"]) for e in caught.value.extra["errors"]] == [(4, "missing-cell"), (5, "extra-cell")]

    def test_size_row_and_column_limits(self, load, write):
        path = write("wide.csv", ",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("1" * 30) + "\n")
        with pytest.raises(Invalid, match="30 columns"):
            load(path, limits=IngestLimits(max_columns=20))
        with pytest.raises(Invalid, match="limit is 0 MB"):
            load(path, limits=IngestLimits(max_bytes=10))
        with pytest.raises(Invalid, match="more than 0 rows"):
            load(path, limits=IngestLimits(max_rows=0))

    def test_empty_file(self, load, write):
        with pytest.raises(Invalid, match="empty"):
            load(write("empty.csv", b""))

    def test_xlsx_renamed_csv_is_refused_as_binary(self, load, corpus, write):
        path = write("report.csv", (corpus / "report_with_title_rows.xlsx").read_bytes())
        with pytest.raises(Invalid, match="ZIP/XLSX"):
            load(path, format="csv")


class TestReportAndDictionary:
    def test_report_has_the_frictionless_shape(self, load):
        result = load("utf8_bom.csv")
        report = result.report
        assert report["valid"] is True
        assert report["stats"]["rows"] == 5 and report["stats"]["fields"] == 5
        assert report["tasks"][0]["labels"][0] == "Mã xã"
        assert report["schema"]["fields"][3] == {"name": "Dân số", "type": "integer", "title": "Dân số"}
        stored = json.loads(result.report_path.read_text(encoding="utf-8"))
        assert stored["report"] == report and stored["dictionary"] == result.dictionary

    def test_dictionary_lists_id_type_label_description(self, load):
        result = load("semicolon_decimal_comma.csv")
        assert result.dictionary[0] == {"id": "Mã xã", "type": "integer", "label": "Mã xã", "description": ""}

    def test_duplicate_empty_and_reserved_headers_get_usable_ids(self, load, write):
        result = load(write("headers.csv", "_id,ten,ten,,x\n1,a,b,c,2024-01-01\n"))
        assert [f.id for f in result.fields] == ["id", "ten", "ten_2", "column_4", "x"]


def test_ingest_result_times_are_dates_not_strings_in_parquet(load):
    import duckdb

    result = load("semicolon_decimal_comma.csv")
    value = duckdb.connect().execute(
        f"SELECT \"Ngày cập nhật\" FROM read_parquet('{result.parquet_path}') LIMIT 1"
    ).fetchone()[0]
    assert value == dt.date(2024, 1, 1)
