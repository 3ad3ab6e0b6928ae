"""Walk the whole permission matrix: every role × every action × whose object it is.

The expectations below are written out by hand, independently of ``RULES``, so a rule
that changes by mistake fails here. A new action must be added here to pass.
"""

import uuid

import pytest

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, Action, Actor, can

A, O, N = "any", "own", "none"  # allowed on any object / only own agency's / never

P, AA, AE, AP, CS, CI, AN = (
    Role.PLATFORM_ADMIN, Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER,
    Role.CONSUMER_SYSTEM, Role.CITIZEN, Role.ANONYMOUS,
)

#           platform  ag.admin  ag.editor  ag.approver  consumer  citizen  anonymous
EXPECTED = {
    Action.AGENCY_VIEW:           (A, A, A, A, A, A, A),
    Action.AGENCY_CREATE:         (A, N, N, N, N, N, N),
    Action.AGENCY_UPDATE:         (A, O, N, N, N, N, N),
    Action.AGENCY_MERGE:          (A, N, N, N, N, N, N),
    Action.AGENCY_RETIRE:         (A, N, N, N, N, N, N),
    Action.FOCAL_POINT_ASSIGN:    (A, O, N, N, N, N, N),
    Action.AGENCY_HISTORY_VIEW:   (A, O, O, O, N, N, N),
    Action.USER_LIST:             (A, O, N, N, N, N, N),
    Action.USER_CREATE:           (A, O, N, N, N, N, N),
    Action.USER_DISABLE:          (A, O, N, N, N, N, N),
    Action.TOKEN_MANAGE_OWN:      (A, A, A, A, A, A, N),
    Action.TOKEN_MANAGE_ANY:      (A, N, N, N, N, N, N),
    Action.POLICY_VIEW:           (A, A, A, A, N, N, N),
    Action.POLICY_UPDATE:         (A, N, N, N, N, N, N),
    Action.CALENDAR_UPDATE:       (A, N, N, N, N, N, N),
    Action.AUDIT_VIEW_ALL:        (A, N, N, N, N, N, N),
    Action.AUDIT_EXPORT:          (A, N, N, N, N, N, N),
    Action.NOTIFICATION_READ_OWN: (A, A, A, A, A, A, N),
}
ROLES = (P, AA, AE, AP, CS, CI, AN)

OWN = uuid.uuid4()
OTHER = uuid.uuid4()


def _actor(role: Role) -> Actor:
    if role is Role.ANONYMOUS:
        return ANONYMOUS
    agency = OWN if role not in {Role.CITIZEN} else None
    return Actor(role=role, user_id=uuid.uuid4(), email=f"{role.value}@example.vn", agency_id=agency)


def test_every_action_has_written_expectations():
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_matrix(role: Role, action: Action):
    expected = EXPECTED[action][ROLES.index(role)]
    actor = _actor(role)
    on_own, on_other, on_unowned = can(actor, action, OWN), can(actor, action, OTHER), can(actor, action, None)
    if expected == A:
        assert (on_own, on_other, on_unowned) == (True, True, True)
    elif expected == O:
        assert (on_own, on_other, on_unowned) == (True, False, False)
    else:
        assert (on_own, on_other, on_unowned) == (False, False, False)


def test_agency_role_without_agency_owns_nothing():
    actor = Actor(role=Role.AGENCY_ADMIN, user_id=uuid.uuid4(), agency_id=None)
    assert not can(actor, Action.AGENCY_UPDATE, None)
    assert not can(actor, Action.AGENCY_UPDATE, OTHER)
