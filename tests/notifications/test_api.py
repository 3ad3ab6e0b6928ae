# SPDX-License-Identifier: AGPL-3.0-or-later
"""JSON routes of the inbox under /api/v1/notifications."""

from __future__ import annotations

import uuid

from conftest import bearer, make_user
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dulieuso.auth.models import Role, User
from dulieuso.i18n import Msg
from dulieuso.notifications import service
from dulieuso.notifications.models import Notification


def _notify(db: Session, user: User) -> Notification:
    notification = service.notify(
        db,
        user.id,
        kind="test:thing:happened",
        title=Msg("Confirm your e-mail address"),
        body=Msg("Nội dung"),
        link="/inbox",
    )
    db.commit()
    return notification


class TestList:
    def test_returns_the_page_envelope_of_own_notifications(
        self, client: TestClient, db: Session
    ) -> None:
        me, other = make_user(db, Role.CITIZEN), make_user(db, Role.CITIZEN)
        mine = _notify(db, me)
        _notify(db, other)
        response = client.get("/api/v1/notifications", headers=bearer(db, me))
        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["limit"], body["offset"]) == (1, 50, 0)
        (item,) = body["items"]
        assert item["id"] == str(mine.id)
        assert item["title_vi"] == "Xác nhận địa chỉ e-mail"
        assert item["title_en"] == "Confirm your e-mail address"
        assert item["read_at"] is None and item["link"] == "/inbox"

    def test_unread_filter(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        read, unread = _notify(db, me), _notify(db, me)
        headers = bearer(db, me)
        client.post(f"/api/v1/notifications/{read.id}/read", headers=headers)
        body = client.get("/api/v1/notifications?unread=true", headers=headers).json()
        assert [i["id"] for i in body["items"]] == [str(unread.id)]

    def test_anonymous_gets_401_error_shape(self, client: TestClient) -> None:
        response = client.get("/api/v1/notifications")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


class TestMarkRead:
    def test_unread_count_goes_down_after_read(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.AGENCY_EDITOR)
        first, _second = _notify(db, me), _notify(db, me)
        headers = bearer(db, me)
        assert client.get("/api/v1/notifications/unread-count", headers=headers).json() == {
            "unread": 2
        }
        response = client.post(f"/api/v1/notifications/{first.id}/read", headers=headers)
        assert response.status_code == 200 and response.json()["read_at"] is not None
        assert client.get("/api/v1/notifications/unread-count", headers=headers).json() == {
            "unread": 1
        }

    def test_someone_elses_id_is_404(self, client: TestClient, db: Session) -> None:
        me, other = make_user(db, Role.CITIZEN), make_user(db, Role.CITIZEN)
        theirs = _notify(db, other)
        for notification_id in (theirs.id, uuid.uuid4()):
            response = client.post(
                f"/api/v1/notifications/{notification_id}/read", headers=bearer(db, me)
            )
            assert response.status_code == 404
            assert response.json()["error"]["message"] == "Không tìm thấy thông báo."

    def test_read_all(self, client: TestClient, db: Session) -> None:
        me = make_user(db, Role.CITIZEN)
        _notify(db, me), _notify(db, me)
        headers = bearer(db, me)
        assert client.post("/api/v1/notifications/read-all", headers=headers).json() == {
            "marked": 2
        }
        assert client.get("/api/v1/notifications/unread-count", headers=headers).json() == {
            "unread": 0
        }
