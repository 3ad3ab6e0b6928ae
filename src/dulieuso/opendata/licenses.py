# SPDX-License-Identifier: AGPL-3.0-or-later
"""The licence list: a data file, seeded by the migration and kept in sync at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.opendata.models import License

LICENSES_FILE = Path(__file__).parent / "data" / "licenses.yaml"
DEFAULT_LICENSE = "CC-BY-4.0"
_FIELDS = ("id", "title_vi", "title_en", "url", "is_open", "attribution_required", "terms_vi", "terms_en", "is_default")


@lru_cache
def seed_rows(path: Path = LICENSES_FILE) -> tuple[dict[str, Any], ...]:
    """The licences of the data file as plain rows (with ``position``)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = []
    for position, item in enumerate(raw):
        row = {name: item.get(name) for name in _FIELDS}
        row["url"] = row["url"] or ""
        row["terms_vi"] = (row["terms_vi"] or "").strip()
        row["terms_en"] = (row["terms_en"] or "").strip()
        row["is_open"] = bool(row["is_open"])
        row["attribution_required"] = bool(row["attribution_required"])
        row["is_default"] = bool(row["is_default"])
        row["position"] = position
        rows.append(row)
    return tuple(rows)


def sync_licenses(session: Session) -> int:
    """Insert licences missing from the table and refresh texts of existing ones.
    Returns the number of rows written. Licences are reference data, not audited."""
    existing = {lic.id: lic for lic in session.scalars(select(License))}
    written = 0
    for row in seed_rows():
        found = existing.get(row["id"])
        if found is None:
            session.add(License(**row))
            written += 1
            continue
        if any(getattr(found, k) != v for k, v in row.items()):
            for key, value in row.items():
                setattr(found, key, value)
            written += 1
    session.flush()
    return written


def list_licenses(session: Session) -> list[License]:
    return list(session.scalars(select(License).order_by(License.position)))


def default_license_id(session: Session) -> str:
    found = session.scalar(select(License.id).where(License.is_default.is_(True)).limit(1))
    return found or DEFAULT_LICENSE
