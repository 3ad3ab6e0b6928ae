"""The ASGI application: ``create_app(settings)`` mounts every domain's routes explicitly."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from dulieuso.agencies import api as agencies_api
from dulieuso.agencies import views as agencies_views
from dulieuso.audit import api as audit_api
from dulieuso.audit import views as audit_views
from dulieuso.audit.service import install_guard
from dulieuso.auth import api as auth_api
from dulieuso.auth import signup
from dulieuso.auth import views as auth_views
from dulieuso.catalog import api as catalog_api
from dulieuso.catalog import exports as catalog_exports
from dulieuso.catalog import import_views as catalog_import
from dulieuso.catalog import views as catalog_views
from dulieuso.config import Settings, get_settings
from dulieuso.db import make_engine, make_sessionmaker
from dulieuso.errors import DomainError, Invalid
from dulieuso.i18n import Msg
from dulieuso.migrate import upgrade
from dulieuso.notifications import api as notifications_api
from dulieuso.notifications import views as notifications_views
from dulieuso.notifications.service import configure_delivery
from dulieuso.datastore import api as datastore_api
from dulieuso.datastore import views as datastore_views
from dulieuso.opendata import api as opendata_api
from dulieuso.opendata import ckan_api, dcat
from dulieuso.opendata import voice_api as opendata_voice_api
from dulieuso.opendata import voice_views as opendata_voice_views
from dulieuso.opendata import views as opendata_views
from dulieuso.ops import api as ops_api
from dulieuso.ops.middleware import BodyLimitMiddleware, Metrics, RequestContextMiddleware, configure_logging
from dulieuso.policy import api as policy_api
from dulieuso.policy import views as policy_views
from dulieuso.sharing import api as sharing_api
from dulieuso.sharing import gateway as sharing_gateway
from dulieuso.sharing import upstream_demo
from dulieuso.sharing import views as sharing_views
from dulieuso.web import views as web_views
from dulieuso.web.deps import get_lang

log = logging.getLogger("dulieuso")
STATIC_DIR = Path(__file__).parent / "web" / "static"
API_PREFIX = "/api/v1"
#: The gateway checks request sizes itself (and logs what it refuses).
OWN_LIMIT_PREFIXES = ("/gateway/",)
#: Where files are uploaded: multipart/octet-stream bodies get the upload limit there.
UPLOAD_PREFIXES = (
    "/datasets/",
    "/resources/",
    "/catalog/import",
    "/api/v1/datasets/",
    "/api/v1/resources/",
    "/api/v1/catalog/import",
    "/api/v1/regulations",
    "/regulations",
    "/sharing/",
    "/api/3/action/resource_",
    "/api/action/resource_",
)


def _wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/gateway/", "/healthz", "/metrics", "/datastore/")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error_response(request: Request, error: DomainError) -> Response:
    if _wants_json(request):
        headers = {"Retry-After": "60"} if error.status == 429 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)
    from dulieuso.web.templating import render

    lang = get_lang(request)
    if error.status == 401 and request.method == "GET":
        from fastapi.responses import RedirectResponse

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return render(
        request,
        "errors/error.html",
        {
            "status": error.status,
            "message": error.message.render(lang),
            "fields": {k: [m.render(lang) for m in v] for k, v in error.fields.items()},
        },
        status_code=error.status,
    )


def _validation_fields(exc: RequestValidationError) -> tuple[dict[str, list[Msg]], bool]:
    fields: dict[str, list[Msg]] = {}
    malformed = False
    for err in exc.errors():
        kind = err.get("type", "")
        if kind in {"json_invalid", "json_type"}:
            malformed = True
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        name = ".".join(loc) or "body"
        if kind == "missing":
            message = Msg("This field is required.")
        elif kind.endswith("_parsing") or kind.endswith("_type") or kind == "uuid_parsing":
            message = Msg("Wrong type of value.")
        elif kind in {"string_too_long", "too_long"}:
            message = Msg("The value is too long.")
        elif kind in {"string_too_short", "too_short"}:
            message = Msg("The value is too short.")
        elif kind == "extra_forbidden":
            message = Msg("Unknown field.")
        else:
            message = Msg("Invalid value: {detail}", detail=err.get("msg", ""))
        fields.setdefault(name, []).append(message)
    return fields, malformed


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields, malformed = _validation_fields(exc)
        if malformed:
            from dulieuso.errors import BadRequest

            return _error_response(
                request, BadRequest(Msg("The request body is not valid JSON."), code="malformed_json")
            )
        return _error_response(request, Invalid(fields=fields))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            error: DomainError = DomainError(Msg("Page or resource not found."), code="not_found")
            error.status = 404
        elif exc.status_code == 405:
            error = DomainError(Msg("This method is not allowed here."), code="method_not_allowed")
            error.status = 405
        else:
            error = DomainError(Msg("The request could not be handled."), code="http_error")
            error.status = exc.status_code
        return _error_response(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        error = DomainError(Msg("An internal error occurred. It has been logged."), code="internal_error")
        error.status = 500
        return _error_response(request, error)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.warm_search_indexes:
        from dulieuso.ops import warmup

        app.state.search_warmup = warmup.start(app.state.sessionmaker)
    yield
    # Background ingest jobs stop with the server; an unfinished one keeps the old data served.
    from dulieuso.opendata import resources

    resources.stop_runner()


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    migrate: bool = True,
) -> FastAPI:
    """Build the platform. Tests pass their own ``session_factory`` (savepoint-isolated)."""
    settings = settings or get_settings()
    settings.ensure_data_dir()
    configure_logging(settings.log_level)
    install_guard()
    # A server with its own engine loads the search indexes as it starts; tests that
    # bring a savepoint-isolated session factory load them on first use.
    warm_search_indexes = session_factory is None
    if session_factory is None:
        engine = make_engine(settings.effective_database_url)
        if migrate:
            upgrade(engine)
        session_factory = make_sessionmaker(engine)
    # Notification e-mail goes out after each commit; a bad smtp_url fails at start-up.
    configure_delivery(session_factory, settings)

    app = Platform(
        lifespan=_lifespan,
        title="dulieuso API",
        version=_version(),
        description="Nền tảng quản lý, kết nối và chia sẻ dữ liệu số — JSON API.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessionmaker = session_factory
    app.state.warm_search_indexes = warm_search_indexes
    app.state.engine = session_factory.kw["bind"]
    metrics = Metrics()
    app.state.metrics = metrics
    if settings.demo:
        from dulieuso.demo import DEMO_ACCOUNTS

        app.state.demo_accounts = DEMO_ACCOUNTS

    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    api_modules = (
        auth_api, agencies_api, policy_api, audit_api, notifications_api,
        catalog_api, opendata_api, opendata_voice_api, datastore_api, sharing_api,
    )
    for module in api_modules:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ckan_api.router)  # CKAN Action API at /api/3/action/* and /api/action/*
    app.include_router(dcat.router)  # /catalog.{ttl,jsonld,rdf} and /dataset/{slug}.{ttl,jsonld,rdf}
    app.include_router(catalog_exports.router, prefix=API_PREFIX)
    app.include_router(catalog_import.api_router, prefix=API_PREFIX)
    app.include_router(catalog_import.router)
    app.include_router(signup.api_router, prefix=API_PREFIX)
    app.include_router(signup.router)
    app.include_router(ops_api.router)
    app.include_router(sharing_gateway.router)  # its lifespan closes the upstream connections
    if settings.demo:
        # The built-in upstream of the demo services (land parcels, enterprises, population).
        app.mount("/demo-upstream", upstream_demo.app)
    page_modules = (
        web_views, auth_views, agencies_views, policy_views, audit_views, notifications_views,
        catalog_views, opendata_voice_views, opendata_views, datastore_views, sharing_views,
    )
    for module in page_modules:
        app.include_router(module.router)

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="dulieuso API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        own_prefixes=OWN_LIMIT_PREFIXES,
        upload_prefixes=UPLOAD_PREFIXES,
        upload_bytes=settings.opendata_max_upload_bytes,
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


class Platform(FastAPI):
    """The platform's app: exchange calls (``/gateway/...``) are served in front of
    everything else, FastAPI's own handling included.

    Their cost per call is most of the gateway's latency budget, so they skip the router,
    every middleware layer and FastAPI's per-request telemetry check (which reads the
    environment on every request); the gateway gives them request ids, metrics and
    access-log lines itself, refuses and logs oversized bodies itself, and answers an
    unexpected error with the platform's 500 (``GatewayDispatch``). Anything under
    ``/gateway/`` that is not an exchange call (``GET /gateway/token``) goes on to the
    platform as usual.
    """

    _gateway: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/gateway/"):
            gateway = self._gateway
            if gateway is None:
                platform = partial(FastAPI.__call__, self)
                gateway = self._gateway = sharing_gateway.GatewayDispatch(
                    platform, metrics=self.state.metrics, handle_errors=True)
            scope["app"] = self
            await gateway(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dulieuso")
    except PackageNotFoundError:
        return "0.0.0"
