# SPDX-License-Identifier: AGPL-3.0-or-later
"""One exchange call as the gateway (``gateway.py``) handles it: what is known about it,
its sharing-log entry, and how it ends — logged first, then answered.

Every answer goes through here: a refusal (``refuse``: the ``gateway.<reason>`` JSON
shape), or the provider's response, streamed (``relay``: the last chunk is held back
until the entry with the SHA-256 of the whole body is committed) or reduced to the
grant's fields (``relay_reduced``). Personal data is masked in what is logged, never in
what is forwarded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.types import Scope, Send

from dulieuso.i18n import Msg
from dulieuso.sharing import log as sharing_log
from dulieuso.sharing.gateway_upstream import UpstreamFailure, UpstreamResponse
from dulieuso.sharing.interfaces import AccessDecision, Caller

if TYPE_CHECKING:
    from dulieuso.sharing.gateway import GatewayState

logger = logging.getLogger("dulieuso.sharing.gateway")

#: Largest upstream JSON body the gateway will parse to reduce it to the allowed fields.
MAX_REDUCE_BYTES = 20 * 1024 * 1024
#: Entries a per-process cache may hold before it is emptied.
CACHE_MAX = 20000
#: Envelope keys kept beside ``data`` when a response is reduced (no personal data).
PAGINATION_KEYS = frozenset({"total", "limit", "offset", "page", "page_size", "count", "next", "previous"})
#: Hop-by-hop headers (RFC 9110 §7.6.1) and those the HTTP client sets itself.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
})
#: Provider headers never passed back: hop-by-hop ones, cookies, the provider's request id
#: (the gateway's is sent), and ``Date``/``Server``, which the gateway's own server sets
#: (as nginx's ``proxy_pass`` hides them): passing them on would send each twice.
#: ``Content-Length`` is kept when the body is passed on unchanged.
DROP_DOWNSTREAM = frozenset(name.encode() for name in (HOP_BY_HOP - {"content-length"})) | {
    b"x-request-id", b"set-cookie", b"date", b"server",
}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

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


# -- the parts of a log entry that calls share ----------------------------------------------


def bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    """``cache``, emptied first when it has grown past ``CACHE_MAX`` entries."""
    if len(cache) > CACHE_MAX:
        cache.clear()
    return cache


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


#: The log-entry fields that come from the caller, and from the decision, when there is none.
NO_CALLER = {"consumer_agency_id": None, "consumer_agency_code": None, "application_id": None,
             "account_id": None, "client_id": None}
NO_DECISION = {"service_id": None, "service_code": None, "service_version": None, "provider_agency_id": None,
               "operation": None, "agreement_id": None, "grant_id": None, "purpose": None}


@dataclass(slots=True)
class Decided:
    """A cached ``AccessDecision`` with what every call under it shares: the log-entry
    fields fixed by the caller and the decision (made once, not per call), and the
    ``X-Data-Valid-Until`` value."""

    decision: AccessDecision
    expires: float
    parts: dict[str, Any]
    valid_until: bytes | None


def caller_fields(state: GatewayState, caller: Caller | None) -> dict[str, Any]:
    """The caller's log-entry fields (kept per caller: they are the same on every call)."""
    if caller is None:
        return NO_CALLER
    parts = state.caller_parts.get(caller)
    if parts is None:
        parts = bounded(state.caller_parts)[caller] = {
            "consumer_agency_id": str(caller.consumer_agency_id), "consumer_agency_code": caller.consumer_agency_code,
            "application_id": str(caller.application_id), "account_id": str(caller.account_id),
            "client_id": caller.client_id,
        }
    return parts


def decision_fields(decision: AccessDecision) -> dict[str, Any]:
    """The log-entry fields of what the registry decided (service, operation, grant)."""
    def text(value: Any) -> str | None:
        return str(value) if value else None

    return {
        "service_id": text(decision.service_id), "service_code": decision.service_code or None,
        "service_version": decision.service_version, "provider_agency_id": text(decision.provider_agency_id),
        "operation": decision.operation, "agreement_id": text(decision.agreement_id),
        "grant_id": text(decision.grant_id), "purpose": decision.purpose,
    }


