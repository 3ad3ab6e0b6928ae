# SPDX-License-Identifier: AGPL-3.0-or-later
"""The built-in demo upstream: three provider systems behind the gateway, in one ASGI app.

Mounted at ``/demo-upstream`` in demo mode, so that a newcomer can request access to a
service, have it approved and call it through ``/gateway/...`` within minutes, with no
other system running. The data (fictitious, but shaped like the real registers of Lai
Châu) comes from the CSV files in ``sharing/upstream_data/``; some fields are personal
data (CCCD numbers, phones, e-mails, owners' names) so that a grant's field limits are
visible in the gateway's responses.

=====================================  ==============================================
upstream base URL (service)            operations
=====================================  ==============================================
``/demo-upstream/thua-dat``            ``GET /parcels/{parcel_id}``: one land parcel
(Sở Nông nghiệp và Môi trường)         ``GET /parcels?commune=&land_use=&q=&limit=``:
                                       search, ``{"data": [...], "total": n}``
``/demo-upstream/doanh-nghiep``        ``GET /enterprises/{tax_code}``: one enterprise
(Sở Tài chính)                         ``GET /enterprises?q=&commune=&limit=``: search
``/demo-upstream/dan-so``              ``GET /communes/{code}/population``: population
(Công an tỉnh / Cục Thống kê)          ``GET /communes``: every commune with its count
=====================================  ==============================================

Run it alone with ``uvicorn dulieuso.sharing.upstream_demo:app --port 8100``.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATA_DIR = Path(__file__).parent / "upstream_data"
MAX_LIMIT = 100

_INTS = {"population", "households", "male", "female", "year", "charter_capital_vnd", "employees",
         "map_sheet", "parcel_no", "owner_birth_year"}
_FLOATS = {"area_m2", "area_km2"}


def _value(name: str, raw: str) -> Any:
    if raw == "":
        return None
    if name in _INTS:
        return int(raw)
    if name in _FLOATS:
        return float(raw)
    return raw


@lru_cache
def load(name: str) -> tuple[dict[str, Any], ...]:
    """Rows of ``upstream_data/<name>.csv`` with numbers as numbers and blanks as null."""
    with (DATA_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return tuple({k: _value(k, v) for k, v in row.items()} for row in csv.DictReader(handle))


def _commune_names() -> dict[str, str]:
    return {row["code"]: row["name"] for row in load("communes")}


def _error(status: int, code: str, message: str) -> JSONResponse:
    # The provider's own error shape: the gateway passes upstream errors through unchanged.
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _limit(request: Request) -> int:
    try:
        return max(1, min(MAX_LIMIT, int(request.query_params.get("limit", "20"))))
    except ValueError:
        return 20


def _search(rows: tuple[dict[str, Any], ...], request: Request, text_fields: tuple[str, ...],
            filters: dict[str, str]) -> JSONResponse:
    q = request.query_params.get("q", "").strip().lower()
    found = []
    for row in rows:
        if any(request.query_params.get(param) and str(row.get(column)) != request.query_params[param]
               for param, column in filters.items()):
            continue
        if q and not any(q in str(row.get(f) or "").lower() for f in text_fields):
            continue
        found.append(row)
    limit = _limit(request)
    return JSONResponse({"data": found[:limit], "total": len(found), "limit": limit})


async def parcel(request: Request) -> JSONResponse:
    parcel_id = request.path_params["parcel_id"]
    for row in load("parcels"):
        if row["parcel_id"] == parcel_id:
            return JSONResponse({**row, "commune_name": _commune_names().get(row["commune_code"])})
    return _error(404, "parcel_not_found", f"Không tìm thấy thửa đất {parcel_id}.")


async def parcels(request: Request) -> JSONResponse:
    return _search(load("parcels"), request, ("address", "land_use_label", "parcel_id"),
                   {"commune": "commune_code", "land_use": "land_use", "owner_cccd": "owner_cccd"})


async def enterprise(request: Request) -> JSONResponse:
    tax_code = request.path_params["tax_code"]
    if not tax_code.isdigit() or len(tax_code) not in (10, 13):
        return _error(400, "invalid_tax_code", "Mã số thuế phải có 10 hoặc 13 chữ số.")
    for row in load("enterprises"):
        if row["tax_code"] == tax_code:
            return JSONResponse(row)
    return _error(404, "enterprise_not_found", f"Không tìm thấy doanh nghiệp có mã số thuế {tax_code}.")


async def enterprises(request: Request) -> JSONResponse:
    return _search(load("enterprises"), request, ("name", "short_name", "industry"),
                   {"commune": "commune_code", "status": "status"})


def _population(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "commune_code": row["code"],
        "commune_name": row["name"],
        "kind": row["kind"],
        "population": row["population"],
        "households": row["households"],
        "male": row["male"],
        "female": row["female"],
        "area_km2": row["area_km2"],
        "density_per_km2": round(row["population"] / row["area_km2"], 1),
        "year": row["year"],
        "source": "Số liệu minh họa (demo), không phải số liệu chính thức",
    }


async def population(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    for row in load("communes"):
        if row["code"] == code:
            return JSONResponse(_population(row))
    return _error(404, "commune_not_found", f"Không tìm thấy xã, phường có mã {code}.")


async def communes(request: Request) -> JSONResponse:
    rows = [_population(row) for row in load("communes")]
    return JSONResponse({"data": rows, "total": len(rows), "province": "Lai Châu"})


async def index(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "name": "Hệ thống nguồn minh họa (demo upstream)",
            "services": {
                "thua-dat": ["GET /parcels/{parcel_id}", "GET /parcels"],
                "doanh-nghiep": ["GET /enterprises/{tax_code}", "GET /enterprises"],
                "dan-so": ["GET /communes/{code}/population", "GET /communes"],
            },
        }
    )


routes = [
    Route("/", index),
    Route("/thua-dat/parcels", parcels),
    Route("/thua-dat/parcels/{parcel_id}", parcel),
    Route("/doanh-nghiep/enterprises", enterprises),
    Route("/doanh-nghiep/enterprises/{tax_code}", enterprise),
    Route("/dan-so/communes", communes),
    Route("/dan-so/communes/{code}/population", population),
]

#: The ASGI app to mount at ``/demo-upstream``.
app = Starlette(routes=routes)
