"""Every table, imported in one place so Alembic and tests see the whole schema."""

from dulieuso.agencies.models import Agency, FocalPoint
from dulieuso.audit.models import AuditEvent
from dulieuso.auth.models import ApiToken, LoginThrottle, User, UserSession
from dulieuso.catalog.models import (
    CatalogIssue,
    CategoryAvailability,
    CodeList,
    CodeListItem,
    CodeListVersion,
    DataCategory,
    Database,
    DataElement,
    InformationSystem,
    ListReview,
    ReviewComment,
)
from dulieuso.db import Base
from dulieuso.notifications.models import Notification
from dulieuso.policy.models import CalendarDay, Policy

metadata = Base.metadata

__all__ = [
    "CatalogIssue",
    "CategoryAvailability",
    "CodeList",
    "CodeListItem",
    "CodeListVersion",
    "DataCategory",
    "DataElement",
    "Database",
    "InformationSystem",
    "ListReview",
    "ReviewComment",
    "Agency",
    "ApiToken",
    "AuditEvent",
    "CalendarDay",
    "FocalPoint",
    "LoginThrottle",
    "Notification",
    "Policy",
    "User",
    "UserSession",
    "metadata",
]
