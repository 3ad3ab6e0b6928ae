# SPDX-License-Identifier: AGPL-3.0-or-later
"""The gateway's side of the providers' systems: a small HTTP/1.1 client of its own.

Why not a general client: the gateway forwards every exchange call, and on this
project's 2-core machine the client's CPU per call is most of the gateway's cost. httpx
took ≈ 1.0–1.2 ms per proxied request, aiohttp ≈ 0.2 ms, this client (an
``asyncio.Protocol`` per connection, responses parsed by ``httptools``, which uvicorn
already uses for the consumer's side) a fraction of that (measured: bench/README.md,
"Gateway"). It does only what a reverse proxy needs:

* one keep-alive pool per event loop (``POOL_SIZE`` connections in all,
  ``POOL_SIZE_PER_PROVIDER`` to one provider; a call waits for a free one), idle
  connections dropped after ``KEEPALIVE_SECONDS``; a reused connection that the provider
  closed before answering is retried once on a new one for idempotent methods
  (RFC 9112 §9.3.1);
* the request in one write: the path and query exactly as the consumer encoded them, the
  headers as bytes as the consumer sent them (no decoding and re-encoding), ``Host`` and
  ``Content-Length`` set here; ``http`` and ``https`` (certificates verified);
* the response's status and headers as received; its body as received (chunked or
  ``Content-Length`` framing removed, content coding kept) or, with ``decode``, with
  gzip/deflate undone; streamed with flow control (reading pauses while more than
  ``HIGH_WATER`` bytes wait to be sent on); small answers usually arrive whole with the
  headers and are handed over in one piece (``complete``/``body``);
* timeouts: ``seconds`` to get a connection (of which at most ``CONNECT_SECONDS`` to open
  a new one) and between reads; cookies are never stored (there is no cookie jar).

Every failure is reported as one of the gateway's three upstream reasons
(``UpstreamFailure``).
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterable
from urllib.parse import unquote

import httptools

#: Connections per event loop, in all, and to one provider (``max_concurrency`` of a
#: service is enforced by the gateway before a connection is asked for).
POOL_SIZE = 512
POOL_SIZE_PER_PROVIDER = 256
#: Idle connections are closed after this many seconds: below the 5 s keep-alive of
#: uvicorn and Apache, so the gateway does not reuse a connection the provider is closing.
KEEPALIVE_SECONDS = 4.0
#: The longest wait for a new connection to open.
CONNECT_SECONDS = 5.0
#: Reading from the provider pauses while this many body bytes wait to be sent on, and
#: resumes below ``LOW_WATER``.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
#: Methods a closed keep-alive connection may be retried for (RFC 9110 §9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
#: Methods that carry a body: they always get a ``Content-Length``, ``0`` when empty.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: What the gateway asks for when it reads a body itself, and can undo.
DECODABLE = b"gzip, deflate"
#: How often read timeouts are checked (the precision of a timeout).
TICK = 0.05
#: Origins (``scheme://authority``) parsed once.
ORIGIN_CACHE_MAX = 1000
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")

TIMEOUT = ("gateway.upstream_timeout", 504)
UNREACHABLE = ("gateway.upstream_unreachable", 502)
BAD_RESPONSE = ("gateway.bad_upstream_response", 502)


class UpstreamFailure(Exception):
    """The provider could not be reached or did not answer usably.

    ``code`` is the gateway's reason (``gateway.upstream_timeout``,
    ``gateway.upstream_unreachable``, ``gateway.bad_upstream_response``) and ``status``
    the HTTP status the consumer gets for it.
    """

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


class _Disconnected(Exception):
    """The provider closed the connection before the response was complete."""


class _BadResponse(Exception):
    """The provider's bytes are not an HTTP/1.1 response this client can use."""


def failure(error: BaseException) -> UpstreamFailure:
    """The gateway's reason for an exception raised while talking to a provider."""
    if isinstance(error, UpstreamFailure):
        return error
    if isinstance(error, TimeoutError):
        return UpstreamFailure(*TIMEOUT)
    return UpstreamFailure(*BAD_RESPONSE)


