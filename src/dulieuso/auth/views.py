"""Pages: log in and out, one's account and API tokens, account administration."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dulieuso.agencies import service as agencies
from dulieuso.auth import service
from dulieuso.auth.models import AGENCY_ROLES, Role
from dulieuso.auth.labels import ROLE_LABELS
from dulieuso.auth.permissions import Action, can
from dulieuso.i18n import gettext
from dulieuso.errors import DomainError, Invalid, TooManyRequests, Unauthorized
from dulieuso.web.deps import SESSION_COOKIE, ActorDep, DbDep, LangDep, LoginDep, check_csrf, client_ip
from dulieuso.web.templating import is_secure, render
from dulieuso.web.views import safe_next

router = APIRouter(include_in_schema=False)

DEMO_ACCOUNTS_NOTE = "demo_accounts"


def _field_errors(error: DomainError, lang: str) -> dict[str, list[str]]:
    return error.rendered_fields(lang)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, actor: ActorDep, next: str = "/") -> Response:
    if actor.is_authenticated:
        return RedirectResponse(safe_next(next), status_code=303)
    demo = getattr(request.app.state, DEMO_ACCOUNTS_NOTE, None)
    return render(request, "auth/login.html", {"next": safe_next(next), "demo_accounts": demo})


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    db: DbDep,
    lang: LangDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    settings = request.app.state.settings
    try:
        user = service.authenticate(
            db,
            email,
            password,
            ip=client_ip(request),
            max_failures=settings.login_max_failures,
            lock_minutes=settings.login_lock_minutes,
        )
    except (Unauthorized, TooManyRequests) as error:
        db.commit()  # keep the failure count
        demo = getattr(request.app.state, DEMO_ACCOUNTS_NOTE, None)
        return render(
            request,
            "auth/login.html",
            {"next": safe_next(next), "email": email, "error": error.message.render(lang), "demo_accounts": demo},
            status_code=error.status,
        )
    token = service.start_session(
        db, user, days=settings.session_days, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    db.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, db: DbDep, actor: ActorDep) -> Response:
    # get_actor has checked CSRF for a logged-in session
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_session(db, cookie)
        db.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, db: DbDep, actor: LoginDep, lang: LangDep) -> HTMLResponse:
    assert actor.user_id is not None
    user = service.get_user(db, actor, actor.user_id)
    tokens = service.list_tokens(db, actor, user)
    agency = agencies.get(db, user.agency_id) if user.agency_id else None
    return render(
        request, "auth/account.html", {"user": user, "tokens": tokens, "agency": agency, "role_names": role_names(lang)}
    )


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    db: DbDep,
    actor: LoginDep,
    lang: LangDep,
    name: str = Form(""),
    expires_days: str = Form(""),
) -> HTMLResponse:
    assert actor.user_id is not None
    user = service.get_user(db, actor, actor.user_id)
    errors: dict[str, list[str]] = {}
    plain = None
    try:
        days = int(expires_days) if expires_days.strip() else None
    except ValueError:
        days = None
        errors["expires_days"] = [Invalid().message.render(lang)]
    if not errors:
        try:
            _, plain = service.create_token(db, actor, user, name=name, expires_days=days)
            db.commit()
        except Invalid as error:
            errors = _field_errors(error, lang) or {"name": [error.message.render(lang)]}
    tokens = service.list_tokens(db, actor, user)
    return render(
        request,
        "auth/account.html",
        {"user": user, "tokens": tokens, "new_token": plain, "errors": errors, "form": {"name": name}, "role_names": role_names(lang)},
        status_code=201 if plain else 422,
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: uuid.UUID, db: DbDep, actor: LoginDep) -> Response:
    service.revoke_token(db, actor, token_id)
    db.commit()
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    db: DbDep,
    actor: LoginDep,
    lang: LangDep,
    old_password: str = Form(""),
    new_password: str = Form(""),
) -> Response:
    assert actor.user_id is not None
    user = service.get_user(db, actor, actor.user_id)
    try:
        service.change_password(db, actor, user, old_password, new_password)
        db.commit()
    except Invalid as error:
        tokens = service.list_tokens(db, actor, user)
        return render(
            request,
            "auth/account.html",
            {"user": user, "tokens": tokens, "password_errors": _field_errors(error, lang), "role_names": role_names(lang)},
            status_code=422,
        )
    return RedirectResponse("/account?password=changed", status_code=303)


# -- administration ------------------------------------------------------------------


def _role_options(actor_role: Role, lang: str) -> list[tuple[str, str]]:
    roles = list(Role) if actor_role is Role.PLATFORM_ADMIN else sorted(AGENCY_ROLES)
    return [(r.value, gettext(ROLE_LABELS[r], lang)) for r in roles if r is not Role.ANONYMOUS]


def role_names(lang: str) -> dict[Role, str]:
    return {role: gettext(label, lang) for role, label in ROLE_LABELS.items()}


def _users_page(request: Request, db: Any, actor: Any, lang: str, *, form: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, status_code: int = 200, q: str | None = None) -> HTMLResponse:
    users, total = service.list_users(db, actor, q=q, limit=500)
    agency_names = agencies.names_by_id(db)
    agency_options = (
        agencies.active_choices(db)
        if actor.role is Role.PLATFORM_ADMIN
        else [(a.code, a.name_vi) for a in [agencies.get(db, actor.agency_id)] if a]
    )
    return render(
        request,
        "auth/users.html",
        {
            "users": users,
            "total": total,
            "agency_names": agency_names,
            "role_options": _role_options(actor.role, lang),
            "role_names": role_names(lang),
            "agency_options": agency_options,
            "form": form or {},
            "errors": errors or {},
            "q": q or "",
        },
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, db: DbDep, actor: LoginDep, lang: LangDep, q: str | None = None) -> HTMLResponse:
    if not can(actor, Action.USER_LIST, actor.agency_id):
        from dulieuso.errors import Forbidden

        raise Forbidden()
    return _users_page(request, db, actor, lang, q=q)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    db: DbDep,
    actor: LoginDep,
    lang: LangDep,
    email: str = Form(""),
    full_name: str = Form(""),
    role: str = Form(""),
    agency_code: str = Form(""),
    password: str = Form(""),
) -> Response:
    form = {"email": email, "full_name": full_name, "role": role, "agency_code": agency_code}
    try:
        try:
            role_value = Role(role)
        except ValueError:
            raise Invalid(fields={"role": [Invalid().message]}) from None
        agency_id = agencies.get_by_code(db, agency_code).id if agency_code else None
        service.create_user(
            db,
            actor,
            service.NewUser(
                email=email, full_name=full_name, role=role_value, password=password or None, agency_id=agency_id
            ),
        )
        db.commit()
    except Invalid as error:
        db.rollback()
        return _users_page(request, db, actor, lang, form=form, errors=_field_errors(error, lang), status_code=422)
    return RedirectResponse("/admin/users?created=1", status_code=303)


@router.post("/admin/users/{user_id}/disable")
def disable_user(user_id: uuid.UUID, db: DbDep, actor: LoginDep) -> Response:
    service.disable_user(db, actor, service.get_user(db, actor, user_id))
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)
