# SPDX-License-Identifier: AGPL-3.0-or-later
"""Information systems (hệ thống thông tin) that hold the catalog's databases."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.catalog.events import CatalogEvent
from dulieuso.catalog.models import Database, Hosting, InformationSystem, SystemStatus, database_systems
from dulieuso.catalog.permissions import CatalogAction
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.vntext import fold

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,59}$")


@dataclass
class SystemInput:
    code: str
    name: str
    owner_agency: str
    hosting: Hosting | str
    status: SystemStatus | str = SystemStatus.OPERATING
    description: str = ""
    operator: str = ""
    url: str | None = None
    security_level: int | None = None
    offers_external_services: bool = False


def system_dict(system: InformationSystem, agency: Agency, databases: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    out = {
        "code": system.code,
        "name": system.name,
        "description": system.description,
        "owner_agency": {"code": agency.code, "name": agency.name_vi},
        "operator": system.operator,
        "url": system.url,
        "hosting": system.hosting.value,
        "security_level": system.security_level,
        "status": system.status.value,
        "offers_external_services": system.offers_external_services,
    }
    if databases is not None:
        out["databases"] = [{"code": c, "name": n} for c, n in databases]
    return out


def list_systems(session: Session, actor: Actor, agency: str | None = None) -> list[dict[str, Any]]:
    """Every information system with its owner (public: systems are not secret, the
    databases they hold are listed only when published)."""
    require(actor, CatalogAction.VIEW)
    stmt = select(InformationSystem, Agency).join(Agency, Agency.id == InformationSystem.owner_agency_id)
    if agency:
        stmt = stmt.where(Agency.code == agency.strip().upper())
    rows = session.execute(stmt.order_by(Agency.code, InformationSystem.code)).all()
    links: dict[uuid.UUID, list[tuple[str, str]]] = {}
    for system_id, code, name, secret, owner in session.execute(
        select(database_systems.c.system_id, Database.code, Database.name, Database.contains_state_secret,
               Database.owner_agency_id)
        .join(Database, Database.id == database_systems.c.database_id)
        .order_by(Database.code)
    ):
        if not secret or can(actor, CatalogAction.VIEW_DRAFTS, owner):
            links.setdefault(system_id, []).append((code, name))
    return [system_dict(s, a, links.get(s.id, [])) for s, a in rows]


def _get(session: Session, code: str) -> InformationSystem:
    system = session.scalar(select(InformationSystem).where(InformationSystem.code == code.strip().upper()))
    if system is None:
        raise NotFound(Msg("Information system {code} not found.", code=code), code="system_not_found")
    return system


def get_system(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    require(actor, CatalogAction.VIEW)
    system = _get(session, code)
    agency = session.get(Agency, system.owner_agency_id)
    assert agency is not None
    found = [s for s in list_systems(session, actor) if s["code"] == system.code]
    return found[0] if found else system_dict(system, agency, [])


def _validate(session: Session, data: SystemInput) -> tuple[dict[str, list[Msg]], Agency | None]:
    errors: dict[str, list[Msg]] = {}
    if not CODE_RE.match((data.code or "").strip().upper()):
        errors["code"] = [Msg("Use 2 to 60 capital letters, digits, '.', '_' or '-' (for example LCU-STC-NGANSACH).")]
    if not (data.name or "").strip():
        errors["name"] = [Msg("This field is required.")]
    agency = session.scalar(select(Agency).where(Agency.code == (data.owner_agency or "").strip().upper()))
    if agency is None:
        errors["owner_agency"] = [Msg("Unknown agency code {code}.", code=data.owner_agency)]
    for name, enum_type in (("hosting", Hosting), ("status", SystemStatus)):
        try:
            enum_type(getattr(data, name))
        except ValueError:
            errors[name] = [Msg("Unknown value {value}.", value=getattr(data, name))]
    if data.security_level is not None and not 1 <= data.security_level <= 5:
        errors["security_level"] = [Msg("The security level is 1 to 5 (Decree 85/2016).")]
    if data.url and not re.match(r"^https?://", data.url.strip()):
        errors["url"] = [Msg("Enter a web address starting with http:// or https://.")]
    return errors, agency


def save_system(session: Session, actor: Actor, data: SystemInput, *, mode: str = "upsert") -> InformationSystem:
    """Create (``mode="create"``), update (``"update"``) or either, by code."""
    code = (data.code or "").strip().upper()
    system = session.scalar(select(InformationSystem).where(InformationSystem.code == code))
    if mode == "create" and system is not None:
        raise Conflict(
            Msg("An information system with code {code} already exists.", code=code), code="duplicate_code",
            fields={"code": [Msg("An information system with code {code} already exists.", code=code)]},
        )
    if mode == "update" and system is None:
        raise NotFound(Msg("Information system {code} not found.", code=code), code="system_not_found")
    if system is not None:
        require(actor, CatalogAction.SYSTEM_MANAGE, system.owner_agency_id)
    errors, agency = _validate(session, data)
    if agency is not None:
        require(actor, CatalogAction.SYSTEM_MANAGE, agency.id)
    if errors:
        raise Invalid(fields=errors)
    assert agency is not None
    values = {
        "name": data.name.strip(),
        "description": (data.description or "").strip(),
        "owner_agency_id": agency.id,
        "operator": (data.operator or "").strip(),
        "url": (data.url or "").strip() or None,
        "hosting": Hosting(data.hosting),
        "security_level": data.security_level,
        "status": SystemStatus(data.status),
        "offers_external_services": bool(data.offers_external_services),
    }
    values["search_text"] = fold(f"{code} {values['name']} {values['description']} {agency.name_vi}")
    created = system is None
    before = None if created else snapshot(system)  # type: ignore[arg-type]
    if system is None:
        system = InformationSystem(code=code, **values)
        session.add(system)
    else:
        for key, value in values.items():
            if getattr(system, key) != value:
                setattr(system, key, value)
    session.flush()
    after = snapshot(system)
    if before is not None and before == after:
        return system
    record(
        session, actor, CatalogEvent.SYSTEM_CREATE if created else CatalogEvent.SYSTEM_UPDATE, system,
        before=before, after=after, label=f"{code} – {system.name}",
    )
    return system


def delete_system(session: Session, actor: Actor, code: str) -> None:
    """Delete a system no database refers to."""
    system = _get(session, code)
    require(actor, CatalogAction.SYSTEM_MANAGE, system.owner_agency_id)
    used = session.scalar(select(database_systems.c.database_id).where(database_systems.c.system_id == system.id).limit(1))
    if used is not None:
        raise Conflict(Msg("Databases still refer to this information system."), code="system_in_use")
    record(session, actor, CatalogEvent.SYSTEM_DELETE, system, before=snapshot(system), label=f"{system.code} – {system.name}")
    session.delete(system)
    session.flush()
