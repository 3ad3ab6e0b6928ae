# SPDX-License-Identifier: AGPL-3.0-or-later
"""The inbox service: one's own notifications only, unread counts, marking read."""

from __future__ import annotations

import pytest
from conftest import actor_of, make_user
from sqlalchemy.orm import Session

from dulieuso.auth.models import Role, User
from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.errors import Invalid, NotFound, Unauthorized
from dulieuso.i18n import Msg
from dulieuso.notifications import service
from dulieuso.notifications.models import Notification


def _notify(db: Session, user: User, title: str = "Có việc mới") -> Notification:
    return service.notify(
        db, user.id, kind="test:thing:happened", title=Msg(title), body=Msg("Nội dung")
    )


class TestInbox:
    def test_lists_own_notifications_newest_first(self, db: Session) -> None:
        me, other = make_user(db, Role.CITIZEN), make_user(db, Role.CITIZEN)
        first, second = _notify(db, me, "Thứ nhất"), _notify(db, me, "Thứ hai")
        _notify(db, other)
        items, total = service.inbox(db, actor_of(me))
        assert total == 2
        assert {n.id for n in items} == {first.id, second.id}
        assert [n.created_at for n in items] == sorted((n.created_at for n in items), reverse=True)

    def test_unread_only_leaves_out_read_ones(self, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        read, unread = _notify(db, me), _notify(db, me)
        service.mark_read(db, actor_of(me), read.id)
        items, total = service.inbox(db, actor_of(me), unread_only=True)
        assert (total, [n.id for n in items]) == (1, [unread.id])

    def test_pages_with_limit_and_offset(self, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        for i in range(3):
            _notify(db, me, f"Số {i}")
        items, total = service.inbox(db, actor_of(me), limit=2, offset=2)
        assert (len(items), total) == (1, 3)

    @pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (10, -1)])
    def test_bad_paging_is_invalid(self, db: Session, limit: int, offset: int) -> None:
        me = make_user(db, Role.CITIZEN)
        with pytest.raises(Invalid):
            service.inbox(db, actor_of(me), limit=limit, offset=offset)

    def test_anonymous_must_log_in(self, db: Session) -> None:
        with pytest.raises(Unauthorized):
            service.inbox(db, ANONYMOUS)
        with pytest.raises(Unauthorized):
            service.unread_count(db, ANONYMOUS)


class TestMarkRead:
    def test_unread_count_goes_down_after_mark_read(self, db: Session) -> None:
        me = make_user(db, Role.AGENCY_EDITOR)
        one, _two = _notify(db, me), _notify(db, me)
        assert service.unread_count(db, actor_of(me)) == 2
        marked = service.mark_read(db, actor_of(me), one.id)
        assert marked.read_at is not None
        assert service.unread_count(db, actor_of(me)) == 1

    def test_marking_again_keeps_the_first_time(self, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        notification = _notify(db, me)
        first = service.mark_read(db, actor_of(me), notification.id).read_at
        assert service.mark_read(db, actor_of(me), notification.id).read_at == first

    def test_someone_elses_notification_is_not_found(self, db: Session) -> None:
        me, other = make_user(db, Role.CITIZEN), make_user(db, Role.PLATFORM_ADMIN)
        theirs = _notify(db, me)
        with pytest.raises(NotFound):
            service.mark_read(db, actor_of(other), theirs.id)
        assert theirs.read_at is None

    def test_mark_all_read_marks_only_own_unread(self, db: Session) -> None:
        me, other = make_user(db, Role.CITIZEN), make_user(db, Role.CITIZEN)
        _notify(db, me), _notify(db, me)
        _notify(db, other)
        assert service.mark_all_read(db, actor_of(me)) == 2
        assert service.unread_count(db, actor_of(me)) == 0
        assert service.unread_count(db, actor_of(other)) == 1
        assert service.mark_all_read(db, actor_of(me)) == 0
