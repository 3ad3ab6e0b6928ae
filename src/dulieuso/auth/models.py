"""Users, login sessions, API tokens and login throttling."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dulieuso.db import Base, UUIDPrimaryKey, utcnow


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    AGENCY_ADMIN = "agency_admin"
    AGENCY_EDITOR = "agency_editor"
    AGENCY_APPROVER = "agency_approver"
    CONSUMER_SYSTEM = "consumer_system"
    CITIZEN = "citizen"
    ANONYMOUS = "anonymous"


AGENCY_ROLES = frozenset(
    {Role.AGENCY_ADMIN, Role.AGENCY_EDITOR, Role.AGENCY_APPROVER, Role.CONSUMER_SYSTEM}
)


def enum_column(enum: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum,
        name=name,
        native_enum=False,
        length=40,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"
    __audited__ = True
    __audit_ignore__ = frozenset({"last_login_at"})

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    email_confirmed_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(5), default="vi")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class UserSession(UUIDPrimaryKey, Base):
    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(UUIDPrimaryKey, Base):
    __tablename__ = "api_tokens"
    __audited__ = True
    __audit_ignore__ = frozenset({"last_used_at"})

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginThrottle(Base):
    """Failed logins per key (an e-mail or a client address) inside the current window."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
