# SPDX-License-Identifier: AGPL-3.0-or-later
"""Citizen self sign-up: the form, the e-mailed confirmation link, sending it again.

A citizen fills in the form; ``auth.service.register_citizen`` creates the account,
unconfirmed; after the commit we e-mail a signed link (``itsdangerous``, valid 48
hours) to ``/register/confirm``, which confirms the address. Until then
``auth.service.authenticate`` refuses the login with a message saying why.

The answer is the same whether or not the address already has an account, so the
form cannot be used to find out who is registered: the owner of an existing account
gets an e-mail about the attempt instead (or a fresh link, if still unconfirmed).
Confirmation mails are limited per address and per client address.

The first half of this module is the service (session and settings in, no request);
the routes below stay thin. ``router`` holds the pages, ``api_router`` the JSON twins
(mounted under ``/api/v1``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dulieuso.auth import service as auth
from dulieuso.auth.models import LoginThrottle, User
from dulieuso.config import Settings
from dulieuso.db import utcnow
from dulieuso.errors import BadRequest, Invalid, TooManyRequests
from dulieuso.i18n import Msg
from dulieuso.notifications.backends import mailer_for
from dulieuso.notifications.compose import Letter, absolute_url, compose, section
from dulieuso.notifications.interfaces import Mailer
from dulieuso.web.deps import ActorDep, DbDep, LangDep, check_csrf, client_ip
from dulieuso.web.schemas import ERROR_RESPONSES
from dulieuso.web.templating import render

log = logging.getLogger("dulieuso.auth.signup")

TOKEN_SALT = "dulieuso.auth.signup.confirm-email"
LINK_VALID_HOURS = 48
#: Sign-up and confirmation e-mails per hour, per e-mail address and per client address.
MAILS_PER_ADDRESS = 5
MAILS_PER_CLIENT = 30
_MAIL_WINDOW = timedelta(hours=1)


class ConfirmationLinkInvalid(BadRequest):
    code = "confirmation_link_invalid"
    default_message = Msg(
        "This confirmation link is not valid. Check that you opened the whole link, or ask for a new one."
    )


class ConfirmationLinkExpired(BadRequest):
    code = "confirmation_link_expired"
    default_message = Msg(
        "This confirmation link has expired: links are valid for {hours} hours. Ask for a new one.",
        hours=LINK_VALID_HOURS,
    )


# -- the service -----------------------------------------------------------------------


@dataclass(frozen=True)
class SignupResult:
    #: The new, unconfirmed account; None when the address already had one.
    user: User | None
    #: The account that already had this address (told by e-mail, not on screen).
    existing: User | None

    @property
    def recipient(self) -> User | None:
        return self.user or self.existing


def sign_up(
    session: Session,
    *,
    email: str,
    full_name: str,
    password: str,
    password_confirm: str | None = None,
) -> SignupResult:
    """Create an unconfirmed citizen account, or report every invalid field at once.

    An address that already has an account is not an error (see the module docstring).
    """
    existing = auth.find_user_by_email(session, email)
    fields: dict[str, list[Msg]] = {}
    user: User | None = None
    # A SAVEPOINT lets us validate everything through register_citizen, then undo the
    # account if the password confirmation does not match.
    savepoint = session.begin_nested()
    try:
        user = auth.register_citizen(session, email=email, full_name=full_name, password=password)
    except Invalid as error:
        fields = {name: list(messages) for name, messages in error.fields.items()}
    if existing is not None:
        # The only e-mail error for a known address is "already exists": keep it to ourselves.
        fields.pop("email", None)
        auth.hash_password(password)  # take as long as a real sign-up
    if password_confirm is not None and password != password_confirm:
        fields["password_confirm"] = [Msg("The two passwords do not match.")]
    if fields or user is None:
        savepoint.rollback()
    else:
        savepoint.commit()
    if fields:
        raise Invalid(fields=fields)
    return SignupResult(user=user if existing is None else None, existing=existing)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt=TOKEN_SALT)


def confirmation_token(settings: Settings, user: User) -> str:
    """A signed, timestamped token naming the account and the address it confirms."""
    return str(_serializer(settings).dumps({"u": str(user.id), "e": user.email}))


def confirm(session: Session, settings: Settings, token: str) -> User:
    """Confirm the address a link was sent to; raises if tampered with or expired."""
    try:
        data = _serializer(settings).loads(token, max_age=LINK_VALID_HOURS * 3600)
    except SignatureExpired:
        raise ConfirmationLinkExpired() from None
    except BadData:
        raise ConfirmationLinkInvalid() from None
    try:
        user_id = uuid.UUID(str(data["u"]))
        email = str(data["e"])
    except (KeyError, TypeError, ValueError):
        raise ConfirmationLinkInvalid() from None
    user = session.get(User, user_id)
    if user is None or user.email != email:
        raise ConfirmationLinkInvalid()
    return auth.confirm_email(session, user.id)


def account_to_remind(session: Session, email: str) -> User | None:
    """The account that should get a new link: active and not yet confirmed."""
    user = auth.find_user_by_email(session, email)
    if user is None or not user.is_active or user.email_confirmed_at is not None:
        return None
    return user


def reserve_mail(session: Session, email: str, ip: str | None) -> None:
    """Count one sign-up e-mail against the hourly limits; raise ``TooManyRequests`` past them.

    Uses the login throttle table with its own key prefix; the caller commits.
    """
    now = utcnow()
    limits = [(f"signup-mail:{auth.normalise_email(email)}", MAILS_PER_ADDRESS)]
    if ip:
        limits.append((f"signup-ip:{ip}", MAILS_PER_CLIENT))
    rows = []
    for key, limit in limits:
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now)
            session.add(row)
        if now - row.window_start > _MAIL_WINDOW:
            row.failures, row.window_start = 0, now
        if row.failures >= limit:
            raise TooManyRequests(
                Msg("Too many sign-up e-mails were requested. Try again in an hour."),
                code="signup_throttled",
            )
        rows.append(row)
    for row in rows:
        row.failures += 1


def signup_letter(settings: Settings, user: User) -> Letter | None:
    """What to e-mail ``user`` after a sign-up or a request for a new link, if anything."""
    if not user.is_active:
        return None
    site = settings.site_name
    hello = Msg("Hello {name},", name=user.full_name)
    if user.email_confirmed_at is None:
        url = absolute_url(
            settings.base_url, f"/register/confirm?token={confirmation_token(settings, user)}"
        )
        heading = Msg("Confirm your e-mail address")
        paragraphs = [
            hello,
            Msg(
                "Thank you for signing up on {site}. To activate your account, open the link "
                "below within {hours} hours.",
                site=site,
                hours=LINK_VALID_HOURS,
            ),
            Msg("If you did not sign up, ignore this e-mail: the account will not be activated."),
        ]
        label = Msg("Confirm your e-mail address:")
    else:
        url = absolute_url(settings.base_url, "/login")
        heading = Msg("You already have an account")
        paragraphs = [
            hello,
            Msg(
                "Someone, perhaps you, tried to sign up on {site} with this e-mail address. "
                "An account with this address already exists, so no new account was created.",
                site=site,
            ),
            Msg("If it was not you, ignore this e-mail."),
        ]
        label = Msg("Log in with your existing password:")
    parts = {
        lang: section(lang, heading, paragraphs, link=url, link_label=label)
        for lang in ("vi", "en")
    }
    return compose(parts["vi"], parts["en"], site_name=site, base_url=settings.base_url)


def send_letter(mailer: Mailer, to: str, letter: Letter) -> bool:
    """Send ``letter``; a mail failure is logged and reported as False, never raised."""
    if not mailer.enabled:
        # Nothing can reach the visitor; an operator without SMTP can still confirm by hand.
        log.warning(
            "no SMTP server configured, sign-up e-mail not sent",
            extra={"to": to, "text": letter.text},
        )
        return False
    try:
        mailer.send(to, letter.subject, letter.text, letter.html)
    except Exception:  # a broken mail server must not break sign-up; the visitor can resend
        log.exception("sign-up e-mail failed", extra={"to": to})
        return False
    return True


# -- pages -----------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _mail_after_commit(request: Request, session: Session, user: User | None) -> bool:
    """Prepare the e-mail for ``user``, commit, then send it. True if it went out."""
    settings: Settings = request.app.state.settings
    letter = signup_letter(settings, user) if user is not None else None
    address = user.email if user is not None else None
    session.commit()
    if letter is None or address is None:
        return True  # nothing to send; the visitor sees the same page either way
    return send_letter(mailer_for(settings), address, letter)


def _errors(error: Invalid, lang: str) -> dict[str, list[str]]:
    return error.rendered_fields(lang)


def _done(request: Request, email: str, sent: bool, status_code: int = 200) -> HTMLResponse:
    mailer = mailer_for(request.app.state.settings)
    return render(
        request,
        "auth/register_done.html",
        {
            "email": email,
            "mail_failed": mailer.enabled and not sent,
            "mail_disabled": not mailer.enabled,
            "hours": LINK_VALID_HOURS,
        },
        status_code=status_code,
    )


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, actor: ActorDep) -> Response:
    if actor.is_authenticated:
        return RedirectResponse("/account", status_code=303)
    return render(
        request, "auth/register.html", {"form": {}, "errors": {}, "min_password": auth.MIN_PASSWORD}
    )


@router.post("/register", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def register(
    request: Request,
    db: DbDep,
    lang: LangDep,
    full_name: str = Form(""),
    email: str = Form(""),
    password: str = Form(""),
    password_confirm: str = Form(""),
) -> HTMLResponse:
    form = {"full_name": full_name, "email": email}
    try:
        result = sign_up(
            db,
            email=email,
            full_name=full_name,
            password=password,
            password_confirm=password_confirm,
        )
        reserve_mail(db, email, client_ip(request))
    except (Invalid, TooManyRequests) as error:
        db.rollback()
        errors = (
            _errors(error, lang)
            if isinstance(error, Invalid)
            else {"form": [error.message.render(lang)]}
        )
        return render(
            request,
            "auth/register.html",
            {"form": form, "errors": errors, "min_password": auth.MIN_PASSWORD},
            status_code=error.status,
        )
    sent = _mail_after_commit(request, db, result.recipient)
    return _done(request, auth.normalise_email(email), sent)


@router.get("/register/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, db: DbDep, lang: LangDep, token: str = "") -> HTMLResponse:
    try:
        user = confirm(db, request.app.state.settings, token)
    except BadRequest as error:
        db.rollback()
        return render(
            request,
            "auth/register_confirm.html",
            {
                "ok": False,
                "message": error.message.render(lang),
                "expired": isinstance(error, ConfirmationLinkExpired),
            },
            status_code=error.status,
        )
    db.commit()
    return render(request, "auth/register_confirm.html", {"ok": True, "email": user.email})


@router.post("/register/resend", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def resend(request: Request, db: DbDep, lang: LangDep, email: str = Form("")) -> HTMLResponse:
    try:
        reserve_mail(db, email, client_ip(request))
    except TooManyRequests as error:
        db.rollback()
        return render(
            request,
            "auth/register_done.html",
            {
                "email": auth.normalise_email(email),
                "throttled": error.message.render(lang),
                "hours": LINK_VALID_HOURS,
            },
            status_code=error.status,
        )
    sent = _mail_after_commit(request, db, account_to_remind(db, email))
    return _done(request, auth.normalise_email(email), sent)


# -- JSON twins ------------------------------------------------------------------------

api_router = APIRouter(tags=["accounts"], responses=ERROR_RESPONSES)


class SignupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    full_name: str = Field(max_length=200)
    password: str = Field(max_length=200)


class ResendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=1000)


class SignupStatus(BaseModel):
    status: str = Field(description="confirmation_sent or confirmed.")
    message: str
    message_en: str


_SENT = Msg(
    "If this address can be used, we have sent it an e-mail. Open the link in it within {hours} hours.",
    hours=LINK_VALID_HOURS,
)


def _status(status: str, message: Msg) -> SignupStatus:
    return SignupStatus(status=status, message=message.vi, message_en=message.en)


@api_router.post(
    "/register",
    response_model=SignupStatus,
    status_code=201,
    summary="Sign up as a citizen (e-mail confirmation)",
)
def register_api(body: SignupCreate, request: Request, db: DbDep) -> SignupStatus:
    result = sign_up(db, email=body.email, full_name=body.full_name, password=body.password)
    reserve_mail(db, body.email, client_ip(request))
    _mail_after_commit(request, db, result.recipient)
    return _status("confirmation_sent", _SENT)


@api_router.post(
    "/register/resend",
    response_model=SignupStatus,
    status_code=202,
    summary="Send the confirmation link again",
)
def resend_api(body: ResendRequest, request: Request, db: DbDep) -> SignupStatus:
    reserve_mail(db, body.email, client_ip(request))
    _mail_after_commit(request, db, account_to_remind(db, body.email))
    return _status("confirmation_sent", _SENT)


@api_router.post(
    "/register/confirm", response_model=SignupStatus, summary="Confirm an e-mail address"
)
def confirm_api(body: ConfirmRequest, request: Request, db: DbDep) -> SignupStatus:
    confirm(db, request.app.state.settings, body.token)
    db.commit()
    return _status("confirmed", Msg("Your e-mail address is confirmed. You can now log in."))
