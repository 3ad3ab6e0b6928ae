# SPDX-License-Identifier: AGPL-3.0-or-later
"""Audit tags of the sharing registry, shaped ``sharing:<subject>:<action>`` and listed in
docs/sharing.md (``tests/test_docs.py`` checks)."""

from __future__ import annotations

from enum import StrEnum

from dulieuso.audit.service import register_tags


class SharingTag(StrEnum):
    REGULATION_CREATE = "sharing:regulation:create"
    REGULATION_UPDATE = "sharing:regulation:update"
    SERVICE_CREATE = "sharing:service:create"
    SERVICE_UPDATE = "sharing:service:update"
    SERVICE_READY = "sharing:service:ready"
    SERVICE_PUBLISH = "sharing:service:publish"
    SERVICE_RETIRE = "sharing:service:retire"
    SERVICE_BREACH = "sharing:service:breach"
    APPLICATION_CREATE = "sharing:application:create"
    APPLICATION_UPDATE = "sharing:application:update"
    ACCOUNT_ISSUE = "sharing:account:issue"
    ACCOUNT_REVOKE = "sharing:account:revoke"
    REQUEST_SUBMIT = "sharing:request:submit"
    REQUEST_APPROVE = "sharing:request:approve"
    REQUEST_REJECT = "sharing:request:reject"
    REQUEST_WITHDRAW = "sharing:request:withdraw"
    REQUEST_BREACH = "sharing:request:breach"
    AGREEMENT_CREATE = "sharing:agreement:create"
    AGREEMENT_UPDATE = "sharing:agreement:update"
    AGREEMENT_TRANSITION = "sharing:agreement:transition"
    AGREEMENT_SIGN = "sharing:agreement:sign"
    AGREEMENT_AMEND = "sharing:agreement:amend"
    AGREEMENT_JOIN_REQUEST = "sharing:agreement:join_request"
    AGREEMENT_JOIN_DECIDE = "sharing:agreement:join_decide"
    GRANT_CREATE = "sharing:grant:create"
    GRANT_SUSPEND = "sharing:grant:suspend"
    GRANT_RESTORE = "sharing:grant:restore"
    GRANT_TERMINATE = "sharing:grant:terminate"
    SUSPENSION_CREATE = "sharing:suspension:create"
    SUSPENSION_LIFT = "sharing:suspension:lift"
    SUSPENSION_CANCEL = "sharing:suspension:cancel"
    ISSUE_CREATE = "sharing:issue:create"
    ISSUE_ANSWER = "sharing:issue:answer"
    ISSUE_ESCALATE = "sharing:issue:escalate"
    ISSUE_RESOLVE = "sharing:issue:resolve"
    USAGE_REPORT_REQUEST = "sharing:usage_report:request"
    USAGE_REPORT_ANSWER = "sharing:usage_report:answer"
    USAGE_REPORT_BREACH = "sharing:usage_report:breach"


register_tags(SharingTag)
