# SPDX-License-Identifier: AGPL-3.0-or-later
"""Walk every role × catalog action × whose entry it is, against hand-written expectations.

Written independently of ``catalog.permissions``: a rule that changes by mistake fails
here, and a new action must be added here to pass.
"""

import uuid

import pytest

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, Actor, can
from dulieuso.catalog.permissions import CatalogAction

A, O, N = "any", "own", "none"  # allowed on any entry / only their own agency's / never

P, AA, AE, AP, CS, CI, AN = (
    Role.PLATFORM_ADMIN, Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER,
    Role.CONSUMER_SYSTEM, Role.CITIZEN, Role.ANONYMOUS,
)

#                                    platform ag.admin ag.editor ag.approver consumer citizen anonymous
EXPECTED = {
    CatalogAction.VIEW:             (A, A, A, A, A, A, A),
    CatalogAction.VIEW_DRAFTS:      (A, O, O, O, N, N, N),
    CatalogAction.EDIT:             (A, O, O, N, N, N, N),
    CatalogAction.SUBMIT:           (A, O, O, N, N, N, N),
    CatalogAction.REVIEW:           (A, N, N, N, N, N, N),
    CatalogAction.ISSUE:            (A, N, N, N, N, N, N),
    CatalogAction.CODE_LIST_MANAGE: (A, N, N, N, N, N, N),
    CatalogAction.SYSTEM_MANAGE:    (A, O, O, N, N, N, N),
    CatalogAction.LIST_REVIEW:      (A, N, N, N, N, N, N),
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
    assert set(EXPECTED) == set(CatalogAction)


@pytest.mark.parametrize("action", list(CatalogAction), ids=lambda a: a.value)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_matrix(role: Role, action: CatalogAction):
    expected = EXPECTED[action][ROLES.index(role)]
    actor = _actor(role)
    results = (can(actor, action, OWN), can(actor, action, OTHER), can(actor, action, None))
    if expected == A:
        assert results == (True, True, True)
    elif expected == O:
        assert results == (True, False, False)
    else:
        assert results == (False, False, False)


def test_an_editor_without_an_agency_owns_nothing():
    actor = Actor(role=Role.AGENCY_EDITOR, user_id=uuid.uuid4(), agency_id=None)
    assert not can(actor, CatalogAction.EDIT, None)
    assert not can(actor, CatalogAction.EDIT, OTHER)
