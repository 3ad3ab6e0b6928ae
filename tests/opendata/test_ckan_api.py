# SPDX-License-Identifier: AGPL-3.0-or-later
"""The CKAN Action API facade through HTTP (TestClient): envelope, errors, read actions
and ``package_search``. The ``ckanapi`` client against a live server is in
``test_ckan_ckanapi.py``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import SYSTEM
from dulieuso.opendata import ckan_api
from dulieuso.opendata.licenses import sync_licenses
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
from dulieuso.vntext import fold, slugify
from tests.conftest import bearer, make_agency, make_user

T0 = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def ckan(app: Any) -> Iterator[TestClient]:
    app.router.routes[:0] = [r for r in ckan_api.router.routes]  # before any catch-all page route
    with TestClient(app) as client:
        yield client


def _tag(db: Session, name: str) -> Tag:
    from sqlalchemy import select

    found = db.scalar(select(Tag).where(Tag.name == name))
    if found is None:
        found = Tag(name=name, folded=fold(name))
        db.add(found)
        db.flush()
    return found


def make_group(db: Session, name: str, title: str, title_en: str = "") -> Group:
    group = Group(name=name, title_vi=title, title_en=title_en)
    db.add(group)
    db.flush()
    record(db, SYSTEM, "opendata:group:create", group, label=name)
    return group


def make_dataset(
    db: Session,
    agency: Agency,
    title: str,
    *,
    private: bool = False,
    state: DatasetState = DatasetState.ACTIVE,
    tags: tuple[str, ...] = (),
    groups: tuple[Group, ...] = (),
    formats: tuple[str, ...] = ("CSV",),
    modified: datetime = T0,
    license_id: str = "CC-BY-4.0",
    notes: str = "",
) -> Dataset:
    sync_licenses(db)
    dataset = Dataset(
        name=slugify(title) + "-" + uuid.uuid4().hex[:4],
        title=title,
        notes=notes,
        agency_id=agency.id,
        license_id=license_id,
        private=private,
        state=state,
        metadata_created=modified - timedelta(days=1),
        metadata_modified=modified,
        update_frequency="yearly",
        contact_email="lienhe@laichau.gov.vn",
    )
    db.add(dataset)
    db.flush()
    for position, fmt in enumerate(formats):
        db.add(Resource(dataset_id=dataset.id, name=f"Tệp {fmt}", url_type=UrlType.LINK, url=f"https://example.vn/{dataset.name}.{fmt.lower()}", format=fmt, position=position))
    for name in tags:
        db.add(DatasetTag(dataset_id=dataset.id, tag_id=_tag(db, name).id))
    for group in groups:
        db.add(DatasetGroup(dataset_id=dataset.id, group_id=group.id))
    words = {w: 4 for w in fold(title).split()} | {w: 3 for t in tags for w in fold(t).split() if w not in fold(title).split()}
    for term, weight in words.items():
        db.add(DatasetSearchTerm(dataset_id=dataset.id, term=term[:60], weight=weight))
    db.flush()
    record(db, SYSTEM, "opendata:dataset:create", dataset, label=dataset.name, covers=list(dataset.resources))
    db.commit()
    return dataset


def call(client: TestClient, action: str, *, token: str | None = None, post: dict[str, Any] | None = None, **params: Any) -> Any:
    headers = {"Authorization": token} if token else {}
    if post is not None:
        return client.post(f"/api/3/action/{action}", json=post, headers=headers)
    return client.get(f"/api/3/action/{action}", params=params, headers=headers)


@pytest.fixture
def catalogue(db: Session) -> dict[str, Any]:
    finance = make_agency(db, "LCU-STC", name_vi="Sở Tài chính", name_en="Department of Finance")
    education = make_agency(db, "LCU-SGDDT", name_vi="Sở Giáo dục và Đào tạo")
    edu_group = make_group(db, "giao-duc", "Giáo dục", "Education")
    fin_group = make_group(db, "tai-chinh", "Tài chính", "Finance")
    made = {
        "schools": make_dataset(db, education, "Danh sách trường học", tags=("giáo dục", "trường học"), groups=(edu_group,), modified=T0),
        "teachers": make_dataset(db, education, "Số lượng giáo viên", tags=("giáo dục",), groups=(edu_group,), formats=("XLSX",), modified=T0 + timedelta(days=2)),
        "budget": make_dataset(db, finance, "Dự toán ngân sách tỉnh", tags=("ngân sách",), groups=(fin_group,), formats=("CSV", "PDF"), modified=T0 + timedelta(days=3)),
        "secret": make_dataset(db, finance, "Bảng lương nội bộ", private=True, tags=("ngân sách",), modified=T0 + timedelta(days=4)),
        "draft": make_dataset(db, finance, "Bản nháp chi tiêu", state=DatasetState.DRAFT, modified=T0 + timedelta(days=5)),
    }
    made["finance"], made["education"] = finance, education
    return made


class TestEnvelope:
    def test_success_envelope_carries_help_success_result(self, ckan):
        body = call(ckan, "status_show").json()
        assert body["success"] is True
        assert body["help"].endswith("/api/3/action/help_show?name=status_show")
        assert body["result"]["ckan_version"] == ckan_api.CKAN_VERSION
        assert "datastore" in body["result"]["extensions"]

    def test_both_url_prefixes_answer(self, ckan):
        assert ckan.get("/api/action/site_read").json()["result"] is True

    def test_unknown_action_is_a_bare_string_400(self, ckan):
        response = ckan.get("/api/3/action/no_such_thing")
        assert response.status_code == 400
        assert response.json() == "Bad request - Action name not known: no_such_thing"

    def test_get_on_a_write_action_is_refused(self, ckan):
        response = ckan.get("/api/3/action/package_create", params={"name": "x"})
        assert response.status_code == 400
        assert response.json() == "Bad request - JSON Error: Invalid request. Please use POST method for your request"

    def test_post_is_accepted_for_read_actions(self, ckan):
        assert call(ckan, "package_list", post={}).json()["success"] is True

    def test_broken_json_body_is_a_bare_string_400(self, ckan):
        response = ckan.post("/api/3/action/package_search", content=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert isinstance(response.json(), str) and response.json().startswith("Bad request - JSON Error")

    def test_jsonp_wraps_get_responses(self, ckan):
        response = ckan.get("/api/3/action/site_read", params={"callback": "show"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/javascript")
        assert response.text.startswith("show(") and response.text.endswith(");")
        assert json.loads(response.text[5:-2])["result"] is True

    def test_jsonp_is_not_applied_to_errors(self, ckan):
        response = ckan.get("/api/3/action/package_show", params={"id": "missing", "callback": "show"})
        assert response.status_code == 404
        assert response.json()["success"] is False

    def test_jsonp_callback_must_be_an_identifier(self, ckan):
        response = ckan.get("/api/3/action/site_read", params={"callback": "alert(1)//"})
        assert response.status_code == 400

    def test_not_found_error(self, ckan):
        response = call(ckan, "package_show", id="no-such-dataset", lang="en")
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["__type"] == "Not Found Error"
        assert error["message"].startswith("Not found: ")

    def test_missing_parameter_is_a_validation_error_field_map(self, ckan):
        response = call(ckan, "package_show", lang="en")
        assert response.status_code == 409
        assert response.json()["error"] == {"__type": "Validation Error", "id": ["Missing value"]}

    def test_bad_fq_is_a_search_query_error(self, ckan):
        response = call(ckan, "package_search", fq="metadata_modified:[yesterday TO *]", lang="en")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["__type"] == "Search Query Error"
        assert error["message"].startswith("Search Query is invalid: ")

    def test_bad_rows_is_a_validation_error(self, ckan):
        response = call(ckan, "package_search", rows="many")
        assert response.status_code == 409
        assert set(response.json()["error"]) == {"__type", "rows"}

    def test_invalid_token_is_an_authorization_error(self, ckan):
        response = call(ckan, "package_list", token="not-a-token")
        assert response.status_code == 403
        assert response.json()["error"]["__type"] == "Authorization Error"

    def test_help_show_returns_the_action_docstring(self, ckan):
        result = call(ckan, "help_show", name="package_search").json()["result"]
        assert "fq" in result and "facet.field" in result


class TestReads:
    def test_package_list_has_only_public_active_datasets(self, ckan, catalogue):
        names = call(ckan, "package_list").json()["result"]
        assert catalogue["schools"].name in names
        assert catalogue["secret"].name not in names
        assert catalogue["draft"].name not in names
        assert names == sorted(names)

    def test_package_show_has_ckan_keys(self, ckan, catalogue):
        result = call(ckan, "package_show", id=catalogue["budget"].name).json()["result"]
        for key in (
            "id", "name", "title", "notes", "license_id", "license_title", "license_url", "isopen", "owner_org",
            "organization", "private", "state", "metadata_created", "metadata_modified", "tags", "groups",
            "resources", "num_resources", "num_tags", "extras",
        ):
            assert key in result, key
        assert result["organization"]["name"] == "lcu-stc"
        assert result["num_resources"] == 2 and result["isopen"] is True
        assert {r["format"] for r in result["resources"]} == {"CSV", "PDF"}
        for resource in result["resources"]:
            assert {"id", "package_id", "url", "format", "datastore_active", "position", "created"} <= set(resource)
        assert {"key": "update_frequency", "value": "yearly"} in result["extras"]

    def test_package_show_by_id_too(self, ckan, catalogue):
        result = call(ckan, "package_show", id=str(catalogue["budget"].id)).json()["result"]
        assert result["name"] == catalogue["budget"].name

    def test_private_dataset_is_not_found_for_anonymous(self, ckan, catalogue):
        response = call(ckan, "package_show", id=catalogue["secret"].name)
        assert response.status_code == 404

    def test_private_dataset_is_shown_to_its_agency(self, ckan, catalogue, db):
        editor = make_user(db, Role.AGENCY_EDITOR, agency=catalogue["finance"])
        token = bearer(db, editor)["Authorization"]
        response = call(ckan, "package_show", id=catalogue["secret"].name, token=token)
        assert response.status_code == 200
        assert response.json()["result"]["private"] is True

    def test_raw_token_works_as_ckanapi_sends_it(self, ckan, catalogue, db):
        editor = make_user(db, Role.AGENCY_EDITOR, agency=catalogue["finance"])
        raw = bearer(db, editor)["Authorization"].removeprefix("Bearer ")
        assert call(ckan, "package_show", id=catalogue["secret"].name, token=raw).status_code == 200

    def test_resource_show(self, ckan, catalogue):
        resource_id = str(catalogue["schools"].resources[0].id)
        result = call(ckan, "resource_show", id=resource_id).json()["result"]
        assert result["package_id"] == str(catalogue["schools"].id)

    def test_resource_of_a_private_dataset_is_not_found(self, ckan, catalogue):
        resource_id = str(catalogue["secret"].resources[0].id)
        assert call(ckan, "resource_show", id=resource_id).status_code == 404

    def test_organization_list_and_show(self, ckan, catalogue):
        assert {"lcu-stc", "lcu-sgddt"} <= set(call(ckan, "organization_list").json()["result"])
        full = call(ckan, "organization_list", all_fields="true", organizations='["lcu-stc"]').json()["result"]
        assert full[0]["package_count"] == 1  # the private and draft datasets are not counted
        shown = call(ckan, "organization_show", id="lcu-sgddt", include_datasets="true").json()["result"]
        assert shown["package_count"] == 2 and len(shown["packages"]) == 2

    def test_group_list_and_show(self, ckan, catalogue):
        assert {"giao-duc", "tai-chinh"} <= set(call(ckan, "group_list").json()["result"])
        shown = call(ckan, "group_show", id="giao-duc").json()["result"]
        assert shown["package_count"] == 2 and shown["title_en"] == "Education"

    def test_tag_list_hides_tags_only_used_by_private_datasets(self, ckan, catalogue, db):
        make_dataset(db, catalogue["finance"], "Mật", private=True, tags=("bí mật",))
        tags = call(ckan, "tag_list").json()["result"]
        assert "giáo dục" in tags and "bí mật" not in tags
        assert call(ckan, "tag_list", query="giao").json()["result"] == ["giáo dục"]

    def test_license_list(self, ckan, catalogue):
        ids = [lic["id"] for lic in call(ckan, "license_list").json()["result"]]
        assert "CC-BY-4.0" in ids

    def test_current_package_list_with_resources_newest_first(self, ckan, catalogue):
        result = call(ckan, "current_package_list_with_resources", limit="2").json()["result"]
        assert [d["name"] for d in result] == [catalogue["budget"].name, catalogue["teachers"].name]
        assert result[0]["resources"]


class TestPackageSearch:
    def test_counts_and_facets(self, ckan, catalogue):
        result = call(ckan, "package_search", **{"facet.field": '["organization", "tags", "res_format", "groups", "license_id"]'}).json()["result"]
        assert result["count"] == 3
        assert result["search_facets"]["organization"]["items"][0] == {"name": "lcu-sgddt", "display_name": "Sở Giáo dục và Đào tạo", "count": 2}
        assert result["facets"]["res_format"] == {"CSV": 2, "PDF": 1, "XLSX": 1}
        assert result["facets"]["tags"]["giáo dục"] == 2
        assert "bí mật" not in result["facets"]["tags"]
        assert result["facets"]["license_id"] == {"CC-BY-4.0": 3}

    def test_free_text_ignores_diacritics_and_case(self, ckan, catalogue):
        result = call(ckan, "package_search", q="TRUONG hoc").json()["result"]
        assert [d["name"] for d in result["results"]] == [catalogue["schools"].name]

    def test_fq_terms(self, ckan, catalogue):
        def names(**params: Any) -> set[str]:
            return {d["name"] for d in call(ckan, "package_search", **params).json()["result"]["results"]}

        assert names(fq="organization:lcu-sgddt") == {catalogue["schools"].name, catalogue["teachers"].name}
        assert names(fq='tags:"giáo dục" res_format:XLSX') == {catalogue["teachers"].name}
        assert names(fq="groups:tai-chinh") == {catalogue["budget"].name}
        assert names(fq="-organization:lcu-sgddt") == {catalogue["budget"].name}
        assert names(fq="res_format:pdf OR res_format:xlsx") == {catalogue["budget"].name, catalogue["teachers"].name}
        assert names(fq_list='["organization:lcu-sgddt", "metadata_modified:[2026-01-11T00:00:00Z TO *]"]') == {catalogue["teachers"].name}

    def test_sort_and_paging(self, ckan, catalogue):
        newest = call(ckan, "package_search", sort="metadata_modified desc", rows=2).json()["result"]
        assert [d["name"] for d in newest["results"]] == [catalogue["budget"].name, catalogue["teachers"].name]
        by_id = call(ckan, "package_search", sort="id asc", rows=1000).json()["result"]["results"]
        assert [d["id"] for d in by_id] == sorted(d["id"] for d in by_id)
        second = call(ckan, "package_search", sort="id asc", rows=1, start=1).json()["result"]["results"]
        assert second[0]["id"] == by_id[1]["id"]

    def test_include_private_shows_own_private_datasets_only_to_members(self, ckan, catalogue, db):
        anonymous = call(ckan, "package_search", include_private="true").json()["result"]
        assert anonymous["count"] == 3
        editor = make_user(db, Role.AGENCY_EDITOR, agency=catalogue["finance"])
        token = bearer(db, editor)["Authorization"]
        own = call(ckan, "package_search", include_private="true", token=token).json()["result"]
        assert catalogue["secret"].name in {d["name"] for d in own["results"]}
        outsider = make_user(db, Role.AGENCY_EDITOR, agency=catalogue["education"])
        other = call(ckan, "package_search", include_private="true", token=bearer(db, outsider)["Authorization"]).json()["result"]
        assert other["count"] == 3

    def test_rows_zero_gives_only_the_count(self, ckan, catalogue):
        result = call(ckan, "package_search", rows=0).json()["result"]
        assert result["count"] == 3 and result["results"] == []

    def test_facet_limit_and_mincount(self, ckan, catalogue):
        result = call(ckan, "package_search", **{"facet.field": '["tags"]', "facet.limit": "1"}).json()["result"]
        assert len(result["search_facets"]["tags"]["items"]) == 1
        result = call(ckan, "package_search", **{"facet.field": '["tags"]', "facet.mincount": "2"}).json()["result"]
        assert [i["name"] for i in result["search_facets"]["tags"]["items"]] == ["giáo dục"]

    def test_post_with_json_body(self, ckan, catalogue):
        result = call(ckan, "package_search", post={"fq": "organization:lcu-stc", "facet.field": ["tags"]}).json()["result"]
        assert result["count"] == 1 and "ngân sách" in result["facets"]["tags"]


class TestPackageSearchParameters:
    """``package_search`` parameters as the platform search now answers them."""

    @staticmethod
    def names(ckan: TestClient, token: str | None = None, **params: Any) -> list[str]:
        response = call(ckan, "package_search", token=token, rows=1000, **params)
        assert response.status_code == 200, response.text
        return [d["name"] for d in response.json()["result"]["results"]]

    def test_tags_match_without_diacritics_or_case(self, ckan, catalogue):
        assert set(self.names(ckan, fq='tags:"GIAO DUC"')) == {catalogue["schools"].name, catalogue["teachers"].name}
        assert self.names(ckan, fq='tags:"giáo dục" -tags:"trường học"') == [catalogue["teachers"].name]

    def test_organization_by_ckan_name_agency_code_or_id(self, ckan, catalogue):
        expected = {catalogue["budget"].name}
        assert set(self.names(ckan, fq="organization:lcu-stc")) == expected
        assert set(self.names(ckan, fq="organization:LCU-STC")) == expected
        assert set(self.names(ckan, fq=f"organization:{catalogue['finance'].id}")) == expected

    def test_capacity_and_state_with_include_private_and_drafts(self, ckan, catalogue, db):
        token = bearer(db, make_user(db, Role.AGENCY_EDITOR, agency=catalogue["finance"]))["Authorization"]
        assert self.names(ckan, token, fq="capacity:private", include_private="true") == [catalogue["secret"].name]
        assert self.names(ckan, fq="capacity:private", include_private="true") == []
        assert catalogue["secret"].name not in self.names(ckan, token, fq="capacity:public", include_private="true")
        assert self.names(ckan, token, fq="state:draft", include_drafts="true") == [catalogue["draft"].name]
        assert self.names(ckan, fq="state:draft", include_drafts="true") == []

    def test_dataset_type(self, ckan, catalogue):
        assert len(self.names(ckan, fq="dataset_type:dataset")) == 3
        assert self.names(ckan, fq="dataset_type:harvest") == []
        assert self.names(ckan, fq="-dataset_type:dataset") == []

    def test_sorts_and_pages_agree(self, ckan, catalogue):
        public = [catalogue[k].name for k in ("schools", "teachers", "budget")]
        assert self.names(ckan, sort="name desc") == sorted(public, reverse=True)
        assert self.names(ckan, sort="metadata_modified asc") == public
        by_title = self.names(ckan, sort="title_string asc")
        assert by_title == [d.name for d in sorted((catalogue[k] for k in ("schools", "teachers", "budget")), key=lambda d: d.title)]
        by_id = call(ckan, "package_search", sort="id desc", rows=1000).json()["result"]["results"]
        assert [d["id"] for d in by_id] == sorted((d["id"] for d in by_id), reverse=True)
        pages = [call(ckan, "package_search", sort="id desc", rows=1, start=i).json()["result"]["results"][0]["id"] for i in range(3)]
        assert pages == [d["id"] for d in by_id]
        beyond = call(ckan, "package_search", start=10).json()["result"]
        assert beyond["count"] == 3 and beyond["results"] == []

    def test_relevance_puts_title_words_before_tag_words(self, ckan, catalogue, db):
        titled = make_dataset(db, catalogue["education"], "Giáo dục thường xuyên", modified=T0 - timedelta(days=30))
        # Title words weigh 4, tag words 3: both words in the title (8), "giáo" in the
        # title and "dục" in a tag (7), both in a tag (6); the oldest dataset still first.
        ranked = self.names(ckan, q="giao duc")
        assert ranked == [titled.name, catalogue["teachers"].name, catalogue["schools"].name]
        # The last word is a prefix being typed; "d" also finds the schools' title word
        # "danh" (7): tied with the teachers' dataset, the newer one comes first.
        assert self.names(ckan, q="giao d") == ranked

    def test_metadata_created_ranges_exclusive_and_negated(self, ckan, catalogue):
        created = (T0 + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # the teachers' metadata_created
        assert set(self.names(ckan, fq=f"metadata_created:{{{created} TO *]")) == {catalogue["budget"].name}
        assert set(self.names(ckan, fq=f"metadata_created:[{created} TO *]")) == {catalogue["teachers"].name, catalogue["budget"].name}
        assert self.names(ckan, fq=f"-metadata_created:[{created} TO *]") == [catalogue["schools"].name]

    def test_licence_facet_items_are_shown_with_the_licence_title(self, ckan, catalogue, db):
        from sqlalchemy import select

        from dulieuso.opendata.models import License

        title = db.scalar(select(License.title_vi).where(License.id == "CC-BY-4.0"))
        items = call(ckan, "package_search", **{"facet.field": '["license_id"]'}).json()["result"]["search_facets"]["license_id"]["items"]
        assert items == [{"name": "CC-BY-4.0", "display_name": title, "count": 3}]

    def test_organization_facet_limit_uses_ckan_names(self, ckan, catalogue):
        result = call(ckan, "package_search", **{"facet.field": '["organization"]', "facet.limit": "1"}).json()["result"]
        assert result["search_facets"]["organization"]["items"] == [
            {"name": "lcu-sgddt", "display_name": "Sở Giáo dục và Đào tạo", "count": 2}
        ]
        assert result["facets"]["organization"] == {"lcu-sgddt": 2}

    def test_views_recent_sorts_by_downloads_counted_just_now(self, ckan, catalogue, db):
        from dulieuso.opendata import resources

        resources.count(db, catalogue["schools"].id)
        db.commit()
        assert self.names(ckan, sort="views_recent desc")[0] == catalogue["schools"].name
        assert self.names(ckan, fq="organization:lcu-sgddt", sort="views_recent desc")[0] == catalogue["schools"].name
