# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared pieces of the gateway, log and crash tests (no tests here).

Real components only: a fresh database per module (its own SQLite file, or its own
PostgreSQL schema with ``--db=postgresql``), real upstream HTTP servers on loopback
(uvicorn in a thread), the registry's tables, and the platform app with the gateway.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from dulieuso.agencies.models import Agency, AgencyType
from dulieuso.audit.service import install_guard, record
from dulieuso.auth.permissions import SYSTEM
from dulieuso.db import make_engine, make_sessionmaker
from dulieuso.migrate import upgrade
from dulieuso.sharing import upstream_demo
from dulieuso.sharing.access import hash_secret
from dulieuso.sharing.models import (
    AccountStatus,
    Application,
    ApplicationStatus,
    ConnectionAccount,
    DataService,
    Grant,
    GrantStatus,
    ServiceStatus,
    SharingForm,
    SharingMethod,
)

SECRET = "bi-mat-cua-ung-dung-thu-nghiem"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- databases --------------------------------------------------------------------------


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, migrated database: a SQLite file in ``folder`` or a PostgreSQL schema."""
    install_guard()
    if kind == "sqlite":
        target = folder / "gateway.sqlite3"
        template = _sqlite_template()
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    base = os.environ["DULIEUSO_TEST_DATABASE_URL"]
    schema = f"gw_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_TEMPLATE: list[Path] = []


def _sqlite_template() -> Path:
    """One migrated SQLite file per test process, copied for each fresh database."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="dulieuso-template-"))
        path = folder / "template.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


# -- upstream servers on loopback -----------------------------------------------------------


async def _slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("seconds", "3")))
    return JSONResponse({"slow": True})


async def _garbage_json(request: Request) -> Response:
    return Response(b"{not json at all", media_type="application/json")


async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({
        "method": request.method, "path": request.url.path, "query": request.url.query,
        "headers": {k: v for k, v in request.headers.items()}, "header_list": request.headers.items(),
        "body": body.decode("utf-8", "replace"),
        "owner_cccd": "012085001234", "name": "Nguyễn Văn Hùng",
    })


async def _big(request: Request) -> Response:
    size = int(request.query_params.get("kb", "1024"))

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(size):
            yield b"x" * 1024

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def _stall(request: Request) -> Response:
    """Two chunks, then silence for longer than the service's timeout."""

    async def chunks():  # type: ignore[no-untyped-def]
        yield b"a" * 1024
        await asyncio.sleep(0.3)
        yield b"b" * 1024
        await asyncio.sleep(3)
        yield b"c" * 1024

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def _fail(request: Request) -> Response:
    return JSONResponse({"error": {"code": "provider_down", "message": "Hệ thống nguồn đang bảo trì."}},
                        status_code=503)


async def _text(request: Request) -> Response:
    return Response("plain text, not JSON", media_type="text/plain")


async def _with_headers(request: Request) -> Response:
    """A provider that sets its own Date and Server (uvicorn adds a second pair), a
    cookie, a header it declares hop-by-hop in ``Connection``, and one of its own."""
    response = JSONResponse({"ok": True})
    response.headers["Server"] = "provider-httpd/2.4"
    response.headers["Date"] = "Mon, 01 Jan 2001 00:00:00 GMT"
    response.headers["Set-Cookie"] = "provider_session=abc123; Path=/"
    response.headers["Connection"] = "X-Provider-Hop"
    response.headers["X-Provider-Hop"] = "1"
    response.headers["X-Provider-Kept"] = "yes"
    return response


