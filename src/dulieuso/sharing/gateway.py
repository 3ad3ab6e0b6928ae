# SPDX-License-Identifier: AGPL-3.0-or-later
"""The exchange gateway (Decree 47 Art. 35–45): ``/gateway/token`` and
``/gateway/{service_code}/{path}``.

For each call the gateway authenticates the connection account (a signed bearer token
from the OAuth2 client-credentials endpoint, or ``X-API-Key``), asks the registry
(``AccessControl.decide``, cached for a few seconds) what the caller may do, enforces
quotas and concurrency, forwards to the provider with a pooled ``httpx.AsyncClient``,
reduces JSON to the grant's allowed fields, and writes one sharing-log entry, allowed or
refused. **The response is released only after its log entry is committed**: a streamed
body is passed on chunk by chunk, but its last chunk is held back until the entry (with
the SHA-256 of everything sent) is durable, so a consumer never holds a complete
response that is missing from the log.

Gateway errors have one shape, ``{"error": {"code": "gateway.<reason>", "message",
"message_en", "request_id"}}``; a provider's own errors pass through unchanged.
Design notes and trade-offs: ``docs/exchange-log.md``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

import anyio
import httpx
from fastapi import APIRouter
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from dulieuso.i18n import Msg
from dulieuso.sharing import log as sharing_log
from dulieuso.sharing.interfaces import AccessControl, AccessDecision, Caller

logger = logging.getLogger("dulieuso.sharing.gateway")
# httpx logs every upstream request at INFO; the sharing log already records each one, and
# a JSON log line per call costs throughput.
logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN_TTL_SECONDS = 600
DECISION_TTL_SECONDS = 5.0
#: Largest upstream JSON body the gateway will parse to reduce it to the allowed fields.
MAX_REDUCE_BYTES = 20 * 1024 * 1024
CACHE_MAX = 20000
#: Upstream connection pools per event loop, and connections per pool (see GatewayState.client).
CLIENT_SHARDS = 16
CLIENT_POOL_SIZE = 32
#: Envelope keys kept beside ``data`` when a response is reduced (no personal data).
PAGINATION_KEYS = frozenset({"total", "limit", "offset", "page", "page_size", "count", "next", "previous"})
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
})
DROP_UPSTREAM = HOP_BY_HOP | {"authorization", "x-api-key", "cookie", "x-request-id", "x-purpose", "x-case-id",
                              "x-end-user", "forwarded", "x-forwarded-for", "x-forwarded-host",
                              "x-forwarded-proto", "x-consumer-agency", "x-consumer-client"}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

# Messages of every refusal (English msgids; Vietnamese in locale/gateway/vi.po).
MESSAGES: dict[str, Msg] = {
    "gateway.unauthenticated": Msg("Missing credentials: send a bearer token or an API key."),
    "gateway.invalid_token": Msg("The access token is invalid or has expired."),
    "gateway.invalid_api_key": Msg("The API key is not valid."),
    "gateway.invalid_client": Msg("The client id or secret is wrong, or the account is not active."),
    "gateway.unsupported_grant_type": Msg("Only the client_credentials grant type is supported."),
    "gateway.unknown_service": Msg("There is no published data service with this code."),
    "gateway.service_unavailable": Msg("This data service is no longer available."),
    "gateway.suspended": Msg("This data service is suspended."),
    "gateway.no_grant": Msg("Your application has no grant for this data service."),
    "gateway.grant_expired": Msg("Your grant for this data service is not valid at this time."),
    "gateway.unknown_operation": Msg("This data service has no such operation."),
    "gateway.operation_not_allowed": Msg("Your grant does not cover this operation."),
    "gateway.consumer_suspended": Msg("Your access to this data service is suspended."),
    "gateway.outside_window": Msg("This data service is outside its availability hours."),
    "gateway.quota_exceeded": Msg("Your quota for this data service is used up. Please wait and try again."),
    "gateway.too_many_concurrent": Msg("Too many calls to this data service at once. Please try again shortly."),
    "gateway.body_too_large": Msg("The request body is too large."),
    "gateway.bad_path": Msg("The request path is not valid."),
    "gateway.upstream_timeout": Msg("The provider's system did not answer in time."),
    "gateway.upstream_unreachable": Msg("The provider's system cannot be reached."),
    "gateway.bad_upstream_response": Msg("The provider's system sent a response the gateway cannot use."),
    "gateway.log_unavailable": Msg("The sharing log cannot be written; the call was not completed."),
    "gateway.forbidden": Msg("You are not allowed to use this data service."),
}

# -- personal data in logged queries and paths ---------------------------------------------

_SENSITIVE_NAME = re.compile(r"cccd|cmnd|dinh_?danh|id_?number|personal|passport|ho_?chieu|phone|sdt|dien_?thoai|"
                             r"mobile|e_?mail|mail", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)[35789]\d{8}(?!\d)")
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")  # CCCD (12) and CMND (9)


def _stars(value: str, keep: int = 3) -> str:
    return "*" * max(len(value) - keep, 3) + value[-keep:] if len(value) > keep else "***"


def mask_text(value: str) -> str:
    """Mask e-mails, phone numbers and CCCD/CMND numbers anywhere in ``value``."""
    value = _EMAIL.sub(lambda m: m.group(0)[0] + "***@" + m.group(0).split("@", 1)[1], value)
    value = _PHONE.sub(lambda m: _stars(m.group(0)), value)
    return _ID_NUMBER.sub(lambda m: _stars(m.group(0)), value)


def mask_query(query: str) -> str:
    """The query string as logged: values of personal-data parameters and any personal
    numbers or e-mails in other values are masked."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(k, _stars(v) if _SENSITIVE_NAME.search(k) and v else mask_text(v)) for k, v in pairs]
    return urlencode(masked, safe="*@,:/")


