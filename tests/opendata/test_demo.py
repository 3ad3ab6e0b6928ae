# SPDX-License-Identifier: AGPL-3.0-or-later
"""The demo data loads, ingests, publishes what the gate allows, and loads only once."""

from __future__ import annotations

from sqlalchemy import func, select

from dulieuso.agencies import service as agencies
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM
from dulieuso.catalog.demo import load_demo as catalog_demo
from dulieuso.opendata import list_issues, search
from dulieuso.opendata.demo import load_demo
from dulieuso.opendata.models import Dataset, IngestStatus, Resource


def test_demo_loads_once(db, settings) -> None:
    settings.ensure_data_dir()
    agencies.load_demo(db, SYSTEM)
    catalog_demo(db, SYSTEM)
    first = load_demo(db, SYSTEM, settings=settings)
    assert first["datasets"] >= 8
    statuses = set(db.scalars(select(Resource.ingest_status)))
    assert statuses == {IngestStatus.SUCCEEDED}
    again = load_demo(db, SYSTEM, settings=settings)
    assert again == {"groups": 0, "datasets": 0, "published": 0, "list": {"phases": 0, "plan_items": 0, "list_issues": 0}}
    assert db.scalar(select(func.count()).select_from(Dataset)) == first["datasets"]
    assert first["published"] == first["datasets"]  # every demo source allows open data
    assert first["list"]["list_issues"] == 1
    assert all(list_issues.on_issued_list(db, d) for d in db.scalars(select(Dataset)))  # each is planned and issued
    found = search.search_datasets(db, ANONYMOUS, "truong hoc", facet_fields=["groups"])
    assert found.datasets[0].name == "danh-sach-truong-hoc-theo-xa-phuong"
    assert [(f.name, f.count) for f in found.facets["groups"]] == [("giao-duc", 1)]
    db.commit()
