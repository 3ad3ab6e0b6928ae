# SPDX-License-Identifier: AGPL-3.0-or-later
"""The gateway's side of the providers' systems: one pooled aiohttp client per event loop.

Why aiohttp and not httpx (which the rest of the platform uses): the gateway forwards
every exchange call, and on this project's 2-core machine httpx cost ≈ 1.0–1.2 ms of CPU
per proxied request against ≈ 0.2 ms for aiohttp's client on the same upstream (measured:
bench/README.md, "Gateway"). The provider's bytes are passed through as received
(``auto_decompress`` off, the path and query sent exactly as the consumer encoded them),
cookies are never stored (one client serves every consumer, so a provider's
``Set-Cookie`` must not follow the next caller), and every failure is reported as one of
the gateway's three upstream reasons.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import aiohttp
from yarl import URL

#: Connections per event loop, in all, and to one provider (``max_concurrency`` of a
#: service is enforced by the gateway before a connection is asked for).
POOL_SIZE = 512
POOL_SIZE_PER_PROVIDER = 256
#: Idle connections are closed after this many seconds: below the 5 s keep-alive of
#: uvicorn and Apache, so the gateway does not reuse a connection the provider is closing.
KEEPALIVE_SECONDS = 4.0
#: Largest chunk handed on at a time while streaming a body.
READ_BUFFER = 64 * 1024
#: Passed as ``skip_auto_headers`` when a body comes without a type.
UNTYPED = ("Content-Type",)


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


def failure(error: BaseException) -> UpstreamFailure:
    """The gateway's reason for an exception raised while talking to a provider."""
    if isinstance(error, TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return UpstreamFailure("gateway.upstream_timeout", 504)
    if isinstance(error, (aiohttp.ClientConnectorError, aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        return UpstreamFailure("gateway.upstream_unreachable", 502)
    return UpstreamFailure("gateway.bad_upstream_response", 502)


class UpstreamResponse:
    """A provider's response whose body has not been read yet."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The headers as received: names in the provider's case, values as bytes."""
        return self._response.raw_headers

    def header(self, name: str) -> str:
        return self._response.headers.get(name, "")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as received (not decompressed), chunk by chunk.

        Raises ``UpstreamFailure`` when the provider stops answering or breaks the stream.
        """
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            raise failure(error) from error

    def release(self) -> None:
        """Give the connection back to the pool (the body was read to the end)."""
        self._response.release()

    def close(self) -> None:
        """Drop the connection (the body was not read to the end)."""
        self._response.close()


class UpstreamClient:
    """Pooled aiohttp sessions, one per event loop (a session belongs to its loop)."""

    def __init__(self) -> None:
        self._sessions: dict[int, aiohttp.ClientSession] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(id(loop))
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=POOL_SIZE, limit_per_host=POOL_SIZE_PER_PROVIDER,
                                             keepalive_timeout=KEEPALIVE_SECONDS)
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                read_bufsize=READ_BUFFER,
                trust_env=False,
            )
            self._sessions[id(loop)] = session
        return session

    def timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """How long the provider may take: ``seconds`` between reads (as httpx's read
        timeout) and to get a connection, of which at most 5 s to open a new one."""
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=None, connect=seconds, sock_connect=min(5.0, seconds), sock_read=seconds)
        return timeout

    async def open(self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes,
                   timeout_seconds: float, decode: bool = False) -> UpstreamResponse:
        """Send the request and return once the provider's status and headers are in.

        ``url`` is already percent-encoded and is sent as it is. ``decode``: undo the
        body's content coding (the gateway reads the body itself instead of passing it
        on). Raises ``UpstreamFailure``.
        """
        session = self._session()
        headers = list(headers)
        # A body the consumer sent without a type is forwarded without one (the client
        # would add ``application/octet-stream``). Only then: skipping costs on every call.
        untyped = bool(body) and all(name.lower() != "content-type" for name, _ in headers)
        try:
            # A pooled connection that the provider has just closed is retried once by
            # aiohttp itself for idempotent methods (RFC 9112 §9.3.1).
            response = await session.request(
                method, URL(url, encoded=True), headers=headers, data=body or None, allow_redirects=False,
                timeout=self.timeout(timeout_seconds), auto_decompress=decode,
                skip_auto_headers=UNTYPED if untyped else None,
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise failure(error) from error
        except ValueError as error:  # a malformed URL or header value
            raise UpstreamFailure("gateway.upstream_unreachable", 502) from error
        return UpstreamResponse(response)

    async def aclose(self) -> None:
        """Close every session (and so its pooled connections)."""
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            try:
                await session.close()
            except RuntimeError:  # made in a loop that is gone
                pass
