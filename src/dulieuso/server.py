# SPDX-License-Identifier: AGPL-3.0-or-later
"""uvicorn as the platform runs it (``dulieuso serve``, ``dulieuso demo``, the gateway bench).

One change to uvicorn's httptools server: a response's status line and headers are held
until its first body message and written together with it, so a small response (every
gateway answer that fits in one piece, most API answers) costs one socket write instead
of two. On loopback each write is a full trip through the kernel's TCP stack: the
second write was about a tenth of the gateway's CPU per call (bench/README.md,
"Gateway"). Nothing else changes: the bytes sent are the same, a streamed body still goes
out chunk by chunk as the application sends it, and the headers are never held past the
application's next message.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

#: ``--http`` for uvicorn (``uvicorn.run(..., http=HTTP_PROTOCOL)`` or ``Config``).
HTTP_PROTOCOL = "dulieuso.server:OneWriteHttpToolsProtocol"


class _Held:
    """What ``RequestResponseCycle.send`` sees as its transport while a response's first
    piece is being put together: writes are collected, everything else is passed on."""

    __slots__ = ("transport", "parts")

    def __init__(self, transport: asyncio.Transport, parts: list[bytes]) -> None:
        self.transport = transport
        self.parts = parts

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        parts = self.parts
        if parts:
            self.transport.write(parts[0] if len(parts) == 1 else b"".join(parts))
            parts.clear()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class OneWriteCycle(RequestResponseCycle):
    """``RequestResponseCycle`` that writes the headers with the first body message."""

    #: The status line and headers, once ``http.response.start`` is sent and until the
    #: first body message.
    held: list[bytes] | None = None

    async def send(self, message: Any) -> None:
        held = self.held
        if held is None and (self.response_started or message["type"] != "http.response.start"):
            await super().send(message)
            return
        transport = self.transport
        corked = _Held(transport, held if held is not None else [])
        self.transport = corked  # type: ignore[assignment]
        try:
            await super().send(message)
        except BaseException:
            self.held = None
            raise
        finally:
            self.transport = transport
        if held is None and message["type"] == "http.response.start":
            self.held = corked.parts  # wait for the body
            return
        self.held = None
        if not self.disconnected:  # uvicorn writes nothing once the client is gone
            corked.flush()


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``OneWriteCycle`` responses."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # uvicorn has just made the request's cycle (and a task that has not run yet).
        if type(cycle) is RequestResponseCycle:
            cycle.__class__ = OneWriteCycle


def run(app: Any, *, host: str, port: int, workers: int = 1, factory: bool = False, **options: Any) -> None:
    """``uvicorn.run`` with the platform's HTTP protocol (httptools, one write per small
    response). ``app`` is an import string when ``workers`` > 1."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, workers=workers, factory=factory, http=HTTP_PROTOCOL, **options)
