# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages (Vietnamese by default), downloads, dump, rate limit, 404 for private."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dulieuso.opendata import service
from dulieuso.opendata.ratelimit import DOWNLOADS

from .conftest import World


@pytest.fixture(autouse=True)
def _fresh_buckets():
    DOWNLOADS.reset()
    yield
    DOWNLOADS.reset()


@pytest.fixture
def published(world: World):
    dataset = world.dataset("Danh sách trường học", tags=["Giáo dục"])
    resource = world.upload(dataset)
    service.publish(world.db, world.approver, dataset.id)
    world.db.commit()
    return dataset, resource


def test_pages_render_in_vietnamese(client: TestClient, published) -> None:
    dataset, resource = published
    home = client.get("/data")
    assert home.status_code == 200
    assert "Dữ liệu mở" in home.text and "Danh sách trường học" in home.text
    found = client.get("/datasets", params={"q": "truong hoc"})
    assert found.status_code == 200 and "Danh sách trường học" in found.text
    assert "Cơ quan" in found.text  # the agency facet
    page = client.get(f"/datasets/{dataset.name}")
    assert page.status_code == 200
    assert "Giấy phép" in page.text and "nguyên trạng" in page.text
    assert "datastore_search" in page.text and f"/datastore/dump/{resource.id}" in page.text
    assert page.headers["link"].startswith(f"</api/v1/datasets/{dataset.name}>")
    preview = client.get(f"/datasets/{dataset.name}/preview", params={"resource": str(resource.id), "q": "sin ho"})
    assert preview.status_code == 200 and "Sìn Hồ" in preview.text and "Tam Đường" not in preview.text
    ordered = client.get(f"/datasets/{dataset.name}/preview", params={"resource": str(resource.id), "sort": "Số học sinh desc"})
    assert ordered.text.index("Tam Đường") < ordered.text.index("Sìn Hồ")
    chart = client.get(f"/datasets/{dataset.name}/chart", params={"resource": str(resource.id), "column": "Xã", "value": "Số học sinh"})
    assert chart.status_code == 200 and chart.json()["values"][0] == 420
    from dulieuso.agencies.models import Agency

    agency = client.app.state.sessionmaker().get(Agency, dataset.agency_id)
    agency_page = client.get(f"/data/agencies/{agency.code}")
    assert agency_page.status_code == 200 and "Danh sách trường học" in agency_page.text
    assert client.get("/data/agencies/KHONG-CO").status_code == 404
    english = client.get(f"/datasets/{dataset.name}", params={"lang": "en"})
    assert "Licence and terms of use" in english.text and "as is" in english.text
    res_page = client.get(f"/resources/{resource.id}")
    assert res_page.status_code == 200 and "Từ điển dữ liệu" in res_page.text