# -- one call ----------------------------------------------------------------------------------


def free_text(value: str | None, limit: int = 200) -> str | None:
    """A free-text header: UTF-8 sent raw or percent-encoded (``X-Purpose: C%E1%BA%A5p ph%C3%A9p``)."""
    if not value:
        return None
    try:
        value = value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    if "%" in value:
        value = unquote(value)
    return sharing_log.clean_text(value.strip(), limit) or None


_fresh_ids: list[str] = []
os.register_at_fork(after_in_child=_fresh_ids.clear)  # a forked worker must not repeat the parent's


def new_request_id() -> str:
    """32 random hex digits (from ``os.urandom``, read 64 ids at a time: one system call
    for 64 calls instead of one each)."""
    if not _fresh_ids:
        block = os.urandom(16 * 64).hex()
        _fresh_ids.extend(block[i:i + 32] for i in range(0, len(block), 32))
    return _fresh_ids.pop()


class Call:
    """What the gateway knows about one request, gathered for its log entry and response."""

    __slots__ = ("scope", "state", "started", "request_at", "method", "service_code", "raw_headers", "headers",
                 "request_id", "owns_request_id", "caller", "decided", "body", "purpose", "case_id", "end_user",
                 "path", "query", "client_ip", "status", "responded")

    def __init__(self, scope: Scope, state: GatewayState, service_code: str | None) -> None:
        self.scope = scope
        self.state = state
        self.started = time.perf_counter()
        self.request_at = datetime.now(UTC)
        self.method: str = scope["method"]
        self.service_code = service_code
        # ASGI header names are lower case; the first of repeated headers wins, as in
        # Starlette. The bytes as received are what the provider gets (``raw_headers``).
        self.raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers: dict[str, str] = {}
        for name, value in self.raw_headers:
            key = name.decode("latin-1")
            if key not in headers:
                headers[key] = value.decode("latin-1")
        self.headers = headers
        outer_id = (scope.get("state") or {}).get("request_id")  # RequestContextMiddleware's, if it ran
        self.owns_request_id = not outer_id
        incoming = headers.get("x-request-id", "")[:64]
        self.request_id: str = outer_id or (incoming if incoming and incoming.isprintable() else new_request_id())
        self.caller: Caller | None = None
        self.decided: Decided | None = None
        self.body = b""
        self.purpose = free_text(headers.get("x-purpose"), 1000)
        self.case_id = free_text(headers.get("x-case-id"))
        self.end_user = free_text(headers.get("x-end-user"))
        path = scope["path"]
        masked = state.masked_paths.get(path)
        if masked is None:
            masked = bounded(state.masked_paths)[path] = mask_text(path)
        self.path = masked
        query = scope.get("query_string", b"")
        self.query = mask_query(query.decode("latin-1")) if query else ""
        client = scope.get("client")
        self.client_ip = client[0] if client else None
        self.status = 500  # until a response starts
        self.responded = False

    @property
    def decision(self) -> AccessDecision | None:
        return self.decided.decision if self.decided else None

    def entry(self, status: int, outcome: str, body_hash: str, bytes_out: int,
              fields_returned: str | None = None) -> dict[str, Any]:
        decided = self.decided
        parts = decided.parts if decided else caller_fields(self.state, self.caller)
        entry = {**NO_DECISION, **parts} if not decided else dict(parts)
        entry.update(
            request_id=self.request_id,
            request_at=self.request_at,
            response_at=datetime.now(UTC),
            latency_us=int((time.perf_counter() - self.started) * 1e6),
            service_code=entry["service_code"] or self.service_code,
            method=self.method,
            path=self.path,
            query=self.query,
            status=status,
            outcome=outcome,
            bytes_in=len(self.body),
            bytes_out=bytes_out,
            request_sha256=hashlib.sha256(self.body).hexdigest() if self.body else EMPTY_SHA256,
            response_sha256=body_hash,
            purpose=self.purpose or entry["purpose"],
            case_id=self.case_id,
            end_user=self.end_user,
            fields_returned=fields_returned,
            client_ip=self.client_ip,
        )
        return entry

    def base_headers(self) -> list[tuple[bytes, bytes]]:
        # Without an outer request-id middleware the gateway sends the id itself.
        return [(b"x-request-id", self.request_id.encode("latin-1"))] if self.owns_request_id else []

    async def start(self, send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.responded = True
        await send({"type": "http.response.start", "status": status, "headers": headers})


# -- answers: logged first, then sent ----------------------------------------------------------


class LogUnavailable(Exception):
    """The log entry could not be committed (the consumer has been told, if it still can be)."""


def error_body(call: Call, code: str, extra: dict[str, Any] | None = None) -> bytes:
    message = MESSAGES.get(code, MESSAGES["gateway.forbidden"])
    error: dict[str, Any] = {"code": code, "message": message.vi, "message_en": message.en,
                             "request_id": call.request_id}
    error.update(extra or {})
    return json.dumps({"error": error}, ensure_ascii=False).encode()


async def refuse(call: Call, send: Send, status: int, code: str, retry_after: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
    """A gateway error: logged, then sent (``gateway.<reason>`` JSON)."""
    body = error_body(call, code, extra)
    headers = [(b"content-type", b"application/json; charset=utf-8"),
               (b"content-length", str(len(body)).encode()), *call.base_headers()]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="dulieuso-gateway"'))
    try:
        await log_or_fail(call, call.entry(status, code, hashlib.sha256(body).hexdigest(), len(body)), send)
    except LogUnavailable:
        return
    await call.start(send, status, headers)
    await send({"type": "http.response.body", "body": body})


class Commits:
    """Waits, on one event loop, for the sharing-log writer to commit entries.

    The writer thread completes one ``concurrent.futures.Future`` per entry; rather than
    one cross-thread wake-up of the loop per entry (``asyncio.wrap_future``), the results
    of a batch are collected here and handed over with one ``call_soon_threadsafe``. A
    waiting call that is cancelled does not cancel the writer's future (the entry is
    already on its way into the log).
    """

    __slots__ = ("loop", "lock", "arrived")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.arrived: list[tuple[asyncio.Future[int], Future[int]]] = []

    def wait(self, committed: Future[int]) -> asyncio.Future[int]:
        """An awaitable for ``committed`` on this loop."""
        waiter: asyncio.Future[int] = self.loop.create_future()
        committed.add_done_callback(lambda done: self._arrive(waiter, done))
        return waiter

    def _arrive(self, waiter: asyncio.Future[int], done: Future[int]) -> None:
        # In the writer thread (or here, if ``done`` was already complete).
        with self.lock:
            self.arrived.append((waiter, done))
            first = len(self.arrived) == 1
        if first:
            try:
                self.loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def _deliver(self) -> None:
        with self.lock:
            arrived, self.arrived = self.arrived, []
        for waiter, done in arrived:
            if waiter.done():  # cancelled meanwhile
                continue
            error = done.exception()
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(done.result())


def commits(state: GatewayState) -> Commits:
    """The ``Commits`` of the running loop."""
    loop = asyncio.get_running_loop()
    found = state.commits.get(id(loop))
    if found is None or found.loop is not loop:
        found = state.commits[id(loop)] = Commits(loop)
    return found


async def log_or_fail(call: Call, entry: dict[str, Any], send: Send, started: bool = False) -> None:
    """Commit ``entry``; if the log cannot be written, the consumer gets a 503 instead."""
    try:
        await commits(call.state).wait(call.state.writer.submit(entry))
    except Exception as error:
        logger.exception("sharing log write failed", extra={"request_id": call.request_id})
        if not started:
            body = error_body(call, "gateway.log_unavailable")
            await call.start(send, 503, [(b"content-type", b"application/json; charset=utf-8"),
                                         *call.base_headers()])
            await send({"type": "http.response.body", "body": body})
        raise LogUnavailable() from error


def response_headers(call: Call, upstream: UpstreamResponse, decoded: bool) -> list[tuple[bytes, bytes]]:
    """The provider's headers as the consumer gets them, plus the gateway's own.

    ``decoded``: the body is sent decoded (or rewritten), so the provider's
    ``Content-Encoding`` and ``Content-Length`` no longer describe it.
    """
    drop = DROP_DOWNSTREAM
    listed = upstream.header("connection")
    if listed:  # headers the provider named as hop-by-hop (RFC 9110 §7.6.1)
        drop = drop | {name.strip().lower().encode("latin-1") for name in listed.split(",")}
    if decoded:
        drop = drop | {b"content-encoding", b"content-length"}
    headers = [(name, value) for name, value in upstream.raw_headers if name.lower() not in drop]
    headers.extend(call.base_headers())
    retrieved = call.state.time_text(call.request_at)
    decided = call.decided
    # Art. 41: online-query data is valid on retrieval unless the regulation sets a period.
    headers.append((b"x-data-valid-until", (decided.valid_until if decided else None) or retrieved))
    headers.append((b"x-data-retrieved-at", retrieved))
    return headers


async def relay(call: Call, upstream: UpstreamResponse, send: Send, decoded: bool) -> None:
    """The provider's answer streamed as it comes, its last chunk held back until the
    log entry (with the SHA-256 of the whole body) is committed."""
    status = upstream.status
    headers = response_headers(call, upstream, decoded)
    outcome = "ok" if status < 400 else "upstream.http_error"
    if upstream.complete:  # the usual small answer: the whole body came with the headers
        body = upstream.body()
        entry = call.entry(status, outcome, hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256, len(body))
        await log_or_fail(call, entry, send)
        await call.start(send, status, headers)
        await send({"type": "http.response.body", "body": body})
        return
    digest = hashlib.sha256()
    sent = 0
    pending: bytes | None = None
    started = False
    try:
        async for chunk in upstream.chunks():
            digest.update(chunk)
            sent += len(chunk)
            if pending is not None:
                if not started:
                    await call.start(send, status, headers)
                    started = True
                await send({"type": "http.response.body", "body": pending, "more_body": True})
            pending = chunk
    except UpstreamFailure as failure:
        if not started:
            await refuse(call, send, failure.status, failure.code)
            return
        # Headers are out: log what was sent and cut the connection (the consumer never
        # gets a complete body).
        await log_or_fail(call, call.entry(status, failure.code + ".partial", digest.hexdigest(), sent), send, True)
        raise
    await log_or_fail(call, call.entry(status, outcome, digest.hexdigest(), sent), send, started)
    if not started:
        await call.start(send, status, headers)
    await send({"type": "http.response.body", "body": pending or b"", "more_body": False})


async def relay_reduced(call: Call, upstream: UpstreamResponse, send: Send, allowed: tuple[str, ...]) -> None:
    """The provider's JSON reduced to the grant's fields; anything that cannot be reduced
    is refused rather than passed on."""
    try:
        raw = bytearray()
        async for chunk in upstream.chunks():
            raw += chunk
            if len(raw) > MAX_REDUCE_BYTES:
                raise ValueError("too large to reduce")
        if "json" not in upstream.header("content-type").lower():
            raise ValueError("not JSON")
        document = json.loads(bytes(raw))
    except UpstreamFailure as failure:
        await refuse(call, send, failure.status, failure.code)
        return
    except ValueError:  # includes JSON and UTF-8 decoding errors
        await refuse(call, send, 502, "gateway.bad_upstream_response")
        return
    reduced, kept = reduce_fields(document, allowed)
    body = json.dumps(reduced, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(k, v) for k, v in response_headers(call, upstream, decoded=True) if k.lower() != b"content-type"]
    headers += [(b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode())]
    entry = call.entry(upstream.status, "ok", hashlib.sha256(body).hexdigest(), len(body), ",".join(sorted(kept)))
    await log_or_fail(call, entry, send)
    await call.start(send, upstream.status, headers)
    await send({"type": "http.response.body", "body": body})


