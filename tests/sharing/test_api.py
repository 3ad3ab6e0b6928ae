# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sharing registry's JSON contracts."""

from __future__ import annotations

import base64

from tests.conftest import bearer
from tests.sharing.conftest import OPERATIONS, RESPONSE_SCHEMA, World

CODE = "dat-dai.thua-dat"


def test_catalog_is_public_with_the_list_envelope(client, world: World):
    world.service()
    world.service("draft.an", publish=False)
    world.db.commit()
    body = client.get("/api/v1/services").json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert [s["code"] for s in body["items"]] == [CODE]
    detail = client.get(f"/api/v1/services/{CODE}").json()
    assert detail["response_fields"] == list(RESPONSE_SCHEMA["properties"])
    assert detail["upstream_base_url"] is None  # the gateway is the only way in
    assert detail["gateway_url"].endswith(f"/gateway/{CODE}")
    assert client.get("/api/v1/services/draft.an").status_code == 404


def test_openapi_document_is_generated_for_the_gateway(client, world: World):
    world.service()
    world.db.commit()
    doc = client.get(f"/api/v1/services/{CODE}/openapi.json").json()
    assert doc["servers"][0]["url"].endswith(f"/gateway/{CODE}")
    assert doc["paths"]["/parcels/{parcel_id}"]["get"]["operationId"] == "getParcel"


def test_list_methods_is_public(client, world: World):
    world.service()
    world.db.commit()
    items = client.get("/api/v1/services:list-methods").json()["items"]
    assert items[0]["service_code"] == CODE
    assert {op["name"] for op in items[0]["operations"]} == {op["name"] for op in OPERATIONS}


