# SPDX-License-Identifier: AGPL-3.0-or-later
"""Who may do what with data requests, feedback, the showcase, abuse reports and the
open-data plan.

Anyone reads requests, the showcase, answered feedback and the plan (no login). Taking
part (filing, voting, commenting, following, giving feedback, adding a reuse, reporting
abuse) needs a registered person's account: a citizen or staff; a consumer *system*
account is a machine and takes no part. The agency a request or feedback is addressed
to answers it (any of its staff); the platform administrator moderates. The IT unit
sees every agency's queue and overdue board (checked with the IT unit's agency id).
"""

from __future__ import annotations

from enum import StrEnum

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import EVERYONE, STAFF, register

ADMIN = frozenset({Role.PLATFORM_ADMIN})
NOBODY: frozenset[Role] = frozenset()
#: Registered people: citizens, agency staff and the platform administrator.
PARTICIPANTS = frozenset({Role.PLATFORM_ADMIN, Role.CITIZEN}) | STAFF
PLANNERS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_EDITOR})
REVIEWERS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_APPROVER})


class VoiceAction(StrEnum):
    REQUEST_VIEW = "data_request.view"
    REQUEST_FILE = "data_request.file"
    REQUEST_VOTE = "data_request.vote"
    REQUEST_COMMENT = "data_request.comment"
    REQUEST_FOLLOW = "data_request.follow"
    REQUEST_ANSWER = "data_request.answer"  # answer, change status, decline
    REQUEST_QUEUE = "data_request.queue"
    FEEDBACK_SUBMIT = "dataset_feedback.submit"
    FEEDBACK_ANSWER = "dataset_feedback.answer"  # also reads unanswered feedback
    SHOWCASE_SUBMIT = "showcase.submit"
    ABUSE_REPORT = "abuse.report"
    ABUSE_MODERATE = "abuse.moderate"
    PLAN_VIEW = "open_data_plan.view"
    PLAN_EDIT = "open_data_plan.edit"  # the agency's planned datasets
    PLAN_PHASES = "open_data_plan.phases"  # phases and their targets
    LIST_REVIEW = "open_data_list.review"
    LIST_ISSUE = "open_data_list.issue"  # record the PPC Chairman's decision issuing the list
    OVERDUE_VIEW = "open_data.overdue_view"


register(
    {
        VoiceAction.REQUEST_VIEW: (EVERYONE, NOBODY),
        VoiceAction.REQUEST_FILE: (PARTICIPANTS, NOBODY),
        VoiceAction.REQUEST_VOTE: (PARTICIPANTS, NOBODY),
        VoiceAction.REQUEST_COMMENT: (PARTICIPANTS, NOBODY),
        VoiceAction.REQUEST_FOLLOW: (PARTICIPANTS, NOBODY),
        VoiceAction.REQUEST_ANSWER: (ADMIN, STAFF),
        VoiceAction.REQUEST_QUEUE: (ADMIN, STAFF),
        VoiceAction.FEEDBACK_SUBMIT: (PARTICIPANTS, NOBODY),
        VoiceAction.FEEDBACK_ANSWER: (ADMIN, STAFF),
        VoiceAction.SHOWCASE_SUBMIT: (PARTICIPANTS, NOBODY),
        VoiceAction.ABUSE_REPORT: (PARTICIPANTS, NOBODY),
        VoiceAction.ABUSE_MODERATE: (ADMIN, NOBODY),
        VoiceAction.PLAN_VIEW: (EVERYONE, NOBODY),
        VoiceAction.PLAN_EDIT: (ADMIN, PLANNERS),
        VoiceAction.PLAN_PHASES: (ADMIN, NOBODY),
        VoiceAction.LIST_REVIEW: (ADMIN, REVIEWERS),
        VoiceAction.LIST_ISSUE: (ADMIN, NOBODY),
        VoiceAction.OVERDUE_VIEW: (ADMIN, STAFF),
    }
)