# -- where a provider is ----------------------------------------------------------------


class Origin:
    """``scheme://[user:password@]host[:port]`` of a provider, parsed once."""

    __slots__ = ("key", "host", "port", "ssl", "server_hostname", "host_header", "authorization")

    def __init__(self, origin: str) -> None:
        scheme, sep, authority = origin.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in ("http", "https") or not authority:
            raise ValueError(f"not an http(s) URL: {origin!r}")
        self.key = origin
        userinfo, at, hostport = authority.rpartition("@")
        self.authorization: bytes | None = None
        if at:  # credentials in the base URL: HTTP Basic, as a browser or aiohttp would send
            user, _, password = userinfo.partition(":")
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
            self.authorization = f"Basic {token}".encode("ascii")
        if hostport.startswith("["):  # an IPv6 literal
            end = hostport.find("]")
            if end < 0:
                raise ValueError(f"bad IPv6 host: {origin!r}")
            host, port_text = hostport[1:end], hostport[end + 1:].removeprefix(":")
        else:
            host, _, port_text = hostport.partition(":")
        default_port = 443 if scheme == "https" else 80
        self.port = int(port_text) if port_text else default_port
        if not host or not 0 < self.port < 65536:
            raise ValueError(f"bad host or port: {origin!r}")
        self.host = host.encode("idna").decode("ascii") if not host.isascii() else host
        self.server_hostname = self.host if scheme == "https" else None
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if scheme == "https" else None
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = (shown if self.port == default_port else f"{shown}:{self.port}").encode("ascii")


def split_url(url: str, origins: dict[str, Origin]) -> tuple[Origin, bytes]:
    """The provider's origin (from ``origins``, parsed on first use) and the request
    target (path and query, sent as they are). Raises ``ValueError`` for a bad URL."""
    start = url.find("://")
    slash = url.find("/", start + 3) if start >= 0 else -1
    origin_text, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
    origin = origins.get(origin_text)
    if origin is None:
        origin = Origin(origin_text)
        if len(origins) >= ORIGIN_CACHE_MAX:
            origins.clear()
        origins[origin_text] = origin
    raw = target.encode("latin-1")  # the consumer's bytes, as the gateway decoded them
    if _BAD_TARGET.search(raw):
        raise ValueError("control character or space in the request target")
    return origin, raw


# -- one response ------------------------------------------------------------------------


