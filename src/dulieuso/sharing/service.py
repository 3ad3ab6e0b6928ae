# SPDX-License-Identifier: AGPL-3.0-or-later
"""What every sharing service module shares: acting for an agency, clocks, deadlines,
notifications to agencies and to the IT unit, and the deadline sweep.

The domain's rules are split by subject: ``regulations.py``, ``services.py``
(data services and publication), ``consumers.py`` (applications and accounts),
``requests.py`` (connection requests), ``agreements.py``, ``grants.py`` (grants,
suspensions, terminations), ``issues.py``, ``usage_reports.py`` and ``stats.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies import service as agencies
from dulieuso.agencies.models import Agency
from dulieuso.auth.models import Role
from dulieuso.auth.permissions import Actor, can, require
from dulieuso.db import utcnow
from dulieuso.errors import Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.notifications import service as notifications
from dulieuso.policy import service as policy

#: Roles that receive an agency's sharing notifications.
NOTIFIED_ROLES = (Role.AGENCY_ADMIN, Role.AGENCY_APPROVER, Role.AGENCY_EDITOR)
MAX_LIMIT = 500


def now() -> datetime:
    return utcnow()


def acting(actor: Actor, action: StrEnum, agency_id: uuid.UUID | None) -> Actor:
    """Check ``action`` on an object of ``agency_id``; the actor to record the change with.

    A platform administrator may act for any agency: the returned actor then carries
    ``acting_for_agency_id``, which the audit trail records.
    """
    require(actor, action, agency_id)
    if actor.role is Role.PLATFORM_ADMIN and agency_id is not None and actor.agency_id != agency_id:
        return replace(actor, acting_for_agency_id=agency_id)
    return actor


def may(actor: Actor, action: StrEnum, *agency_ids: uuid.UUID | None) -> bool:
    """May ``actor`` do ``action`` as any of the agencies (provider, consumer, party…)?"""
    return any(can(actor, action, agency_id) for agency_id in agency_ids) or can(actor, action, None)


def own_agency(session: Session, actor: Actor, agency_code: str | None) -> Agency:
    """The agency an actor acts as: the one named (administrators) or their own."""
    if agency_code:
        try:
            agency = agencies.get_by_code(session, agency_code)
        except NotFound:
            raise Invalid(fields={"agency_code": [Msg("Unknown agency code.")]}) from None
        return agency
    if actor.agency_id is None:
        raise Invalid(
            Msg("Choose the agency you act for."), fields={"agency_code": [Msg("This field is required.")]}
        )
    agency = session.get(Agency, actor.agency_id)
    if agency is None:
        raise NotFound(Msg("Agency not found."))
    return agency


def agency_names(session: Session, ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Agency.id, Agency.name_vi).where(Agency.id.in_(wanted)))
    return {row.id: row.name_vi for row in rows}


def due_date(session: Session, key: str, start: datetime | date) -> date:
    """The due date of the policy ``key`` for something started at ``start``."""
    value = policy.deadline(session, key, start)
    return value.date() if isinstance(value, datetime) else value


def notify_agency(
    session: Session, agency_id: uuid.UUID, *, kind: str, title: Msg, body: Msg, link: str | None,
    exclude: uuid.UUID | None = None,
) -> int:
    return len(
        notifications.notify_agency_staff(
            session, agency_id, NOTIFIED_ROLES, kind=kind, title=title, body=body, link=link,
            exclude_user_id=exclude,
        )
    )


def notify_it_unit(session: Session, *, kind: str, title: Msg, body: Msg, link: str | None) -> int:
    """Notify the IT unit's staff and the platform administrators (who act for it)."""
    from dulieuso.auth.models import User

    count = 0
    unit = agencies.it_unit(session)
    if unit is not None:
        count += notify_agency(session, unit.id, kind=kind, title=title, body=body, link=link)
    admins = session.scalars(
        select(User.id).where(User.role == Role.PLATFORM_ADMIN, User.is_active.is_(True)).order_by(User.email)
    ).all()
    for user_id in admins:
        notifications.notify(session, user_id, kind=kind, title=title, body=body, link=link)
        count += 1
    return count


def it_unit_id(session: Session) -> uuid.UUID | None:
    unit = agencies.it_unit(session)
    return unit.id if unit else None


def require_fields(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, list[Msg]]:
    """``{name: ["This field is required."]}`` for each empty value."""
    errors: dict[str, list[Msg]] = {}
    for name in names:
        value = values.get(name)
        if value is None or (isinstance(value, str | list | dict | tuple) and not value):
            errors[name] = [Msg("This field is required.")]
        elif isinstance(value, str) and not value.strip():
            errors[name] = [Msg("This field is required.")]
    return errors


def text(value: str | None, limit: int | None = None) -> str:
    value = (value or "").strip()
    return value[:limit] if limit else value


@dataclass
class SweepResult:
    services: int = 0
    requests: int = 0
    issues: int = 0
    agreements: int = 0
    usage_reports: int = 0


def sweep_deadlines(session: Session, actor: Actor, at: datetime | None = None) -> SweepResult:
    """Alert on missed deadlines once each: services not published in time (Art. 25(1)),
    requests not decided in time (Decree 194 Art. 40(3)), and issues the provider did not
    answer (Art. 49(1)), which are escalated to the IT unit; active agreements past their
    end date expire (Art. 44(1)(d)); usage reports not sent in time (Art. 51(1)(b)) are
    flagged to both agencies. Run by a timer or the CLI."""
    from dulieuso.sharing import agreements as agreements_service
    from dulieuso.sharing import issues as issues_service
    from dulieuso.sharing import requests as requests_service
    from dulieuso.sharing import services as services_service
    from dulieuso.sharing import usage_reports as usage_reports_service

    at = at or now()
    result = SweepResult()
    result.services = services_service.alert_publication_breaches(session, actor, at)
    result.requests = requests_service.alert_overdue_requests(session, actor, at)
    result.issues = issues_service.escalate_overdue(session, actor, at)
    result.agreements = agreements_service.expire_ended(session, actor, at)
    result.usage_reports = usage_reports_service.alert_overdue(session, actor, at)
    return result

