"""Added latency and throughput of the exchange gateway, with the sharing log on.

One local upstream (the built-in demo upstream under uvicorn, one process) is called three
ways, side by side in one run, with wrk on loopback:

* **direct**: wrk → upstream;
* **gateway**: wrk → ``/gateway/{service}/...`` of a dulieuso server as ``create_app``
  builds it and ``dulieuso serve`` runs it (``dulieuso.server``), SQLite in WAL mode, a
  bearer token, a grant, every call logged and committed before the response is
  released → upstream; three runs: one worker with the log's fsync on (the default), one
  worker with it off, two workers with it off;
* **nginx** (peer): wrk → Debian's nginx ``proxy_pass`` with upstream keep-alive → upstream.

At 1 and 64 connections: requests/s, p50/p99 latency, and CPU milliseconds per request
of the proxy (the gateway's processes, or nginx) and of the upstream, read from
``/proc/<pid>/stat`` around each run (a better guide than requests/s on a shared machine);
added latency = (p50 or p99 via the proxy) − (direct). The 1-minute load average is
recorded with every row. Loopback only, bounded in time (about 3 minutes with defaults).

    .venv/bin/python bench/gateway_bench.py [--seconds 10] [--out bench/results/gateway.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

PATH = "/dan-so/communes/03385/population"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}

# The platform app as production builds it (create_app mounts the gateway), as a uvicorn
# app factory so that it can run with several workers (the log writer takes a database
# lock per batch).
FACTORY = """
import os
from dulieuso.app import create_app
from dulieuso.config import Settings


def make():
    app = create_app(Settings())
    app.state.sharing_log_fsync = os.environ.get("BENCH_LOG_FSYNC") == "1"
    return app
"""


# The server as ``dulieuso serve`` runs it (``dulieuso.server``: uvicorn with the
# platform's HTTP protocol); plain uvicorn for a tree that predates that module, so that
# one bench measures before and after (``PYTHONPATH`` pointing at each tree).
LAUNCHER = """
import sys
sys.path.insert(0, sys.argv[1])
try:
    from dulieuso.server import run
except ImportError:
    from uvicorn import run
