# SPDX-License-Identifier: AGPL-3.0-or-later
"""A starting server loads the catalog's and the portal's search indexes before the
first search asks for them."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dulieuso.auth.models import Role
from dulieuso.catalog import search as catalog_search
from dulieuso.catalog.models import SearchState
from dulieuso.opendata import search_index, service
from dulieuso.ops import warmup
from tests.conftest import make_agency
from tests.opendata.conftest import make_database, staff


def test_load_search_indexes_fills_both_indexes(db: Session, session_factory: sessionmaker[Session]) -> None:
    agency = make_agency(db)
    source = make_database(db, agency)
    catalog_search.mark_changed(db)
    created = service.create_dataset(db, staff(Role.AGENCY_EDITOR, agency), {
        "title": "Danh sách trạm quan trắc khởi động", "source_database": source.code, "notes": "Mô tả",
    })
    db.commit()  # a savepoint: the test's connection sees it, nothing outside does
    # Indexes are per process: forget what earlier tests in this worker loaded.
    catalog_search._indexes.clear()
    search_index._INDEXES.clear()

    took = warmup.load_search_indexes(session_factory)

    assert set(took) == {"catalog", "opendata"} and all(seconds >= 0 for seconds in took.values())
    engine = db.get_bind().engine
    token = db.scalar(select(SearchState.token).where(SearchState.id == catalog_search.STATE_ID))
    assert catalog_search._indexes[engine].token == token
    index = search_index.index_for(db)
    assert index.token is not None and index.by_name.get(created.name) is not None


def test_a_failed_warm_up_is_logged_and_leaves_the_server_running(caplog) -> None:
    def broken() -> Session:
        raise RuntimeError("database unavailable")

    with caplog.at_level(logging.ERROR, logger="dulieuso.ops.warmup"):
        thread = warmup.start(broken)  # type: ignore[arg-type]
        thread.join(10)
    assert not thread.is_alive()
    assert any("warm-up failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_server_with_its_own_database_loads_the_indexes_as_it_starts(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from dulieuso.app import create_app
    from dulieuso.config import Settings

    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret-key-not-for-production")
    app = create_app(settings)  # its own engine on the data dir's SQLite database, migrated
    url = app.state.engine.url.render_as_string(hide_password=False)
    search_index._INDEXES.pop(url, None)
    with TestClient(app):
        app.state.search_warmup.join(30)
        assert search_index._INDEXES[url].token is not None
    app.state.engine.dispose()