class UpstreamResponse:
    """A provider's response: status and headers in, the body arriving.

    It is also the ``httptools`` parser's protocol object (the ``on_*`` callbacks).
    """

    __slots__ = ("status", "raw_headers", "_conn", "_parser", "_loop", "_read_timeout", "_head_only",
                 "_interim", "_headers_in", "_complete", "_keep_alive", "_error", "_waiter", "_chunks",
                 "_buffered", "_framed", "_decode", "_decoder", "_coded", "_reading")

    def __init__(self, conn: _Connection, loop: asyncio.AbstractEventLoop, read_timeout: float, head_only: bool,
                 decode: bool) -> None:
        self.status = 0
        #: The headers as received: names in the provider's case, values as bytes.
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self._conn = conn
        self._parser = httptools.HttpResponseParser(self)
        self._loop = loop
        self._read_timeout = read_timeout
        self._head_only = head_only
        self._interim = False
        self._headers_in = False
        self._complete = False
        self._keep_alive = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._framed = False  # Content-Length or chunked: the body does not end at EOF
        self._decode = decode
        self._decoder: zlib._Decompress | None = None
        self._coded = False
        self._reading = True

    # -- httptools callbacks (called from the connection's data_received) --

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer to one request
            raise _BadResponse("data after the response")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:  # the gateway never asks for an upgrade
                raise _BadResponse("unexpected 101 Switching Protocols")
            self._interim = True  # 100 Continue, 103 Early Hints: the real answer follows
            self.raw_headers = []
            return
        self.status = status
        self._headers_in = True
        self._keep_alive = self._parser.should_keep_alive()
        for name, value in self.raw_headers:
            lower = name.lower()
            if lower == b"content-length" or lower == b"transfer-encoding":
                self._framed = True
            elif lower == b"content-encoding" and self._decode:
                self._decoder = _decoder(value)
        if self._head_only or status == 204 or status == 304:
            self._decoder = None  # no body to decode
            self._finish()
        else:
            self._wake()

    def on_body(self, body: bytes) -> None:
        if self._complete:  # a HEAD answer's body (there is none; a broken provider)
            return
        if self._decoder is not None:
            self._coded = True  # compressed bytes came: their stream must be complete at the end
            try:
                body = self._decoder.decompress(body)
            except zlib.error as error:
                raise _BadResponse("bad content coding") from error
            if not body:
                return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and self._reading:
            self._reading = False
            self._conn.pause()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if not self._complete:
            self._finish()

    # -- events from the connection --

    def _finish(self) -> None:
        if self._decoder is not None and self._coded:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
            if not self._decoder.eof:
                self._fail(_BadResponse("truncated content coding"))
                return
        self._complete = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if self._error is None and not self._complete:
            self._error = error
            self._wake()

    def _lost(self) -> None:
        """The connection closed: the end of a body without framing, else a failure."""
        if self._headers_in and not self._framed and not self._complete:
            self._keep_alive = False
            self._finish()
        else:
            self._fail(_Disconnected("the provider closed the connection"))

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        """Until the connection has news, or the read timeout passes (``TimeoutError``)."""
        waiter = self._waiter = self._loop.create_future()
        pool = self._conn.pool
        pool.watch(self, self._read_timeout)
        try:
            await waiter
        finally:
            self._waiter = None
            pool.waiting.pop(self, None)

    def _time_out(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError())

    async def _head(self) -> None:
        """Until the status and headers are in."""
        while not self._headers_in:
            if self._error is not None:
                raise self._error
            await self._wait()

    # -- for the gateway --

    def header(self, name: str) -> str:
        """The first value of a header (``name`` in lower case), or ``""``."""
        wanted = name.encode("latin-1")
        for key, value in self.raw_headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return ""

    @property
    def complete(self) -> bool:
        """Is the whole body in (usual for a small answer: it comes with the headers)?"""
        return self._complete

    def body(self) -> bytes:
        """The whole body, once ``complete``."""
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as received (decoded with ``decode``), chunk by chunk.

        Raises ``UpstreamFailure`` when the provider stops answering or breaks the stream.
        """
        pending = self._chunks
        try:
            while True:
                if pending:
                    chunk = pending.popleft()
                    self._buffered -= len(chunk)
                    if not self._reading and self._buffered < LOW_WATER:
                        self._reading = True
                        self._conn.resume()
                    yield chunk
                elif self._complete:
                    return
                elif self._error is not None:
                    raise self._error
                else:
                    await self._wait()
        except (_Disconnected, _BadResponse, TimeoutError) as error:
            raise failure(error) from error

    def release(self) -> None:
        """Give the connection back to the pool (the body was read to the end)."""
        conn = self._conn
        if self._complete and self._keep_alive and not self._chunks:
            if not self._reading:  # paused while a big body came in one piece
                conn.resume()
            conn.release()
        else:
            conn.close()

    def close(self) -> None:
        """Drop the connection (the body was not read to the end)."""
        self._conn.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _decoder(coding: bytes) -> zlib._Decompress | None:
    coding = coding.strip().lower()
    if coding in (b"gzip", b"x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if coding == b"deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    if coding in (b"", b"identity"):
        return None
    raise _BadResponse(f"cannot decode content coding {coding!r}")


# -- connections and the pool --------------------------------------------------------------


class _Connection(asyncio.Protocol):
    """One connection to a provider; carries one request at a time."""

    __slots__ = ("pool", "origin", "transport", "response", "alive", "idle_since", "counted")

    def __init__(self, pool: _Pool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.response: UpstreamResponse | None = None
        self.alive = True
        self.idle_since = 0.0
        self.counted = True  # holds a place in the pool's counts until closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:  # nothing was asked: a provider talking out of turn
            self.close()
            return
        try:
            response._parser.feed_data(data)
        except Exception as error:  # httptools' parse errors, and ours from its callbacks
            response._fail(error if isinstance(error, _BadResponse) else _BadResponse(str(error)))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        response = self.response
        if response is not None:
            response._lost()
        self.pool.closed(self)

    def pause(self) -> None:
        if self.alive and self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.alive and self.transport is not None:
            self.transport.resume_reading()

    def release(self) -> None:
        self.response = None
        if self.alive:
            self.pool.give_back(self)

    def close(self) -> None:
        self.response = None
        self.alive = False
        if self.transport is not None:
            self.transport.close()
        self.pool.closed(self)


class _Pool:
    """The keep-alive connections of one event loop, and the read timeouts of their
    responses.

    Read timeouts are checked every ``TICK`` seconds by one timer that runs only while
    some response is waiting, not by a timer per wait (making and cancelling a timer
    cost a few microseconds per call, a timeout is seconds long).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle: dict[str, list[_Connection]] = {}
        self.open: dict[str, int] = {}
        self.total = 0
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.origins: dict[str, Origin] = {}
        #: Responses waiting for data, with the loop time when they time out.
        self.waiting: dict[UpstreamResponse, float] = {}
        self.ticking = False

    def watch(self, response: UpstreamResponse, seconds: float) -> None:
        self.waiting[response] = self.loop.time() + seconds
        if not self.ticking:
            self.ticking = True
            self.loop.call_later(TICK, self._tick)

    def _tick(self) -> None:
        waiting = self.waiting
        if not waiting:
            self.ticking = False
            return
        now = self.loop.time()
        for response in [r for r, deadline in waiting.items() if deadline <= now]:
            del waiting[response]
            response._time_out()
        self.loop.call_later(TICK, self._tick)

    async def connection(self, origin: Origin, timeout: float) -> tuple[_Connection, bool]:
        """A connection to ``origin`` and whether it was reused."""
        key = origin.key
        deadline: float | None = None
        while True:
            idle = self.idle.get(key)
            if idle:
                now = self.loop.time()
                while idle:
                    conn = idle.pop()
                    if conn.alive and now - conn.idle_since < KEEPALIVE_SECONDS and not conn.transport.is_closing():  # type: ignore[union-attr]
                        return conn, True
                    conn.close()
            if self.total < POOL_SIZE and self.open.get(key, 0) < POOL_SIZE_PER_PROVIDER:
                return await self._connect(origin, timeout), False
            # Every place is taken: wait for one to come free, as long as ``timeout`` allows.
            now = self.loop.time()
            deadline = deadline if deadline is not None else now + timeout
            if now >= deadline:
                raise UpstreamFailure(*TIMEOUT)
            waiter = self.loop.create_future()
            self.waiters.append(waiter)
            timer = self.loop.call_at(deadline, _expire, waiter)
            try:
                await waiter
            except TimeoutError:
                raise UpstreamFailure(*TIMEOUT) from None
            finally:
                timer.cancel()
                if not waiter.done():
                    waiter.cancel()

    async def _connect(self, origin: Origin, timeout: float) -> _Connection:
        key = origin.key
        self.total += 1
        self.open[key] = self.open.get(key, 0) + 1
        conn = _Connection(self, origin)
        try:
            async with asyncio.timeout(min(CONNECT_SECONDS, timeout)):
                await self.loop.create_connection(lambda: conn, origin.host, origin.port, ssl=origin.ssl,
                                                  server_hostname=origin.server_hostname)
        except BaseException as error:
            conn.alive = False
            self.closed(conn)
            if isinstance(error, TimeoutError):
                raise UpstreamFailure(*TIMEOUT) from error
            if isinstance(error, (OSError, ValueError, UnicodeError)):  # refused, DNS, TLS, bad host
                raise UpstreamFailure(*UNREACHABLE) from error
            raise
        return conn

    def give_back(self, conn: _Connection) -> None:
        conn.idle_since = now = self.loop.time()
        idle = self.idle.setdefault(conn.origin.key, [])
        # The oldest is at the bottom: drop those past their keep-alive on the way.
        while idle and now - idle[0].idle_since >= KEEPALIVE_SECONDS:
            idle.pop(0).close()
        idle.append(conn)
        self._wake_one()

    def closed(self, conn: _Connection) -> None:
        if conn.counted:
            conn.counted = False
            self.total -= 1
            self.open[conn.origin.key] -= 1
            self._wake_one()

    def _wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close_all(self) -> None:
        for idle in self.idle.values():
            for conn in idle:
                conn.close()
            idle.clear()


