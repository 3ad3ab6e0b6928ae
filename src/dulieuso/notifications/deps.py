# SPDX-License-Identifier: AGPL-3.0-or-later
"""The unread count in the page header, computed once per rendered page."""

from __future__ import annotations

import logging

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from dulieuso.auth.permissions import Actor
from dulieuso.notifications import service

log = logging.getLogger("dulieuso.notifications")


def unread_count_for_request(request: Request) -> int:
    """The signed-in visitor's unread count, cached in ``request.state.unread_count``.

    Called by ``web.templating.render`` for the header badge. Uses a short session of
    its own (the request's session is not reachable from here) and reports 0 rather
    than failing a page, the error page included, when the database is unavailable.
    """
    cached = getattr(request.state, "unread_count", None)
    if isinstance(cached, int):
        return cached
    actor: Actor | None = getattr(request.state, "actor", None)
    count = 0
    if actor is not None and actor.is_authenticated and actor.user_id is not None:
        try:
            with request.app.state.sessionmaker() as session:
                count = service.unread_count(session, actor)
        except SQLAlchemyError:
            log.warning("could not count unread notifications", exc_info=True)
    request.state.unread_count = count
    return count
