# SPDX-License-Identifier: AGPL-3.0-or-later
"""Named extension point: what a merged agency owned is handed over to its successor.

When agencies merge (``service.merge_agencies``), every registered handover runs once per
source agency, inside the merge's transaction, in registration order. The agencies domain
registers the built-in ones (staff accounts, sub-agencies); later domains register theirs
(databases, data services, grants), for example at the bottom of their ``service.py``::

    from dulieuso.agencies.interfaces import register_handover

    def _hand_over_databases(session, actor, source, successor) -> int:
        ...  # move rows, record audit events for them, return how many moved

    register_handover("databases", _hand_over_databases)

A handler returns how many objects it moved. The merge records one
``agencies:agency:handover`` audit event per source with these counts. That event covers
the staff accounts the built-in handler moves; a handler that changes other audited
objects records its own audit events for them (so each object's history shows the move).
A handler that raises aborts the whole merge: nothing is half-moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from dulieuso.auth.permissions import Actor

if TYPE_CHECKING:
    from dulieuso.agencies.models import Agency

HandoverFn = Callable[[Session, Actor, "Agency", "Agency"], int]

_HANDOVERS: dict[str, HandoverFn] = {}

#: Domains whose handovers always run; each module registers itself when imported.
#: Imported lazily (they depend on the agencies domain, not the other way round).
DOMAIN_HANDOVERS = ("dulieuso.catalog.handover", "dulieuso.sharing.handover")


def register_handover(name: str, fn: HandoverFn) -> None:
    """Register ``fn`` under ``name``. Registering the same function again is a no-op."""
    existing = _HANDOVERS.get(name)
    if existing is not None and existing is not fn:
        raise ValueError(f"a different handover is already registered as {name!r}")
    _HANDOVERS[name] = fn


def unregister_handover(name: str) -> None:
    """Remove a handover (tests, or a domain that is switched off)."""
    _HANDOVERS.pop(name, None)


def handovers() -> list[tuple[str, HandoverFn]]:
    """The registered handovers, in the order they run."""
    import importlib

    for module in DOMAIN_HANDOVERS:
        importlib.import_module(module)
    return list(_HANDOVERS.items())
