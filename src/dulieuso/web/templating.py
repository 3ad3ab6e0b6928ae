"""Page rendering: Jinja2 templates per domain, translated, with the layout's context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from markupsafe import Markup

from dulieuso import i18n
from dulieuso.auth.permissions import ANONYMOUS, Actor, action_named, can
from dulieuso.notifications.deps import unread_count_for_request
from dulieuso.web.deps import CSRF_COOKIE, csrf_token, get_lang

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOMAINS = ("auth", "agencies", "policy", "audit", "notifications", "ops")


def _domain_loaders() -> dict[str, FileSystemLoader]:
    loaders = {}
    for path in sorted(PACKAGE_DIR.glob("*/templates")):
        if path.parent.name != "web":
            loaders[path.parent.name] = FileSystemLoader(str(path))
    return loaders


def make_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(str(PACKAGE_DIR / "web" / "templates")), PrefixLoader(_domain_loaders())]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # replaced per request below
    env.filters["date_vi"] = _format_date
    env.filters["datetime_vi"] = _format_datetime
    return env


def _format_date(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _format_datetime(value: Any) -> str:
    if not value:
        return ""
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = make_environment()
    return _ENV


def translators(lang: str) -> dict[str, Any]:
    trans = i18n.translations(lang)

    def gettext(message: str, **params: Any) -> str:
        text = trans.gettext(message)
        return text % params if params else text

    def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
        text = trans.ngettext(singular, plural, n)
        params.setdefault("num", n)
        return text % params

    def tr(message: str, **params: Any) -> str:
        return i18n.gettext(message, lang, **params)

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext, "tr": tr}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    json_alternate: str | None = None,
) -> HTMLResponse:
    """Render ``template`` with the layout's context (actor, language, CSRF, inbox count)."""
    lang = get_lang(request)
    actor: Actor = getattr(request.state, "actor", ANONYMOUS)
    settings = request.app.state.settings
    ctx: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "actor": actor,
        "can": lambda action, agency_id=None: can(actor, action_named(action), agency_id),
        "csrf_token": csrf_token(request),
        "settings": settings,
        "unread_count": unread_count_for_request(request),
        "path": request.url.path,
        "json_alternate": json_alternate,
        "Msg": i18n.Msg,
    }
    ctx.update(translators(lang))
    if context:
        ctx.update(context)
    html = environment().get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if json_alternate:
        response.headers["Link"] = f'<{json_alternate}>; rel="alternate"; type="application/json"'
    response.headers["Content-Language"] = lang
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=is_secure(request), path="/"
        )
    return response


def is_secure(request: Request) -> bool:
    mode = request.app.state.settings.secure_cookies
    if mode == "always":
        return True
    if mode == "never":
        return False
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto == "https"


def message(text: str | i18n.Msg, lang: str) -> Markup:
    rendered = text.render(lang) if isinstance(text, i18n.Msg) else text
    return Markup.escape(rendered)
