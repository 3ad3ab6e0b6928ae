"""Pages that belong to no single domain: the home page and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from dulieuso.agencies import service as agencies
from dulieuso.web.deps import LANG_COOKIE, ActorDep, DbDep, check_csrf
from dulieuso.web.templating import is_secure, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbDep, actor: ActorDep) -> HTMLResponse:
    stats = agencies.summary(db)
    return render(request, "home.html", {"stats": stats})


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths are followed after a form (no open redirects)."""
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@router.post("/language", dependencies=[Depends(check_csrf)])
def switch_language(request: Request, lang: str = Form(...), next: str = Form("/")) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in ("vi", "en"):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=is_secure(request), httponly=True
        )
    return response
