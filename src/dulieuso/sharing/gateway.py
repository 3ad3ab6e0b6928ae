# SPDX-License-Identifier: AGPL-3.0-or-later
"""The exchange gateway (Decree 47 Art. 35–45): ``/gateway/token`` and
``/gateway/{service_code}/{path}``.

For each call the gateway authenticates the connection account (a signed bearer token
from the OAuth2 client-credentials endpoint, or ``X-API-Key``), asks the registry
(``AccessControl.decide``, cached for a few seconds) what the caller may do, enforces
quotas and concurrency, forwards to the provider (``gateway_upstream``: the gateway's own pooled
HTTP/1.1 client), reduces JSON to the grant's allowed fields, and writes one sharing-log
entry, allowed or refused (``gateway_call``: the entry and the answer). **The response
is released only after its log entry is committed**: a streamed body is passed on chunk
by chunk, but its last chunk is held back until the entry (with the SHA-256 of
everything sent) is durable, so a consumer never holds a complete response that is
missing from the log.

Gateway errors have one shape, ``{"error": {"code": "gateway.<reason>", "message",
"message_en", "request_id"}}``; a provider's own errors pass through unchanged.

The gateway is plain ASGI, entered through ``GatewayDispatch`` in front of the platform's
middleware: an exchange call pays for request ids, metrics and the access log (done here,
once) but not for the platform's router, its middleware layers or Starlette's request
objects (see ``GatewayDispatch``). Design notes and trade-offs: ``docs/exchange-log.md``;
measurements: ``bench/README.md``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import anyio
from fastapi import APIRouter
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from dulieuso.sharing import log as sharing_log
from dulieuso.sharing.gateway_call import (
    CACHE_MAX,
    HOP_BY_HOP,
    Commits,
    NO_DECISION,
    Call,
    Decided,
    LogUnavailable,
    bounded,
    caller_fields,
    decision_fields,
    log_or_fail,
    refuse,
    relay,
    relay_reduced,
    utc_text,
)
from dulieuso.sharing.gateway_upstream import UpstreamClient, UpstreamFailure
from dulieuso.sharing.interfaces import AccessControl, AccessDecision, Caller

#: The platform's access log (``ops.middleware``): gateway calls are written there too.
access_log = logging.getLogger("dulieuso.access")

TOKEN_TTL_SECONDS = 600
DECISION_TTL_SECONDS = 5.0
#: Consumer headers never forwarded: credentials, cookies, and what the gateway sets itself.
DROP_UPSTREAM = HOP_BY_HOP | {"authorization", "x-api-key", "cookie", "x-request-id", "x-purpose", "x-case-id",
                              "x-end-user", "forwarded", "x-forwarded-for", "x-forwarded-host",
                              "x-forwarded-proto", "x-consumer-agency", "x-consumer-client"}
DROP_UPSTREAM_RAW = frozenset(name.encode() for name in DROP_UPSTREAM)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: The route label of exchange calls in the platform's metrics.
CALL_ROUTE = "/gateway/{service_code}/{path:path}"
TOKEN_ROUTE = "/gateway/token"


# -- tokens ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"dulieuso/gateway-token/v1", hashlib.sha256).digest()


def issue_token(key: bytes, caller: Caller, ttl: int = TOKEN_TTL_SECONDS, now: float | None = None) -> str:
    """A self-contained bearer token: the caller's identity, an expiry, and an HMAC."""
    issued = int(now if now is not None else time.time())
    payload = {
        "acc": str(caller.account_id), "cid": caller.client_id, "app": str(caller.application_id),
        "ag": str(caller.consumer_agency_id), "agc": caller.consumer_agency_code,
        "iat": issued, "exp": issued + ttl,
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"v1.{body}.{mac}"


def read_token(key: bytes, token: str, now: float | None = None) -> Caller | None:
    """The caller a token names, or None when it is forged, malformed or expired."""
    try:
        version, body, mac = token.split(".")
        if version != "v1":
            return None
        expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, mac):
            return None
        payload = json.loads(_unb64(body))
        if int(payload["exp"]) <= (now if now is not None else time.time()):
            return None
        return Caller(
            account_id=uuid.UUID(payload["acc"]), client_id=str(payload["cid"]),
            application_id=uuid.UUID(payload["app"]), consumer_agency_id=uuid.UUID(payload["ag"]),
            consumer_agency_code=str(payload["agc"]),
        )
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


