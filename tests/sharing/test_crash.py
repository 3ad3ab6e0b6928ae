# SPDX-License-Identifier: AGPL-3.0-or-later
"""Crash test: SIGKILL the real server in the middle of concurrent gateway traffic, restart
it, and check that every response a client received is in the sharing log and that the
chain still verifies (issue 5, "Bad input and faults")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from dulieuso.db import make_engine

try:
    from .test_gateway_support import ThreadServer, cli, free_port, fresh_database, log_rows, \
        misbehaving_upstream_app, seed_registry, SECRET
except ImportError:  # tests/sharing is not a package
    from test_gateway_support import ThreadServer, cli, free_port, fresh_database, log_rows, \
        misbehaving_upstream_app, seed_registry, SECRET

pytestmark = pytest.mark.live

# Used until app.py mounts the gateway itself: the platform app plus the gateway router.
LAUNCHER = """
import sys, uvicorn
from dulieuso.app import create_app
from dulieuso.config import Settings
from dulieuso.sharing import gateway
app = create_app(Settings())
if not any(getattr(r, "path", "") == "/gateway/token" for r in app.routes):
    app.include_router(gateway.router)
    app.add_middleware(gateway.GatewayDispatch)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
"""


def _gateway_in_app() -> bool:
    """Does ``create_app`` mount the gateway yet (then ``dulieuso serve`` is the server)?"""
    import inspect

    import dulieuso.app as platform

    return "gateway.router" in inspect.getsource(platform)


def start_server(data_dir: Path, url: str, port: int, log_file: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DULIEUSO_DATABASE_URL=url, DULIEUSO_DATA_DIR=str(data_dir), DULIEUSO_LOG_LEVEL="WARNING")
    if _gateway_in_app():
        command = [sys.executable, "-m", "dulieuso.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    else:
        command = [sys.executable, "-c", LAUNCHER, str(port)]
    with log_file.open("ab") as out:  # the child keeps its own handle
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("server did not start:\n" + log_file.read_text()[-3000:])
        time.sleep(0.2)


def test_killed_server_loses_no_delivered_response(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    kind = request.config.getoption("--db")
    with fresh_database(kind, tmp_path) as url, ThreadServer(misbehaving_upstream_app()) as upstream:
        registry = seed_registry(url, upstream.url, f"http://127.0.0.1:{free_port()}")
        data_dir = tmp_path / "data"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(data_dir, url, port, tmp_path / "server.log")
        received: list[tuple[str, int]] = []
        lock = threading.Lock()
        stop = threading.Event()
        try:
            token = httpx.post(f"{base}/gateway/token", data={
                "grant_type": "client_credentials", "client_id": registry.client_id, "client_secret": SECRET,
            }).json()["access_token"]
            targets = [
                f"/gateway/{registry.services['thua-dat'].code}/parcels/LC-03385-12-145",
                f"/gateway/{registry.services['doanh-nghiep'].code}/enterprises/6200023456",
                f"/gateway/{registry.services['test'].code}/echo",
                f"/gateway/{registry.services['ungranted'].code}/echo",  # refusals are logged too
            ]

            def client_loop(n: int) -> None:
                with httpx.Client(base_url=base, timeout=10) as client:
                    i = 0
                    while not stop.is_set():
                        rid = f"crash-{n}-{i}-{uuid.uuid4().hex[:6]}"
                        try:
                            response = client.get(targets[i % len(targets)], headers={
                                "Authorization": f"Bearer {token}", "X-Request-Id": rid})
                            response.read()
                        except httpx.HTTPError:
                            return  # the server died under us: this response never arrived
                        with lock:
                            received.append((response.headers.get("x-request-id", ""), response.status_code))
                        i += 1

            threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(16)]
            for thread in threads:
                thread.start()
            # Kill once traffic is flowing (the machine may be slow): at least 60 responses.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    if len(received) >= 60:
                        break
                time.sleep(0.1)
            server.send_signal(signal.SIGKILL)  # mid-traffic, no shutdown of any kind
            server.wait(10)
            for thread in threads:
                thread.join(15)
            stop.set()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)

        assert len(received) > 20, "too little traffic before the kill to mean anything"
        assert {status for _, status in received} >= {200, 403}

        server = start_server(data_dir, url, port, tmp_path / "server.log")
        try:
            after = httpx.get(f"{base}{targets[0]}", headers={"Authorization": f"Bearer {token}"})
            assert after.status_code == 200
        finally:
            server.terminate()
            server.wait(20)

        engine = make_engine(url)
        try:
            missing = [rid for rid, _ in received if len(log_rows(engine, rid)) != 1]
        finally:
            engine.dispose()
        assert not missing, f"{len(missing)} delivered responses are not in the log, e.g. {missing[:3]}"
        verify = cli(data_dir, url, "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