# -- field reduction -------------------------------------------------------------------------


def reduce_fields(document: Any, allowed: tuple[str, ...]) -> tuple[Any, set[str]]:
    """Keep only ``allowed`` top-level keys of an object, of each object in a list, or of
    the object(s) under ``"data"``. Returns the reduced document and the keys kept."""
    allowed_set = set(allowed)
    kept: set[str] = set()

    def one(item: Any) -> Any:
        if isinstance(item, dict):
            out = {k: v for k, v in item.items() if k in allowed_set}
            kept.update(out)
            return out
        return item

    if isinstance(document, list):
        return [one(item) for item in document], kept
    if isinstance(document, dict):
        if isinstance(document.get("data"), (list, dict)):
            data = document["data"]
            reduced = [one(i) for i in data] if isinstance(data, list) else one(data)
            envelope = {k: v for k, v in document.items() if k in PAGINATION_KEYS or k in allowed_set and k != "data"}
            kept.update(k for k in envelope if k in allowed_set)
            return {**envelope, "data": reduced}, kept
        return one(document), kept
    return document, kept


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
    decisions: dict[tuple[str, str, str, str], tuple[float, AccessDecision]] = field(default_factory=dict)
    api_keys: dict[str, tuple[float, Caller | None]] = field(default_factory=dict)
    tokens: dict[str, Caller] = field(default_factory=dict)
    quotas: Quotas = field(default_factory=Quotas)
    in_flight: dict[str, int] = field(default_factory=dict)
    clients: dict[int, list[httpx.AsyncClient]] = field(default_factory=dict)
    turn: int = 0

    async def aclose(self) -> None:
        clients, self.clients = self.clients, {}
        for shard in clients.values():
            for client in shard:
                try:
                    await client.aclose()
                except RuntimeError:  # made in a loop that is gone
                    pass

    def client(self) -> httpx.AsyncClient:
        """A pooled client of this event loop, one of ``CLIENT_SHARDS`` taken in turn.

        httpcore's pool scans every connection on each request and response, so one large
        pool costs O(connections) per call under concurrency; several small pools keep the
        scan short (measured: see bench/README.md).
        """
        loop = asyncio.get_running_loop()
        shard = self.clients.get(id(loop))
        if shard is None:
            limits = httpx.Limits(max_connections=CLIENT_POOL_SIZE, max_keepalive_connections=CLIENT_POOL_SIZE,
                                  keepalive_expiry=30)
            shard = [httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
                     for _ in range(CLIENT_SHARDS)]
            self.clients[id(loop)] = shard
        self.turn = (self.turn + 1) % len(shard)
        return shard[self.turn]


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


