"""Accounts: passwords, login sessions, API tokens, throttling, self sign-up.

Every function takes ``(session, actor, ...)`` and checks permissions itself, so the
pages, the JSON API and the CLI share one set of rules.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import EventTag, record, snapshot
from dulieuso.auth.models import AGENCY_ROLES, ApiToken, LoginThrottle, Role, User, UserSession
from dulieuso.auth.permissions import Action, Actor, can, require
from dulieuso.db import utcnow
from dulieuso.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from dulieuso.i18n import Msg

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "dls_"
MIN_PASSWORD = 10


def hash_secret(value: str) -> str:
    """SHA-256 of a high-entropy secret (tokens); passwords use argon2 instead."""
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def actor_for(user: User, *, request_id: str | None = None, via: str = "web") -> Actor:
    return Actor(
        role=user.role,
        user_id=user.id,
        email=user.email,
        agency_id=user.agency_id,
        request_id=request_id,
        via=via,
    )


# -- users -------------------------------------------------------------------------


@dataclass
class NewUser:
    email: str
    full_name: str
    role: Role
    password: str | None = None
    agency_id: uuid.UUID | None = None


def _validate_new_user(session: Session, data: NewUser) -> dict[str, list[Msg]]:
    errors: dict[str, list[Msg]] = {}
    email = normalise_email(data.email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = [Msg("Enter a valid e-mail address.")]
    elif session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = [Msg("An account with this e-mail already exists.")]
    if not data.full_name.strip():
        errors["full_name"] = [Msg("Enter the full name.")]
    if data.role is Role.ANONYMOUS:
        errors["role"] = [Msg("This role cannot be given to an account.")]
    if data.role in AGENCY_ROLES and data.agency_id is None:
        errors["agency"] = [Msg("Choose the agency this account belongs to.")]
    if data.role not in AGENCY_ROLES and data.agency_id is not None and data.role is not Role.PLATFORM_ADMIN:
        errors["agency"] = [Msg("This role does not belong to an agency.")]
    if data.role is not Role.CONSUMER_SYSTEM:
        if not data.password or len(data.password) < MIN_PASSWORD:
            errors["password"] = [Msg("The password must have at least {n} characters.", n=MIN_PASSWORD)]
    return errors


def create_user(session: Session, actor: Actor, data: NewUser, *, confirmed: bool = True) -> User:
    """Create an account. Agency administrators create staff of their own agency only."""
    require(actor, Action.USER_CREATE, data.agency_id)
    if actor.role is not Role.PLATFORM_ADMIN and data.role in {Role.PLATFORM_ADMIN, Role.CITIZEN}:
        raise Invalid(
            Msg("You cannot create an account with this role."),
            fields={"role": [Msg("You cannot create an account with this role.")]},
        )
    if data.agency_id is not None:
        from dulieuso.agencies.models import Agency

        if session.get(Agency, data.agency_id) is None:
            raise Invalid(fields={"agency": [Msg("Unknown agency.")]})
    errors = _validate_new_user(session, data)
    if errors:
        raise Invalid(fields=errors)
    user = User(
        email=normalise_email(data.email),
        full_name=data.full_name.strip(),
        role=data.role,
        agency_id=data.agency_id,
        password_hash=hash_password(data.password) if data.password else None,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    session.add(user)
    session.flush()
    record(session, actor, EventTag.USER_CREATE, user, after=snapshot(user), label=user.email)
    return user


def get_user(session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or not (
        actor.user_id == user.id or can(actor, Action.USER_LIST, user.agency_id)
    ):
        raise NotFound(Msg("Account not found."))
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def list_users(
    session: Session,
    actor: Actor,
    *,
    agency_id: uuid.UUID | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    """Accounts the actor may see: all for the platform administrator, own agency otherwise."""
    if actor.role is Role.PLATFORM_ADMIN:
        scope = agency_id
    else:
        require(actor, Action.USER_LIST, actor.agency_id)
        scope = actor.agency_id
    stmt = select(User)
    if scope is not None:
        stmt = stmt.where(User.agency_id == scope)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.email).like(like) | func.lower(User.full_name).like(like))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = session.scalars(stmt.order_by(User.email).limit(limit).offset(offset)).all()
    return list(users), total


def disable_user(session: Session, actor: Actor, user: User) -> User:
    require(actor, Action.USER_DISABLE, user.agency_id)
    if user.id == actor.user_id:
        raise Invalid(Msg("You cannot disable your own account."))
    if not user.is_active:
        return user
    before = snapshot(user)
    user.is_active = False
    for login in session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
        session.delete(login)
    record(session, actor, EventTag.USER_DISABLE, user, before=before, after=snapshot(user), label=user.email)
    return user


def change_password(session: Session, actor: Actor, user: User, old: str, new: str) -> None:
    if actor.user_id != user.id:
        raise NotFound(Msg("Account not found."))
    if not verify_password(user.password_hash, old):
        raise Invalid(fields={"old_password": [Msg("The current password is not correct.")]})
    if len(new) < MIN_PASSWORD:
        raise Invalid(fields={"new_password": [Msg("The password must have at least {n} characters.", n=MIN_PASSWORD)]})
    user.password_hash = hash_password(new)
    record(session, actor, EventTag.USER_PASSWORD_CHANGE, user, label=user.email)


# -- login, sessions, throttling ----------------------------------------------------


def _throttle_keys(email: str, ip: str | None) -> list[str]:
    keys = [f"email:{normalise_email(email)}"]
    if ip:
        keys.append(f"ip:{ip}")
    return keys


def _check_throttle(session: Session, keys: list[str], now: datetime) -> None:
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row and row.locked_until and row.locked_until > now:
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyRequests(
                Msg("Too many failed logins. Try again in {minutes} minutes.", minutes=minutes),
                code="login_throttled",
            )


def _register_failure(session: Session, keys: list[str], now: datetime, max_failures: int, lock_minutes: int) -> None:
    window = timedelta(minutes=lock_minutes)
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now)
            session.add(row)
        if now - row.window_start > window:
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        # A shared address (a whole office behind one NAT) gets more room than an account.
        limit = max_failures if key.startswith("email:") else max_failures * 6
        if row.failures >= limit:
            row.locked_until = now + window


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    ip: str | None = None,
    max_failures: int = 5,
    lock_minutes: int = 15,
) -> User:
    """Check a password login; throttle repeated failures per e-mail and per address.

    The caller commits even when this raises, so that failures are counted.
    """
    now = utcnow()
    keys = _throttle_keys(email, ip)
    _check_throttle(session, keys, now)
    user = find_user_by_email(session, email)
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(_DUMMY_HASH, password)  # same time whether or not the account exists
        _register_failure(session, keys, now, max_failures, lock_minutes)
        raise Unauthorized(Msg("Wrong e-mail or password."), code="login_failed")
    if user.email_confirmed_at is None:
        raise Unauthorized(
            Msg("Please confirm your e-mail address first: open the link we sent you."),
            code="email_not_confirmed",
        )
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is not None and key.startswith("email:"):
            session.delete(row)
    user.last_login_at = now
    return user


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def start_session(session: Session, user: User, *, days: int, user_agent: str | None, ip: str | None) -> str:
    """Open a login session; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=hash_secret(token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(days=days),
            user_agent=(user_agent or "")[:300],
            ip=ip,
        )
    )
    return token


