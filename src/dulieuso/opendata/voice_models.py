# SPDX-License-Identifier: AGPL-3.0-or-later
"""The public's voice and the open-data plan: data requests with votes, comments and
follows; feedback on datasets; the reuse showcase; abuse reports; the open-data plan
(phases, planned datasets) and the reviews of the open-data list.

Decree 47 Art. 17–20 (kept as local policy, DECREE47.md §2.3): the list issued by the
PPC Chairman's decision (17(2)), a plan with targets per phase (19(1)), a feedback
channel to a designated contact (19(2)), demand-driven priorities (19(4)(a)), and the
list reviewed at least every 6 months (20(3)).

Votes, follows and comments are not audited rows (they are the public's own acts);
requests, feedback answers, plan rows and list reviews are, and so is every moderation.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dulieuso.auth.models import enum_column
from dulieuso.db import Base, IssuedVersion, UUIDPrimaryKey, utcnow
from dulieuso.opendata import voice_events, voice_permissions  # noqa: F401  (registers tags and actions)


class RequestStatus(StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    PUBLISHED = "published"
    DECLINED = "declined"


class FeedbackCategory(StrEnum):
    """Decree 47 Art. 19(2): quality, usability, format, legal compliance."""

    QUALITY = "quality"
    USABILITY = "usability"
    FORMAT = "format"
    COMPLIANCE = "compliance"
    OTHER = "other"


class FeedbackStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class ShowcaseKind(StrEnum):
    """uData's reuse types, trimmed to what a province sees."""

    APPLICATION = "application"
    ARTICLE = "article"
    VISUALIZATION = "visualization"
    API = "api"
    PAPER = "paper"
    OTHER = "other"


class AbuseTarget(StrEnum):
    DATA_REQUEST = "data_request"
    COMMENT = "comment"
    FEEDBACK = "feedback"
    SHOWCASE = "showcase"


class AbuseReason(StrEnum):
    """uData's report reasons."""

    PERSONAL_DATA = "personal_data"
    EXPLICIT_CONTENT = "explicit_content"
    ILLEGAL_CONTENT = "illegal_content"
    SECURITY = "security"
    SPAM = "spam"
    OTHER = "other"


class AbuseStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the content is hidden
    DISMISSED = "dismissed"


class DataRequest(UUIDPrimaryKey, Base):
    """Yêu cầu dữ liệu: a person asks an agency to publish a dataset."""

    __tablename__ = "data_requests"
    __audited__ = True
    #: Counters follow votes, follows and comments, which are not audited.
    __audit_ignore__ = frozenset({"vote_count", "follower_count", "comment_count"})
    __table_args__ = (Index("ix_data_requests_status_vote_count", "status", "vote_count"),)

    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    use_case: Mapped[str] = mapped_column(Text, default="")
    #: The agency the requester suggested (may be empty).
    suggested_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    #: The agency that must answer: the suggested one, else the IT unit.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"), index=True)
    requester_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus, "data_request_status"), default=RequestStatus.NEW)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    due_on: Mapped[date]
    responded_at: Mapped[datetime | None]
    planned_date: Mapped[date | None]
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str] = mapped_column(String(254), default="")
    vote_count: Mapped[int] = mapped_column(default=0)
    follower_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequestStatusChange(UUIDPrimaryKey, Base):
    """The public status history of a request (the audit trail keeps who did it)."""

    __tablename__ = "data_request_status_changes"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequestVote(Base):
    """One upvote: one per account and request (the primary key says so)."""

    __tablename__ = "data_request_votes"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequestFollow(Base):
    __tablename__ = "data_request_follows"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequestComment(UUIDPrimaryKey, Base):
    __tablename__ = "data_request_comments"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    #: Set when the author spoke for the agency that answers the request.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)


class DatasetFeedback(UUIDPrimaryKey, Base):
    """Phản hồi về dữ liệu mở: goes to the dataset's agency and its focal point."""

    __tablename__ = "dataset_feedback"
    __audited__ = True

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    category: Mapped[FeedbackCategory] = mapped_column(enum_column(FeedbackCategory, "feedback_category"))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[FeedbackStatus] = mapped_column(enum_column(FeedbackStatus, "feedback_status"), default=FeedbackStatus.OPEN)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str] = mapped_column(String(254), default="")
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)


class Showcase(UUIDPrimaryKey, Base):
    """A reuse: an application, article or visualisation built on open datasets."""

    __tablename__ = "showcases"

    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ShowcaseKind] = mapped_column(enum_column(ShowcaseKind, "showcase_kind"))
    url: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)


class ShowcaseDataset(Base):
    __tablename__ = "showcase_datasets"

    showcase_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("showcases.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, index=True)


class AbuseReport(UUIDPrimaryKey, Base):
    """Báo cáo vi phạm on a piece of user content; the platform administrator decides."""

    __tablename__ = "abuse_reports"
    __table_args__ = (UniqueConstraint("target_type", "target_id", "reporter_id", name="uq_abuse_reports_target_reporter"),)

    target_type: Mapped[AbuseTarget] = mapped_column(enum_column(AbuseTarget, "abuse_target"))
    target_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reason: Mapped[AbuseReason] = mapped_column(enum_column(AbuseReason, "abuse_reason"))
    details: Mapped[str] = mapped_column(Text, default="")
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[AbuseStatus] = mapped_column(enum_column(AbuseStatus, "abuse_status"), default=AbuseStatus.OPEN, index=True)
    moderated_at: Mapped[datetime | None]
    moderated_by: Mapped[str] = mapped_column(String(254), default="")
    moderation_reason: Mapped[str] = mapped_column(Text, default="")


class PlanPhase(UUIDPrimaryKey, Base):
    """A phase of the open-data plan with its minimum number of datasets (Art. 19(1))."""

    __tablename__ = "open_data_plan_phases"
    __audited__ = True

    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    target_count: Mapped[int] = mapped_column(default=0)


class PlannedDataset(UUIDPrimaryKey, Base):
    """One dataset an agency plans to publish, by a target date, in a phase."""

    __tablename__ = "open_data_plan_items"
    __audited__ = True

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    source_database_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("databases.id", ondelete="SET NULL"))
    target_date: Mapped[date]
    phase_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("open_data_plan_phases.id", ondelete="SET NULL"), index=True)
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_requests.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListReview(UUIDPrimaryKey, Base):
    """A review of an agency's part of the open-data list (Art. 20(3): every 6 months)."""

    __tablename__ = "open_data_list_reviews"
    __audited__ = True

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    reviewed_on: Mapped[date]
    next_due: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListIssue(IssuedVersion, UUIDPrimaryKey, Base):
    """An issued version of the open-data list (Art. 17(2)): the decision of the PPC
    Chairman, recorded by the platform administrator, with every planned dataset frozen
    in ``snapshot``. Immutable once written (an ORM guard in ``list_issues``)."""

    __tablename__ = "open_data_list_issues"
    __audited__ = True

    item_count: Mapped[int] = mapped_column(default=0)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class ListIssueItem(Base):
    """A planned dataset on an issued version, for lookups (the snapshot is the record).

    ``plan_item_id`` has no foreign key on purpose: a planned dataset may be deleted from
    the plan later, and the issued version must not change with it."""

    __tablename__ = "open_data_list_issue_items"

    issue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("open_data_list_issues.id", ondelete="CASCADE"), primary_key=True)
    plan_item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