run("bench_gateway_app:make", factory=True, host="127.0.0.1", port=int(sys.argv[2]), workers=int(sys.argv[3]),
    log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: process exited early ({proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", value)
    if not match:
        raise ValueError(value)
    return float(match.group(1)) * UNITS[match.group(2)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and all its descendants (uvicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        todo.extend(children.get(current, []))
    return total


def run_wrk(url: str, connections: int, seconds: int, script: Path | None) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": requests, "p50_ms": p50, "p99_ms": p99,
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def get_token(base: str, client_id: str, secret: str) -> str:
    """A bearer token from the gateway (a few tries: the first call starts the log writer)."""
    for attempt in range(3):
        response = httpx.post(f"{base}/gateway/token", timeout=30, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        })
        if response.status_code == 200:
            return str(response.json()["access_token"])
        print(f"token request {attempt + 1}: {response.status_code} {response.text[:300]}", flush=True)
        time.sleep(1)
    raise SystemExit("no token from the gateway")


def start_nginx(upstream_port: int, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/body;
  proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fastcgi;
  uwsgi_temp_path {workdir}/uwsgi;
  scgi_temp_path {workdir}/scgi;
  upstream demo {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://demo; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
""")
    return subprocess.Popen(["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed(url: str, upstream: str) -> tuple[str, str, str]:
    """A provider, a consumer, a published service, an application, an account and a grant."""
    from dulieuso.agencies.models import Agency, AgencyType
    from dulieuso.audit.service import install_guard, record
    from dulieuso.auth.permissions import SYSTEM
    from dulieuso.db import make_engine, make_sessionmaker
    from dulieuso.migrate import upgrade
    from dulieuso.sharing.access import hash_secret
    from dulieuso.sharing.models import (AccountStatus, Application, ApplicationStatus, ConnectionAccount,
                                         DataService, Grant, GrantStatus, ServiceStatus, SharingForm,
                                         SharingMethod)

    install_guard()
    engine = make_engine(url)
    upgrade(engine)
    secret = uuid.uuid4().hex
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        provider = Agency(code="CATINH", name_vi="Công an tỉnh", type=AgencyType.DEPARTMENT, search_text="catinh")
        consumer = Agency(code="SXD", name_vi="Sở Xây dựng", type=AgencyType.DEPARTMENT, search_text="sxd")
        session.add_all([provider, consumer])
        session.flush()
        service = DataService(code="dan-so", name="Dân số theo xã, phường", version="1.0",
                              provider_agency_id=provider.id, upstream_base_url=f"{upstream}/dan-so",
                              timeout_seconds=10.0, sharing_form=SharingForm.DEFAULT,
                              method=SharingMethod.ONLINE_QUERY, status=ServiceStatus.PUBLISHED, published_at=now,
                              operations=[{"name": "population", "method": "GET",
                                           "path": "/communes/{code}/population"}])
        application = Application(code="CPXD", name="Cấp phép xây dựng", consumer_agency_id=consumer.id,
                                  status=ApplicationStatus.ACTIVE)
        session.add_all([service, application])
        session.flush()
        account = ConnectionAccount(application_id=application.id, client_id="sxd-bench",
                                    secret_hash=hash_secret(secret), status=AccountStatus.ACTIVE)
        grant = Grant(application_id=application.id, service_id=service.id, purpose="Đo hiệu năng",
                      valid_from=now - timedelta(days=1), status=GrantStatus.ACTIVE)
        session.add_all([account, grant])
        session.flush()
        record(session, SYSTEM, "sharing:bench:seed", provider,
               covers=[consumer, service, application, account, grant])
        session.commit()
    engine.dispose()
    return "sxd-bench", secret, "dan-so"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results/gateway.json"))
    parser.add_argument("--variants", default="fsync-on,fsync-off,2-workers",
                        help="gateway runs to make, comma-separated: fsync-on, fsync-off, 2-workers")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install -y wrk nginx")

    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="dulieuso-gwbench-"))
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        up_port = free_port()
        upstream = f"http://127.0.0.1:{up_port}"
        log = (work / "upstream.log").open("w")
        logs.append(log)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "dulieuso.sharing.upstream_demo:app", "--host", "127.0.0.1",
             "--port", str(up_port), "--log-level", "warning", "--no-access-log"], stdout=log, stderr=log))
        wait_until_up(f"{upstream}{PATH}", procs[-1])

        data_dir = work / "data"
        db_url = f"sqlite:///{data_dir / 'dulieuso.sqlite3'}"
        data_dir.mkdir()
        client_id, secret, service = seed(db_url, upstream)
        env = dict(os.environ, DULIEUSO_DATA_DIR=str(data_dir), DULIEUSO_LOG_LEVEL="WARNING")
        env.pop("DULIEUSO_DATABASE_URL", None)

        nginx_port = free_port()
        procs.append(start_nginx(up_port, nginx_port, work))
        wait_until_up(f"http://127.0.0.1:{nginx_port}{PATH}", procs[-1])

        results = []

        upstream_pid = procs[0].pid

        def measure(name: str, url: str, script: Path | None, proxy_pid: int | None) -> None:
            for connections in (1, 64):
                run_wrk(url, connections, 2, script)  # warm-up
                load = os.getloadavg()[0]
                up_cpu = cpu_seconds(upstream_pid)
                proxy_cpu = cpu_seconds(proxy_pid) if proxy_pid else 0.0
                measured = run_wrk(url, connections, args.seconds, script)
                n = max(measured["requests"], 1)
                measured["upstream_cpu_ms_per_request"] = round((cpu_seconds(upstream_pid) - up_cpu) * 1000 / n, 3)
                measured["proxy_cpu_ms_per_request"] = (
                    round((cpu_seconds(proxy_pid) - proxy_cpu) * 1000 / n, 3) if proxy_pid else None)
                measured["load_average_1m"] = round(load, 2)
                results.append({"target": name, "connections": connections, **measured})
                proxy = measured["proxy_cpu_ms_per_request"]
                print(f"{name:34s} c={connections:<3d} {measured['rps']:9.1f} req/s  p50 {measured['p50_ms']:7.2f} ms"
                      f"  p99 {measured['p99_ms']:7.2f} ms  cpu/req proxy "
                      f"{'—' if proxy is None else f'{proxy:.3f}'} ms, upstream "
                      f"{measured['upstream_cpu_ms_per_request']:.3f} ms  load {load:.2f}"
                      f"  non-2xx {measured['non_2xx']} {measured['socket_errors']}", flush=True)

        measure("direct", f"{upstream}{PATH}", None, None)
        measure("nginx proxy_pass (peer)", f"http://127.0.0.1:{nginx_port}{PATH}", None, procs[-1].pid)
        entries = {}
        (work / "bench_gateway_app.py").write_text(FACTORY)
        chosen = set(args.variants.split(","))
        variants = [(fsync, workers, label) for key, fsync, workers, label in (
            ("fsync-on", "1", 1, "gateway (log fsync on)"), ("fsync-off", "0", 1, "gateway (log fsync off)"),
            ("2-workers", "0", 2, "gateway (fsync off, 2 workers)")) if key in chosen]
        for fsync, workers, label in variants:
            gw_port = free_port()
            base = f"http://127.0.0.1:{gw_port}"
            log = (work / f"gateway-{fsync}-{workers}.log").open("w")
            logs.append(log)
            gateway = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, str(work), str(gw_port), str(workers)],
                env={**env, "BENCH_LOG_FSYNC": fsync}, stdout=log, stderr=log)
            procs.append(gateway)
            wait_until_up(f"{base}/gateway/token", gateway)
            token = get_token(base, client_id, secret)
            script = work / "auth.lua"
            script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            measure(label, f"{base}/gateway/{service}/communes/03385/population", script, gateway.pid)
            gateway.terminate()
            gateway.wait(30)
            procs.remove(gateway)
        import sqlite3

        with sqlite3.connect(data_dir / "dulieuso.sqlite3") as conn:
            entries["log_entries"] = conn.execute("SELECT count(*) FROM sharing_log_entries").fetchone()[0]
            entries["checkpoints"] = conn.execute("SELECT count(*) FROM sharing_log_checkpoints").fetchone()[0]

        def row(target: str, connections: int) -> dict[str, float]:
            return next(r for r in results if r["target"] == target and r["connections"] == connections)

        summary = {}
        for target in ("nginx proxy_pass (peer)", *(label for _, _, label in variants)):
            for connections in (1, 64):
                r, d = row(target, connections), row("direct", connections)
                summary[f"{target} c={connections}"] = {
                    "added_p50_ms": round(r["p50_ms"] - d["p50_ms"], 3),
                    "added_p99_ms": round(r["p99_ms"] - d["p99_ms"], 3),
                    "rps_share_of_nginx": round(r["rps"] / row("nginx proxy_pass (peer)", connections)["rps"], 3),
                    "proxy_cpu_ms_per_request": r["proxy_cpu_ms_per_request"],
                }
        for key, value in summary.items():
            print(f"{key:40s} added p50 {value['added_p50_ms']:7.2f} ms  added p99 {value['added_p99_ms']:7.2f} ms  "
                  f"rps/nginx {value['rps_share_of_nginx']:.2f}  cpu/req {value['proxy_cpu_ms_per_request']} ms")
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "load_average_before": load_before,
                        "load_average_after": os.getloadavg()},
            "seconds_per_run": args.seconds,
            "path": PATH,
            "gateway_workers": {label: workers for _, workers, label in variants},
            "results": results,
            "summary": summary,
            **entries,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"written {args.out}")
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


if __name__ == "__main__":
    main()
