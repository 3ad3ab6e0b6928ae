# SPDX-License-Identifier: AGPL-3.0-or-later
"""The demo catalog loads through the services, once."""

from __future__ import annotations

from sqlalchemy import func, select

from dulieuso.agencies.service import load_demo as load_agencies
from dulieuso.auth.permissions import ANONYMOUS, SYSTEM
from dulieuso.catalog import issues, lists, search
from dulieuso.catalog.demo import load_demo
from dulieuso.catalog.models import CodeListItem, Database, ListKind


def test_load_demo_is_idempotent_and_realistic(db):
    load_agencies(db, SYSTEM)
    first = load_demo(db, SYSTEM)
    db.commit()
    assert first["databases"] >= 25 and first["issues"] == 1 and first["code_lists"] >= 5
    assert load_demo(db, SYSTEM) == {"code_lists": 0, "systems": 0, "databases": 0, "issues": 0}
    db.commit()
    assert db.scalar(select(func.count()).select_from(Database)) == first["databases"]
    # 38 current communes and wards, plus the province and the former units
    assert db.scalar(select(func.count()).select_from(CodeListItem).where(CodeListItem.valid_to.is_(None))) > 38
    assert issues.needs_reissue(db)
    assert [c.code for c in issues.reissue_changes(db)] == ["LCU-SGDDT-GIAODUC"]
    assert search.search_databases(db, ANONYMOUS, q="dat dai").items[0].code == "LCU-SNNMT-DATDAI"
    assert search.search_databases(db, ANONYMOUS, q="so tai chinh").total >= 3
    assert lists.derived_list(db, ANONYMOUS, ListKind.DEFAULT_SHARING).items
