# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes of the inbox: one's own notifications only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from dulieuso.notifications import service
from dulieuso.notifications.schemas import MarkedRead, NotificationPublic, UnreadCount
from dulieuso.web.deps import DbDep, LoginDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["notifications"], responses=ERROR_RESPONSES)


@router.get(
    "/notifications",
    response_model=Page[NotificationPublic],
    summary="Your notifications, newest first",
)
def list_notifications(
    db: DbDep, actor: LoginDep, unread: bool = False, limit: int = 50, offset: int = 0
) -> Page[NotificationPublic]:
    items, total = service.inbox(db, actor, unread_only=unread, limit=limit, offset=offset)
    return Page(
        items=[NotificationPublic.model_validate(n) for n in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/notifications/unread-count", response_model=UnreadCount, summary="How many are unread"
)
def unread_count(db: DbDep, actor: LoginDep) -> UnreadCount:
    return UnreadCount(unread=service.unread_count(db, actor))


@router.post("/notifications/read-all", response_model=MarkedRead, summary="Mark all as read")
def read_all(db: DbDep, actor: LoginDep) -> MarkedRead:
    marked = service.mark_all_read(db, actor)
    db.commit()
    return MarkedRead(marked=marked)


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationPublic,
    summary="Mark one as read",
)
def read_one(notification_id: uuid.UUID, db: DbDep, actor: LoginDep) -> NotificationPublic:
    notification = service.mark_read(db, actor, notification_id)
    db.commit()
    return NotificationPublic.model_validate(notification)
