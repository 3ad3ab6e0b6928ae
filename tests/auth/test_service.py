from datetime import timedelta

import pytest
from conftest import PASSWORD, actor_of, make_agency, make_user
from sqlalchemy import select

from dulieuso.audit.models import AuditEvent
from dulieuso.audit.service import AuditMissing
from dulieuso.auth import service
from dulieuso.auth.models import ApiToken, Role
from dulieuso.db import utcnow
from dulieuso.errors import Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


class TestPasswords:
    def test_hash_is_argon2_and_verifies(self):
        hashed = service.hash_password("mot-mat-khau-dai")
        assert hashed.startswith("$argon2")
        assert service.verify_password(hashed, "mot-mat-khau-dai")
        assert not service.verify_password(hashed, "sai")

    def test_garbage_hash_does_not_verify(self):
        assert not service.verify_password("not-a-hash", "x")


class TestCreateUser:
    def test_agency_admin_creates_staff_in_own_agency(self, db):
        admin = make_user(db, Role.AGENCY_ADMIN)
        user = service.create_user(
            db, actor_of(admin),
            service.NewUser(email="Bien.Tap@Example.vn", full_name="Lò Văn A", role=Role.AGENCY_EDITOR,
                            password=PASSWORD, agency_id=admin.agency_id),
        )
        assert user.email == "bien.tap@example.vn"
        assert user.agency_id == admin.agency_id

    def test_agency_admin_cannot_create_in_another_agency(self, db):
        admin = make_user(db, Role.AGENCY_ADMIN)
        other = make_agency(db)
        with pytest.raises(Forbidden):
            service.create_user(
                db, actor_of(admin),
                service.NewUser(email="x@example.vn", full_name="X", role=Role.AGENCY_EDITOR,
                                password=PASSWORD, agency_id=other.id),
            )

    def test_agency_admin_cannot_create_platform_admin(self, db):
        admin = make_user(db, Role.AGENCY_ADMIN)
        with pytest.raises(Invalid):
            service.create_user(
                db, actor_of(admin),
                service.NewUser(email="x@example.vn", full_name="X", role=Role.PLATFORM_ADMIN,
                                password=PASSWORD, agency_id=admin.agency_id),
            )

    def test_duplicate_email_and_short_password_are_field_errors(self, db):
        admin = make_user(db, Role.PLATFORM_ADMIN, email="trung@example.vn")
        with pytest.raises(Invalid) as caught:
            service.create_user(
                db, actor_of(admin),
                service.NewUser(email="TRUNG@example.vn", full_name="Y", role=Role.CITIZEN, password="ngan"),
            )
        assert set(caught.value.fields) == {"email", "password"}
        assert caught.value.fields["email"][0].vi == "Đã có tài khoản dùng e-mail này."

    def test_creation_is_audited(self, db):
        user = make_user(db, Role.CITIZEN)
        event = db.scalar(select(AuditEvent).where(AuditEvent.subject_id == str(user.id)))
        assert event is not None and event.tag == "auth:user:create"
        assert "password_hash" not in event.changes["diff"]


class TestAuthenticate:
    def test_throttles_after_repeated_failures(self, db):
        user = make_user(db, Role.CITIZEN)
        for _ in range(5):
            with pytest.raises(Unauthorized):
                service.authenticate(db, user.email, "sai-mat-khau", ip="10.0.0.1")
        with pytest.raises(TooManyRequests):
            service.authenticate(db, user.email, PASSWORD, ip="10.0.0.2")

    def test_disabled_account_cannot_log_in(self, db):
        admin = make_user(db, Role.PLATFORM_ADMIN)
        user = make_user(db, Role.CITIZEN)
        service.disable_user(db, actor_of(admin), user)
        with pytest.raises(Unauthorized):
            service.authenticate(db, user.email, PASSWORD)

    def test_success_clears_the_account_counter(self, db):
        user = make_user(db, Role.CITIZEN)
        for _ in range(3):
            with pytest.raises(Unauthorized):
                service.authenticate(db, user.email, "sai")
        service.authenticate(db, user.email, PASSWORD)
        for _ in range(4):
            with pytest.raises(Unauthorized):
                service.authenticate(db, user.email, "sai")
        assert service.authenticate(db, user.email, PASSWORD).id == user.id


class TestTokens:
    def test_token_is_stored_hashed_and_resolves(self, db):
        user = make_user(db, Role.AGENCY_EDITOR)
        token, plain = service.create_token(db, actor_of(user), user, name="script")
        assert plain.startswith("dls_")
        stored = db.get(ApiToken, token.id)
        assert stored.token_hash != plain and plain not in stored.token_hash
        assert service.user_for_token(db, plain).id == user.id

    def test_revoked_and_expired_tokens_do_not_resolve(self, db):
        user = make_user(db, Role.AGENCY_EDITOR)
        token, plain = service.create_token(db, actor_of(user), user, name="a")
        service.revoke_token(db, actor_of(user), token.id)
        assert service.user_for_token(db, plain) is None
        token2, plain2 = service.create_token(db, actor_of(user), user, name="b", expires_days=1)
        token2.expires_at = utcnow() - timedelta(seconds=1)
        from dulieuso.audit.service import record, EventTag
        record(db, actor_of(user), EventTag.TOKEN_REVOKE, token2)
        assert service.user_for_token(db, plain2) is None

    def test_someone_else_cannot_revoke_my_token(self, db):
        owner = make_user(db, Role.AGENCY_EDITOR)
        other = make_user(db, Role.AGENCY_EDITOR)
        token, _ = service.create_token(db, actor_of(owner), owner, name="a")
        with pytest.raises(NotFound):
            service.revoke_token(db, actor_of(other), token.id)

    def test_many_tokens_per_user(self, db):
        user = make_user(db, Role.CITIZEN)
        for name in ("a", "b", "c"):
            service.create_token(db, actor_of(user), user, name=name)
        assert len(service.list_tokens(db, actor_of(user), user)) == 3


class TestAuditGuard:
    def test_a_change_without_audit_record_cannot_be_committed(self, db):
        user = make_user(db, Role.CITIZEN)
        db.commit()
        user.full_name = "Đổi tên lén"
        with pytest.raises(AuditMissing):
            db.commit()
        db.rollback()

    def test_bookkeeping_columns_need_no_record(self, db):
        user = make_user(db, Role.CITIZEN)
        db.commit()
        user.last_login_at = utcnow()
        db.commit()

    def test_audit_rows_cannot_be_changed(self, db):
        user = make_user(db, Role.CITIZEN)
        db.commit()
        event = db.scalar(select(AuditEvent).where(AuditEvent.subject_id == str(user.id)))
        event.actor_label = "someone-else"
        with pytest.raises(AuditMissing):
            db.flush()
        db.rollback()

    def test_database_refuses_audit_row_deletion(self, db):
        from sqlalchemy import delete
        from sqlalchemy.exc import DBAPIError

        make_user(db, Role.CITIZEN)
        db.commit()
        with pytest.raises(DBAPIError):
            db.execute(delete(AuditEvent))
        db.rollback()
