# SPDX-License-Identifier: AGPL-3.0-or-later
"""Audit tags of data requests, feedback, the showcase, moderation and the open-data
plan (documented in docs/opendata-voice.md)."""

from __future__ import annotations

from enum import StrEnum

from dulieuso.audit.service import register_tags


class VoiceEvent(StrEnum):
    REQUEST_CREATE = "opendata:data_request:create"
    REQUEST_STATUS = "opendata:data_request:status"
    REQUEST_ANSWER = "opendata:data_request:answer"
    REQUEST_DECLINE = "opendata:data_request:decline"
    FEEDBACK_CREATE = "opendata:dataset_feedback:create"
    FEEDBACK_ANSWER = "opendata:dataset_feedback:answer"
    SHOWCASE_CREATE = "opendata:showcase:create"
    ABUSE_UPHOLD = "opendata:abuse_report:uphold"
    ABUSE_DISMISS = "opendata:abuse_report:dismiss"
    PHASE_SAVE = "opendata:plan_phase:save"
    PLAN_ITEM_CREATE = "opendata:plan_item:create"
    PLAN_ITEM_UPDATE = "opendata:plan_item:update"
    PLAN_ITEM_DELETE = "opendata:plan_item:delete"
    LIST_REVIEW = "opendata:list_review:record"
    LIST_ISSUE = "opendata:list_issue:create"


register_tags(VoiceEvent)