# -- one call ----------------------------------------------------------------------------------


def _header(request: Request, name: str, limit: int = 200) -> str | None:
    """A free-text header: UTF-8 sent raw or percent-encoded (``X-Purpose: C%E1%BA%A5p ph%C3%A9p``)."""
    value = request.headers.get(name)
    if not value:
        return None
    try:
        value = value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    if "%" in value:
        value = unquote(value)
    return sharing_log.clean_text(value.strip(), limit) or None


class Call:
    """What the gateway knows about one request, gathered for its log entry."""

    def __init__(self, request: Request, state: GatewayState, service_code: str | None) -> None:
        self.request = request
        self.state = state
        self.started = time.perf_counter()
        self.request_at = datetime.now(UTC)
        scope_state = request.scope.get("state") or {}
        self.middleware_id = scope_state.get("request_id")
        incoming = request.headers.get("x-request-id", "")[:64]
        self.request_id = self.middleware_id or (incoming if incoming and incoming.isprintable() else uuid.uuid4().hex)
        self.service_code = service_code
        self.caller: Caller | None = None
        self.decision: AccessDecision | None = None
        self.body = b""
        self.purpose = _header(request, "x-purpose", 1000)
        self.case_id = _header(request, "x-case-id")
        self.end_user = _header(request, "x-end-user")
        self.path = mask_text(request.url.path)
        self.query = mask_query(request.scope.get("query_string", b"").decode("latin-1"))
        client = request.client
        self.client_ip = client.host if client else None

    def entry(self, status: int, outcome: str, body_hash: str, bytes_out: int,
              fields_returned: str | None = None) -> dict[str, Any]:
        caller, decision = self.caller, self.decision
        response_at = datetime.now(UTC)
        return {
            "request_id": self.request_id,
            "request_at": self.request_at,
            "response_at": response_at,
            "latency_us": int((time.perf_counter() - self.started) * 1e6),
            "consumer_agency_id": str(caller.consumer_agency_id) if caller else None,
            "consumer_agency_code": caller.consumer_agency_code if caller else None,
            "application_id": str(caller.application_id) if caller else None,
            "account_id": str(caller.account_id) if caller else None,
            "client_id": caller.client_id if caller else None,
            "service_id": str(decision.service_id) if decision and decision.service_id else None,
            "service_code": (decision.service_code if decision and decision.service_code else self.service_code),
            "service_version": decision.service_version if decision else None,
            "provider_agency_id": str(decision.provider_agency_id) if decision and decision.provider_agency_id else None,
            "operation": decision.operation if decision else None,
            "method": self.request.method,
            "path": self.path,
            "query": self.query,
            "status": status,
            "outcome": outcome,
            "bytes_in": len(self.body),
            "bytes_out": bytes_out,
            "request_sha256": hashlib.sha256(self.body).hexdigest(),
            "response_sha256": body_hash,
            "purpose": self.purpose or (decision.purpose if decision else None),
            "case_id": self.case_id,
            "end_user": self.end_user,
            "agreement_id": str(decision.agreement_id) if decision and decision.agreement_id else None,
            "grant_id": str(decision.grant_id) if decision and decision.grant_id else None,
            "fields_returned": fields_returned,
            "client_ip": self.client_ip,
        }

    def base_headers(self) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        if not self.middleware_id:  # RequestContextMiddleware adds it otherwise
            headers.append((b"x-request-id", self.request_id.encode("latin-1")))
        return headers


