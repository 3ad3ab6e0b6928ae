"""Every role × every open-data action × whose dataset it is, written out by hand."""

import uuid

import pytest

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, Actor, can
from dulieuso.opendata.permissions import OpenDataAction

A, O, N = "any", "own", "none"

P, AA, AE, AP, CS, CI, AN = (
    Role.PLATFORM_ADMIN, Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER,
    Role.CONSUMER_SYSTEM, Role.CITIZEN, Role.ANONYMOUS,
)

#                                 platform  ag.admin  ag.editor  ag.approver  consumer  citizen  anonymous
EXPECTED = {
    OpenDataAction.VIEW:          (A, A, A, A, A, A, A),
    OpenDataAction.VIEW_PRIVATE:  (A, O, O, O, N, N, N),
    OpenDataAction.EDIT:          (A, O, O, N, N, N, N),
    OpenDataAction.DELETE:        (A, O, N, N, N, N, N),
    OpenDataAction.PUBLISH:       (A, O, N, O, N, N, N),
    OpenDataAction.PII_OVERRIDE:  (A, N, N, O, N, N, N),
    OpenDataAction.GROUP_MANAGE:  (A, N, N, N, N, N, N),
}
ROLES = (P, AA, AE, AP, CS, CI, AN)
OWN = uuid.uuid4()
OTHER = uuid.uuid4()


def _actor(role: Role) -> Actor:
    if role is Role.ANONYMOUS:
        return ANONYMOUS
    agency = None if role is Role.CITIZEN else OWN
    return Actor(role=role, user_id=uuid.uuid4(), email=f"{role.value}@example.vn", agency_id=agency)


def test_every_action_has_written_expectations():
    assert set(EXPECTED) == set(OpenDataAction)


@pytest.mark.parametrize("action", list(OpenDataAction), ids=lambda a: a.value)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_matrix(role: Role, action: OpenDataAction) -> None:
    expected = EXPECTED[action][ROLES.index(role)]
    actor = _actor(role)
    on_own = can(actor, action, OWN)
    on_other = can(actor, action, OTHER)
    if expected == A:
        assert on_own and on_other
    elif expected == O:
        assert on_own and not on_other
    else:
        assert not on_own and not on_other
