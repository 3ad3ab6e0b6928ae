# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pages of the inbox: the list in the page language, mark as read, mark all read.

CSRF: these routes need a login, and ``get_actor`` checks the CSRF token of every
cookie-authenticated unsafe request.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from dulieuso.notifications import service
from dulieuso.notifications.models import Notification
from dulieuso.web.deps import DbDep, LangDep, LoginDep
from dulieuso.web.templating import render
from dulieuso.web.views import safe_next

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


def _view(notification: Notification, lang: str) -> dict[str, Any]:
    english = lang == "en"
    body = notification.body_en if english else notification.body_vi
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title_en if english else notification.title_vi,
        "paragraphs": [p for p in body.split("\n\n") if p.strip()],
        "link": notification.link,
        "created_at": notification.created_at,
        "read": notification.read_at is not None,
    }


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request, db: DbDep, actor: LoginDep, lang: LangDep, unread: bool = False, page: int = 1
) -> HTMLResponse:
    page = max(1, page)
    offset = (page - 1) * PAGE_SIZE
    items, total = service.inbox(db, actor, unread_only=unread, limit=PAGE_SIZE, offset=offset)
    unread_total = service.unread_count(db, actor)
    request.state.unread_count = unread_total  # the header badge; saves a second query
    query = {"limit": PAGE_SIZE, "offset": offset} | ({"unread": "true"} if unread else {})

    def page_url(number: int) -> str:
        return "/inbox?" + urlencode({"page": number} | ({"unread": "1"} if unread else {}))

    return render(
        request,
        "notifications/inbox.html",
        {
            "items": [_view(n, lang) for n in items],
            "total": total,
            "unread_total": unread_total,
            "unread_only": unread,
            "page": page,
            "newer_url": page_url(page - 1) if page > 1 else None,
            "older_url": page_url(page + 1) if offset + PAGE_SIZE < total else None,
        },
        json_alternate="/api/v1/notifications?" + urlencode(query),
    )


@router.post("/inbox/read-all")
def read_all(db: DbDep, actor: LoginDep) -> RedirectResponse:
    service.mark_all_read(db, actor)
    db.commit()
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{notification_id}/read")
def read_one(
    notification_id: uuid.UUID, db: DbDep, actor: LoginDep, next: str = Form("/inbox")
) -> RedirectResponse:
    service.mark_read(db, actor, notification_id)
    db.commit()
    return RedirectResponse(safe_next(next, "/inbox"), status_code=303)