class ErrorResponse:
    """A gateway error: logged, then sent (``gateway.<reason>`` JSON)."""

    def __init__(self, call: Call, status: int, code: str, retry_after: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        message = MESSAGES.get(code, MESSAGES["gateway.forbidden"])
        error: dict[str, Any] = {
            "code": code, "message": message.vi, "message_en": message.en, "request_id": call.request_id,
        }
        error.update(extra or {})
        self.call = call
        self.status = status
        self.code = code
        self.body = json.dumps({"error": error}, ensure_ascii=False).encode()
        self.headers = [(b"content-type", b"application/json; charset=utf-8"),
                        (b"content-length", str(len(self.body)).encode()), *call.base_headers()]
        if retry_after is not None:
            self.headers.append((b"retry-after", str(retry_after).encode()))
        if status == 401:
            self.headers.append((b"www-authenticate", b'Bearer realm="dulieuso-gateway"'))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.call.entry(self.status, self.code, hashlib.sha256(self.body).hexdigest(), len(self.body))
        try:
            await _log_or_fail(self.call, entry, send)
        except LogUnavailable:
            return
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


class LogUnavailable(Exception):
    pass


async def _log_or_fail(call: Call, entry: dict[str, Any], send: Send, started: bool = False) -> None:
    """Commit ``entry``; if the log cannot be written, the consumer gets a 503 instead."""
    try:
        await call.state.writer.append(entry)
    except Exception as error:
        logger.exception("sharing log write failed", extra={"request_id": call.request_id})
        if not started:
            message = MESSAGES["gateway.log_unavailable"]
            body = json.dumps({"error": {"code": "gateway.log_unavailable", "message": message.vi,
                                         "message_en": message.en, "request_id": call.request_id}},
                              ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json; charset=utf-8"), *call.base_headers()]})
            await send({"type": "http.response.body", "body": body})
        raise LogUnavailable() from error


def _response_headers(call: Call, upstream: httpx.Response, drop_encoding: bool) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in upstream.headers.raw
               if k.lower().decode("latin-1") not in HOP_BY_HOP and k.lower() not in (b"x-request-id", b"set-cookie")
               and not (drop_encoding and k.lower() == b"content-encoding")]
    headers.extend(call.base_headers())
    decision = call.decision
    retrieved = call.request_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    valid_until = decision.data_valid_until if decision else None
    # Art. 41: online-query data is valid on retrieval unless the regulation sets a period.
    headers.append((b"x-data-valid-until",
                    (valid_until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
                     if valid_until else retrieved).encode()))
    headers.append((b"x-data-retrieved-at", retrieved.encode()))
    return headers


class ProxyResponse:
    """The provider's answer: reduced when the grant limits fields, streamed otherwise,
    with the last chunk held back until the log entry is committed."""

    def __init__(self, call: Call, upstream: httpx.Response, release: Any) -> None:
        self.call = call
        self.upstream = upstream
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._send(send)
        except LogUnavailable:
            pass
        finally:
            await self.upstream.aclose()
            self.release()

    async def _send(self, send: Send) -> None:
        call, upstream = self.call, self.upstream
        status = upstream.status_code
        outcome = "ok" if status < 400 else "upstream.http_error"
        allowed = call.decision.allowed_fields if call.decision else None
        if allowed is not None and status < 400:
            await self._send_reduced(send, allowed)
            return
        headers = _response_headers(call, upstream, drop_encoding=False)
        digest = hashlib.sha256()
        sent = 0
        pending: bytes | None = None
        started = False
        try:
            async for chunk in upstream.aiter_raw():
                if not chunk:
                    continue
                digest.update(chunk)
                sent += len(chunk)
                if pending is not None:
                    if not started:
                        await send({"type": "http.response.start", "status": status, "headers": headers})
                        started = True
                    await send({"type": "http.response.body", "body": pending, "more_body": True})
                pending = chunk
        except httpx.HTTPError as error:
            timeout = isinstance(error, httpx.TimeoutException)
            code = "gateway.upstream_timeout" if timeout else "gateway.bad_upstream_response"
            if not started:
                await ErrorResponse(call, 504 if timeout else 502, code)(call.request.scope, _no_receive, send)
                return
            # Headers are out: log what was sent and cut the connection (the consumer
            # never gets a complete body).
            await _log_or_fail(call, call.entry(status, code + ".partial", digest.hexdigest(), sent), send, True)
            raise
        await _log_or_fail(call, call.entry(status, outcome, digest.hexdigest(), sent), send, started)
        if not started:
            await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": pending or b"", "more_body": False})

    async def _send_reduced(self, send: Send, allowed: tuple[str, ...]) -> None:
        call, upstream = self.call, self.upstream
        content_type = upstream.headers.get("content-type", "")
        try:
            raw = bytearray()
            async for chunk in upstream.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_REDUCE_BYTES:
                    raise ValueError("too large to reduce")
            if "json" not in content_type.lower():
                raise ValueError("not JSON")
            document = json.loads(bytes(raw))
        except httpx.TimeoutException:
            await ErrorResponse(call, 504, "gateway.upstream_timeout")(call.request.scope, _no_receive, send)
            return
        except (httpx.HTTPError, ValueError):
            # The grant limits fields and this body cannot be reduced: never pass it on.
            await ErrorResponse(call, 502, "gateway.bad_upstream_response")(call.request.scope, _no_receive, send)
            return
        reduced, kept = reduce_fields(document, allowed)
        body = json.dumps(reduced, ensure_ascii=False, separators=(",", ":")).encode()
        headers = _response_headers(call, upstream, drop_encoding=True)
        headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        headers += [(b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode())]
        entry = call.entry(upstream.status_code, "ok", hashlib.sha256(body).hexdigest(), len(body),
                           ",".join(sorted(kept)))
        await _log_or_fail(call, entry, send)
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _no_receive() -> Any:  # ErrorResponse never reads the request
    return {"type": "http.disconnect"}


# -- endpoints -------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                return None
        except ValueError:
            return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def _authenticate(call: Call) -> Caller | str:
    """The caller, or the refusal code."""
    request, state = call.request, call.state
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "gateway.invalid_token"
        token = token.strip()
        caller = state.tokens.get(token)
        if caller is None:
            caller = read_token(state.token_key, token)
            if caller is None:
                return "gateway.invalid_token"
            if len(state.tokens) > CACHE_MAX:
                state.tokens.clear()
            state.tokens[token] = caller
        elif read_token(state.token_key, token) is None:  # expired since it was cached
            state.tokens.pop(token, None)
            return "gateway.invalid_token"
        return caller
    api_key = request.headers.get("x-api-key")
    if api_key:
        fingerprint = hashlib.sha256(api_key.encode()).hexdigest()
        cached = state.api_keys.get(fingerprint)
        now = time.monotonic()
        if cached is None or cached[0] < now:
            def lookup() -> Caller | None:
                with state.sessionmaker() as session:
                    return state.access.authenticate_api_key(session, api_key)

            caller_or_none = await anyio.to_thread.run_sync(lookup)
            if len(state.api_keys) > CACHE_MAX:
                state.api_keys.clear()
            state.api_keys[fingerprint] = (now + state.decision_ttl, caller_or_none)
        else:
            caller_or_none = cached[1]
        return caller_or_none if caller_or_none is not None else "gateway.invalid_api_key"
    return "gateway.unauthenticated"


async def _decide(call: Call, caller: Caller, service_code: str, path: str, via_token: bool) -> AccessDecision:
    """``AccessControl.decide``, cached for ``decision_ttl`` seconds per caller and request.

    A token's account is re-checked along with the decision (same cache), so revoking an
    account or a grant takes effect within ``decision_ttl`` seconds.
    """
    state = call.state
    key = (str(caller.account_id), service_code, call.request.method, path)
    now = time.monotonic()
    cached = state.decisions.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]

    def decide() -> AccessDecision:
        with state.sessionmaker() as session:
            if via_token and state.access.caller_by_account(session, caller.account_id) is None:
                return AccessDecision(allowed=False, reason="gateway.invalid_token", http_status=401)
            return state.access.decide(session, caller, service_code, call.request.method, path, datetime.now(UTC))

    decision = await anyio.to_thread.run_sync(decide)
    if len(state.decisions) > CACHE_MAX:
        state.decisions.clear()
    state.decisions[key] = (now + state.decision_ttl, decision)
    return decision


