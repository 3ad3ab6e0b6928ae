# SPDX-License-Identifier: AGPL-3.0-or-later
"""Who may do what in data sharing. The agency an action is checked against is the one
that owns the object: the provider for services, suspensions, decisions on requests and
demands for usage reports, the consumer for applications, accounts, requests it submits
and answers to usage reports, a party for agreements, and the IT unit for escalated issues
and its queues. The platform administrator may act
for any agency (``service.acting_for`` records it). ``tests/sharing/test_permission_matrix.py``
walks every role × action.
"""

from __future__ import annotations

from enum import StrEnum

from dulieuso.auth.models import Role
from dulieuso.auth.permissions import EVERYONE, STAFF, register


class SharingAction(StrEnum):
    REGULATION_VIEW = "sharing.regulation_view"
    REGULATION_MANAGE = "sharing.regulation_manage"
    SERVICE_VIEW = "sharing.service_view"
    SERVICE_MANAGE = "sharing.service_manage"
    SERVICE_PUBLISH = "sharing.service_publish"
    APPLICATION_MANAGE = "sharing.application_manage"
    ACCOUNT_ISSUE = "sharing.account_issue"
    REQUEST_SUBMIT = "sharing.request_submit"
    REQUEST_VIEW = "sharing.request_view"
    REQUEST_DECIDE = "sharing.request_decide"
    AGREEMENT_VIEW = "sharing.agreement_view"
    AGREEMENT_MANAGE = "sharing.agreement_manage"
    AGREEMENT_SIGN = "sharing.agreement_sign"
    GRANT_VIEW = "sharing.grant_view"
    SUSPENSION_MANAGE = "sharing.suspension_manage"
    TERMINATION_MANAGE = "sharing.termination_manage"
    ISSUE_REPORT = "sharing.issue_report"
    ISSUE_VIEW = "sharing.issue_view"
    ISSUE_ANSWER = "sharing.issue_answer"
    ISSUE_RESOLVE = "sharing.issue_resolve"
    IT_QUEUE_VIEW = "sharing.it_queue_view"
    STATS_VIEW = "sharing.stats_view"
    USAGE_REPORT_REQUEST = "sharing.usage_report_request"
    USAGE_REPORT_ANSWER = "sharing.usage_report_answer"
    USAGE_REPORT_VIEW = "sharing.usage_report_view"


_P = frozenset({Role.PLATFORM_ADMIN})
_NONE: frozenset[Role] = frozenset()
_MANAGERS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_EDITOR})
_DECIDERS = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_APPROVER})

register(
    {
        SharingAction.REGULATION_VIEW: (EVERYONE, _NONE),
        SharingAction.REGULATION_MANAGE: (_P, frozenset({Role.AGENCY_ADMIN})),
        SharingAction.SERVICE_VIEW: (EVERYONE, _NONE),
        SharingAction.SERVICE_MANAGE: (_P, _MANAGERS),
        SharingAction.SERVICE_PUBLISH: (_P, _DECIDERS),
        SharingAction.APPLICATION_MANAGE: (_P, _MANAGERS),
        SharingAction.ACCOUNT_ISSUE: (_P, frozenset({Role.AGENCY_ADMIN})),
        SharingAction.REQUEST_SUBMIT: (_P, STAFF),
        SharingAction.REQUEST_VIEW: (_P, STAFF),
        SharingAction.REQUEST_DECIDE: (_P, _DECIDERS),
        SharingAction.AGREEMENT_VIEW: (_P, STAFF),
        SharingAction.AGREEMENT_MANAGE: (_P, _MANAGERS),
        SharingAction.AGREEMENT_SIGN: (_P, _DECIDERS),
        SharingAction.GRANT_VIEW: (_P, STAFF | {Role.CONSUMER_SYSTEM}),
        SharingAction.SUSPENSION_MANAGE: (_P, _DECIDERS),
        SharingAction.TERMINATION_MANAGE: (_P, _DECIDERS),
        SharingAction.ISSUE_REPORT: (_P, STAFF),
        SharingAction.ISSUE_VIEW: (_P, STAFF),
        SharingAction.ISSUE_ANSWER: (_P, _DECIDERS),
        SharingAction.ISSUE_RESOLVE: (_P, _DECIDERS),
        SharingAction.IT_QUEUE_VIEW: (_P, STAFF),
        SharingAction.STATS_VIEW: (_P, STAFF),
        # Art. 51(1)(b): the provider's staff demand a usage report, the consumer's staff answer it.
        SharingAction.USAGE_REPORT_REQUEST: (_P, STAFF),
        SharingAction.USAGE_REPORT_ANSWER: (_P, STAFF),
        SharingAction.USAGE_REPORT_VIEW: (_P, STAFF),
    }
)