def test_provider_creates_and_publishes_through_the_api(client, world: World):
    headers = bearer(world.db, world.p_admin)
    body = {
        "code": "x.api", "name": "Dịch vụ thử", "description": "Mô tả", "upstream_base_url": "http://127.0.0.1:9/u",
        "operations": OPERATIONS, "request_schema": {"type": "object"}, "response_schema": RESPONSE_SCHEMA,
        "schema_standard": "JSON Schema", "rate_limit_per_minute": 60, "max_concurrency": 5,
        "contact_name": "A", "contact_email": "a@example.vn", "database_codes": ["CSDL-DD"],
    }
    created = client.post("/api/v1/services", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert "regulation_code" in created.json()["missing"]
    refused = client.post("/api/v1/services/x.api/publish", headers=headers)
    assert refused.status_code == 422 and "regulation_code" in refused.json()["error"]["fields"]
    body["regulation_code"] = "QC-01"
    assert client.put("/api/v1/services/x.api", json=body, headers=headers).status_code == 200
    published = client.post("/api/v1/services/x.api/publish", headers=headers)
    assert published.status_code == 200 and published.json()["status"] == "published"


def test_full_flow_application_account_request_approval_grant(client, world: World):
    world.service()
    consumer = bearer(world.db, world.c_admin)
    provider = bearer(world.db, world.p_approver)
    app = client.post("/api/v1/applications", json={"code": "mot-cua", "name": "Một cửa"}, headers=consumer)
    assert app.status_code == 201, app.text
    app_id = app.json()["id"]
    issued = client.post(f"/api/v1/applications/{app_id}/accounts", json={"with_api_key": True}, headers=consumer)
    assert issued.status_code == 201
    secret = issued.json()["client_secret"]
    api_key = issued.json()["api_key"]
    assert secret and api_key
    shown = client.get(f"/api/v1/applications/{app_id}", headers=consumer).text
    assert secret not in shown and api_key not in shown

    request = client.post("/api/v1/connection-requests", headers=consumer, json={
        "service_code": CODE, "purpose": "Thủ tục đất đai", "frequency": "100 lần/ngày",
        "requested_fields": ["parcel_id", "land_use"], "application_id": app_id})
    assert request.status_code == 201, request.text
    request_id = request.json()["id"]
    incoming = client.get("/api/v1/connection-requests?box=incoming", headers=provider).json()
    assert [r["id"] for r in incoming["items"]] == [request_id]
    approved = client.post(f"/api/v1/connection-requests/{request_id}/approve", headers=provider,
                           json={"quota_per_minute": 60})
    assert approved.status_code == 200, approved.text
    assert approved.json()["account"] is None  # the application already had an account
    grants = client.get("/api/v1/grants", headers=consumer).json()
    assert grants["total"] == 1 and grants["items"][0]["allowed_fields"] == ["parcel_id", "land_use"]

    allowed = client.get("/api/v1/services:allowed-methods", headers={"X-API-Key": api_key}).json()
    assert allowed["items"][0]["service_code"] == CODE
    basic = base64.b64encode(f"{issued.json()['client_id']}:{secret}".encode()).decode()
    assert client.get("/api/v1/services:allowed-methods", headers={"Authorization": f"Basic {basic}"}).json()["total"] == 1
    assert client.get("/api/v1/services:allowed-methods", headers=consumer).json()["total"] == 1
    assert client.get("/api/v1/services:allowed-methods").status_code == 401


def test_approval_without_an_application_issues_an_account_once(client, world: World):
    world.service()
    consumer = bearer(world.db, world.c_admin)
    provider = bearer(world.db, world.p_approver)
    request_id = client.post("/api/v1/connection-requests", headers=consumer, json={
        "service_code": CODE, "purpose": "p", "frequency": "f", "requested_fields": ["parcel_id"]}).json()["id"]
    approved = client.post(f"/api/v1/connection-requests/{request_id}/approve", headers=provider)
    account = approved.json()["account"]
    assert account["client_id"].startswith("cl_") and account["client_secret"].startswith("cs_")
    assert account["token_url"].endswith("/gateway/token")


def test_refusal_without_legal_basis_is_422(client, world: World):
    world.service()
    consumer = bearer(world.db, world.c_admin)
    provider = bearer(world.db, world.p_approver)
    request_id = client.post("/api/v1/connection-requests", headers=consumer, json={
        "service_code": CODE, "purpose": "p", "frequency": "f", "requested_fields": ["parcel_id"]}).json()["id"]
    refused = client.post(f"/api/v1/connection-requests/{request_id}/reject", headers=provider, json={"reason": "Không"})
    assert refused.status_code == 422
    assert "legal_basis" in refused.json()["error"]["fields"]
    ok = client.post(f"/api/v1/connection-requests/{request_id}/reject", headers=provider,
                     json={"reason": "Không", "legal_basis": "Luật 91/2025/QH15, Điều 13"})
    assert ok.status_code == 200 and ok.json()["status"] == "rejected"


def test_missing_request_fields_are_422(client, world: World):
    world.service()
    response = client.post("/api/v1/connection-requests", headers=bearer(world.db, world.c_admin),
                           json={"service_code": CODE, "purpose": "", "frequency": "", "requested_fields": []})
    assert response.status_code == 422


def test_writing_needs_a_login(client, world: World):
    assert client.post("/api/v1/applications", json={"code": "a", "name": "b"}).status_code == 401


def test_regulations_are_public(client, world: World):
    world.db.commit()
    body = client.get("/api/v1/regulations").json()
    assert body["items"][0]["code"] == "QC-01"
    assert client.get("/api/v1/regulations/QC-01").json()["period_online_query_hours"] == 24


def test_agreement_hidden_from_non_parties(client, world: World):
    world.service()
    created = client.post("/api/v1/agreements", headers=bearer(world.db, world.p_admin), json={
        "code": "TT-9", "title": "Thoả thuận", "service_code": CODE, "consumer_codes": ["T-STC"]})
    assert created.status_code == 201, created.text
    agreement_id = created.json()["id"]
    assert client.get(f"/api/v1/agreements/{agreement_id}", headers=bearer(world.db, world.o_admin)).status_code == 404
    assert client.get(f"/api/v1/agreements/{agreement_id}", headers=bearer(world.db, world.c_admin)).status_code == 200
    illegal = client.post(f"/api/v1/agreements/{agreement_id}/transition", headers=bearer(world.db, world.p_admin),
                          json={"status": "active"})
    assert illegal.status_code == 409


def test_statistics_read_the_sharing_log(client, world: World):
    from datetime import UTC, datetime

    from dulieuso.sharing.log_models import SharingLogEntry

    world.service()
    now = datetime.now(UTC)
    for seq, (status, outcome, latency) in enumerate([(200, "ok", 1000), (200, "ok", 3000), (403, "gateway.no_grant", 500)], 1):
        world.db.add(SharingLogEntry(
            seq=seq, prev_hash="0" * 64, entry_hash=f"{seq:064d}", request_id=f"r{seq}", request_at=now, response_at=now,
            latency_us=latency, consumer_agency_id=str(world.consumer.id), consumer_agency_code="T-STC",
            service_code=CODE, provider_agency_id=str(world.provider.id), method="GET", path="/parcels/1", query="",
            status=status, outcome=outcome, bytes_in=0, bytes_out=10, request_sha256="0" * 64, response_sha256="0" * 64,
            purpose="Thủ tục",
        ))
    world.db.commit()
    stats = client.get("/api/v1/sharing/statistics", headers=bearer(world.db, world.p_admin)).json()
    assert stats["total"]["calls"] == 3 and stats["total"]["refused"] == 1
    assert stats["by_service"][0]["key"] == CODE
    access = client.get("/api/v1/sharing/statistics/database/CSDL-DD", headers=bearer(world.db, world.p_admin)).json()
    assert access["total"] == 3 and access["items"][0]["purpose"] == "Thủ tục"
    assert client.get("/api/v1/sharing/statistics/database/CSDL-DD",
                      headers=bearer(world.db, world.o_admin)).status_code == 404


def test_allowed_methods_with_a_gateway_token(client, world: World, settings):
    from dulieuso.sharing import requests as requests_service
    from dulieuso.sharing.access import registry_access
    from dulieuso.sharing.gateway import issue_token, token_key

    world.service()
    request = requests_service.submit(world.db, world.actor(world.c_editor), requests_service.RequestInput(
        service_code=CODE, purpose="p", frequency="f", requested_fields=["parcel_id"]))
    approval = requests_service.approve(world.db, world.actor(world.p_approver), request.id)
    world.db.commit()
    caller = registry_access.authenticate_client(world.db, approval.issued.account.client_id, approval.issued.client_secret)
    token = issue_token(token_key(settings.secret), caller)
    body = client.get("/api/v1/services:allowed-methods", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["client_id"] == caller.client_id and body["items"][0]["service_code"] == CODE
    bad = client.get("/api/v1/services:allowed-methods", headers={"Authorization": "Bearer v1.forged.token"})
    assert bad.status_code == 401


def test_catalog_search_ignores_diacritics(client, world: World):
    world.service()
    world.db.commit()
    assert client.get("/api/v1/services?q=thua dat").json()["total"] == 1
    assert client.get("/api/v1/services?q=Thửa").json()["total"] == 1
    assert client.get("/api/v1/services?q=doanh nghiep").json()["total"] == 0