def _upstream_url(base: str, request: Request, service_code: str) -> str | None:
    raw_path = request.scope.get("raw_path")
    prefix = f"/gateway/{service_code}"
    if raw_path:
        raw = raw_path.decode("latin-1").split("?", 1)[0]
        index = raw.find("/", len("/gateway/"))
        tail = raw[index:] if index >= 0 else "/"
    else:
        tail = quote(request.url.path[len(prefix):] or "/")
    segments = [s.lower() for s in tail.split("/")]
    if any(s in (".", "..", "%2e", "%2e%2e", ".%2e", "%2e.") for s in segments) or "\\" in tail:
        return None
    url = base.rstrip("/") + tail
    query = request.scope.get("query_string", b"")
    return url + ("?" + query.decode("latin-1") if query else "")


def _upstream_headers(call: Call, caller: Caller) -> dict[str, str]:
    headers = {k: v for k, v in call.request.headers.items() if k.lower() not in DROP_UPSTREAM}
    headers.setdefault("accept-encoding", "identity")
    headers["x-request-id"] = call.request_id
    headers["x-consumer-agency"] = caller.consumer_agency_code
    headers["x-consumer-client"] = caller.client_id
    for name, value in (("x-purpose", call.purpose), ("x-case-id", call.case_id), ("x-end-user", call.end_user)):
        if value:
            headers[name] = value if value.isascii() else quote(value, safe=" /:;,.()-_")
    return headers