# -- quotas and concurrency (in-process) ----------------------------------------------------


class Quotas:
    """Per-grant counters for the current minute and the current day (Vietnam time).

    In-process: with several workers or nodes each counts on its own, so the effective
    quota is ``n ×`` the grant's. A shared counter (Redis ``INCR`` + ``EXPIRE`` per
    window key) gives an exact quota across nodes; see docs/exchange-log.md.
    """

    def __init__(self) -> None:
        self.minute: dict[str, tuple[int, int]] = {}
        self.day: dict[str, tuple[int, int]] = {}

    def take(self, key: str, per_minute: int | None, per_day: int | None, now: float | None = None) -> int | None:
        """Count one call; returns None, or the seconds to wait when a quota is used up."""
        now = now if now is not None else time.time()
        minute = int(now // 60)
        day = int((now + 7 * 3600) // 86400)
        m_window, m_count = self.minute.get(key, (minute, 0))
        if m_window != minute:
            m_count = 0
        d_window, d_count = self.day.get(key, (day, 0))
        if d_window != day:
            d_count = 0
        if per_minute is not None and m_count >= per_minute:
            return max(1, int(60 - now % 60))
        if per_day is not None and d_count >= per_day:
            return max(1, int(86400 - (now + 7 * 3600) % 86400))
        if len(self.minute) > CACHE_MAX:
            self.minute.clear()
            self.day = {k: v for k, v in self.day.items() if v[0] == day}
        self.minute[key] = (minute, m_count + 1)
        self.day[key] = (day, d_count + 1)
        return None


# -- per-app state ---------------------------------------------------------------------------


@dataclass
class GatewayState:
    access: AccessControl
    sessionmaker: Any
    writer: sharing_log.LogWriter
    token_key: bytes
    max_body_bytes: int
    decision_ttl: float = DECISION_TTL_SECONDS
    token_ttl: int = TOKEN_TTL_SECONDS
    decisions: dict[tuple[uuid.UUID, str, str, str], Decided] = field(default_factory=dict)
    #: Decisions being made now (see ``_decide``).
    deciding: dict[tuple[uuid.UUID, str, str, str], asyncio.Future[Decided]] = field(default_factory=dict)
    api_keys: dict[str, tuple[float, Caller | None]] = field(default_factory=dict)
    #: Verified bearer tokens: token → (expiry as a Unix time, caller).
    tokens: dict[str, tuple[float, Caller]] = field(default_factory=dict)
    quotas: Quotas = field(default_factory=Quotas)
    in_flight: dict[uuid.UUID | None, int] = field(default_factory=dict)
    upstream: UpstreamClient = field(default_factory=UpstreamClient)
    #: Log-entry fields of a caller, and logged (masked) forms of paths, computed once.
    caller_parts: dict[Caller, dict[str, Any]] = field(default_factory=dict)
    masked_paths: dict[str, str] = field(default_factory=dict)
    #: The ``X-Consumer-*`` headers sent to providers for a caller, encoded once.
    caller_headers: dict[Caller, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    #: Per event loop: where the log writer's commits are handed back.
    commits: dict[int, Commits] = field(default_factory=dict)
    second_text: tuple[int, bytes] = (0, b"")

    async def aclose(self) -> None:
        await self.upstream.aclose()

    def time_text(self, value: datetime) -> bytes:
        """``value`` to the second, as sent in the ``X-Data-*`` headers (made once a second:
        every call in that second sends it)."""
        second = int(value.timestamp())
        if self.second_text[0] != second:
            self.second_text = (second, utc_text(value).encode())
        return self.second_text[1]


def gateway_state(app: Any) -> GatewayState:
    """The gateway's state on ``app`` (created on first use)."""
    state = getattr(app.state, "gateway", None)
    if state is None:
        settings = app.state.settings
        access = getattr(app.state, "gateway_access", None)
        if access is None:
            from dulieuso.sharing.access import registry_access

            access = registry_access
        engine = getattr(app.state, "log_engine", None) or app.state.engine
        # fsync of the SQLite WAL on every group commit (durable across power loss); off,
        # commits survive a killed process but not an OS crash. See docs/exchange-log.md.
        fsync = getattr(app.state, "sharing_log_fsync", None)
        if fsync is None:
            fsync = getattr(settings, "sharing_log_fsync", True)
        writer = sharing_log.writer_for(engine, settings.data_dir, synchronous_full=bool(fsync))
        state = GatewayState(
            access=access,
            sessionmaker=app.state.sessionmaker,
            writer=writer,
            token_key=token_key(settings.secret),
            max_body_bytes=getattr(app.state, "gateway_max_body_bytes", None) or settings.max_body_bytes,
            decision_ttl=getattr(app.state, "gateway_decision_ttl", DECISION_TTL_SECONDS),
        )
        app.state.gateway = state
    return state


# -- the steps of a call ---------------------------------------------------------------------


async def _read_body(call: Call, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is (or says it is) larger than ``limit``."""
    declared = call.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                return None
        except ValueError:
            return None
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            body += chunk
            if len(body) > limit:
                return None
        if not message.get("more_body", False):
            return body


async def _authenticate(call: Call) -> Caller | str:
    """The caller, or the refusal code."""
    state = call.state
    authorization = call.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "gateway.invalid_token"
        token = token.strip()
        cached = state.tokens.get(token)
        now = time.time()
        if cached is None:
            caller = read_token(state.token_key, token, now)
            if caller is None:
                return "gateway.invalid_token"
            expires = _token_expiry(token)
            bounded(state.tokens)[token] = (expires, caller)
            return caller
        if cached[0] <= now:  # expired since it was verified
            state.tokens.pop(token, None)
            return "gateway.invalid_token"
        return cached[1]
    api_key = call.headers.get("x-api-key")
    if api_key:
        fingerprint = hashlib.sha256(api_key.encode()).hexdigest()
        known = state.api_keys.get(fingerprint)
        now = time.monotonic()
        if known is None or known[0] < now:
            def lookup() -> Caller | None:
                with state.sessionmaker() as session:
                    return state.access.authenticate_api_key(session, api_key)

            caller_or_none = await anyio.to_thread.run_sync(lookup)
            bounded(state.api_keys)[fingerprint] = (now + state.decision_ttl, caller_or_none)
        else:
            caller_or_none = known[1]
        return caller_or_none if caller_or_none is not None else "gateway.invalid_api_key"
    return "gateway.unauthenticated"


def _token_expiry(token: str) -> float:
    """The expiry of a token that ``read_token`` has just accepted."""
    return float(json.loads(_unb64(token.split(".")[1]))["exp"])


async def _decide(call: Call, caller: Caller, service_code: str, path: str, via_token: bool) -> Decided:
    """``AccessControl.decide``, cached for ``decision_ttl`` seconds per caller and request.

    A token's account is re-checked along with the decision (same cache), so revoking an
    account or a grant takes effect within ``decision_ttl`` seconds. Calls that find the
    same decision missing while it is being made wait for that one: without this, when
    a busy caller's decision expired every call in flight (64 at once in the bench) asked
    the registry in a thread of its own.
    """
    state = call.state
    key = key_of(caller, service_code, call.method, path)
    now = time.monotonic()
    cached = state.decisions.get(key)
    if cached is not None and cached.expires > now:
        return cached
    loop = asyncio.get_running_loop()
    pending = state.deciding.get(key)
    if pending is not None and pending.get_loop() is loop:
        return await asyncio.shield(pending)
    pending = state.deciding[key] = loop.create_future()
    try:
        decided = await _decide_now(state, caller, service_code, call.method, path, via_token, now)
    except asyncio.CancelledError:
        pending.cancel()
        raise
    except BaseException as error:
        pending.set_exception(error)
        pending.exception()  # those waiting get it; nobody else need look
        raise
    else:
        pending.set_result(decided)
    finally:
        if state.deciding.get(key) is pending:
            del state.deciding[key]
    return decided


async def _decide_now(state: GatewayState, caller: Caller, service_code: str, method: str, path: str,
                      via_token: bool, now: float) -> Decided:
    def decide() -> AccessDecision:
        with state.sessionmaker() as session:
            if via_token and state.access.caller_by_account(session, caller.account_id) is None:
                return AccessDecision(allowed=False, reason="gateway.invalid_token", http_status=401)
            return state.access.decide(session, caller, service_code, method, path, datetime.now(UTC))

    decision = await anyio.to_thread.run_sync(decide)
    fields = caller_fields(state, None if decision.reason == "gateway.invalid_token" else caller)
    decided = Decided(
        decision=decision,
        expires=now + state.decision_ttl,
        parts={**fields, **(decision_fields(decision) if decision.service_code else NO_DECISION)},
        valid_until=utc_text(decision.data_valid_until).encode() if decision.data_valid_until else None,
    )
    bounded(state.decisions)[key_of(caller, service_code, method, path)] = decided
    return decided


def key_of(caller: Caller, service_code: str, method: str, path: str) -> tuple[uuid.UUID, str, str, str]:
    """The key of a cached decision."""
    return (caller.account_id, service_code, method, path)


def _upstream_url(base: str, scope: Scope, service_code: str) -> str | None:
    """The provider's URL: its base plus the path and query exactly as the consumer
    encoded them; None when the path tries to climb out of the service."""
    raw_path = scope.get("raw_path")
    if raw_path:
        raw = raw_path.decode("latin-1").split("?", 1)[0]
        index = raw.find("/", len("/gateway/"))
        tail = raw[index:] if index >= 0 else "/"
    else:
        tail = quote(scope["path"][len(f"/gateway/{service_code}"):] or "/")
    if "\\" in tail:
        return None
    if "." in tail or "%" in tail:  # a dot segment needs one or the other
        segments = [s.lower() for s in tail.split("/")]
        if any(s in (".", "..", "%2e", "%2e%2e", ".%2e", "%2e.") for s in segments):
            return None
    url = base.rstrip("/") + tail
    query = scope.get("query_string", b"")
    return url + ("?" + query.decode("latin-1") if query else "")


def _upstream_headers(call: Call, caller: Caller, decode: bool) -> list[tuple[bytes, bytes]]:
    """The consumer's headers as the provider gets them (repeated ones kept, the bytes as
    received), plus who is calling and why. ``decode``: the gateway reads the body
    itself, so the client may negotiate the content coding."""
    headers = [(k, v) for k, v in call.raw_headers if k not in DROP_UPSTREAM_RAW]
    if not decode and "accept-encoding" not in call.headers:
        headers.append((b"accept-encoding", b"identity"))
    headers.append((b"x-request-id", call.request_id.encode("latin-1")))
    who = call.state.caller_headers.get(caller)
    if who is None:
        who = bounded(call.state.caller_headers)[caller] = [
            (b"x-consumer-agency", caller.consumer_agency_code.encode()), (b"x-consumer-client", caller.client_id.encode())]
    headers += who
    for name, value in ((b"x-purpose", call.purpose), (b"x-case-id", call.case_id), (b"x-end-user", call.end_user)):
        if value:
            headers.append((name, (value if value.isascii() else quote(value, safe=" /:;,.()-_")).encode("ascii")))
    return headers


async def serve_call(call: Call, receive: Receive, send: Send, path: str) -> None:
    """``/gateway/{service_code}/{path}``: check, forward, log."""
    state = call.state
    service_code = call.service_code or ""
    body = await _read_body(call, receive, state.max_body_bytes)
    if body is None:
        await refuse(call, send, 413, "gateway.body_too_large")
        return
    call.body = body
    caller = await _authenticate(call)
    if isinstance(caller, str):
        await refuse(call, send, 401, caller)
        return
    call.caller = caller
    decided = await _decide(call, caller, service_code, path, via_token="authorization" in call.headers)
    decision = decided.decision
    call.decided = decided
    if not decision.allowed:
        reason = decision.reason or "gateway.forbidden"
        extra = {k: v for k, v in decision.extra.items() if v}
        if reason == "gateway.invalid_token":
            call.caller = None
        await refuse(call, send, decision.http_status if decision.http_status >= 400 else 403, reason, extra=extra)
        return
    upstream_url = _upstream_url(decision.upstream_base_url or "", call.scope, service_code)
    if upstream_url is None:
        await refuse(call, send, 400, "gateway.bad_path")
        return
    if not decision.upstream_base_url:
        await refuse(call, send, 502, "gateway.upstream_unreachable")
        return
    quota_key = str(decision.grant_id or caller.account_id)
    wait = state.quotas.take(quota_key, decision.quota_per_minute, decision.quota_per_day)
    if wait is not None:
        await refuse(call, send, 429, "gateway.quota_exceeded", retry_after=wait)
        return
    slot = decision.service_id
    if decision.max_concurrency is not None and state.in_flight.get(slot, 0) >= decision.max_concurrency:
        await refuse(call, send, 429, "gateway.too_many_concurrent", retry_after=1)
        return
    state.in_flight[slot] = state.in_flight.get(slot, 0) + 1
    try:
        allowed = decision.allowed_fields
        try:
            upstream = await state.upstream.open(call.method, upstream_url,
                                                 _upstream_headers(call, caller, decode=allowed is not None),
                                                 body, decision.timeout_seconds, decode=allowed is not None)
        except UpstreamFailure as failure:
            await refuse(call, send, failure.status, failure.code)
            return
        finished = False
        try:
            if allowed is not None and upstream.status < 400:
                await relay_reduced(call, upstream, send, allowed)
            else:
                await relay(call, upstream, send, decoded=allowed is not None)
            finished = True
        except LogUnavailable:
            pass
        finally:
            if finished:
                upstream.release()
            else:  # cut short: the connection cannot be reused
                upstream.close()
    finally:
        state.in_flight[slot] -= 1


async def serve_token(call: Call, receive: Receive, send: Send) -> None:
    """``POST /gateway/token``: OAuth2 client credentials (RFC 6749 §4.4)."""
    state = call.state
    body = await _read_body(call, receive, 16 * 1024)
    if body is None:
        await refuse(call, send, 413, "gateway.body_too_large")
        return
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    # The logged request hash must not be a hash of the secret itself.
    call.body = urlencode({k: ("***" if k == "client_secret" else v) for k, v in form.items()}).encode()
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = call.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            await refuse(call, send, 401, "gateway.invalid_client")
            return
    if form.get("grant_type") != "client_credentials":
        await refuse(call, send, 400, "gateway.unsupported_grant_type")
        return

    def authenticate() -> Caller | None:
        with state.sessionmaker() as session:
            return state.access.authenticate_client(session, client_id, secret)

    caller = await anyio.to_thread.run_sync(authenticate)
    if caller is None:
        await refuse(call, send, 401, "gateway.invalid_client")
        return
    call.caller = caller
    access_token = issue_token(state.token_key, caller, state.token_ttl)
    payload = json.dumps({"access_token": access_token, "token_type": "Bearer",
                          "expires_in": state.token_ttl}).encode()
    entry = call.entry(200, "token.issued", hashlib.sha256(payload).hexdigest(), len(payload))
    try:
        await log_or_fail(call, entry, send)
    except LogUnavailable:
        return
    await call.start(send, 200, [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                                 (b"pragma", b"no-cache"), *call.base_headers()])
    await send({"type": "http.response.body", "body": payload})


# -- entry points ------------------------------------------------------------------------------


def _match(scope: Scope) -> tuple[str, str | None, str] | None:
    """``(route, service_code, path)`` of a gateway request, or None when ``scope`` is
    not one (the platform then answers: 404, or 405 for a wrong method)."""
    path: str = scope["path"]
    method: str = scope["method"]
    if path == TOKEN_ROUTE:
        return (TOKEN_ROUTE, None, "") if method == "POST" else None
    service_code, slash, rest = path[len("/gateway/"):].partition("/")
    if not service_code or not slash or method not in METHODS:
        return None
    return CALL_ROUTE, service_code, "/" + rest


async def _serve(call: Call, receive: Receive, send: Send, route: str, path: str) -> None:
    if route == TOKEN_ROUTE:
        await serve_token(call, receive, send)
    else:
        await serve_call(call, receive, send, path)


class GatewayDispatch:
    """ASGI middleware that serves ``/gateway/...`` itself, in front of the platform.

    The platform puts it in front of everything, FastAPI's own middleware included
    (``app.Platform``, with ``handle_errors``); as ordinary middleware
    (``app.add_middleware(GatewayDispatch, metrics=...)``) it belongs after the request-id
    and body-limit middleware, so that it is the outermost of them. An exchange call then
    skips the platform's router (200+ routes, about a millisecond per request on this
    hardware), its middleware layers and Starlette's request objects, and the gateway
    gives it what those would have: a request id (``X-Request-Id``, taken from the
    consumer when printable, else made), a line in the access log, and the request
    counter and latency histogram of ``/metrics``. Body limits, authentication and every
    refusal are the gateway's own. When an outer middleware has already given the
    request an id, the gateway uses it and leaves ids, metrics and logging to it.

    ``handle_errors``: nothing outside catches an unexpected error (as Starlette's
    ``ServerErrorMiddleware`` would), so answer it here with the platform's handler for
    ``Exception`` (its 500 error shape), then re-raise for the server to log.
    """

    def __init__(self, app: ASGIApp, metrics: Any = None, handle_errors: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.handle_errors = handle_errors
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[str, Any] = {}
        self._app: Any = None
        self._state: GatewayState | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = _match(scope) if scope["type"] == "http" and scope["path"].startswith("/gateway/") else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, service_code, path = matched
        app = scope["app"]
        if app is not self._app:  # the state of the app this middleware serves, found once
            self._state, self._app = gateway_state(app), app
        call = Call(scope, self._state, service_code)
        try:
            await _serve(call, receive, send, route, path)
        except Exception as error:
            if self.handle_errors and not call.responded:
                await _internal_error(scope, receive, send, error)
                call.status = 500
            raise
        finally:
            if call.owns_request_id:
                self._observe(scope, route, call)

    def _observe(self, scope: Scope, route: str, call: Call) -> None:
        """Count the call in the metrics and write its access-log line."""
        status = call.status
        elapsed = time.perf_counter() - call.started
        metrics = self.metrics or getattr(getattr(scope.get("app"), "state", None), "metrics", None)
        if metrics is not None:
            key = (scope["method"], route, status)
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = metrics.requests.labels(scope["method"], route, str(status))
            counter.inc()
            latency = self._latency.get(route)
            if latency is None:
                latency = self._latency[route] = metrics.latency.labels(route)
            latency.observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("request", extra={
                "request_id": call.request_id, "method": scope["method"],
                "path": scope["path"], "status": status, "duration_ms": round(elapsed * 1000, 2),
            })


async def _internal_error(scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
    """The platform's answer to an unexpected error (what ``ServerErrorMiddleware`` sends)."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse

    handler = getattr(scope.get("app"), "exception_handlers", {}).get(Exception)
    if handler is None:
        response: Any = PlainTextResponse("Internal Server Error", status_code=500)
    elif inspect.iscoroutinefunction(handler):
        response = await handler(Request(scope), error)
    else:
        response = await anyio.to_thread.run_sync(handler, Request(scope), error)
    await response(scope, receive, send)


class _RouteEndpoint:
    """The gateway as a plain route, for an app without ``GatewayDispatch``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = _match(scope)
        if matched is None:  # pragma: no cover - the route's own pattern and methods match first
            raise RuntimeError("not a gateway request")
        route, service_code, path = matched
        await _serve(Call(scope, gateway_state(scope["app"]), service_code), receive, send, route, path)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Close the pooled upstream connections when the app stops."""
    yield
    state = getattr(app.state, "gateway", None)
    if state is not None:
        await state.aclose()


router = APIRouter(lifespan=lifespan)
router.routes.append(Route(TOKEN_ROUTE, _RouteEndpoint(), methods=["POST"], include_in_schema=False))
router.routes.append(Route("/gateway/{service_code}/{path:path}", _RouteEndpoint(), methods=sorted(METHODS),
                           include_in_schema=False))
