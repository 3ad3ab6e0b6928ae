"""Test fixtures.

Tier by fixture: no ``db`` fixture = unit test. ``db``/``client`` tests run against a
database built once per worker from the migrations; each test runs inside an outer
transaction with a SAVEPOINT and is rolled back. ``--db=postgresql`` runs the same
suite on PostgreSQL (``DULIEUSO_TEST_DATABASE_URL``), each worker in its own schema.
``tests/e2e`` runs only with ``--e2e``.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from dulieuso.agencies.models import Agency, AgencyType
from dulieuso.app import create_app
from dulieuso.audit.service import install_guard
from dulieuso.auth import service as auth_service
from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import SYSTEM, Actor
from dulieuso.config import Settings
from dulieuso.db import _sqlite_pragmas
from dulieuso.migrate import upgrade

PASSWORD = "mat-khau-thu-nghiem"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite", choices=("sqlite", "postgresql"), help="database to test on")
    parser.addoption("--e2e", action="store_true", default=False, help="run real-browser tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--e2e"):
        return
    skip = pytest.mark.skip(reason="browser test: run with --e2e")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this worker; yields its URL."""
    if request.config.getoption("--db") == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield f"sqlite:///{path}"
        return
    base = os.environ.get("DULIEUSO_TEST_DATABASE_URL")
    if not base:
        pytest.exit("--db=postgresql needs DULIEUSO_TEST_DATABASE_URL", returncode=2)
    schema = f"t_{_worker()}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    install_guard()
    if database_url.startswith("sqlite"):
        # pysqlite savepoint recipe (SQLAlchemy docs): let SQLAlchemy emit BEGIN itself.
        eng = create_engine(database_url, connect_args={"check_same_thread": False})

        @event.listens_for(eng, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, record)
            dbapi_connection.isolation_level = None

        @event.listens_for(eng, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    else:
        eng = create_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Any]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Any) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret-key-not-for-production")


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session], engine: Engine) -> Any:
    application = create_app(settings, session_factory=session_factory, migrate=False)
    application.state.engine = engine
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# -- factories -------------------------------------------------------------------------


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run`` on a thread of its own. The browser tests' Playwright (sync API)
    keeps an event loop running on the main thread of a test worker for the whole
    session, and ``asyncio.run`` refuses to start where a loop runs."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-loop") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def make_agency(db: Session, code: str | None = None, **fields: Any) -> Agency:
    code = code or f"T-{uuid.uuid4().hex[:8].upper()}"
    fields.setdefault("name_vi", f"Sở Thử nghiệm {code}")
    fields.setdefault("type", AgencyType.DEPARTMENT)
    agency = Agency(code=code, search_text=code.lower(), **fields)
    db.add(agency)
    db.flush()
    from dulieuso.audit.service import EventTag, record

    record(db, SYSTEM, EventTag.AGENCY_CREATE, agency, label=code)
    return agency


def make_user(db: Session, role: Role = Role.PLATFORM_ADMIN, agency: Agency | None = None, **fields: Any) -> User:
    if role in {Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER, Role.CONSUMER_SYSTEM} and agency is None:
        agency = make_agency(db)
    data = auth_service.NewUser(
        email=fields.pop("email", f"{role.value}-{uuid.uuid4().hex[:6]}@example.vn"),
        full_name=fields.pop("full_name", "Nguyễn Văn Thử"),
        role=role,
        password=fields.pop("password", PASSWORD),
        agency_id=agency.id if agency else None,
    )
    user = auth_service.create_user(db, SYSTEM, data)
    db.flush()
    return user


def actor_of(user: User) -> Actor:
    return auth_service.actor_for(user)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, user: User, password: str = PASSWORD) -> str:
    """Log ``client`` in as ``user`` through the real form; returns a CSRF token."""
    token = csrf_from(client)
    response = client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return token


def bearer(db: Session, user: User) -> dict[str, str]:
    _, plain = auth_service.create_token(db, actor_of(user), user, name="test")
    db.commit()
    return {"Authorization": f"Bearer {plain}"}


# -- a live server on loopback (browser, ckanapi and SMTP tests) ---------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, url: str, data_dir: Path, env: dict[str, str]) -> None:
        self.url = url
        self.data_dir = data_dir
        self.env = env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dulieuso.cli", *args, "--data-dir", str(self.data_dir)],
            env=self.env, capture_output=True, text=True, timeout=120,
        )


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``dulieuso demo`` running as a real process, on the database under test."""
    data_dir = tmp_path_factory.mktemp("live")
    env = dict(os.environ)
    env.pop("DULIEUSO_DATABASE_URL", None)
    schema = None
    admin = None
    if request.config.getoption("--db") == "postgresql":
        base = os.environ["DULIEUSO_TEST_DATABASE_URL"]
        schema = f"live_{_worker()}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        env["DULIEUSO_DATABASE_URL"] = f"{base}{sep}options=-csearch_path%3D{schema}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env["DULIEUSO_BASE_URL"] = url
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dulieuso.cli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("live server did not start:\n" + (data_dir / "server.log").read_text()[-3000:])
        time.sleep(0.3)
    yield LiveServer(url, data_dir, env)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    if admin is not None and schema:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