async def gateway_call(request: Request) -> Any:
    """``/gateway/{service_code}/{path}``: check, forward, log."""
    state = gateway_state(request.app)
    service_code = request.path_params["service_code"]
    path = "/" + request.path_params.get("path", "")
    call = Call(request, state, service_code)
    body = await _read_body(request, state.max_body_bytes)
    if body is None:
        return ErrorResponse(call, 413, "gateway.body_too_large")
    call.body = body
    caller = await _authenticate(call)
    if isinstance(caller, str):
        return ErrorResponse(call, 401, caller)
    call.caller = caller
    decision = await _decide(call, caller, service_code, path, via_token="authorization" in request.headers)
    call.decision = decision if decision.service_code else None
    if not decision.allowed:
        reason = decision.reason or "gateway.forbidden"
        extra = {k: v for k, v in decision.extra.items() if v}
        if reason == "gateway.invalid_token":
            call.caller = None
        return ErrorResponse(call, decision.http_status if decision.http_status >= 400 else 403, reason, extra=extra)
    call.decision = decision
    upstream_url = _upstream_url(decision.upstream_base_url or "", request, service_code)
    if not decision.upstream_base_url or upstream_url is None:
        return ErrorResponse(call, 400 if upstream_url is None else 502,
                             "gateway.bad_path" if upstream_url is None else "gateway.upstream_unreachable")
    quota_key = str(decision.grant_id or caller.account_id)
    wait = state.quotas.take(quota_key, decision.quota_per_minute, decision.quota_per_day)
    if wait is not None:
        return ErrorResponse(call, 429, "gateway.quota_exceeded", retry_after=wait)
    slot = str(decision.service_id)
    if decision.max_concurrency is not None and state.in_flight.get(slot, 0) >= decision.max_concurrency:
        return ErrorResponse(call, 429, "gateway.too_many_concurrent", retry_after=1)
    state.in_flight[slot] = state.in_flight.get(slot, 0) + 1
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            state.in_flight[slot] -= 1

    timeout = httpx.Timeout(decision.timeout_seconds, connect=min(5.0, decision.timeout_seconds))
    client = state.client()
    outgoing = client.build_request(request.method, upstream_url, headers=_upstream_headers(call, caller),
                                    content=body or None, timeout=timeout)
    try:
        upstream = await client.send(outgoing, stream=True)
    except httpx.TimeoutException:
        release()
        return ErrorResponse(call, 504, "gateway.upstream_timeout")
    except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL):
        release()
        return ErrorResponse(call, 502, "gateway.upstream_unreachable")
    except httpx.HTTPError:
        release()
        return ErrorResponse(call, 502, "gateway.bad_upstream_response")
    except BaseException:
        release()
        raise
    return ProxyResponse(call, upstream, release)


