# SPDX-License-Identifier: AGPL-3.0-or-later
"""The /api/v1 open-data routes, with real users and tokens."""

from __future__ import annotations

import time

from conftest import bearer, make_user
from fastapi.testclient import TestClient
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.auth.models import Role

from .conftest import CITIZENS_CSV, SCHOOLS_CSV, World


def _wait(client: TestClient, resource_id: str, headers: dict[str, str]) -> dict:
    for _ in range(200):
        status = client.get(f"/api/v1/resources/{resource_id}/ingest", headers=headers).json()
        if status["finished"]:
            return status
        time.sleep(0.05)
    raise AssertionError("ingest did not finish")


def test_create_upload_publish_search(client: TestClient, world: World) -> None:
    editor = make_user(world.db, Role.AGENCY_EDITOR, world.agency)
    approver = make_user(world.db, Role.AGENCY_APPROVER, world.agency)
    ed, ap = bearer(world.db, editor), bearer(world.db, approver)
    created = client.post("/api/v1/datasets", headers=ed, json={
        "title": "Danh sách trường học", "notes": "Các **trường** <script>x()</script>", "source_database": world.source.code,
        "tags": ["Giáo dục"],
    })
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "danh-sach-truong-hoc" and body["private"] and body["state"] == "draft"
    upload = client.post(f"/api/v1/datasets/{body['name']}/resources", headers=ed,
                         files={"upload": ("truong.csv", SCHOOLS_CSV, "text/csv")}, data={"name": "Trường học"})
    assert upload.status_code == 201, upload.text
    rid = upload.json()["id"]
    status = _wait(client, rid, ed)
    assert status["state"] == "succeeded" and status["rows"] == 3
    blocked = client.post(f"/api/v1/datasets/{body['id']}/publish", headers=ed)
    assert blocked.status_code == 403
    published = client.post(f"/api/v1/datasets/{body['id']}/publish", headers=ap)
    assert published.status_code == 200, published.text
    assert published.json()["private"] is False
    found = client.get("/api/v1/datasets", params={"q": "TRUONG hoc", "facet": "tags,organization"}).json()
    assert found["total"] == 1 and found["items"][0]["name"] == "danh-sach-truong-hoc"
    assert found["facets"]["tags"] == [{"name": "Giáo dục", "display_name": "Giáo dục", "count": 1}]
    assert set(found) >= {"items", "total", "limit", "offset", "facets"}
    shown = client.get("/api/v1/datasets/danh-sach-truong-hoc").json()
    assert shown["resources"][0]["hash"].startswith("sha256:")
    rows = client.get(f"/api/v1/resources/{rid}/data", params={"q": "sin ho"}).json()
    assert rows["total"] == 1
    history = client.get(f"/api/v1/datasets/{body['id']}/history").json()
    assert history[0]["action"] == "publish"


def test_pii_override_over_the_api(client: TestClient, world: World) -> None:
    editor = make_user(world.db, Role.AGENCY_EDITOR, world.agency)
    approver = make_user(world.db, Role.AGENCY_APPROVER, world.agency)
    ed, ap = bearer(world.db, editor), bearer(world.db, approver)
    dataset = client.post("/api/v1/datasets", headers=ed, json={"title": "Công dân", "source_database": world.source.code}).json()
    rid = client.post(f"/api/v1/datasets/{dataset['id']}/resources", headers=ed,
                      files={"upload": ("cong-dan.csv", CITIZENS_CSV, "text/csv")}).json()["id"]
    _wait(client, rid, ed)
    blocked = client.post(f"/api/v1/datasets/{dataset['id']}/publish", headers=ap)
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "publication_blocked"
    assert blocked.json()["error"]["reasons"][0]["code"] == "personal_data"
    report = client.get(f"/api/v1/resources/{rid}/pii", headers=ed).json()
    assert report["status"] == "personal_data" and not report["cleared"]
    assert "001089012345" not in str(report)  # examples are masked
    refused = client.post(f"/api/v1/resources/{rid}/pii/override", headers=ed, json={"reason": "Đã được sự đồng ý của các công dân."})
    assert refused.status_code == 403
    too_short = client.post(f"/api/v1/resources/{rid}/pii/override", headers=ap, json={"reason": "ok"})
    assert too_short.status_code == 422
    done = client.post(f"/api/v1/resources/{rid}/pii/override", headers=ap, json={"reason": "Số giả lập để đào tạo, không phải dữ liệu thật."})
    assert done.status_code == 200 and done.json()["cleared"]
    assert client.post(f"/api/v1/datasets/{dataset['id']}/publish", headers=ap).status_code == 200
    world.db.expire_all()
    tags = set(world.db.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id.in_([rid, dataset["id"]]))))
    assert {"opendata:resource:pii_override", "opendata:dataset:publish", "opendata:resource:ingest"} <= tags


def test_anonymous_cannot_write_and_private_is_404(client: TestClient, world: World) -> None:
    assert client.post("/api/v1/datasets", json={"title": "x"}).status_code == 401
    dataset = world.dataset("Bí mật nội bộ")
    world.db.commit()
    assert client.get(f"/api/v1/datasets/{dataset.name}").status_code == 404
    assert client.get(f"/api/v1/datasets/{dataset.name}/history").status_code == 404


def test_groups_and_licences(client: TestClient, world: World) -> None:
    admin = make_user(world.db, Role.PLATFORM_ADMIN)
    headers = bearer(world.db, admin)
    created = client.post("/api/v1/groups", headers=headers, json={"title_vi": "Giáo dục", "title_en": "Education"})
    assert created.status_code == 201 and created.json()["name"] == "giao-duc"
    assert client.get("/api/v1/groups").json()["items"][0]["dataset_count"] == 0
    editor = make_user(world.db, Role.AGENCY_EDITOR, world.agency)
    assert client.post("/api/v1/groups", headers=bearer(world.db, editor), json={"title_vi": "X"}).status_code == 403
    licences = client.get("/api/v1/licenses").json()["items"]
    ours = next(lic for lic in licences if lic["id"] == "lai-chau-open-data")
    assert "nguyên trạng" in ours["terms"] and "bán lại" in ours["terms"]


def test_file_and_api_give_the_same_rows_and_uploads_are_bounded(client: TestClient, world: World, monkeypatch) -> None:
    """D47-31: a resource is a file with a checksum and an API endpoint with the same rows."""
    import csv
    import hashlib
    import io

    dataset = world.dataset()
    resource = world.upload(dataset)
    from dulieuso.opendata import service

    service.publish(world.db, world.approver, dataset.id)
    world.db.commit()
    original = client.get(f"/resources/{resource.id}/download/original").content
    assert resource.hash == "sha256:" + hashlib.sha256(original).hexdigest()
    from_file = list(csv.DictReader(io.StringIO(client.get(f"/resources/{resource.id}/download/csv").content.decode("utf-8"))))
    from_api = client.get(f"/api/v1/resources/{resource.id}/data").json()["records"]
    assert [r["Mã trường"] for r in from_file] == [r["Mã trường"] for r in from_api]
    assert [r["Số học sinh"] for r in from_file] == [str(r["Số học sinh"]) for r in from_api]
    assert len(from_file) == len(from_api) == 3

    editor = make_user(world.db, Role.AGENCY_EDITOR, world.agency)
    headers = bearer(world.db, editor)
    monkeypatch.setattr(client.app.state.settings, "opendata_max_upload_bytes", 100)
    too_big = client.post(f"/api/v1/datasets/{dataset.id}/resources", headers=headers,
                          files={"upload": ("lon.csv", SCHOOLS_CSV * 5, "text/csv")})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "upload_too_large"
