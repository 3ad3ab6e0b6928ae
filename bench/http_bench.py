"""Requests per second and p50/p99 latency of GET /api/v1/agencies and the home page.

Starts ``dulieuso demo`` (SQLite, demo data) on a free loopback port, and as the peer
nginx serving the same agencies JSON as a static file, then drives both with wrk at 1
and 32 concurrent connections. Loopback only, bounded in time.

    .venv/bin/python bench/http_bench.py [--seconds 10] [--out bench/results/http.json]

Needs Debian's ``wrk`` and ``nginx`` (apt-get install -y wrk nginx).
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
from datetime import UTC, datetime
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * UNITS[match.group(2)]


def run_wrk(url: str, connections: int, seconds: int) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(errors.group(1)) if errors else 0}


def start_nginx(root: Path, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""
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
  types {{ application/json json; text/html html; }}
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""
    )
    return subprocess.Popen(["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results/http.json"))
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install -y wrk nginx")

    work = Path(tempfile.mkdtemp(prefix="dulieuso-bench-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user and must read the files
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DULIEUSO_LOG_LEVEL="WARNING")
    env.pop("DULIEUSO_DATABASE_URL", None)
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "dulieuso.cli", "demo", "--port", str(port), "--data-dir", str(work / "data")],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    nginx = None
    try:
        wait_until_up(f"{base}/healthz", server)
        static = work / "static"
        (static / "api").mkdir(parents=True)
        agencies = httpx.get(f"{base}/api/v1/agencies").content
        (static / "api" / "agencies.json").write_bytes(agencies)
        (static / "index.html").write_bytes(httpx.get(f"{base}/").content)
        for path in static.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        static.chmod(0o755)
        nginx_port = free_port()
        nginx = start_nginx(static, nginx_port, work)
        wait_until_up(f"http://127.0.0.1:{nginx_port}/index.html", nginx)

        targets = {
            "dulieuso GET /api/v1/agencies": f"{base}/api/v1/agencies",
            "dulieuso GET / (home page)": f"{base}/",
            "nginx static agencies.json (peer)": f"http://127.0.0.1:{nginx_port}/api/agencies.json",
            "nginx static index.html (peer)": f"http://127.0.0.1:{nginx_port}/index.html",
        }
        results = []
        for name, url in targets.items():
            for connections in (1, 32):
                run_wrk(url, connections, 2)  # warm-up
                measured = run_wrk(url, connections, args.seconds)
                if measured["non_2xx"]:
                    raise SystemExit(f"{name}: {measured['non_2xx']} non-2xx responses; fix the setup first")
                results.append({"target": name, "connections": connections, **measured})
                print(f"{name:40s} c={connections:<3d} {measured['rps']:9.1f} req/s  "
                      f"p50 {measured['p50_ms']:7.2f} ms  p99 {measured['p99_ms']:7.2f} ms  non-2xx {measured['non_2xx']}")
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "agencies_body_bytes": len(agencies),
            "seconds_per_run": args.seconds,
            "results": results,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"written {args.out}")
    finally:
        for proc in (server, nginx):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()


if __name__ == "__main__":
    main()