def misbehaving_upstream_app() -> Starlette:
    """The demo upstream plus endpoints that misbehave on purpose."""
    return Starlette(routes=[
        Route("/test/slow", _slow),
        Route("/test/garbage", _garbage_json),
        Route("/test/echo", _echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/test/echo/{rest:path}", _echo, methods=["GET", "POST"]),
        Route("/test/big", _big),
        Route("/test/fail", _fail),
        Route("/test/text", _text),
        Route("/test/headers", _with_headers),
        Route("/test/stall", _stall),
        Mount("/demo", app=upstream_demo.app),
    ])


class ThreadServer:
    """uvicorn serving ``app`` on a loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("upstream did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# -- registry records ----------------------------------------------------------------------

PARCEL_FIELDS = ["parcel_id", "map_sheet", "parcel_no", "commune_code", "commune_name", "area_m2", "land_use",
                 "land_use_label"]


@dataclass
class Registry:
    consumer: Agency
    provider: Agency
    application: Application
    client_id: str
    api_key: str
    other_client_id: str  # an account whose application has no grants
    services: dict[str, DataService]
    grants: dict[str, Grant]


def _agency(session: Session, code: str, name: str) -> Agency:
    agency = Agency(code=code, name_vi=name, type=AgencyType.DEPARTMENT, search_text=code.lower())
    session.add(agency)
    session.flush()
    record(session, SYSTEM, "agencies:agency:create", agency, label=code)
    return agency


def seed_registry(url: str, upstream: str, dead: str) -> Registry:
    """Services, an application with accounts and grants, committed to the database at ``url``."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    tag = uuid.uuid4().hex[:6].upper()
    now = datetime.now(UTC)
    with factory() as session:
        provider = _agency(session, f"STNMT-{tag}", "Sở Nông nghiệp và Môi trường (thử nghiệm)")
        consumer = _agency(session, f"SXD-{tag}", "Sở Xây dựng (thử nghiệm)")
        stranger = _agency(session, f"SYT-{tag}", "Sở Y tế (thử nghiệm)")

        def service(code: str, base: str, operations: list[dict[str, Any]], **extra: Any) -> DataService:
            svc = DataService(
                code=f"{code}-{tag.lower()}", name=f"Dịch vụ {code}", version="1.2", provider_agency_id=provider.id,
                upstream_base_url=base, timeout_seconds=extra.pop("timeout_seconds", 5.0), operations=operations,
                sharing_form=SharingForm.DEFAULT, method=SharingMethod.ONLINE_QUERY,
                status=ServiceStatus.PUBLISHED, published_at=now, **extra,
            )
            session.add(svc)
            return svc

        services = {
            "thua-dat": service("thua-dat", f"{upstream}/demo/thua-dat", [
                {"name": "get_parcel", "method": "GET", "path": "/parcels/{parcel_id}"},
                {"name": "search_parcels", "method": "GET", "path": "/parcels"},
            ]),
            "doanh-nghiep": service("doanh-nghiep", f"{upstream}/demo/doanh-nghiep", [
                {"name": "get_enterprise", "method": "GET", "path": "/enterprises/{tax_code}"},
            ]),
            "test": service("test", f"{upstream}/test", [
                {"name": name, "method": method, "path": path} for name, method, path in [
                    ("slow", "GET", "/slow"), ("garbage", "GET", "/garbage"), ("echo", "GET", "/echo"),
                    ("echo_post", "POST", "/echo"), ("echo_sub", "GET", "/echo/{x}"), ("big", "GET", "/big"),
                    ("fail", "GET", "/fail"), ("text", "GET", "/text"), ("headers", "GET", "/headers"),
                    ("echo_head", "HEAD", "/echo"), ("stall", "GET", "/stall"),
                ]
            ], timeout_seconds=1.0),
            "limited": service("limited", f"{upstream}/test", [
                {"name": "echo", "method": "GET", "path": "/echo"},
                {"name": "garbage", "method": "GET", "path": "/garbage"},
                {"name": "text", "method": "GET", "path": "/text"},
                {"name": "slow", "method": "GET", "path": "/slow"},
            ], max_concurrency=1),
            "quota": service("quota", f"{upstream}/test", [{"name": "echo", "method": "GET", "path": "/echo"}]),
            "dead": service("dead", dead, [{"name": "any", "method": "GET", "path": "/x"}]),
            "expired": service("expired", f"{upstream}/test", [{"name": "echo", "method": "GET", "path": "/echo"}]),
            "ungranted": service("ungranted", f"{upstream}/test", [{"name": "echo", "method": "GET", "path": "/echo"}]),
        }
        session.flush()
        application = Application(code=f"APP-{tag}", name="Hệ thống cấp phép xây dựng", consumer_agency_id=consumer.id,
                                  status=ApplicationStatus.ACTIVE)
        other_app = Application(code=f"APP2-{tag}", name="Hệ thống khác", consumer_agency_id=stranger.id,
                                status=ApplicationStatus.ACTIVE)
        session.add_all([application, other_app])
        session.flush()
        api_key = f"key-{uuid.uuid4().hex}"
        account = ConnectionAccount(application_id=application.id, client_id=f"sxd-{tag.lower()}",
                                    secret_hash=hash_secret(SECRET), api_key_hash=hash_secret(api_key),
                                    api_key_prefix=api_key[:8], status=AccountStatus.ACTIVE)
        other = ConnectionAccount(application_id=other_app.id, client_id=f"syt-{tag.lower()}",
                                  secret_hash=hash_secret(SECRET), status=AccountStatus.ACTIVE)
        session.add_all([account, other])
        session.flush()

        def grant(key: str, **fields: Any) -> Grant:
            g = Grant(application_id=application.id, service_id=services[key].id, purpose="Thẩm định hồ sơ cấp phép",
                      valid_from=fields.pop("valid_from", now - timedelta(days=1)), status=GrantStatus.ACTIVE, **fields)
            session.add(g)
            return g

        grants = {
            "thua-dat": grant("thua-dat", allowed_fields=PARCEL_FIELDS, operations=["get_parcel", "search_parcels"]),
            "doanh-nghiep": grant("doanh-nghiep"),
            "test": grant("test"),
            "limited": grant("limited", allowed_fields=["method", "path", "query"]),
            "quota": grant("quota", quota_per_minute=3),
            "dead": grant("dead"),
            "expired": grant("expired", valid_from=now - timedelta(days=30), valid_to=now - timedelta(days=1)),
        }
        session.flush()
        everything: list[Any] = [*services.values(), application, other_app, account, other, *grants.values()]
        record(session, SYSTEM, "sharing:test:seed", provider, covers=everything)
        session.commit()
    engine.dispose()
    return Registry(consumer, provider, application, account.client_id, api_key, other.client_id, services, grants)


def log_rows(engine: Engine, request_id: str) -> list[dict[str, Any]]:
    """Sharing-log entries of one request (read on a fresh connection)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM sharing_log_entries WHERE request_id = :r ORDER BY seq"),
                            {"r": request_id}).mappings().all()
    return [dict(row) for row in rows]


def _log_command() -> list[str]:
    """``dulieuso log`` once the main CLI has the sub-app, else the sub-app's own module."""
    from dulieuso import cli as main_cli

    names = {group.name for group in main_cli.app.registered_groups}
    if "log" in names:
        return [sys.executable, "-m", "dulieuso.cli", "log"]
    return [sys.executable, "-m", "dulieuso.sharing.cli"]


def cli(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``dulieuso log ...`` as a subprocess on the given data dir and database."""
    env = dict(os.environ, DULIEUSO_DATABASE_URL=database_url)
    return subprocess.run(
        [*_log_command(), *args, "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=180,
    )


def get_token(client: Any, client_id: str, secret: str = SECRET) -> str:
    response = client.post("/gateway/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])