class UpstreamClient:
    """Pooled connections to the providers, one pool per event loop (a connection belongs
    to its loop)."""

    def __init__(self) -> None:
        self._pools: dict[int, _Pool] = {}

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(id(loop))
        if pool is None or pool.loop is not loop:
            pool = self._pools[id(loop)] = _Pool(loop)
        return pool

    async def open(self, method: str, url: str, headers: Iterable[tuple[bytes, bytes]], body: bytes,
                   timeout_seconds: float, decode: bool = False) -> UpstreamResponse:
        """Send the request and return once the provider's status and headers are in.

        ``url`` is already percent-encoded and is sent as it is; ``headers`` go as they
        are (the caller leaves out ``Host``, ``Content-Length`` and hop-by-hop ones).
        ``decode``: ask for a content coding this client can undo, and undo it (the
        gateway reads the body itself instead of passing it on). Raises
        ``UpstreamFailure``.
        """
        pool = self._pool()
        try:
            origin, target = split_url(url, pool.origins)
            request = _request_bytes(method, target, origin, headers, body, decode)
        except (ValueError, UnicodeError) as error:  # a malformed URL or header value
            raise UpstreamFailure(*UNREACHABLE) from error
        head_only = method == "HEAD"
        for attempt in (1, 2):
            conn, reused = await pool.connection(origin, timeout_seconds)
            response = UpstreamResponse(conn, pool.loop, timeout_seconds, head_only, decode)
            conn.response = response
            try:
                conn.transport.write(request)  # type: ignore[union-attr]
                await response._head()
            except _Disconnected as error:
                conn.close()
                if reused and attempt == 1 and method in IDEMPOTENT:
                    continue  # the provider closed an idle connection as we reused it
                raise UpstreamFailure(*BAD_RESPONSE) from error
            except (_BadResponse, TimeoutError) as error:
                conn.close()
                raise failure(error) from error
            except BaseException:
                conn.close()
                raise
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the pooled connections (those of other, running loops from their loop)."""
        pools, self._pools = self._pools, {}
        current = asyncio.get_running_loop()
        for pool in pools.values():
            if pool.loop is current:
                pool.close_all()
            elif not pool.loop.is_closed():
                try:
                    pool.loop.call_soon_threadsafe(pool.close_all)
                except RuntimeError:  # the loop closed meanwhile
                    pass


def _request_bytes(method: str, target: bytes, origin: Origin, headers: Iterable[tuple[bytes, bytes]],
                   body: bytes, decode: bool) -> bytes:
    """The request line, headers and body, as one piece."""
    parts = []
    accept_encoding = False
    for name, value in headers:
        if name == b"accept-encoding":
            accept_encoding = True
        parts += (name, b": ", value, b"\r\n")
    given = b"".join(parts)
    lines = len(parts) // 4
    # No header may smuggle a line break or a NUL (request splitting): each of the given
    # headers ends in the only CR LF it holds.
    if given.count(b"\n") != lines or given.count(b"\r") != lines or b"\0" in given:
        raise ValueError("line break in a header")
    parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", origin.host_header, b"\r\n", given]
    if decode and not accept_encoding:
        parts.append(b"accept-encoding: " + DECODABLE + b"\r\n")
    if origin.authorization is not None:
        parts += (b"authorization: ", origin.authorization, b"\r\n")
    if body or method in BODY_METHODS:
        parts += (b"content-length: ", str(len(body)).encode("ascii"), b"\r\n")
    parts.append(b"\r\n")
    if body:
        parts.append(body)
    return b"".join(parts)
