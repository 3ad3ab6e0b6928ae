# SPDX-License-Identifier: AGPL-3.0-or-later
"""Loading the in-memory search indexes when a server starts.

The catalog's search (``catalog.search``) and the open-data portal's (``opendata.
search_index``) keep an index per process, loaded on the first search: 1-2.5 s at the
sizes of ``bench/`` (10,000 databases; 50,000 datasets). A server loads both in a
background thread as it starts, so that the first visitor does not wait for it; a search
that arrives earlier waits for the same load (each index has its lock) instead of
starting a second one. A failure is logged and left to the first search, which tries
again and shows its own error.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def load_search_indexes(session_factory: sessionmaker[Session]) -> dict[str, float]:
    """Load the catalog's and the portal's search indexes for the database of
    ``session_factory``; returns the seconds each took."""
    from dulieuso.catalog import search as catalog_search
    from dulieuso.opendata import search_index

    took: dict[str, float] = {}
    with session_factory() as session:
        started = time.perf_counter()
        catalog_search.warm(session)
        took["catalog"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        index = search_index.index_for(session)
        with index.lock:
            index.ensure_current(session)
        took["opendata"] = round(time.perf_counter() - started, 3)
        session.rollback()
    return took


def start(session_factory: sessionmaker[Session]) -> threading.Thread:
    """Load the indexes in a daemon thread (it never keeps the server from stopping)."""

    def run() -> None:
        try:
            took = load_search_indexes(session_factory)
        except Exception:  # the first search loads them and reports its own error
            log.exception("search index warm-up failed")
        else:
            log.info("search indexes loaded", extra={"seconds": took})

    thread = threading.Thread(target=run, name="search-warmup", daemon=True)
    thread.start()
    return thread
