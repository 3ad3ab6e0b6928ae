"""Operations: health check and Prometheus metrics."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from dulieuso.migrate import current_revision, head_revision

router = APIRouter(tags=["ops"])


def run_checks(app_state: Any) -> dict[str, dict[str, Any]]:
    """Check the database, the storage folder and the migrations; used by /healthz and CLI."""
    checks: dict[str, dict[str, Any]] = {}
    engine = app_state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "dialect": engine.dialect.name}
    except Exception as exc:  # the check reports any failure rather than raising
        checks["database"] = {"ok": False, "error": str(exc)[:300]}
    storage = app_state.settings.storage_dir
    try:
        storage.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage, prefix=".health-", delete=True) as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
        checks["storage"] = {"ok": True, "path": str(storage)}
    except OSError as exc:
        checks["storage"] = {"ok": False, "error": str(exc)[:300]}
    try:
        current, head = current_revision(engine), head_revision(engine)
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
    except Exception as exc:
        checks["migrations"] = {"ok": False, "error": str(exc)[:300]}
    return checks


@router.get("/healthz", summary="Health check (database, storage, migrations)")
def healthz(request: Request) -> JSONResponse:
    checks = run_checks(request.app.state)
    ok = all(check["ok"] for check in checks.values())
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if ok else "failing", "failing": failing, "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