async def token(request: Request) -> Any:
    """``POST /gateway/token``: OAuth2 client credentials (RFC 6749 §4.4)."""
    state = gateway_state(request.app)
    call = Call(request, state, None)
    body = await _read_body(request, 16 * 1024)
    if body is None:
        return ErrorResponse(call, 413, "gateway.body_too_large")
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    # The logged request hash must not be a hash of the secret itself.
    call.body = urlencode({k: ("***" if k == "client_secret" else v) for k, v in form.items()}).encode()
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            return ErrorResponse(call, 401, "gateway.invalid_client")
    if form.get("grant_type") != "client_credentials":
        return ErrorResponse(call, 400, "gateway.unsupported_grant_type")

    def authenticate() -> Caller | None:
        with state.sessionmaker() as session:
            return state.access.authenticate_client(session, client_id, secret)

    caller = await anyio.to_thread.run_sync(authenticate)
    if caller is None:
        return ErrorResponse(call, 401, "gateway.invalid_client")
    call.caller = caller
    access_token = issue_token(state.token_key, caller, state.token_ttl)
    payload = json.dumps({"access_token": access_token, "token_type": "Bearer",
                          "expires_in": state.token_ttl}).encode()
    return TokenResponse(call, payload)


class TokenResponse:
    def __init__(self, call: Call, body: bytes) -> None:
        self.call, self.body = call, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.call.entry(200, "token.issued", hashlib.sha256(self.body).hexdigest(), len(self.body))
        try:
            await _log_or_fail(self.call, entry, send)
        except LogUnavailable:
            return
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                   (b"pragma", b"no-cache"), *self.call.base_headers()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Close the pooled upstream connections when the app stops."""
    yield
    state = getattr(app.state, "gateway", None)
    if state is not None:
        await state.aclose()


router = APIRouter(lifespan=lifespan)
router.routes.append(Route("/gateway/token", token, methods=["POST"], include_in_schema=False))
router.routes.append(Route("/gateway/{service_code}/{path:path}", gateway_call, methods=METHODS,
                           include_in_schema=False))


class GatewayDispatch:
    """ASGI middleware that hands ``/gateway/...`` to the gateway's two routes directly.

    The platform's router tries 200+ routes in order (FastAPI's per-route matching costs
    about a millisecond per request on this hardware); the gateway's latency budget is 2 ms,
    so its calls skip that walk. Add it inside the request-id and body-limit middleware
    (``app.add_middleware(GatewayDispatch)`` before those two) so request ids, metrics and
    access logs still apply.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/gateway/"):
            for route in router.routes:
                if not isinstance(route, Route):
                    continue
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)
