"""Merging agencies hands the merged agency's catalog entries and systems to its successor."""

from sqlalchemy import select

from dulieuso.agencies import service as agencies
from dulieuso.audit.models import AuditEvent
from dulieuso.auth.permissions import SYSTEM
from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.catalog import search
from dulieuso.catalog.models import Database


def test_merge_moves_databases_with_audit_and_public_owner(world):
    db = world.db
    world.accepted("T-CSDL-DAT")
    result = agencies.merge_agencies(db, SYSTEM, source_codes=[world.land.code], successor_code=world.finance.code)
    db.commit()  # the audit guard accepts the transaction

    moved = db.scalar(select(Database).where(Database.code == "T-CSDL-DAT"))
    assert moved.owner_agency_id == world.finance.id
    assert result.moved[world.land.code]["catalog"] == 1
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.subject_id == str(moved.id), AuditEvent.tag == "catalog:database:update")
    )
    assert event.changes["details"] == {"handover_from": world.land.code, "handover_to": world.finance.code}
    found = service_search(db, world.finance.code)
    assert "T-CSDL-DAT" in found
    assert "T-CSDL-DAT" not in service_search(db, world.land.code)


def service_search(db, agency_code):
    result = search.search_databases(db, ANONYMOUS, agency=agency_code)
    return {item.code for item in result.items}