def test_downloads_dump_and_counts(client: TestClient, published, world: World) -> None:
    dataset, resource = published
    csv = client.get(f"/resources/{resource.id}/download/csv", params={"bom": "true"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "'=HYPERLINK" in csv.content.decode("utf-8-sig")
    for fmt in ("xlsx", "json", "parquet", "tsv", "original"):
        assert client.get(f"/resources/{resource.id}/download/{fmt}").status_code == 200, fmt
    dump = client.get(f"/datastore/dump/{resource.id}", params={"format": "csv", "bom": "true"})
    assert dump.status_code == 200 and dump.content.startswith(b"\xef\xbb\xbf") and b"_id" in dump.content
    dump_json = client.get(f"/datastore/dump/{resource.id}", params={"format": "json"}).json()
    assert len(dump_json["records"]) == 3
    assert client.get(f"/datastore/dump/{resource.id}", params={"format": "xml"}).status_code == 422
    package = client.get(f"/datasets/{dataset.name}/package.zip")
    assert package.status_code == 200 and package.content[:2] == b"PK"
    world.db.expire_all()
    assert service.get_dataset(world.db, world.admin, dataset.id).download_count == 9


def test_rate_limit_gives_429(client: TestClient, published, monkeypatch: pytest.MonkeyPatch) -> None:
    _, resource = published
    monkeypatch.setattr(DOWNLOADS, "capacity", 5.0)
    monkeypatch.setattr(DOWNLOADS, "refill", 0.001)  # no refill within the test
    statuses = [client.get(f"/resources/{resource.id}/download/json").status_code for _ in range(7)]
    assert statuses[0] == 200 and statuses[-1] == 429
    limited = client.get(f"/resources/{resource.id}/download/json", headers={"accept": "application/json"})
    assert limited.status_code == 429
    body = client.get(f"/api/v1/resources/{resource.id}/download/json").json()
    assert body["error"]["code"] == "rate_limited"
    assert "quá nhiều lượt tải" in body["error"]["message"] and "Too many" in body["error"]["message_en"]


def test_private_dataset_is_404_for_anonymous(client: TestClient, world: World) -> None:
    dataset = world.dataset("Bộ dữ liệu nội bộ")
    resource = world.upload(dataset)
    world.db.commit()
    assert client.get(f"/datasets/{dataset.name}").status_code == 404
    assert client.get(f"/api/v1/datasets/{dataset.id}").status_code == 404
    assert client.get(f"/datastore/dump/{resource.id}").status_code == 404
    assert client.get(f"/resources/{resource.id}/download/csv").status_code == 404
    assert client.get("/api/v1/datasets", params={"q": "noi bo"}).json()["total"] == 0


def test_staff_forms_create_upload_override_publish(client: TestClient, world: World) -> None:
    import io
    import re
    import time

    from conftest import login, make_user

    from dulieuso.auth.models import Role

    from .conftest import CITIZENS_CSV

    editor = make_user(world.db, Role.AGENCY_EDITOR, world.agency)
    approver = make_user(world.db, Role.AGENCY_APPROVER, world.agency)
    world.db.commit()
    token = login(client, editor)
    form = client.get("/datasets/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    bad = client.post("/datasets/new", data={"csrf_token": token, "title": "", "agency": world.agency.code}, follow_redirects=False)
    assert bad.status_code == 422 and "Trường này là bắt buộc." in bad.text
    made = client.post("/datasets/new", data={"csrf_token": token, "title": "Danh sách công dân mẫu", "agency": world.agency.code,
                                              "source_database": world.source.code, "license_id": "CC-BY-4.0", "tags": "mẫu, thử"},
                       follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/datasets/danh-sach-cong-dan-mau"
    uploaded = client.post("/datasets/danh-sach-cong-dan-mau/resources", data={"csrf_token": token, "name": "Công dân"},
                           files={"upload": ("cong-dan.csv", io.BytesIO(CITIZENS_CSV), "text/csv")}, follow_redirects=False)
    assert uploaded.status_code == 303
    resource_url = uploaded.headers["location"]
    page = client.get(resource_url)
    for _ in range(100):
        progress = client.get(resource_url + "/progress")
        if "hx-trigger" not in progress.text:
            break
        time.sleep(0.05)
    page = client.get(resource_url)
    assert "Rà soát dữ liệu cá nhân" in page.text and "cccd" in page.text
    assert "Phê duyệt ngoại lệ" not in page.text  # an editor gets no override form
    client.post("/logout", data={"csrf_token": token})
    token = login(client, approver)
    page = client.get(resource_url)
    assert "Phê duyệt ngoại lệ và cho phép công bố" in page.text
    blocked = client.post("/datasets/danh-sach-cong-dan-mau/publish", data={"csrf_token": token})
    assert blocked.status_code == 409 and "dữ liệu cá nhân" in blocked.text
    short = client.post(resource_url + "/pii-override", data={"csrf_token": token, "reason": "ngắn"})
    assert short.status_code == 422 and 'id="e-reason"' in short.text
    done = client.post(resource_url + "/pii-override", data={"csrf_token": token,
                       "reason": "Các số định danh là số giả lập dùng cho đào tạo."}, follow_redirects=False)
    assert done.status_code == 303
    published = client.post("/datasets/danh-sach-cong-dan-mau/publish", data={"csrf_token": token}, follow_redirects=False)
    assert published.status_code == 303
    assert re.search(r"Bộ dữ liệu đã được công khai", client.get(published.headers["location"]).text)
