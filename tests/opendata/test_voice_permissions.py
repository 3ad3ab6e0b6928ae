# SPDX-License-Identifier: AGPL-3.0-or-later
"""Walk the permission matrix of requests, feedback, showcase, moderation and the plan:
every role × every action × whose object it is. Written out by hand, independently of
``voice_permissions``, so a rule changed by mistake fails here."""

import uuid

import pytest

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import ANONYMOUS, Actor, can
from dulieuso.opendata.voice_permissions import VoiceAction

A, O, N = "any", "own", "none"  # allowed on any object / only own agency's / never

P, AA, AE, AP, CS, CI, AN = (
    Role.PLATFORM_ADMIN, Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER,
    Role.CONSUMER_SYSTEM, Role.CITIZEN, Role.ANONYMOUS,
)

#                         platform  ag.admin  ag.editor  ag.approver  consumer  citizen  anonymous
EXPECTED = {
    VoiceAction.REQUEST_VIEW:    (A, A, A, A, A, A, A),
    VoiceAction.REQUEST_FILE:    (A, A, A, A, N, A, N),
    VoiceAction.REQUEST_VOTE:    (A, A, A, A, N, A, N),
    VoiceAction.REQUEST_COMMENT: (A, A, A, A, N, A, N),
    VoiceAction.REQUEST_FOLLOW:  (A, A, A, A, N, A, N),
    VoiceAction.REQUEST_ANSWER:  (A, O, O, O, N, N, N),
    VoiceAction.REQUEST_QUEUE:   (A, O, O, O, N, N, N),
    VoiceAction.FEEDBACK_SUBMIT: (A, A, A, A, N, A, N),
    VoiceAction.FEEDBACK_ANSWER: (A, O, O, O, N, N, N),
    VoiceAction.SHOWCASE_SUBMIT: (A, A, A, A, N, A, N),
    VoiceAction.ABUSE_REPORT:    (A, A, A, A, N, A, N),
    VoiceAction.ABUSE_MODERATE:  (A, N, N, N, N, N, N),
    VoiceAction.PLAN_VIEW:       (A, A, A, A, A, A, A),
    VoiceAction.PLAN_EDIT:       (A, O, O, N, N, N, N),
    VoiceAction.PLAN_PHASES:     (A, N, N, N, N, N, N),
    VoiceAction.LIST_REVIEW:     (A, O, N, O, N, N, N),
    VoiceAction.LIST_ISSUE:      (A, N, N, N, N, N, N),
    VoiceAction.OVERDUE_VIEW:    (A, O, O, O, N, N, N),
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
    assert set(EXPECTED) == set(VoiceAction)


@pytest.mark.parametrize("action", list(VoiceAction), ids=lambda a: a.value)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_matrix(role: Role, action: VoiceAction):
    expected = EXPECTED[action][ROLES.index(role)]
    actor = _actor(role)
    on_own, on_other, on_unowned = can(actor, action, OWN), can(actor, action, OTHER), can(actor, action, None)
    if expected == A:
        assert (on_own, on_other, on_unowned) == (True, True, True)
    elif expected == O:
        assert (on_own, on_other, on_unowned) == (True, False, False)
    else:
        assert (on_own, on_other, on_unowned) == (False, False, False)


def test_every_action_is_documented():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "opendata-voice.md").read_text()
    assert [a.value for a in VoiceAction if f"`{a.value}`" not in text] == []
