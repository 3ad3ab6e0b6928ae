# SPDX-License-Identifier: AGPL-3.0-or-later
"""The CKAN facade's parameter parsing: the fq subset, sorts, facets, rows (unit tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dulieuso.opendata.ckan_schemas import ParamError, SearchQueryError, as_list
from dulieuso.opendata.ckan_search import MAX_ROWS, parse_query, parse_search, parse_sort
from dulieuso.opendata.search import RangeFilter, TermFilter

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


class TestFq:
    def test_harvester_query_gives_an_organization_and_a_modified_range(self):
        filters, text = parse_query(
            "organization:lcu-stc metadata_modified:[2026-01-01T00:00:00.123456Z TO *]", allow_free_text=False, now=NOW
        )
        assert text == ""
        assert filters == [
            TermFilter("organization", ("lcu-stc",)),
            RangeFilter("metadata_modified", datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), None),
        ]

    def test_now_is_the_open_end_of_a_range(self):
        (flt,), _ = parse_query("metadata_modified:[2026-01-01T00:00:00Z TO NOW]", allow_free_text=False, now=NOW)
        assert isinstance(flt, RangeFilter)
        assert flt.high == NOW

    def test_now_arithmetic_and_exclusive_bounds(self):
        (flt,), _ = parse_query("metadata_created:{NOW-7DAYS TO NOW/DAY}", allow_free_text=False, now=NOW)
        assert isinstance(flt, RangeFilter)
        assert flt.low == datetime(2026, 3, 3, 12, 30, tzinfo=UTC)
        assert flt.high == datetime(2026, 3, 10, tzinfo=UTC)
        assert not flt.low_inclusive and not flt.high_inclusive

    def test_a_date_without_zone_is_utc(self):
        (flt,), _ = parse_query("metadata_modified:[2026-02-01T07:00:00 TO *]", allow_free_text=False, now=NOW)
        assert isinstance(flt, RangeFilter)
        assert flt.low == datetime(2026, 2, 1, 7, tzinfo=UTC)

    def test_quoted_values_groups_or_and_signs(self):
        filters, _ = parse_query(
            '+organization:(a OR b) -tags:"giáo dục" res_format:CSV OR res_format:XLSX license_id:CC-BY-4.0',
            allow_free_text=False,
        )
        assert filters == [
            TermFilter("organization", ("a", "b")),
            TermFilter("tags", ("giáo dục",), negate=True),
            TermFilter("res_format", ("CSV", "XLSX")),
            TermFilter("license_id", ("CC-BY-4.0",)),
        ]

    def test_and_between_terms_is_the_default(self):
        filters, _ = parse_query("groups:giao-duc AND tags:x", allow_free_text=False)
        assert [f.field for f in filters] == ["groups", "tags"]

    def test_q_keeps_free_text_and_field_terms(self):
        filters, text = parse_query("trường học tags:x", allow_free_text=True)
        assert text == "trường học"
        assert filters == [TermFilter("tags", ("x",))]

    def test_match_all_is_no_filter(self):
        assert parse_query("*:*", allow_free_text=True) == ([], "")

    @pytest.mark.parametrize(
        "fq",
        [
            "organization:",
            "unknown_field:x",
            "metadata_modified:[2026 TO *]",
            "metadata_modified:[2026-01-01 TO",
            "metadata_modified:2026-01-01",
            "metadata_modified:[2026-01-01T00:00:00Z * ]",
            "tags:(a AND b)",
            "just words",
            "tags:a OR",
            "tags:a OR groups:b",
            "organization:[a TO b]",
        ],
    )
    def test_malformed_fq_is_a_search_query_error(self, fq):
        with pytest.raises(SearchQueryError) as caught:
            parse_query(fq, allow_free_text=False, now=NOW)
        assert caught.value.message.en.startswith("Search Query is invalid: ")


class TestSort:
    def test_harvester_and_default_sorts(self):
        assert parse_sort("id asc") == [("id", False)]
        assert parse_sort("metadata_modified desc") == [("metadata_modified", True)]
        assert parse_sort("") == [("score", True), ("metadata_modified", True)]
        assert parse_sort("title_string asc, name desc") == [("title", False), ("name", True)]

    @pytest.mark.parametrize("sort", ["colour asc", "name sideways", "name asc extra"])
    def test_unknown_sort_is_refused(self, sort):
        with pytest.raises(SearchQueryError):
            parse_sort(sort)


class TestSearchParams:
    def test_facet_field_arrives_as_a_json_string_on_get(self):
        params = parse_search({"facet.field": '["organization", "tags"]', "facet.limit": "5", "facet.mincount": "2"})
        assert params.facet_fields == ["organization", "tags"]
        assert (params.facet_limit, params.facet_mincount) == (5, 2)

    def test_facet_field_as_a_list_on_post(self):
        assert parse_search({"facet.field": ["groups", "res_format"]}).facet_fields == ["groups", "res_format"]

    def test_rows_above_the_maximum_are_clamped_like_ckan(self):
        assert parse_search({"rows": "5000"}).rows == MAX_ROWS
        assert parse_search({"rows": 0}).rows == 0

    @pytest.mark.parametrize("data", [{"rows": "ten"}, {"rows": "-1"}, {"start": "-3"}, {"include_private": "maybe"}])
    def test_bad_numbers_and_booleans_are_validation_errors(self, data):
        with pytest.raises(ParamError) as caught:
            parse_search(data)
        assert set(caught.value.fields) == set(data)

    def test_unknown_parameters_are_refused_like_old_ckan(self):
        with pytest.raises(SearchQueryError) as caught:
            parse_search({"colour": "red"})
        assert "colour" in caught.value.message.en

    def test_fq_and_fq_list_add_up(self):
        params = parse_search({"fq": "tags:a", "fq_list": ["organization:b", "groups:c"]})
        assert [f.field for f in params.filters] == ["tags", "organization", "groups"]

    def test_facet_on_an_unknown_field_is_refused(self):
        with pytest.raises(SearchQueryError):
            parse_search({"facet.field": '["colour"]'})

    def test_as_list_rejects_a_broken_json_list(self):
        with pytest.raises(ParamError):
            as_list('["a", ', "facet.field")


def test_every_facade_message_has_a_vietnamese_translation():
    """The facade's own catalogue (opendata/locale/ckan/vi.po) covers its messages."""
    from pathlib import Path

    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    from dulieuso.opendata import ckan_api

    folder = Path(ckan_api.__file__).parent
    with (folder / "locale" / "ckan" / "vi.po").open("rb") as handle:
        catalogue = read_po(handle, locale="vi")
    missing = []
    for name in ("ckan_api.py", "ckan_schemas.py", "ckan_search.py", "dcat.py"):
        for _, message, _, _ in extract_from_file("python", str(folder / name), keywords={"Msg": None}):
            entry = catalogue.get(message)
            if not (entry and entry.string):
                missing.append(f"{name}: {message}")
    assert not missing
