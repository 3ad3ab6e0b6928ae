# SPDX-License-Identifier: AGPL-3.0-or-later
"""The CKAN facade driven by the real ``ckanapi`` client against a live server
(``dulieuso demo`` in a subprocess, on the database under test), including a replay of
what the national portal's CKAN harvester does."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ckanapi
import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import install_guard, record
from dulieuso.auth.permissions import SYSTEM
from dulieuso.catalog.models import (
    CategoryAvailability,
    Database,
    DataCategory,
    EntryStatus,
    Importance,
    SharingForm,
    SharingScope,
    UserType,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.live

ADMIN = "quantri@demo.laichau.vn"  # platform administrator
STC_EDITOR = "bientap.stc@demo.laichau.vn"  # editor of Sở Tài chính (LCU-STC)
CITIZEN = "congdan@demo.laichau.vn"
ORGS = ("lcu-stc", "lcu-sgddt")

SCHOOLS_CSV = (
    "Mã trường,Tên trường,Xã,Số học sinh,Ngày thành lập\n"
    "TH01,Trường Tiểu học Tam Đường,Bình Lư,420,01/09/1995\n"
    "TH02,Trường Tiểu học Sìn Hồ,Sìn Hồ,315,15/08/2001\n"
    "TH03,Trường Tiểu học Phong Thổ,Phong Thổ,128,05/09/2010\n"
    "TH04,Trường Tiểu học Mường Tè,Mường Tè,96,20/08/2012\n"
).encode()


@dataclass
class Site:
    server: LiveServer
    url: str
    tokens: dict[str, str]
    sources: dict[str, str]  # organization -> source database code

    def ckan(self, email: str | None = None, **kwargs: Any) -> ckanapi.RemoteCKAN:
        return ckanapi.RemoteCKAN(self.url, apikey=self.tokens[email] if email else None, **kwargs)


def _token(server: LiveServer, email: str) -> str:
    done = server.cli("token", "create", email, "--name", "ckanapi")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _live_database_url(server: LiveServer) -> str:
    return server.env.get("DULIEUSO_DATABASE_URL") or f"sqlite:///{server.data_dir / 'dulieuso.sqlite3'}"


def _source_databases(server: LiveServer) -> dict[str, str]:
    """A catalog database allowing open data for each test organization, written
    straight into the live server's database (test arrangement, not the API under test)."""
    install_guard()
    engine = create_engine(_live_database_url(server))
    codes = {}
    try:
        with Session(engine) as session:
            for org in ORGS:
                agency = session.scalar(select(Agency).where(Agency.code == org.upper()))
                assert agency is not None, org
                code = f"CKAN-{org.upper()}-{uuid.uuid4().hex[:4].upper()}"
                database = Database(
                    code=code, name=f"CSDL mở của {agency.name_vi}", owner_agency_id=agency.id,
                    sharing_scope=SharingScope.OPEN, importance=Importance.OTHER, contains_state_secret=False,
                    status=EntryStatus.ACCEPTED,
                )
                category = DataCategory(name="Dữ liệu mở", position=0)
                for user_type in UserType:
                    form = SharingForm.OPEN_DATA if user_type is UserType.INDIVIDUALS else SharingForm.DEFAULT
                    category.availability.append(CategoryAvailability(user_type=user_type, sharing_form=form))
                database.categories.append(category)
                session.add(database)
                session.flush()
                record(session, SYSTEM, "catalog:database:create", database, label=code)
                codes[org] = code
            session.commit()
    finally:
        engine.dispose()
    return codes


ISSUED_LIST_SWITCH = "open_data_issued_list_required"


