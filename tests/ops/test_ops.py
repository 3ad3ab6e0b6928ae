import os

import pytest

from dulieuso.auth.models import Role
from conftest import bearer, make_user


def test_healthz_reports_each_part(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "storage", "migrations"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_healthz_is_503_when_storage_is_not_writable(client, settings):
    settings.storage_dir.chmod(0o500)
    try:
        response = client.get("/healthz")
    finally:
        settings.storage_dir.chmod(0o700)
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


def test_healthz_is_503_when_storage_is_missing_and_cannot_be_made(client, settings):
    settings.storage_dir.rmdir()
    settings.storage_dir.write_text("a file where the folder should be")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "storage" in response.json()["failing"]


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "dulieuso_http_requests_total" in response.text
    assert 'route="/healthz"' in response.text


def test_request_id_is_made_or_echoed(client):
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_unknown_api_route_is_404_in_the_error_shape(client):
    response = client.get("/api/v1/khong-co")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "Không tìm thấy trang hoặc tài nguyên."
    assert error["message_en"] == "Page or resource not found."


def test_oversized_body_is_413(client, settings):
    response = client.post("/api/v1/tokens", content=b"x" * (settings.max_body_bytes + 1),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_malformed_json_is_400(client, db):
    headers = bearer(db, make_user(db, Role.CITIZEN))
    response = client.post("/api/v1/tokens", content=b"{not json", headers={**headers, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_wrong_types_are_422_with_fields(client, db):
    headers = bearer(db, make_user(db, Role.CITIZEN))
    response = client.post("/api/v1/tokens", json={"name": "x", "expires_days": "mai"}, headers=headers)
    assert response.status_code == 422
    assert "expires_days" in response.json()["error"]["fields"]


def test_unknown_fields_are_refused(client, db):
    headers = bearer(db, make_user(db, Role.CITIZEN))
    response = client.post("/api/v1/tokens", json={"name": "x", "admin": True}, headers=headers)
    assert response.status_code == 422
    assert "admin" in response.json()["error"]["fields"]


def test_openapi_and_docs_are_served_without_a_cdn(client):
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "dulieuso API"
    page = client.get("/api/v1/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_file_uploads_get_the_upload_limit_but_json_does_not(client, settings):
    big = b"x" * (settings.max_body_bytes + 1)
    as_json = client.post("/api/v1/datasets/khong-co/resources", content=big, headers={"content-type": "application/json"})
    assert as_json.status_code == 413
    as_file = client.post(
        "/api/v1/datasets/khong-co/resources",
        files={"file": ("du-lieu.csv", big, "text/csv")},
    )
    assert as_file.status_code != 413  # refused later, by login or a missing dataset, not by size
    assert as_file.status_code < 500