def user_for_session(session: Session, token: str, *, days: int) -> User | None:
    login = session.scalar(select(UserSession).where(UserSession.token_hash == hash_secret(token)))
    now = utcnow()
    if login is None or login.expires_at <= now:
        return None
    user = session.get(User, login.user_id)
    if user is None or not user.is_active:
        return None
    # Sliding expiry, written at most once an hour.
    if login.expires_at - now < timedelta(days=days) - timedelta(hours=1):
        login.expires_at = now + timedelta(days=days)
    return user


def end_session(session: Session, token: str) -> None:
    login = session.scalar(select(UserSession).where(UserSession.token_hash == hash_secret(token)))
    if login is not None:
        session.delete(login)


# -- API tokens --------------------------------------------------------------------


def create_token(
    session: Session,
    actor: Actor,
    user: User,
    *,
    name: str,
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; the plain token is returned once and never stored."""
    if user.id != actor.user_id:
        require(actor, Action.TOKEN_MANAGE_ANY)
    else:
        require(actor, Action.TOKEN_MANAGE_OWN)
    if not user.is_active:
        raise Invalid(Msg("This account is disabled."))
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid(fields={"name": [Msg("Give the token a name of at most 120 characters.")]})
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise Invalid(fields={"expires_days": [Msg("Expiry must be between 1 and 3650 days.")]})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_secret(plain),
        prefix=plain[:10],
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(token)
    session.flush()
    record(session, actor, EventTag.TOKEN_CREATE, token, after=snapshot(token), label=f"{user.email}: {name}")
    return token, plain


def list_tokens(session: Session, actor: Actor, user: User) -> list[ApiToken]:
    if user.id != actor.user_id:
        require(actor, Action.TOKEN_MANAGE_ANY)
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    return list(session.scalars(stmt))


def revoke_token(session: Session, actor: Actor, token_id: uuid.UUID) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not can(actor, Action.TOKEN_MANAGE_ANY)):
        raise NotFound(Msg("Token not found."))
    if token.revoked_at is None:
        before = snapshot(token)
        token.revoked_at = utcnow()
        record(session, actor, EventTag.TOKEN_REVOKE, token, before=before, after=snapshot(token), label=token.name)
    return token


def user_for_token(session: Session, plain: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(plain)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # bookkeeping, not audited
    return user


# -- citizen self sign-up ----------------------------------------------------------


def register_citizen(session: Session, *, email: str, full_name: str, password: str) -> User:
    """A citizen signs up; the account works once the e-mail link is opened."""
    data = NewUser(email=email, full_name=full_name, role=Role.CITIZEN, password=password)
    errors = _validate_new_user(session, data)
    if errors:
        raise Invalid(fields=errors)
    user = User(
        email=normalise_email(email),
        full_name=full_name.strip(),
        role=Role.CITIZEN,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    self_actor = Actor(role=Role.CITIZEN, user_id=user.id, email=user.email, via="signup")
    record(session, self_actor, EventTag.USER_CREATE, user, after=snapshot(user), label=user.email)
    return user


def confirm_email(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(Msg("Account not found."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        self_actor = Actor(role=user.role, user_id=user.id, email=user.email, via="signup")
        record(session, self_actor, EventTag.USER_CONFIRM_EMAIL, user, label=user.email)
    return user


def ensure_conflict_free(session: Session, email: str) -> None:
    if find_user_by_email(session, email) is not None:
        raise Conflict(Msg("An account with this e-mail already exists."))
