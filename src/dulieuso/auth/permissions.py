"""Who may do what: one permission function per action, used by pages, API and CLI alike.

``can(actor, action, agency_id)`` answers; ``require`` raises ``Forbidden``. Rules are a
table: the roles that may act on anything, and the roles that may act only on objects
of their own agency. ``tests/auth/test_permission_matrix.py`` walks every role × action.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from dulieuso.auth.models import Role
from dulieuso.errors import Forbidden, Unauthorized
from dulieuso.i18n import Msg


@dataclass(frozen=True)
class Actor:
    """The person or system a service call acts for."""

    role: Role
    user_id: uuid.UUID | None = None
    email: str | None = None
    agency_id: uuid.UUID | None = None
    #: The agency a platform administrator acts for (recorded in the audit trail).
    acting_for_agency_id: uuid.UUID | None = None
    request_id: str | None = None
    via: str = field(default="web")

    @property
    def is_authenticated(self) -> bool:
        return self.role is not Role.ANONYMOUS

    @property
    def label(self) -> str:
        return self.email or ("system" if self.role is Role.PLATFORM_ADMIN else "anonymous")


ANONYMOUS = Actor(role=Role.ANONYMOUS)
SYSTEM = Actor(role=Role.PLATFORM_ADMIN, email="system", via="system")


class Action(StrEnum):
    AGENCY_VIEW = "agency.view"
    AGENCY_CREATE = "agency.create"
    AGENCY_UPDATE = "agency.update"
    AGENCY_MERGE = "agency.merge"
    AGENCY_RETIRE = "agency.retire"
    FOCAL_POINT_ASSIGN = "focal_point.assign"
    AGENCY_HISTORY_VIEW = "agency.history_view"
    USER_LIST = "user.list"
    USER_CREATE = "user.create"
    USER_DISABLE = "user.disable"
    TOKEN_MANAGE_OWN = "token.manage_own"
    TOKEN_MANAGE_ANY = "token.manage_any"
    POLICY_VIEW = "policy.view"
    POLICY_UPDATE = "policy.update"
    CALENDAR_UPDATE = "calendar.update"
    AUDIT_VIEW_ALL = "audit.view_all"
    AUDIT_EXPORT = "audit.export"
    NOTIFICATION_READ_OWN = "notification.read_own"


_STAFF = {Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER}
_EVERYONE = set(Role)
_SIGNED_IN = set(Role) - {Role.ANONYMOUS}

Rule = tuple[frozenset[Role], frozenset[Role]]

#: action -> (roles allowed on any object, roles allowed only inside their own agency).
#: Each later domain adds its own actions with ``register`` (its own StrEnum).
RULES: dict[StrEnum, Rule] = {
    Action.AGENCY_VIEW: (frozenset(_EVERYONE), frozenset()),
    Action.AGENCY_CREATE: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.AGENCY_UPDATE: (frozenset({Role.PLATFORM_ADMIN}), frozenset({Role.AGENCY_ADMIN})),
    Action.AGENCY_MERGE: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.AGENCY_RETIRE: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.FOCAL_POINT_ASSIGN: (
        frozenset({Role.PLATFORM_ADMIN}),
        frozenset({Role.AGENCY_ADMIN}),
    ),
    Action.AGENCY_HISTORY_VIEW: (frozenset({Role.PLATFORM_ADMIN}), frozenset(_STAFF)),
    Action.USER_LIST: (frozenset({Role.PLATFORM_ADMIN}), frozenset({Role.AGENCY_ADMIN})),
    Action.USER_CREATE: (frozenset({Role.PLATFORM_ADMIN}), frozenset({Role.AGENCY_ADMIN})),
    Action.USER_DISABLE: (frozenset({Role.PLATFORM_ADMIN}), frozenset({Role.AGENCY_ADMIN})),
    Action.TOKEN_MANAGE_OWN: (frozenset(_SIGNED_IN), frozenset()),
    Action.TOKEN_MANAGE_ANY: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.POLICY_VIEW: (frozenset({Role.PLATFORM_ADMIN} | _STAFF), frozenset()),
    Action.POLICY_UPDATE: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.CALENDAR_UPDATE: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.AUDIT_VIEW_ALL: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.AUDIT_EXPORT: (frozenset({Role.PLATFORM_ADMIN}), frozenset()),
    Action.NOTIFICATION_READ_OWN: (frozenset(_SIGNED_IN), frozenset()),
}
_BY_VALUE: dict[str, StrEnum] = {action.value: action for action in RULES}

#: Role groups for domains that register their own rules.
STAFF = frozenset(_STAFF)
EVERYONE = frozenset(_EVERYONE)
SIGNED_IN = frozenset(_SIGNED_IN)


def register(rules: dict[StrEnum, Rule]) -> None:
    """Add a domain's actions to the table (called when the domain's module is imported)."""
    for action, rule in rules.items():
        existing = _BY_VALUE.get(action.value)
        if existing is not None and existing is not action:
            raise ValueError(f"permission action {action.value!r} is registered twice")
        RULES[action] = rule
        _BY_VALUE[action.value] = action


def action_named(value: str) -> StrEnum:
    """The action whose value is ``value`` (templates ask by name: ``can("agency.update")``)."""
    return _BY_VALUE[value]


def can(actor: Actor, action: StrEnum, agency_id: uuid.UUID | None = None) -> bool:
    """May ``actor`` do ``action`` on an object owned by ``agency_id`` (None: not owned)?"""
    anywhere, own_only = RULES[action]
    if actor.role in anywhere:
        return True
    if actor.role in own_only:
        return agency_id is not None and actor.agency_id == agency_id
    return False


def require(actor: Actor, action: StrEnum, agency_id: uuid.UUID | None = None) -> None:
    if can(actor, action, agency_id):
        return
    if not actor.is_authenticated:
        raise Unauthorized()
    raise Forbidden(Msg("You are not allowed to do this."), code=f"forbidden.{action.value}")
