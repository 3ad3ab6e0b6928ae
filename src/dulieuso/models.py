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

_HERE = Path(__file__).parent
for _domain in DOMAINS:
    # A domain's tables live in models.py, and large domains may add <part>_models.py.
    for _path in sorted((_HERE / _domain).glob("*models.py")):
        importlib.import_module(f"dulieuso.{_domain}.{_path.stem}")

metadata = Base.metadata
