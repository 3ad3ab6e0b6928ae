# SPDX-License-Identifier: AGPL-3.0-or-later
"""``dulieuso.server``: uvicorn with a response's headers written together with its first
body message (one socket write for a small response), everything else unchanged."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.flow_control import FlowControl

from dulieuso import server
from dulieuso.server import OneWriteCycle
from tests.conftest import run_async


class Transport:
    """Records what the cycle writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def cycle(method: str = "GET", keep_alive: bool = True) -> tuple[OneWriteCycle, Transport]:
    transport = Transport()
    made = OneWriteCycle(
        scope={"type": "http", "method": method, "http_version": "1.1", "path": "/", "query_string": b"",
               "headers": [], "client": None},  # type: ignore[typeddict-item]
        transport=transport, flow=FlowControl(transport), logger=logging.getLogger("test"),  # type: ignore[arg-type]
        access_logger=logging.getLogger("test.access"), access_log=False, default_headers=[],
        message_event=asyncio.Event(), expect_100_continue=False, keep_alive=keep_alive, on_response=lambda: None,
    )
    return made, transport


def send_all(made: OneWriteCycle, *messages: dict[str, Any]) -> None:
    async def main() -> None:
        for message in messages:
            await made.send(message)  # type: ignore[arg-type]

    run_async(main())


START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")]}


class TestOneWrite:
    def test_headers_and_a_complete_body_go_in_one_write(self) -> None:
        made, transport = cycle()
        send_all(made, START, {"type": "http.response.body", "body": b"hello"})
        assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"]
        assert made.response_complete and not transport.closed

    def test_a_streamed_body_goes_chunk_by_chunk_after_the_first(self) -> None:
        made, transport = cycle()
        send_all(made, {"type": "http.response.start", "status": 200, "headers": []},
                 {"type": "http.response.body", "body": b"one", "more_body": True},
                 {"type": "http.response.body", "body": b"two", "more_body": True},
                 {"type": "http.response.body", "body": b""})
        assert len(transport.writes) == 3
        assert transport.writes[0].endswith(b"transfer-encoding: chunked\r\n\r\n3\r\none\r\n")
        assert transport.writes[1:] == [b"3\r\ntwo\r\n", b"0\r\n\r\n"]

    def test_head_and_connection_close(self) -> None:
        made, transport = cycle(method="HEAD", keep_alive=False)
        send_all(made, START, {"type": "http.response.body", "body": b""})
        assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n"
                                    b"connection: close\r\n\r\n"]
        assert transport.closed

    def test_nothing_is_written_once_the_client_is_gone(self) -> None:
        made, transport = cycle()
        send_all(made, START)
        made.disconnected = True
        send_all(made, {"type": "http.response.body", "body": b"hello"})
        assert transport.writes == []

    def test_the_headers_wait_for_nothing_else(self) -> None:
        made, transport = cycle()
        send_all(made, START)
        assert transport.writes == [] and made.held
        with pytest.raises(RuntimeError):  # uvicorn's own checks still apply
            send_all(made, {"type": "http.response.body", "body": b"longer than five"})
        assert made.held is None


# -- the real server ------------------------------------------------------------------------


async def small(request: Request) -> Response:
    return JSONResponse({"xin_chao": "Việt Nam"})


async def streamed(request: Request) -> Response:
    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(3):
            yield f"part {i};".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(chunks(), media_type="text/plain")


async def failing(request: Request) -> Response:
    raise RuntimeError("boom")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/small", small, methods=["GET", "HEAD"]), Route("/streamed", streamed),
                            Route("/failing", failing)])
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off",
                            http=server.HTTP_PROTOCOL)
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not runner.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(10)


def test_the_platform_protocol_serves_small_streamed_head_and_failing_responses(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for _ in range(2):  # keep-alive: the same connection twice
            response = client.get("/small")
            assert response.status_code == 200 and response.json() == {"xin_chao": "Việt Nam"}
        head = client.head("/small")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        assert client.get("/streamed").text == "part 0;part 1;part 2;"
        assert client.get("/failing").status_code == 500
    # After an exception uvicorn closes that connection (as without this protocol), so a
    # request right behind it on the same connection may meet the reset: the server still
    # serves new ones.
    with httpx.Client(base_url=base_url) as client:
        assert client.get("/small").status_code == 200
