"""Every table, imported in one place so Alembic and tests see the whole schema.

Each domain keeps its tables in ``<domain>/models.py``; importing them here registers
them on ``Base.metadata``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from dulieuso.db import Base

DOMAINS = (
    "auth",
    "agencies",
    "audit",
    "policy",
    "notifications",
    "catalog",
    "opendata",
    "datastore",
    "sharing",
    "quality",
    "oversight",
)

for _domain in DOMAINS:
    if (Path(__file__).parent / _domain / "models.py").exists():
        importlib.import_module(f"dulieuso.{_domain}.models")

metadata = Base.metadata