def _set_issued_list_switch(site: Site, value: int) -> None:
    """Turn the issued-list publication gate on (1) or off (0) through the policy API."""
    response = httpx.patch(
        f"{site.url}/api/v1/policies/{ISSUED_LIST_SWITCH}", json={"value": value},
        headers={"Authorization": f"Bearer {site.tokens[ADMIN]}"}, timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Iterator[Site]:
    probe = httpx.get(f"{live_server.url}/api/3/action/status_show", timeout=10)
    if probe.status_code == 404:
        pytest.skip("the CKAN facade is not mounted in app.py yet (app.include_router(ckan_api.router))")
    tokens = {email: _token(live_server, email) for email in (ADMIN, STC_EDITOR, CITIZEN)}
    built = Site(live_server, live_server.url, tokens, _source_databases(live_server))
    # These tests are about CKAN's mechanics (harvesting, search, private/public, the
    # datastore), not about the open-data list: the issued-list gate (Decree 47 Art. 17(2),
    # on in the demo) is switched off here so they can publish freely, and switched back on
    # for the other tests sharing this live server. TestIssuedListGate turns it on itself.
    _set_issued_list_switch(built, 0)
    yield built
    _set_issued_list_switch(built, 1)


def _new_dataset(site: Site, org: str, title: str, *, private: bool, **extra: Any) -> dict[str, Any]:
    return site.ckan(ADMIN).action.package_create(
        title=title,
        owner_org=org,
        notes=f"Bộ dữ liệu {title} của tỉnh Lai Châu.",
        license_id="CC-BY-4.0",
        tags=[{"name": "thử nghiệm"}],
        extras=[{"key": "source_database", "value": site.sources[org]}, {"key": "update_frequency", "value": "yearly"}],
        resources=[{"name": "Tệp CSV", "url": f"https://example.vn/{uuid.uuid4().hex}.csv", "format": "CSV"}],
        private=private,
        **extra,
    )


def harvest(remote: ckanapi.RemoteCKAN, fq: str, rows: int = 7) -> list[dict[str, Any]]:
    """What ckanext-harvest's CKAN harvester does: page with ``sort=id asc`` and a
    growing ``start`` until a page comes back empty."""
    seen: list[dict[str, Any]] = []
    start = 0
    while True:
        page = remote.action.package_search(fq=fq, rows=rows, start=start, sort="id asc")["results"]
        if not page:
            return seen
        seen.extend(page)
        start += rows


class TestHarvesterReplay:
    def test_every_changed_public_dataset_arrives_exactly_once_and_nothing_private_leaks(self, site):
        made: dict[str, list[dict[str, Any]]] = {org: [] for org in ORGS}
        for number in range(30):
            org = ORGS[number % 2]
            made[org].append(_new_dataset(site, org, f"Thống kê số {number:02d} {uuid.uuid4().hex[:4]}", private=number % 5 == 0))
        public = {org: {d["id"] for d in items if not d["private"]} for org, items in made.items()}
        private = {d["id"] for items in made.values() for d in items if d["private"]}
        assert len(private) == 6 and all(len(ids) == 12 for ids in public.values())
        anonymous = site.ckan()

        # First run: the whole organization.
        first = harvest(anonymous, "organization:lcu-stc")
        first_ids = [d["id"] for d in first]
        assert len(first_ids) == len(set(first_ids)), "a dataset arrived twice"
        assert public["lcu-stc"] <= set(first_ids)
        assert not set(first_ids) & private
        assert first_ids == sorted(first_ids)
        assert all(d["organization"]["name"] == "lcu-stc" and d["private"] is False for d in first)

        # Between runs: some datasets change (public and private, in both organizations).
        last_run = datetime.now(UTC).replace(tzinfo=None)
        time.sleep(0.05)
        admin = site.ckan(ADMIN)
        changed = []
        for org in ORGS:
            for dataset in made[org][1:12:2]:
                admin.action.package_patch(id=dataset["id"], notes="Cập nhật số liệu mới.")
                changed.append((org, dataset["id"], dataset["private"]))
        expected = {ident for org, ident, is_private in changed if org == "lcu-stc" and not is_private}
        assert expected

        # Second run: only what changed since the last run, as the harvester asks for it.
        fq = f"organization:lcu-stc metadata_modified:[{last_run.isoformat()}Z TO *]"
        second = harvest(anonymous, fq)
        second_ids = [d["id"] for d in second]
        assert len(second_ids) == len(set(second_ids))
        assert set(second_ids) == expected
        assert not set(second_ids) & private
        # The same with [... TO NOW], in fq_list form.
        same = anonymous.action.package_search(
            fq_list=["organization:lcu-stc", f"metadata_modified:[{last_run.isoformat()}Z TO NOW]"], rows=1000, sort="id asc"
        )
        got = {d["id"] for d in same["results"]}
        # This once missed one dataset on a loaded machine and has not failed since (20 runs
        # at load 8-13): say what the server held, to find the cause if it happens again.
        assert got == expected and same["count"] == len(expected), (
            f"asked at {datetime.now(UTC).isoformat()} for [{last_run.isoformat()}Z TO NOW], count {same['count']}: "
            + "; ".join(
                f"{ident} expected={ident in expected} got={ident in got} "
                f"modified={admin.action.package_show(id=ident)['metadata_modified']}"
                for ident in sorted(expected | got)
            )
        )

        # Logged-in outsiders see no private datasets either, even with include_private.
        citizen = site.ckan(CITIZEN)
        everything = citizen.action.package_search(fq="organization:lcu-stc OR organization:lcu-sgddt", rows=1000, include_private=True)
        assert not {d["id"] for d in everything["results"]} & private


class TestClientErrors:
    def test_status_show(self, site):
        status = site.ckan().action.status_show()
        assert status["ckan_version"].startswith("2.") and status["site_url"] == site.url

    def test_not_found(self, site):
        with pytest.raises(ckanapi.NotFound):
            site.ckan().action.package_show(id="khong-co-bo-du-lieu-nay")

    def test_private_dataset_is_not_found_for_anonymous(self, site):
        created = _new_dataset(site, "lcu-stc", f"Riêng tư {uuid.uuid4().hex[:6]}", private=True)
        with pytest.raises(ckanapi.NotFound):
            site.ckan().action.package_show(id=created["id"])
        assert site.ckan(ADMIN).action.package_show(id=created["id"])["private"] is True

    def test_validation_error_is_a_field_map(self, site):
        created = _new_dataset(site, "lcu-stc", f"Trùng tên {uuid.uuid4().hex[:6]}", private=False)
        with pytest.raises(ckanapi.ValidationError) as caught:
            site.ckan(ADMIN).action.package_create(title="Khác", name=created["name"], owner_org="lcu-stc")
        assert "name" in caught.value.error_dict

    def test_publication_gate_speaks_as_a_validation_error(self, site):
        with pytest.raises(ckanapi.ValidationError) as caught:
            site.ckan(ADMIN).action.package_create(title=f"Không nguồn {uuid.uuid4().hex[:6]}", owner_org="lcu-stc", private=False)
        assert "private" in caught.value.error_dict

    def test_citizen_may_not_create(self, site):
        with pytest.raises(ckanapi.NotAuthorized):
            site.ckan(CITIZEN).action.package_create(title="Không được phép", owner_org="lcu-stc")

    def test_editor_of_another_agency_may_not_patch(self, site):
        created = _new_dataset(site, "lcu-sgddt", f"Của Sở GD {uuid.uuid4().hex[:6]}", private=False)
        with pytest.raises((ckanapi.NotAuthorized, ckanapi.NotFound)):
            site.ckan(STC_EDITOR).action.package_patch(id=created["id"], notes="x")

    def test_bad_fq_is_a_search_query_error(self, site):
        with pytest.raises(ckanapi.SearchQueryError):
            site.ckan().action.package_search(fq="metadata_modified:[hôm qua TO *]")

    def test_unknown_action_is_a_bare_string(self, site):
        with pytest.raises(ckanapi.CKANAPIError) as caught:
            site.ckan().call_action("no_such_action")
        assert "Action name not known" in str(caught.value)
        response = httpx.get(f"{site.url}/api/3/action/no_such_action")
        assert response.status_code == 400 and response.json() == "Bad request - Action name not known: no_such_action"

    def test_get_on_a_write_action_is_refused(self, site):
        response = httpx.get(f"{site.url}/api/3/action/package_create", params={"title": "x"})
        assert response.status_code == 400 and "Please use POST" in response.json()

    def test_jsonp_on_get(self, site):
        response = httpx.get(f"{site.url}/api/3/action/package_list", params={"callback": "nhan"})
        assert response.status_code == 200 and response.text.startswith("nhan(")

    def test_get_only_client_with_facets(self, site):
        remote = site.ckan(get_only=True)
        result = remote.action.package_search(
            q="thống kê", fq='tags:"thử nghiệm"', rows=3, **{"facet.field": '["organization","tags"]', "facet.limit": 5}
        )
        assert {i["name"] for i in result["search_facets"]["organization"]["items"]} <= set(ORGS)
        assert len(result["search_facets"]["tags"]["items"]) <= 5
        assert len(result["results"]) <= 3 and result["count"] >= len(result["results"])

    def test_organization_and_license_lists(self, site):
        orgs = site.ckan().action.organization_list(all_fields=True, organizations=list(ORGS))
        assert {o["name"] for o in orgs} == set(ORGS)
        assert "CC-BY-4.0" in {lic["id"] for lic in site.ckan().action.license_list()}


class TestIssuedListGate:
    def test_publishing_a_dataset_off_the_issued_list_is_a_validation_error_naming_the_list(self, site):
        _set_issued_list_switch(site, 1)
        try:
            with pytest.raises(ckanapi.ValidationError) as caught:
                _new_dataset(site, "lcu-stc", f"Ngoài danh mục {uuid.uuid4().hex[:6]}", private=False)
            reasons = " ".join(caught.value.error_dict["private"])
            assert "danh mục dữ liệu mở" in reasons or "issued open-data list" in reasons, reasons
            # Everything else is in order: the same dataset kept private is created.
            kept = _new_dataset(site, "lcu-stc", f"Ngoài danh mục {uuid.uuid4().hex[:6]}", private=True)
            assert kept["private"] is True
        finally:
            _set_issued_list_switch(site, 0)


def _wait_for_datastore(remote: ckanapi.RemoteCKAN, resource_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        resource = remote.action.resource_show(id=resource_id)
        if resource["datastore_active"]:
            return resource
        time.sleep(0.2)
    raise AssertionError("the upload was not loaded into the datastore in time")


@pytest.fixture(scope="module")
def resource(site: Site, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    admin = site.ckan(ADMIN)
    dataset = _new_dataset(site, "lcu-sgddt", f"Trường tiểu học {uuid.uuid4().hex[:6]}", private=True)
    path = tmp_path_factory.mktemp("upload") / "truong-hoc.csv"
    path.write_bytes(SCHOOLS_CSV)
    with path.open("rb") as upload:
        created = admin.action.resource_create(package_id=dataset["id"], name="Danh sách trường", format="CSV", upload=upload)
    resource = _wait_for_datastore(admin, created["id"])
    admin.action.package_patch(id=dataset["id"], private=False)
    return resource


class TestDatastore:
    def test_resource_create_uploaded_and_checksummed(self, site, resource):
        assert resource["url_type"] == "upload" and resource["hash"].startswith("sha256:") and resource["size"] == len(SCHOOLS_CSV)

    def test_search_with_filters_sort_and_total(self, site, resource):
        result = site.ckan().action.datastore_search(
            resource_id=resource["id"], filters={"Xã": ["Bình Lư", "Sìn Hồ"]}, sort="Số học sinh desc", include_total=True
        )
        assert result["total"] == 2
        assert [r["Mã trường"] for r in result["records"]] == ["TH01", "TH02"]
        assert result["_links"]["start"].startswith("/api/3/action/datastore_search")

    def test_full_text_ignores_diacritics(self, site, resource):
        result = site.ckan().action.datastore_search(resource_id=resource["id"], q="muong te")
        assert [r["Mã trường"] for r in result["records"]] == ["TH04"]

    def test_limit_is_capped_and_records_formats(self, site, resource):
        remote = site.ckan()
        capped = remote.action.datastore_search(resource_id=resource["id"], limit=50000)
        assert capped["limit"] == 32000
        lists = remote.action.datastore_search(resource_id=resource["id"], records_format="lists", limit=1, include_total=False)
        assert isinstance(lists["records"][0], list) and "total" not in lists
        as_csv = remote.action.datastore_search(resource_id=resource["id"], records_format="csv", limit=2)
        assert isinstance(as_csv["records"], str) and as_csv["records"].count("\n") == 2
        assert "offset=2" in as_csv["_links"]["next"]

    def test_datastore_info(self, site, resource):
        info = site.ckan().action.datastore_info(id=resource["id"])
        assert info["meta"]["count"] == 4
        assert {f["id"] for f in info["fields"]} >= {"Mã trường", "Số học sinh"}

    def test_search_sql_reads(self, site, resource):
        result = site.ckan().action.datastore_search_sql(sql=f'SELECT "Xã", "Số học sinh" FROM "{resource["id"]}" ORDER BY 2 DESC LIMIT 1')
        assert result["records"] == [{"Xã": "Bình Lư", "Số học sinh": 420}]

    @pytest.mark.parametrize(
        "sql",
        [
            'DELETE FROM "{id}"',
            'DROP TABLE "{id}"',
            "SELECT * FROM read_csv('/etc/passwd')",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            'SELECT * FROM "{id}"; SELECT 1',
            "SELECT * FROM datasets",
        ],
    )
    def test_search_sql_refuses_writes_files_and_other_tables(self, site, resource, sql):
        with pytest.raises(ckanapi.ValidationError):
            site.ckan().action.datastore_search_sql(sql=sql.format(id=resource["id"]))

    def test_unknown_resource_is_not_found(self, site):
        with pytest.raises(ckanapi.NotFound):
            site.ckan().action.datastore_search(resource_id=str(uuid.uuid4()))
