# SPDX-License-Identifier: AGPL-3.0-or-later
"""Every role × every sharing action × whose object it is, written out by hand."""

import uuid

import pytest

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, Actor, can
from dulieuso.sharing.permissions import SharingAction as S

A, O, N = "any", "own", "none"
P, AA, AE, AP, CS, CI, AN = (
    Role.PLATFORM_ADMIN, Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER,
    Role.CONSUMER_SYSTEM, Role.CITIZEN, Role.ANONYMOUS,
)

#                       platform  ag.admin  ag.editor  ag.approver  consumer  citizen  anonymous
EXPECTED = {
    S.REGULATION_VIEW:     (A, A, A, A, A, A, A),
    S.REGULATION_MANAGE:   (A, O, N, N, N, N, N),
    S.SERVICE_VIEW:        (A, A, A, A, A, A, A),
    S.SERVICE_MANAGE:      (A, O, O, N, N, N, N),
    S.SERVICE_PUBLISH:     (A, O, N, O, N, N, N),
    S.APPLICATION_MANAGE:  (A, O, O, N, N, N, N),
    S.ACCOUNT_ISSUE:       (A, O, N, N, N, N, N),
    S.REQUEST_SUBMIT:      (A, O, O, O, N, N, N),
    S.REQUEST_VIEW:        (A, O, O, O, N, N, N),
    S.REQUEST_DECIDE:      (A, O, N, O, N, N, N),
    S.AGREEMENT_VIEW:      (A, O, O, O, N, N, N),
    S.AGREEMENT_MANAGE:    (A, O, O, N, N, N, N),
    S.AGREEMENT_SIGN:      (A, O, N, O, N, N, N),
    S.GRANT_VIEW:          (A, O, O, O, O, N, N),
    S.SUSPENSION_MANAGE:   (A, O, N, O, N, N, N),
    S.TERMINATION_MANAGE:  (A, O, N, O, N, N, N),
    S.ISSUE_REPORT:        (A, O, O, O, N, N, N),
    S.ISSUE_VIEW:          (A, O, O, O, N, N, N),
    S.ISSUE_ANSWER:        (A, O, N, O, N, N, N),
    S.ISSUE_RESOLVE:       (A, O, N, O, N, N, N),
    S.IT_QUEUE_VIEW:       (A, O, O, O, N, N, N),
    S.STATS_VIEW:          (A, O, O, O, N, N, N),
    S.USAGE_REPORT_REQUEST: (A, O, O, O, N, N, N),
    S.USAGE_REPORT_ANSWER: (A, O, O, O, N, N, N),
    S.USAGE_REPORT_VIEW:   (A, O, O, O, N, N, N),
}
ROLES = (P, AA, AE, AP, CS, CI, AN)
OWN = uuid.uuid4()
OTHER = uuid.uuid4()


def _actor(role: Role) -> Actor:
    if role is Role.ANONYMOUS:
        return ANONYMOUS
    agency = OWN if role is not Role.CITIZEN else None
    return Actor(role=role, user_id=uuid.uuid4(), email=f"{role.value}@example.vn", agency_id=agency)


def test_every_action_has_written_expectations():
    assert set(EXPECTED) == set(S)


@pytest.mark.parametrize("action", list(S), ids=lambda a: a.value)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_matrix(role: Role, action: S):
    expected = EXPECTED[action][ROLES.index(role)]
    actor = _actor(role)
    got = (can(actor, action, OWN), can(actor, action, OTHER), can(actor, action, None))
    assert got == {A: (True, True, True), O: (True, False, False), N: (False, False, False)}[expected]
