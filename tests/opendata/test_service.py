# SPDX-License-Identifier: AGPL-3.0-or-later
"""Datasets, the publication gate, ingestion outcomes, search: real files, real DB."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.catalog.models import Importance, SharingScope
from dulieuso.errors import Conflict, Forbidden, Invalid, NotFound
from dulieuso.opendata import resources, search, service
from dulieuso.opendata.models import IngestStatus, PiiStatus
from dulieuso.opendata.text import render_markdown

from .conftest import CITIZENS_CSV, SCHOOLS_CSV, World, make_database


def test_slug_is_transliterated_and_unique(world: World) -> None:
    first = world.dataset("Danh sách trường học")
    second = world.dataset("Danh sách trường học")
    third = world.dataset("Danh sách Trường Học!")
    assert (first.name, second.name, third.name) == ("danh-sach-truong-hoc", "danh-sach-truong-hoc-2", "danh-sach-truong-hoc-3")
    assert world.dataset("Đường giao thông").name == "duong-giao-thong"


def test_name_taken_is_refused(world: World) -> None:
    world.dataset("Trạm y tế")
    with pytest.raises(Invalid) as caught:
        world.dataset("Khác", name="tram-y-te")
    assert "name" in caught.value.fields


def test_markdown_is_sanitised() -> None:
    html = str(render_markdown("**Đậm**\n\n<script>alert('x')</script>\n\n[a](javascript:alert(1))"))
    assert "<strong>Đậm</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html.replace("[a](javascript", "")


@pytest.mark.parametrize(
    "kwargs",
    [dict(secret=True), dict(scope=SharingScope.PRIVATE), dict(open_data=False)],
    ids=["state-secret", "private-scope", "no-open-data-in-matrix"],
)
def test_refused_source_databases(world: World, kwargs: dict) -> None:
    database = make_database(world.db, world.agency, **kwargs)
    with pytest.raises(Invalid) as caught:
        world.dataset("Bộ dữ liệu", source_database=database.code)
    assert "source_database" in caught.value.fields


def test_core_source_blocks_publication(world: World) -> None:
    database = make_database(world.db, world.agency, importance=Importance.CORE)
    dataset = world.dataset("Dữ liệu cốt lõi", source_database=database.code)
    world.upload(dataset)
    with pytest.raises(Conflict) as caught:
        service.publish(world.db, world.approver, dataset.id)
    assert [r["code"] for r in caught.value.extra["reasons"]] == ["source_refused"], dataset.resources[0].ingest_error


def test_other_agency_cannot_edit(world: World) -> None:
    dataset = world.dataset()
    with pytest.raises(NotFound):  # a draft of another agency is invisible
        service.update_dataset(world.db, world.other_editor, dataset.id, {"title": "x"})
    world.upload(dataset)
    service.publish(world.db, world.approver, dataset.id)
    with pytest.raises(Forbidden):
        service.update_dataset(world.db, world.other_editor, dataset.id, {"title": "x"})


def test_private_datasets_are_invisible_to_anonymous(world: World) -> None:
    dataset = world.dataset()
    with pytest.raises(NotFound):
        service.get_dataset(world.db, ANONYMOUS, dataset.name)
    assert search.search_datasets(world.db, ANONYMOUS, "truong").count == 0
    assert service.get_dataset(world.db, world.editor, dataset.name).id == dataset.id


def test_pii_gate_blocks_until_an_approver_overrides(world: World) -> None:
    dataset = world.dataset("Danh sách công dân")
    resource = world.upload(dataset, CITIZENS_CSV, "cong-dan.csv")
    assert resource.ingest_status is IngestStatus.SUCCEEDED
    assert resource.pii_status is PiiStatus.PERSONAL_DATA
    kinds = {f["kind"] for f in resource.pii_report["findings"]}
    assert "cccd" in kinds
    with pytest.raises(Conflict) as caught:
        service.publish(world.db, world.approver, dataset.id)
    assert [r["code"] for r in caught.value.extra["reasons"]] == ["personal_data"]
    with pytest.raises(Forbidden):  # an editor is no approver
        resources.override_pii(world.db, world.editor, resource.id, "Dữ liệu đã được công dân đồng ý công khai rộng rãi.")
    with pytest.raises(Invalid):  # a reason is required
        resources.override_pii(world.db, world.approver, resource.id, "ok")
    reason = "Các số này là số giả lập dùng cho mục đích đào tạo, không phải dữ liệu thật."
    resources.override_pii(world.db, world.approver, resource.id, reason)
    event = world.db.scalar(select(AuditEvent).where(AuditEvent.tag == "opendata:resource:pii_override", AuditEvent.subject_id == str(resource.id)))
    assert event is not None and event.changes["details"]["reason"] == reason
    assert event.actor_label == world.approver.email
    service.publish(world.db, world.approver, dataset.id)
    assert service.is_public(dataset)
    world.db.commit()  # the audit guard passes


def test_override_covers_one_data_version(world: World) -> None:
    dataset = world.dataset("Danh sách công dân")
    resource = world.upload(dataset, CITIZENS_CSV, "cong-dan.csv")
    resources.override_pii(world.db, world.approver, resource.id, "Số giả lập dùng để đào tạo cán bộ, không phải dữ liệu thật.")
    service.publish(world.db, world.approver, dataset.id)
    resources.update_resource(world.db, world.editor, resource.id, {}, settings=world.settings,
                              upload=resources.Upload("cong-dan.csv", io.BytesIO(CITIZENS_CSV + "Lù Văn Dũng,001091056789,Tam Đường\n".encode())), wait=True)
    assert resource.datastore_version == 2
    assert not service.pii_cleared(resource)
    assert dataset.private  # taken back from the public until reviewed again


def test_failed_reingest_keeps_the_previous_version_served(world: World) -> None:
    dataset = world.dataset()
    resource = world.upload(dataset)
    assert resource.datastore_version == 1 and resource.datastore_rows == 3
    resources.update_resource(world.db, world.editor, resource.id, {}, settings=world.settings,
                              upload=resources.Upload("hong.csv", io.BytesIO(b"\x00\x01\x02PK\x03\x04 binary" * 50)), wait=True)
    assert resource.ingest_status is IngestStatus.FAILED
    assert resource.ingest_error and resource.ingest_error["message"]
    assert resource.datastore_version == 1
    chunks, _, _, _ = resources.download(world.db, world.editor, resource.id, "csv", settings=world.settings)
    assert "Tam Đường" in b"".join(chunks).decode("utf-8")


def test_publish_lists_every_reason(world: World) -> None:
    dataset = service.create_dataset(world.db, world.editor, {"title": "Không nguồn"})
    with pytest.raises(Conflict) as caught:
        service.publish(world.db, world.approver, dataset.id)
    assert {r["code"] for r in caught.value.extra["reasons"]} == {"no_source", "no_resources"}


def test_editor_cannot_publish(world: World) -> None:
    dataset = world.dataset()
    world.upload(dataset)
    with pytest.raises(Forbidden):
        service.publish(world.db, world.editor, dataset.id)


def test_version_history_and_diff(world: World) -> None:
    dataset = world.dataset(tags=["giáo dục"])
    service.update_dataset(world.db, world.editor, dataset.id, {"title": "Trường học Lai Châu", "tags": ["giáo dục", "trường học"]})
    history = service.history(world.db, world.editor, dataset.id)
    assert [h.action for h in history] == ["update", "create"]
    assert history[0].changed["title"] == ["Danh sách trường học", "Trường học Lai Châu"]
    changed = service.revision_diff(world.db, world.editor, dataset.id, 1, 2)
    assert changed["tags"] == [["giáo dục"], ["giáo dục", "trường học"]]


def test_search_is_diacritic_insensitive_with_facets_and_sorts(world: World) -> None:
    schools = world.dataset("Trường học phổ thông", tags=["Giáo dục"])
    world.upload(schools)
    clinics = world.dataset("Cơ sở y tế", tags=["Y tế"])
    world.upload(clinics, "Tên,Xã\nTrạm y tế Bình Lư,Bình Lư\n".encode(), "tram-y-te.csv")
    for dataset in (schools, clinics):
        service.publish(world.db, world.approver, dataset.id)
    found = search.search_datasets(world.db, ANONYMOUS, "truong hoc", facet_fields=["tags", "res_format", "organization"])
    assert [d.name for d in found.datasets] == [schools.name]
    assert search.search_datasets(world.db, ANONYMOUS, "TRƯỜNG").count == 1
    assert search.search_datasets(world.db, ANONYMOUS, "giao duc").count == 2  # by agency name
    assert search.search_datasets(world.db, ANONYMOUS, "pho th").count == 1  # last word as prefix
    everything = search.search_datasets(world.db, ANONYMOUS, facet_fields=["tags", "res_format", "organization"])
    assert everything.count == 2
    assert {(f.name, f.count) for f in everything.facets["tags"]} == {("Giáo dục", 1), ("Y tế", 1)}
    assert [(f.name, f.count) for f in everything.facets["res_format"]] == [("CSV", 2)]
    assert [(f.name, f.count) for f in everything.facets["organization"]] == [(world.agency.code, 2)]
    by_name = search.search_datasets(world.db, ANONYMOUS, sort="name asc")
    assert [d.name for d in by_name.datasets] == sorted([schools.name, clinics.name])
    resources.count(world.db, clinics.id)
    world.db.expire_all()
    by_downloads = search.search_datasets(world.db, ANONYMOUS, sort="downloads desc")
    assert by_downloads.datasets[0].name == clinics.name
    assert search.search_datasets(world.db, ANONYMOUS, tags=["y tế"]).count == 1
    with pytest.raises(Invalid):
        search.search_datasets(world.db, ANONYMOUS, sort="nonsense")


def test_downloads_in_every_format_neutralise_formulas(world: World) -> None:
    dataset = world.dataset()
    resource = world.upload(dataset)
    csv_bytes = b"".join(resources.download(world.db, world.editor, resource.id, "csv", settings=world.settings, bom=True)[0])
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    assert "'=HYPERLINK" in csv_bytes.decode("utf-8-sig")
    for fmt in ("tsv", "json", "xlsx", "parquet"):
        data = b"".join(resources.download(world.db, world.editor, resource.id, fmt, settings=world.settings)[0])
        assert data
    xlsx = b"".join(resources.download(world.db, world.editor, resource.id, "xlsx", settings=world.settings)[0])
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in values
    original = b"".join(resources.download(world.db, world.editor, resource.id, "original", settings=world.settings)[0])
    assert original == SCHOOLS_CSV
    assert resource.hash.startswith("sha256:") and resource.size == len(SCHOOLS_CSV)


def test_data_dictionary_edits(world: World) -> None:
    dataset = world.dataset()
    resource = world.upload(dataset)
    fields = resources.dictionary(world.settings, resource)
    first = fields[0]["id"]
    resources.edit_dictionary(world.db, world.editor, resource.id, {first: {"label": "Mã", "description": "Mã định danh trường"}}, settings=world.settings)
    assert resources.dictionary(world.settings, resource)[0]["description"] == "Mã định danh trường"
    with pytest.raises(Invalid):
        resources.edit_dictionary(world.db, world.editor, resource.id, {"khong_co": {"label": "x"}}, settings=world.settings)


def test_package_zip_has_datapackage(world: World) -> None:
    import json
    import zipfile

    dataset = world.dataset()
    world.upload(dataset)
    chunks, filename, _ = resources.package(world.db, world.editor, dataset.id, settings=world.settings)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    descriptor = json.loads(archive.read("datapackage.json"))
    assert descriptor["name"] == dataset.name and len(descriptor["resources"]) == 1
    assert filename == f"{dataset.name}.zip"
