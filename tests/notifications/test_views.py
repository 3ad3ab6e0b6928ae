# SPDX-License-Identifier: AGPL-3.0-or-later
"""The inbox pages, driven through real forms with the CSRF token from the page."""

from __future__ import annotations

from typing import Any

from conftest import CSRF_RE, actor_of, login, make_user
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dulieuso.auth.models import Role, User
from dulieuso.i18n import Msg
from dulieuso.notifications import service
from dulieuso.notifications.deps import unread_count_for_request
from dulieuso.notifications.models import Notification
from dulieuso.web.deps import ActorDep


def _notify(db: Session, user: User, link: str | None = "/agencies") -> Notification:
    notification = service.notify(
        db,
        user.id,
        kind="test:thing:happened",
        title=Msg("Confirm your e-mail address"),
        body=Msg("Hello {name},", name=user.full_name),
        link=link,
    )
    db.commit()
    return notification


def _inbox_token(client: TestClient) -> str:
    match = CSRF_RE.search(client.get("/inbox").text)
    assert match
    return match.group(1)


class TestInboxPage:
    def test_anonymous_is_sent_to_login(self, client: TestClient) -> None:
        response = client.get("/inbox", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/inbox"

    def test_lists_own_notifications_in_page_language_unread_highlighted(
        self, client: TestClient, db: Session
    ) -> None:
        me, other = make_user(db, Role.CITIZEN, full_name="Lò Thị Mai"), make_user(db, Role.CITIZEN)
        _notify(db, me)
        _notify(db, other)
        login(client, me)
        page = client.get("/inbox")
        assert page.status_code == 200
        assert "Xác nhận địa chỉ e-mail" in page.text
        assert "Xin chào Lò Thị Mai," in page.text
        assert page.text.count('class="notice warning unread"') == 1
        assert '<span class="badge"' in page.text  # the header shows the unread count
        assert page.headers["link"].startswith("</api/v1/notifications?")
        english = client.get("/inbox?lang=en")
        assert "Confirm your e-mail address" in english.text and "Hello Lò Thị Mai," in english.text

    def test_empty_inbox_says_so(self, client: TestClient, db: Session) -> None:
        login(client, make_user(db, Role.CITIZEN))
        assert "Chưa có thông báo nào." in client.get("/inbox").text


class TestForms:
    def test_mark_as_read_form_lowers_the_count(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.AGENCY_EDITOR)
        first, _second = _notify(db, me), _notify(db, me)
        login(client, me)
        token = _inbox_token(client)
        response = client.post(
            f"/inbox/{first.id}/read", data={"csrf_token": token}, follow_redirects=False
        )
        assert (response.status_code, response.headers["location"]) == (303, "/inbox")
        page = client.get("/inbox")
        assert page.text.count('class="notice warning unread"') == 1
        assert "1 chưa đọc" in page.text

    def test_open_marks_read_and_follows_the_link(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        notification = _notify(db, me, link="/agencies?q=so")
        login(client, me)
        response = client.post(
            f"/inbox/{notification.id}/read",
            data={"csrf_token": _inbox_token(client), "next": notification.link},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/agencies?q=so"
        db.refresh(notification)
        assert notification.read_at is not None

    def test_mark_all_read_form(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        _notify(db, me), _notify(db, me)
        login(client, me)
        response = client.post(
            "/inbox/read-all", data={"csrf_token": _inbox_token(client)}, follow_redirects=False
        )
        assert response.status_code == 303
        assert 'class="notice warning unread"' not in client.get("/inbox").text

    def test_forms_without_csrf_are_refused(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        notification = _notify(db, me)
        login(client, me)
        assert client.post(f"/inbox/{notification.id}/read", data={}).status_code == 403
        assert client.post("/inbox/read-all", data={"csrf_token": "forged"}).status_code == 403
        db.refresh(notification)
        assert notification.read_at is None

    def test_someone_elses_notification_is_404(self, client: TestClient, db: Session) -> None:
        me, other = make_user(db, Role.CITIZEN), make_user(db, Role.CITIZEN)
        theirs = _notify(db, other)
        login(client, me)
        response = client.post(
            f"/inbox/{theirs.id}/read", data={"csrf_token": _inbox_token(client)}
        )
        assert response.status_code == 404


class TestHeaderBadge:
    def test_unread_count_for_request_counts_the_visitors_unread(
        self, app: Any, db: Session
    ) -> None:
        @app.get("/_test/badge")
        def badge(request: Request, actor: ActorDep) -> dict[str, int]:
            return {"count": unread_count_for_request(request)}

        me = make_user(db, Role.CITIZEN)
        first, _ = _notify(db, me), _notify(db, me)
        with TestClient(app) as client:
            assert client.get("/_test/badge").json() == {"count": 0}  # anonymous
            login(client, me)
            assert client.get("/_test/badge").json() == {"count": 2}
            service.mark_read(db, actor_of(me), first.id)
            db.commit()
            assert client.get("/_test/badge").json() == {"count": 1}
