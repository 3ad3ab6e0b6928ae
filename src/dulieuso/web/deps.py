"""Request dependencies: the database session, the actor, the language, CSRF."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from dulieuso.auth import service as auth
from dulieuso.auth.models import User
from dulieuso.auth.permissions import ANONYMOUS, Actor
from dulieuso.config import Settings
from dulieuso.errors import DomainError, Unauthorized
from dulieuso.i18n import LANGUAGES, Msg, pick_language

SESSION_COOKIE = "dls_session"
CSRF_COOKIE = "dls_csrf"
LANG_COOKIE = "dls_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(DomainError):
    status = 403
    code = "csrf_failed"
    default_message = Msg("The form has expired or did not come from this site. Reload the page and try again.")


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def get_lang(request: Request) -> str:
    cached = getattr(request.state, "lang", None)
    if cached:
        return cached  # type: ignore[no-any-return]
    settings: Settings = request.app.state.settings
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    lang = chosen if chosen in LANGUAGES else settings.default_language
    if not chosen and request.url.path.startswith("/api/"):
        lang = pick_language(request.headers.get("accept-language"), lang)
    request.state.lang = lang
    return lang


def csrf_token(request: Request) -> str:
    """The token forms must send back: an HMAC of the visitor's CSRF cookie."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        request.state.new_csrf_nonce = nonce
    secret = request.app.state.settings.secret.encode()
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


async def check_csrf(request: Request) -> None:
    """Reject unsafe requests whose form field or header does not match the CSRF cookie."""
    if request.method in SAFE_METHODS:
        return
    nonce = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not nonce or not sent:
        raise CsrfError()
    secret = request.app.state.settings.secret.encode()
    expected = hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sent):
        raise CsrfError()


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def get_actor(request: Request, db: Annotated[Session, Depends(get_db)]) -> Actor:
    """Who is calling: a bearer token, a session cookie, or nobody.

    Cookie-authenticated unsafe requests must pass the CSRF check; bearer-token
    requests carry no ambient authority and need none.
    """
    settings: Settings = request.app.state.settings
    request_id = getattr(request.state, "request_id", None)
    header = request.headers.get("authorization", "")
    user: User | None = None
    via = "web"
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized(Msg("Send the API token as 'Authorization: Bearer <token>'."), code="bad_token")
        user = auth.user_for_token(db, value.strip())
        if user is None:
            raise Unauthorized(Msg("The API token is invalid, expired or revoked."), code="bad_token")
        via = "api"
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            user = auth.user_for_session(db, cookie, days=settings.session_days)
            if user is not None:
                await check_csrf(request)
    db.commit()  # sliding expiry and token bookkeeping
    if user is None:
        actor = Actor(role=ANONYMOUS.role, request_id=request_id)
    else:
        actor = auth.actor_for(user, request_id=request_id, via=via)
    request.state.actor = actor
    return actor


async def require_login(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    if not actor.is_authenticated:
        raise Unauthorized()
    return actor


DbDep = Annotated[Session, Depends(get_db)]
ActorDep = Annotated[Actor, Depends(get_actor)]
LoginDep = Annotated[Actor, Depends(require_login)]
LangDep = Annotated[str, Depends(get_lang)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CsrfDep = Depends(check_csrf)


def client_ip(request: Request) -> str | None:
    return _client_ip(request)
