# SPDX-License-Identifier: AGPL-3.0-or-later
"""The newcomer's walk on a real server process: the demo is loaded, the administrator
approves the pending request (acting for the provider), the consumer's system calls the
gateway with the demo account, and the call shows in the provider's statistics and in
"who accessed this database's data"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from dulieuso.audit.service import install_guard
from dulieuso.db import make_engine, make_sessionmaker
from dulieuso.migrate import upgrade
from tests.conftest import free_port

pytestmark = pytest.mark.live

# The platform app (which mounts the gateway) with the demo upstream, which it mounts
# only in demo mode.
LAUNCHER = """
import sys, uvicorn
from dulieuso.app import create_app
from dulieuso.config import Settings
from dulieuso.sharing import upstream_demo
app = create_app(Settings())
if not any(getattr(r, "path", "") == "/demo-upstream" for r in app.routes):
    app.mount("/demo-upstream", upstream_demo.app)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
"""


def _load_demo(url: str, base_url: str, data_dir: Path) -> None:
    from dulieuso import demo
    from dulieuso.config import Settings

    install_guard()
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        demo.load(session, Settings(data_dir=data_dir, base_url=base_url, database_url=url))
        session.commit()
    engine.dispose()


def test_request_approve_call_and_see_it_in_the_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    _load_demo(url, base, tmp_path / "data")
    env = dict(os.environ, DULIEUSO_DATABASE_URL=url, DULIEUSO_DATA_DIR=str(tmp_path / "data"),
               DULIEUSO_BASE_URL=base, DULIEUSO_LOG_LEVEL="WARNING")
    with (tmp_path / "server.log").open("wb") as out:
        server = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(0.3)
        key = {"X-API-Key": "demo-snnmt-apikey-2026", "X-Purpose": quote("Lập kế hoạch sử dụng đất")}
        path = "/gateway/dan-so/communes/03385/population"
        assert httpx.get(base + path, headers=key).json()["error"]["code"] == "gateway.no_grant"

        with httpx.Client(base_url=base, timeout=30) as admin:
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/login").text).group(1)
            admin.post("/login", data={"email": "quantri@demo.laichau.vn", "password": "demo-quantri-2026", "csrf_token": csrf})
            pending = admin.get("/api/v1/connection-requests?box=all&status=submitted").json()["items"]
            assert [p["service_code"] for p in pending] == ["dan-so"]
            # The demo request asks to keep the data beyond its period of use (Art. 42(3)):
            # approving it without deciding on that is refused, then granted with it.
            url = f"/api/v1/connection-requests/{pending[0]['id']}/approve"
            undecided = admin.post(url, json={"quota_per_minute": 30}, headers={"X-CSRF-Token": csrf})
            assert undecided.status_code == 422 and "allow_storage" in undecided.text, undecided.text
            approved = admin.post(url, json={"quota_per_minute": 30, "allow_storage": True}, headers={"X-CSRF-Token": csrf})
            assert approved.status_code == 200, approved.text

            token = httpx.post(f"{base}/gateway/token", data={
                "grant_type": "client_credentials", "client_id": "demo-snnmt-motcua",
                "client_secret": "demo-snnmt-secret-2026"}).json()["access_token"]
            for _ in range(30):  # the gateway caches decisions for a few seconds
                response = httpx.get(base + path, headers={"Authorization": f"Bearer {token}", "X-Case-Id": "HS-2026-001"})
                if response.status_code == 200:
                    break
                time.sleep(0.5)
            assert response.status_code == 200 and response.json()["population"] == 28416
            # The provider's Date and Server are not passed on next to the server's own.
            assert len(response.headers.get_list("date")) == 1
            assert response.headers.get_list("server") == ["uvicorn"]
            assert len(response.headers.get_list("x-request-id")) == 1
            assert "male" not in response.json()  # not among the fields requested

            stats = admin.get("/api/v1/sharing/statistics?service=dan-so").json()
            assert stats["total"]["ok"] >= 1 and stats["total"]["refused"] >= 1
            access = admin.get("/api/v1/sharing/statistics/database/LCU-SDTTG-DANTOC").json()
            assert access["items"][0]["consumer_agency_code"] == "LCU-SNNMT"
            assert access["items"][0]["case_id"] == "HS-2026-001"
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
