# SPDX-License-Identifier: AGPL-3.0-or-later
"""Demo open data: topics and about ten datasets of Lai Châu agencies with small CSV,
XLSX and GeoJSON resources (``opendata/data/demo_datasets.yaml`` and ``data/demo/``),
ingested at load time and published when the publication gate allows.

The demo's open-data list (``data/voice_demo.yaml``) is issued after the datasets are
created and before they are published, so the issued-list gate lets them through.

Idempotent: a dataset whose slug exists is left alone. Call after the agencies and the
catalog demo (datasets link to catalog databases by code; a missing or refused one is
skipped and the dataset stays a draft).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.auth.permissions import Actor
from dulieuso.config import Settings
from dulieuso.opendata import plan, resources, service
from dulieuso.opendata.licenses import sync_licenses
from dulieuso.opendata.models import Dataset, Group
from dulieuso.opendata.text import make_slug

DATA = Path(__file__).parent / "data"
DEMO_FILE = DATA / "demo_datasets.yaml"


def _source(session: Session, codes: list[str]) -> str | None:
    for code in codes:
        database = service._database(session, code)
        if database is not None and not service.source_problems(session, database, for_publication=True):
            return code
    return None


def load_demo(session: Session, actor: Actor, *, settings: Settings) -> dict[str, Any]:
    """Load the demo topics and datasets (``actor``: a platform administrator), then the
    demo plan with its issued open-data list (``plan.load_demo_list``: the planned
    datasets link to the new drafts), then publish what the gate allows. Returns counts
    of what was created and published (``list``: the plan's counts). Commits nothing."""
    spec: dict[str, Any] = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    sync_licenses(session)
    counts: dict[str, Any] = {"groups": 0, "datasets": 0, "published": 0}
    created: list[Dataset] = []
    known = set(session.scalars(select(Group.name)))
    for position, group in enumerate(spec["groups"]):
        if group["name"] not in known:
            service.save_group(session, actor, {**group, "position": position})
            counts["groups"] += 1
    for item in spec["datasets"]:
        name = make_slug(item["title"])
        if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
            continue
        agency = session.scalar(select(Agency).where(Agency.code == item["agency"]))
        if agency is None:
            continue
        data = {key: item[key] for key in ("title", "title_en", "notes", "tags", "groups", "update_frequency", "temporal_from",
                                            "temporal_to", "spatial", "spatial_label") if key in item}
        data["agency"] = agency.code
        data["license_id"] = item.get("license_id", "lai-chau-open-data")
        data["contact_name"] = agency.name_vi
        data["contact_email"] = agency.email or ""
        source = _source(session, item.get("sources", []))
        if source:
            data["source_database"] = source
        dataset = service.create_dataset(session, actor, data)
        counts["datasets"] += 1
        for res in item.get("resources", []):
            path = DATA / "demo" / res["file"]
            with path.open("rb") as handle:
                resources.add_resource(
                    session, actor, dataset.id, {"name": res.get("name", res["file"]), "description": res.get("description", "")},
                    settings=settings, upload=resources.Upload(res["file"], handle), wait=True,
                )
        created.append(dataset)
    # The province's open-data list is issued before anything is published: with the
    # ``open_data_issued_list_required`` switch on, only datasets on it may be.
    counts["list"] = plan.load_demo_list(session, actor)
    for dataset in created:
        if not service.publication_blockers(session, dataset):
            service.publish(session, actor, dataset.id)
            counts["published"] += 1
    return counts
