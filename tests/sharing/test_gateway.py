# SPDX-License-Identifier: AGPL-3.0-or-later
"""The gateway against real upstream servers on loopback and a real database: every call,
allowed or refused, gets exactly one sharing-log entry; grants are never widened."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from dulieuso.app import create_app
from dulieuso.config import Settings
from dulieuso.db import make_engine
from dulieuso.sharing import gateway, gateway_call
from dulieuso.sharing import log as slog
from dulieuso.sharing.interfaces import Caller
from tests.conftest import run_async

try:
    from .test_gateway_support import (
        PARCEL_FIELDS,
        SECRET,
        Registry,
        ThreadServer,
        free_port,
        fresh_database,
        get_token,
        log_rows,
        misbehaving_upstream_app,
        seed_registry,
    )
except ImportError:  # tests/sharing is not a package
    from test_gateway_support import (
        PARCEL_FIELDS,
        SECRET,
        Registry,
        ThreadServer,
        free_port,
        fresh_database,
        get_token,
        log_rows,
        misbehaving_upstream_app,
        seed_registry,
    )

MANDATORY = ("request_id", "request_at", "response_at", "latency_us", "consumer_agency_id", "consumer_agency_code",
             "application_id", "account_id", "client_id", "service_id", "service_code", "service_version",
             "provider_agency_id", "operation", "method", "path", "query", "status", "outcome", "bytes_in",
             "bytes_out", "request_sha256", "response_sha256", "purpose", "case_id", "end_user", "grant_id")


@dataclass
class Gateway:
    client: TestClient
    registry: Registry
    engine: Engine
    token: str
    data_dir: Path
    url: str

    def code(self, key: str) -> str:
        return self.registry.services[key].code

    def call(self, key: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
             auth: bool = True, **kwargs: Any) -> Any:
        sent = {"X-Request-Id": f"t-{uuid.uuid4().hex}", **(headers or {})}
        if auth:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.request(method, f"/gateway/{self.code(key)}{path}", headers=sent, **kwargs)

    def entry(self, response: Any) -> dict[str, Any]:
        rows = log_rows(self.engine, response.headers["x-request-id"])
        assert len(rows) == 1, f"expected one log entry, found {len(rows)}"
        return rows[0]


@pytest.fixture(scope="module")
def gw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("gateway")
    with fresh_database(request.config.getoption("--db"), folder) as url, \
            ThreadServer(misbehaving_upstream_app()) as upstream:
        dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
        registry = seed_registry(url, upstream.url, dead)
        settings = Settings(data_dir=folder / "data", database_url=url, secret_key="test-secret-key-not-for-production")
        app = create_app(settings)  # mounts the gateway as production does
        app.state.gateway_max_body_bytes = 64 * 1024
        engine = make_engine(url)
        with TestClient(app) as client:
            token = get_token(client, registry.client_id)
            yield Gateway(client, registry, engine, token, settings.data_dir, url)
        engine.dispose()
        app.state.engine.dispose()


class TestToken:
    def test_client_credentials_give_a_bearer_token(self, gw: Gateway) -> None:
        response = gw.client.post("/gateway/token", data={
            "grant_type": "client_credentials", "client_id": gw.registry.client_id, "client_secret": SECRET})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == gateway.TOKEN_TTL_SECONDS
        assert body["access_token"].startswith("v1.")
        entry = gw.entry(response)
        assert entry["outcome"] == "token.issued"
        assert entry["client_id"] == gw.registry.client_id
        # The logged request hash is not a hash over the secret.
        assert SECRET not in response.request.content.decode() or entry["request_sha256"] != hashlib.sha256(
            response.request.content).hexdigest()

    def test_wrong_secret_is_refused_and_logged(self, gw: Gateway) -> None:
        response = gw.client.post("/gateway/token", data={
            "grant_type": "client_credentials", "client_id": gw.registry.client_id, "client_secret": "sai"})
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "gateway.invalid_client"
        assert error["request_id"] == response.headers["x-request-id"]
        assert error["message"] and error["message_en"]
        assert gw.entry(response)["outcome"] == "gateway.invalid_client"

    def test_other_grant_types_are_refused(self, gw: Gateway) -> None:
        response = gw.client.post("/gateway/token", data={"grant_type": "password", "client_id": "x"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "gateway.unsupported_grant_type"

    def test_token_is_checked_without_the_database(self) -> None:
        key = gateway.token_key("k")
        caller = Caller(uuid.uuid4(), "c", uuid.uuid4(), uuid.uuid4(), "SXD")
        assert gateway.read_token(key, gateway.issue_token(key, caller)) == caller
        assert gateway.read_token(gateway.token_key("other"), gateway.issue_token(key, caller)) is None
        assert gateway.read_token(key, gateway.issue_token(key, caller, ttl=-1)) is None


class TestAllowedCall:
    def test_response_is_reduced_to_the_granted_fields(self, gw: Gateway) -> None:
        response = gw.call("thua-dat", "/parcels/LC-03385-12-145")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["parcel_id"] == "LC-03385-12-145"
        assert set(body) <= set(PARCEL_FIELDS)
        assert "owner_cccd" not in body and "owner_name" not in body and "owner_phone" not in body

    def test_list_under_data_is_reduced_item_by_item(self, gw: Gateway) -> None:
        response = gw.call("thua-dat", "/parcels", params={"commune": "03385"})
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 3
        assert all(set(item) <= set(PARCEL_FIELDS) for item in body["data"])

    def test_unlimited_grant_gets_the_provider_body_unchanged(self, gw: Gateway) -> None:
        response = gw.call("doanh-nghiep", "/enterprises/6200012345")
        assert response.status_code == 200
        assert response.json()["legal_rep_cccd"] == "012180003456"
        assert gw.entry(response)["response_sha256"] == hashlib.sha256(response.content).hexdigest()

    def test_headers_go_both_ways(self, gw: Gateway) -> None:
        rid = f"hs-{uuid.uuid4().hex[:8]}"
        response = gw.call("test", "/echo", headers={"X-Request-Id": rid, "X-Purpose": quote("Cấp phép xây dựng"),
                                                     "X-Case-Id": "HS-2026-0042", "X-End-User": "can.bo.01"})
        assert response.status_code == 200
        assert response.headers["x-request-id"] == rid
        assert response.headers["x-data-valid-until"]
        seen = response.json()["headers"]
        assert seen["x-request-id"] == rid
        assert unquote(seen["x-purpose"]) == "Cấp phép xây dựng"
        assert gw.entry(response)["purpose"] == "Cấp phép xây dựng"
        assert seen["x-case-id"] == "HS-2026-0042" and seen["x-end-user"] == "can.bo.01"
        assert seen["x-consumer-agency"] == gw.registry.consumer.code
        assert "authorization" not in seen and "x-api-key" not in seen

    def test_request_id_is_made_when_absent(self, gw: Gateway) -> None:
        response = gw.client.get(f"/gateway/{gw.code('test')}/echo", headers={"Authorization": f"Bearer {gw.token}"})
        assert response.status_code == 200
        assert len(response.headers["x-request-id"]) >= 16
        assert gw.entry(response)["status"] == 200

    def test_api_key_works_like_a_token(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", auth=False, headers={"X-API-Key": gw.registry.api_key})
        assert response.status_code == 200
        assert gw.entry(response)["account_id"] is not None

    def test_one_entry_with_every_mandatory_field(self, gw: Gateway) -> None:
        response = gw.call("thua-dat", "/parcels/LC-03393-05-301", headers={
            "X-Purpose": quote("Thẩm định"), "X-Case-Id": "HS-1", "X-End-User": "nguyen.van.b"})
        entry = gw.entry(response)
        missing = [name for name in MANDATORY if entry[name] is None or (entry[name] == "" and name != "query")]
        assert not missing
        assert entry["operation"] == "get_parcel"
        assert entry["service_version"] == "1.2"
        assert entry["consumer_agency_code"] == gw.registry.consumer.code
        assert entry["bytes_out"] == len(response.content)
        assert entry["response_sha256"] == hashlib.sha256(response.content).hexdigest()
        assert entry["fields_returned"] and "owner_cccd" not in entry["fields_returned"]
        assert entry["grant_id"] == str(gw.registry.grants["thua-dat"].id)

    def test_request_body_is_hashed_and_forwarded(self, gw: Gateway) -> None:
        payload = '{"so_to": 12, "ghi_chu": "Tra cứu"}'.encode()
        response = gw.call("test", "/echo", method="POST", content=payload,
                           headers={"Content-Type": "application/json"})
        assert response.json()["body"] == payload.decode()
        entry = gw.entry(response)
        assert entry["bytes_in"] == len(payload)
        assert entry["request_sha256"] == hashlib.sha256(payload).hexdigest()

    def test_large_body_is_streamed_and_hashed(self, gw: Gateway) -> None:
        response = gw.call("test", "/big", params={"kb": "2048"})
        assert response.status_code == 200
        assert len(response.content) == 2048 * 1024
        entry = gw.entry(response)
        assert entry["bytes_out"] == 2048 * 1024
        assert entry["response_sha256"] == hashlib.sha256(response.content).hexdigest()

    def test_personal_data_in_the_query_is_masked_in_the_log(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", params={"cccd": "012085001234", "sdt": "0912345678",
                                                     "q": "email hung@example.vn", "commune": "03385"})
        assert "012085001234" in response.json()["query"]  # the provider gets the real value
        logged = gw.entry(response)["query"]
        assert "012085001234" not in logged and "0912345678" not in logged and "hung@example.vn" not in logged
        assert "commune=03385" in logged


class TestHeadersBothWays:
    def test_provider_date_and_server_are_not_passed_on(self, gw: Gateway) -> None:
        # The gateway's own server sets Date and Server; the provider's would be duplicates.
        response = gw.call("test", "/headers")
        assert response.status_code == 200
        assert "server" not in response.headers and "date" not in response.headers
        assert response.headers["x-provider-kept"] == "yes"

    def test_headers_the_provider_declares_hop_by_hop_are_dropped(self, gw: Gateway) -> None:
        response = gw.call("test", "/headers")
        assert "x-provider-hop" not in response.headers and "connection" not in response.headers

    def test_provider_cookies_are_neither_passed_on_nor_kept_for_the_next_call(self, gw: Gateway) -> None:
        first = gw.call("test", "/headers")
        assert "set-cookie" not in first.headers
        # The pooled client serves every consumer: whichever connection the next calls
        # take, none may carry the provider's cookie.
        cookies = [gw.call("test", "/echo").json()["headers"].get("cookie") for _ in range(20)]
        assert cookies == [None] * 20

    def test_request_id_is_sent_exactly_once(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", headers={"X-Request-Id": "mot-lan-duy-nhat"})
        assert response.headers.get_list("x-request-id") == ["mot-lan-duy-nhat"]
        made = gw.client.get(f"/gateway/{gw.code('test')}/echo", headers={"Authorization": f"Bearer {gw.token}"})
        assert len(made.headers.get_list("x-request-id")) == 1

    def test_passed_through_body_keeps_its_length(self, gw: Gateway) -> None:
        response = gw.call("doanh-nghiep", "/enterprises/6200012345")
        assert response.headers["content-length"] == str(len(response.content))

    def test_repeated_consumer_headers_all_reach_the_provider(self, gw: Gateway) -> None:
        response = gw.client.get(f"/gateway/{gw.code('test')}/echo", headers=[
            ("Authorization", f"Bearer {gw.token}"), ("X-Ho-So", "HS-1"), ("X-Ho-So", "HS-2")])
        received = [value for name, value in response.json()["header_list"] if name == "x-ho-so"]
        assert received == ["HS-1", "HS-2"]

    def test_non_ascii_header_bytes_reach_the_provider_unchanged(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", headers={"X-Ghi-Chu": "Nguyễn Văn Hùng".encode()})  # type: ignore[dict-item]
        assert response.status_code == 200
        assert response.json()["headers"]["x-ghi-chu"].encode("latin-1").decode() == "Nguyễn Văn Hùng"

    def test_head_gets_the_headers_without_a_body_and_is_logged(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", method="HEAD")
        assert response.status_code == 200 and response.content == b""
        assert gw.entry(response)["operation"] == "echo_head"


class TestOperations:
    def test_calls_are_counted_in_the_metrics(self, gw: Gateway) -> None:
        gw.call("test", "/echo")
        metrics = gw.client.get("/metrics").text
        line = next(line for line in metrics.splitlines() if line.startswith("dulieuso_http_requests_total{")
                    and 'route="/gateway/{service_code}/{path:path}"' in line and 'status="200"' in line)
        assert float(line.rsplit(" ", 1)[1]) >= 1

    def test_each_call_writes_one_access_log_line(self, gw: Gateway, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="dulieuso.access")
        response = gw.call("test", "/echo", headers={"X-Request-Id": "nhat-ky-truy-cap"})
        lines = [r for r in caplog.records if r.name == "dulieuso.access" and getattr(r, "request_id", None)
                 == "nhat-ky-truy-cap"]
        assert len(lines) == 1 and lines[0].status == response.status_code == 200  # type: ignore[attr-defined]

    def test_a_method_the_gateway_does_not_serve_gets_the_platform_answer(self, gw: Gateway) -> None:
        response = gw.client.get("/gateway/token")
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"


    def test_exchange_calls_go_around_fastapi_and_its_middleware(self, gw: Gateway) -> None:
        app = gw.client.app
        stack = app.middleware_stack  # type: ignore[attr-defined]
        entered: list[str] = []

        async def counting(scope: Any, receive: Any, send: Any) -> None:
            entered.append(scope["path"])
            await stack(scope, receive, send)

        app.middleware_stack = counting  # type: ignore[attr-defined]
        try:
            assert gw.call("test", "/echo").status_code == 200
            assert gw.client.get("/gateway/token").status_code == 405  # not an exchange call
            assert gw.client.get("/healthz").status_code == 200
        finally:
            app.middleware_stack = stack  # type: ignore[attr-defined]
        assert entered == ["/gateway/token", "/healthz"]

    def test_the_router_alone_serves_the_gateway_too(self, gw: Gateway) -> None:
        # An app that includes gateway.router without GatewayDispatch (the platform's
        # routes then reach the gateway; the ids are the gateway's own).
        platform = gw.client.app
        bare = Starlette(routes=gateway.router.routes, lifespan=gateway.lifespan)
        for name in ("settings", "sessionmaker", "engine"):
            setattr(bare.state, name, getattr(platform.state, name))  # type: ignore[attr-defined]
        with TestClient(bare) as client:
            token = get_token(client, gw.registry.client_id)
            response = client.get(f"/gateway/{gw.code('test')}/echo", headers={
                "Authorization": f"Bearer {token}", "X-Request-Id": "chi-router"})
        assert response.status_code == 200
        assert response.headers.get_list("x-request-id") == ["chi-router"]
        assert gw.entry(response)["status"] == 200


class TestRefusals:
    def test_missing_credentials(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", auth=False)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "gateway.unauthenticated"
        entry = gw.entry(response)
        assert entry["outcome"] == "gateway.unauthenticated" and entry["account_id"] is None

    def test_forged_token(self, gw: Gateway) -> None:
        version, body, mac = gw.token.split(".")
        response = gw.call("test", "/echo", headers={"Authorization": f"Bearer {version}.{body}x.{mac}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "gateway.invalid_token"

    def test_wrong_api_key(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", auth=False, headers={"X-API-Key": "khong-dung"})
        assert response.status_code == 401
        assert gw.entry(response)["outcome"] == "gateway.invalid_api_key"

    def test_unknown_service(self, gw: Gateway) -> None:
        response = gw.client.get("/gateway/khong-co/x", headers={"Authorization": f"Bearer {gw.token}"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "gateway.unknown_service"
        assert gw.entry(response)["service_code"] == "khong-co"

    def test_no_grant(self, gw: Gateway) -> None:
        response = gw.call("ungranted", "/echo")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "gateway.no_grant"
        assert gw.entry(response)["outcome"] == "gateway.no_grant"

    def test_other_consumer_has_no_grant(self, gw: Gateway) -> None:
        token = get_token(gw.client, gw.registry.other_client_id)
        response = gw.call("thua-dat", "/parcels/LC-03385-12-145", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403

    def test_expired_grant(self, gw: Gateway) -> None:
        response = gw.call("expired", "/echo")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "gateway.grant_expired"

    def test_unknown_operation(self, gw: Gateway) -> None:
        response = gw.call("thua-dat", "/owners/012085001234")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "gateway.unknown_operation"
        assert "012085001234" not in gw.entry(response)["path"]

    def test_over_quota(self, gw: Gateway) -> None:
        statuses = [gw.call("quota", "/echo").status_code for _ in range(3)]
        response = gw.call("quota", "/echo")
        assert statuses == [200, 200, 200]
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "gateway.quota_exceeded"
        assert int(response.headers["retry-after"]) >= 1
        assert gw.entry(response)["outcome"] == "gateway.quota_exceeded"

    def test_oversized_body(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo", method="POST", content=b"x" * (65 * 1024))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "gateway.body_too_large"
        assert gw.entry(response)["status"] == 413

    def test_path_escaping_the_service_is_refused(self, gw: Gateway) -> None:
        response = gw.call("test", "/echo/%2e%2e")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "gateway.bad_path"

    def test_too_many_concurrent_calls(self, gw: Gateway) -> None:
        first: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: first.update(r=gw.call("limited", "/slow", params={"seconds": "1"})))
        thread.start()
        time.sleep(0.4)
        response = gw.call("limited", "/echo")
        thread.join()
        assert first["r"].status_code == 200
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "gateway.too_many_concurrent"


class TestUpstreamFaults:
    def test_slow_upstream_times_out(self, gw: Gateway) -> None:
        response = gw.call("test", "/slow", params={"seconds": "3"})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "gateway.upstream_timeout"
        assert gw.entry(response)["outcome"] == "gateway.upstream_timeout"

    def test_provider_silent_mid_body_gets_the_connection_cut_and_a_partial_entry(self, gw: Gateway) -> None:
        rid = f"stall-{uuid.uuid4().hex[:8]}"
        with pytest.raises(Exception):  # noqa: B017 - the server aborts the response mid-body
            gw.call("test", "/stall", headers={"X-Request-Id": rid})
        (entry,) = log_rows(gw.engine, rid)
        assert entry["outcome"] == "gateway.upstream_timeout.partial"
        assert entry["status"] == 200 and entry["bytes_out"] == 2048

    def test_dead_upstream(self, gw: Gateway) -> None:
        response = gw.call("dead", "/x")
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "gateway.upstream_unreachable"
        assert gw.entry(response)["status"] == 502

    def test_garbage_is_never_passed_on_when_fields_are_limited(self, gw: Gateway) -> None:
        response = gw.call("limited", "/garbage")
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "gateway.bad_upstream_response"
        text_response = gw.call("limited", "/text")
        assert text_response.status_code == 502
        assert "plain text" not in text_response.text

    def test_garbage_passes_through_when_fields_are_not_limited(self, gw: Gateway) -> None:
        response = gw.call("test", "/garbage")
        assert response.status_code == 200
        assert response.content == b"{not json at all"

    def test_provider_errors_pass_through_unchanged(self, gw: Gateway) -> None:
        response = gw.call("test", "/fail")
        assert response.status_code == 503
        assert response.json() == {"error": {"code": "provider_down", "message": "Hệ thống nguồn đang bảo trì."}}
        assert gw.entry(response)["outcome"] == "upstream.http_error"

    def test_provider_not_found_passes_through(self, gw: Gateway) -> None:
        response = gw.call("thua-dat", "/parcels/LC-KHONG-CO")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "parcel_not_found"


class TestLogFailures:
    def test_a_call_whose_entry_cannot_be_committed_is_not_answered_with_data(self, gw: Gateway) -> None:
        state = gateway.gateway_state(gw.client.app)
        writer = state.writer

        class BrokenWriter:
            def submit(self, entry: dict[str, Any]) -> Future[int]:
                future: Future[int] = Future()
                future.set_exception(OSError("disk full"))
                return future

        state.writer = BrokenWriter()  # type: ignore[assignment]
        try:
            response = gw.call("doanh-nghiep", "/enterprises/6200012345")
        finally:
            state.writer = writer
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "gateway.log_unavailable"
        assert "legal_rep_cccd" not in response.text
        assert gw.call("doanh-nghiep", "/enterprises/6200012345").status_code == 200  # the pool is fine

    def test_an_unexpected_error_gets_the_platform_error_shape(self, gw: Gateway) -> None:
        state = gateway.gateway_state(gw.client.app)
        access = state.access

        class BrokenRegistry:
            def __getattr__(self, name: str) -> Any:
                raise RuntimeError("registry is broken")

        state.access = BrokenRegistry()  # type: ignore[assignment]
        transport = gw.client._transport  # type: ignore[attr-defined]
        transport.raise_server_exceptions = False
        try:
            response = gw.call("test", f"/echo/{uuid.uuid4().hex}")  # not a cached decision
        finally:
            state.access = access
            transport.raise_server_exceptions = True
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"


class TestDecisionCache:
    def test_calls_that_find_the_same_decision_missing_share_one_registry_lookup(self, gw: Gateway) -> None:
        state = gateway.gateway_state(gw.client.app)
        access = state.access
        asked: list[str] = []

        class SlowRegistry:
            def __getattr__(self, name: str) -> Any:
                return getattr(access, name)

            def decide(self, *args: Any) -> Any:
                asked.append("decide")
                time.sleep(0.3)  # long enough for every call below to arrive meanwhile
                return access.decide(*args)

        path = f"/echo/{uuid.uuid4().hex}"  # a decision nobody has made yet
        responses: list[Any] = []
        state.access = SlowRegistry()  # type: ignore[assignment]
        try:
            threads = [threading.Thread(target=lambda: responses.append(gw.call("test", path))) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            state.access = access
        assert [r.status_code for r in responses] == [200] * 6
        assert asked == ["decide"]
        assert not state.deciding


class TestCommits:
    def test_results_from_the_writer_thread_reach_each_waiter(self) -> None:
        async def main() -> list[Any]:
            commits = gateway_call.Commits(asyncio.get_running_loop())
            futures: list[Future[int]] = [Future() for _ in range(50)]
            waiters = [commits.wait(future) for future in futures]
            waiters[3].cancel()  # a call that went away meanwhile

            def writer() -> None:
                for i, future in enumerate(futures):
                    if i == 7:
                        future.set_exception(OSError("disk full"))
                    else:
                        future.set_result(i)

            thread = threading.Thread(target=writer)
            thread.start()
            results = await asyncio.gather(*waiters, return_exceptions=True)
            thread.join()
            done: Future[int] = Future()
            done.set_result(99)  # already committed when waited for
            results.append(await commits.wait(done))
            return results

        results = run_async(main())
        assert isinstance(results[3], asyncio.CancelledError) and isinstance(results[7], OSError)
        assert [r for i, r in enumerate(results) if i not in (3, 7)] == [i for i in range(50) if i not in (3, 7)] + [99]


class TestLogAfterTraffic:
    def test_every_call_above_left_a_verifiable_chain(self, gw: Gateway) -> None:
        result = slog.verify(gw.engine, gw.data_dir)
        assert result.ok, result.problem
        with gw.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM sharing_log_entries")).scalar()
        assert result.entries == count


class TestReduction:
    def test_object(self) -> None:
        reduced, kept = gateway_call.reduce_fields({"a": 1, "b": 2, "secret": 3}, ("a", "b"))
        assert reduced == {"a": 1, "b": 2} and kept == {"a", "b"}

    def test_list(self) -> None:
        reduced, _ = gateway_call.reduce_fields([{"a": 1, "x": 2}, {"a": 3}], ("a",))
        assert reduced == [{"a": 1}, {"a": 3}]

    def test_envelope_keeps_only_pagination_beside_data(self) -> None:
        reduced, _ = gateway_call.reduce_fields({"data": [{"a": 1, "x": 2}], "total": 1, "leak": "x"}, ("a",))
        assert reduced == {"data": [{"a": 1}], "total": 1}

    def test_masking(self) -> None:
        assert gateway_call.mask_text("so 012085001234 va 0912345678") == "so *********234 va *******678"
        masked = gateway_call.mask_query("email=hung%40example.vn&x=1")
        assert masked.startswith("email=***") and "hung" not in masked and masked.endswith("&x=1")
