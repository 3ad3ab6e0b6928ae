"""When agencies merge, the catalog entries and information systems of the merged agency
are handed to its successor (registered with ``dulieuso.agencies.interfaces``).

The move is a change of an issued entry, so the catalog then needs re-issuing (Art. 55(2)).
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dulieuso.agencies.interfaces import register_handover
from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor
from dulieuso.catalog import service
from dulieuso.catalog.events import CatalogEvent
from dulieuso.catalog.models import Database, InformationSystem, PublicEntry, SearchRow, SearchTerm
from dulieuso.vntext import fold


def _rename_public_owner(session: Session, database: Database, successor: Agency) -> None:
    """Keep the published (last accepted) content, naming the successor as its owner."""
    published = session.get(PublicEntry, database.id)
    if published is None:
        return
    entry = dict(published.entry)
    entry["owner_agency"] = {"code": successor.code, "name": successor.name_vi}
    service._unpublish(session, database)
    session.add(PublicEntry(**service.public_row(database, entry)))
    session.flush()
    search_row, terms = service._index_rows(database.id, entry)
    session.execute(insert(SearchRow), [search_row])
    if terms:
        session.execute(insert(SearchTerm), terms)


def hand_over_catalog(session: Session, actor: Actor, source: Agency, successor: Agency) -> int:
    """Move ``source``'s databases and information systems to ``successor``; returns the count."""
    moved = 0
    details = {"handover_from": source.code, "handover_to": successor.code}
    for database in session.scalars(select(Database).where(Database.owner_agency_id == source.id)):
        before = snapshot(database)
        database.owner_agency_id = successor.id
        database.revision += 1
        database.search_text = service.search_text_for(database, successor)
        _rename_public_owner(session, database, successor)
        record(session, actor, CatalogEvent.DATABASE_UPDATE, database, before=before,
               after=snapshot(database), label=database.code, details=details)
        moved += 1
    for system in session.scalars(select(InformationSystem).where(InformationSystem.owner_agency_id == source.id)):
        before = snapshot(system)
        system.owner_agency_id = successor.id
        system.search_text = fold(f"{system.code} {system.name} {system.description} {successor.name_vi}")
        record(session, actor, CatalogEvent.SYSTEM_UPDATE, system, before=before,
               after=snapshot(system), label=system.code, details=details)
        moved += 1
    return moved


register_handover("catalog", hand_over_catalog)
