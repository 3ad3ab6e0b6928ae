# SPDX-License-Identifier: AGPL-3.0-or-later
"""The gateway's own HTTP/1.1 client (``gateway_upstream``) against scripted providers on
loopback: framing (Content-Length, chunked, until close), keep-alive and its retry,
interim responses, HEAD, content coding, flow control, and every failure mapped to the
gateway's three upstream reasons."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dulieuso.sharing import gateway_upstream as up
from dulieuso.sharing.gateway_upstream import UpstreamClient, UpstreamFailure
from tests.conftest import run_async

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request's head and body (``Content-Length`` framing only)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return head, body


def answer(body: bytes = b"ok", *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Provider:
    """A scripted provider: ``handler`` serves each connection; connections are counted."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Provider:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                pass  # the client hung up, or the test is over
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


def keep_alive(make: Callable[[bytes, bytes], bytes | list[bytes]], provider: list[Provider]) -> Handler:
    """A handler answering every request on a connection with ``make(head, body)``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(reader)
            provider[0].requests.append(head)
            out = make(head, body)
            for piece in out if isinstance(out, list) else [out]:
                writer.write(piece)
                await writer.drain()

    return handler


async def fetch(client: UpstreamClient, url: str, method: str = "GET", headers: Any = (), body: bytes = b"",
                timeout: float = 2.0, decode: bool = False) -> tuple[int, dict[bytes, bytes], bytes]:
    response = await client.open(method, url, list(headers), body, timeout, decode=decode)
    data = b"".join([chunk async for chunk in response.chunks()])
    response.release()
    return response.status, {k.lower(): v for k, v in response.raw_headers}, data


def run(coroutine: Awaitable[Any]) -> Any:
    return run_async(coroutine)  # type: ignore[arg-type]


def served(make: Callable[[bytes, bytes], bytes | list[bytes]]) -> Provider:
    holder: list[Provider] = []
    provider = Provider(keep_alive(make, holder))
    holder.append(provider)
    return provider


class TestFraming:
    def test_content_length_chunked_and_until_close_bodies(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer(b'{"a": 1}', "Content-Type: application/json")) as p:
                status, headers, body = await fetch(client, p.url + "/x")
                assert (status, body, headers[b"content-type"]) == (200, b'{"a": 1}', b"application/json")

            chunked = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n",
                       b"6\r\n world\r\n", b"0\r\n\r\n"]
            async with served(lambda h, b: chunked) as p:
                assert (await fetch(client, p.url + "/x"))[2] == b"hello world"

            async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
                await writer.drain()
                writer.write(b", until the end")
                await writer.drain()

            async with Provider(until_close) as p:
                assert (await fetch(client, p.url + "/x"))[2] == b"all of it, until the end"
            await client.aclose()

        run(main())

    def test_a_small_answer_is_complete_with_its_headers(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer(b"small")) as p:
                response = await client.open("GET", p.url + "/x", [], b"", 2.0)
                assert response.complete and response.body() == b"small"
                response.release()
            await client.aclose()

        run(main())

    def test_a_connection_paused_by_a_big_answer_in_one_piece_is_reusable(self) -> None:
        big = b"x" * (up.HIGH_WATER + 40_000)  # ends in the read that crosses HIGH_WATER

        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer(big if b"/big" in h else b"small")) as p:
                response = await client.open("GET", p.url + "/big", [], b"", 2.0)
                while not response.complete:  # as the gateway's relay does when it can
                    await asyncio.sleep(0.01)
                    if response._buffered > up.HIGH_WATER:
                        break
                data = response.body() if response.complete else b"".join(
                    [chunk async for chunk in response.chunks()])
                response.release()
                assert data == big
                assert (await fetch(client, p.url + "/small"))[2] == b"small"
                assert p.connections == 1
            await client.aclose()

        run(main())

    def test_interim_responses_are_skipped(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            early = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
            async with served(lambda h, b: [early, answer(b"final", "X-Final: 1")]) as p:
                status, headers, body = await fetch(client, p.url + "/x", "POST", body=b"data")
                assert (status, body, headers.get(b"x-final"), b"link" in headers) == (200, b"final", b"1", False)
            await client.aclose()

        run(main())

    def test_head_answers_have_no_body_and_the_connection_is_reused(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            def make(head: bytes, body: bytes) -> bytes:
                if head.startswith(b"HEAD"):
                    return b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
                return answer(b"after head")

            async with served(make) as p:
                for _ in range(2):
                    status, headers, body = await fetch(client, p.url + "/x", "HEAD")
                    assert (status, headers[b"content-length"], body) == (200, b"1234", b"")
                assert (await fetch(client, p.url + "/x"))[2] == b"after head"
                assert p.connections == 1
            await client.aclose()

        run(main())

    def test_the_request_goes_as_given_in_one_piece(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer(b + b"!")) as p:
                headers = [(b"x-ghi-chu", "Nguyễn".encode()), (b"x-a", b"1"), (b"x-a", b"2")]
                status, _, body = await fetch(client, p.url + "/a%20b/c?q=%C3%A1&x", "POST", headers, b"payload")
                assert body == b"payload!"
                head = p.requests[-1]
                assert head.startswith(b"POST /a%20b/c?q=%C3%A1&x HTTP/1.1\r\n")
                assert f"x-ghi-chu: {'Nguyễn'}".encode() in head and b"x-a: 1\r\nx-a: 2\r\n" in head
                assert f"host: 127.0.0.1:{p.url.rsplit(':', 1)[1]}".encode() in head
                assert b"content-length: 7\r\n" in head
                await fetch(client, p.url + "/empty", "POST")
                assert b"content-length: 0\r\n" in p.requests[-1]
                await fetch(client, p.url + "/get")
                assert b"content-length" not in p.requests[-1]
            await client.aclose()

        run(main())


class TestKeepAlive:
    def test_connections_are_reused(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer()) as p:
                for _ in range(5):
                    await fetch(client, p.url + "/x")
                assert p.connections == 1
            await client.aclose()

        run(main())

    def test_a_connection_past_its_keep_alive_is_not_reused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(up, "KEEPALIVE_SECONDS", 0.05)

        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer()) as p:
                await fetch(client, p.url + "/x")
                await asyncio.sleep(0.1)
                await fetch(client, p.url + "/x")
                assert p.connections == 2
            await client.aclose()

        run(main())

    def test_connection_close_is_obeyed(self) -> None:
        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer(b"bye", "Connection: close")) as p:
                await fetch(client, p.url + "/x")
                await fetch(client, p.url + "/x")
                assert p.connections == 2
            await client.aclose()

        run(main())

    def test_a_reused_connection_the_provider_dropped_is_retried_for_get_only(self) -> None:
        """The provider answers once per connection, then drops it without saying so."""

        async def main() -> None:
            async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await read_request(reader)
                writer.write(answer(b"first"))
                await writer.drain()
                await read_request(reader)  # the next request on this connection: dropped

            client = UpstreamClient()
            async with Provider(once) as p:
                await fetch(client, p.url + "/x")
                assert (await fetch(client, p.url + "/x"))[2] == b"first"  # retried on a new connection
                assert p.connections == 2
                with pytest.raises(UpstreamFailure) as caught:  # POST is not idempotent
                    await fetch(client, p.url + "/x", "POST", body=b"once")
                assert (caught.value.code, caught.value.status) == ("gateway.bad_upstream_response", 502)
            await client.aclose()

        run(main())


class TestFailures:
    @staticmethod
    def failure_of(handler: Handler, timeout: float = 2.0, method: str = "GET") -> UpstreamFailure:
        async def main() -> UpstreamFailure:
            client = UpstreamClient()
            async with Provider(handler) as p:
                try:
                    await fetch(client, p.url + "/x", method, timeout=timeout)
                except UpstreamFailure as failure:
                    return failure
                finally:
                    await client.aclose()
            raise AssertionError("no failure")

        return run(main())  # type: ignore[no-any-return]

    def test_not_http(self) -> None:
        async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(1)

        assert self.failure_of(garbage).code == "gateway.bad_upstream_response"

    def test_closed_without_an_answer(self) -> None:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)

        assert self.failure_of(hang_up).code == "gateway.bad_upstream_response"

    def test_body_cut_short(self) -> None:
        async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
            await writer.drain()

        failure = self.failure_of(short)
        assert (failure.code, failure.status) == ("gateway.bad_upstream_response", 502)

    def test_silent_provider_times_out(self) -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            await asyncio.sleep(2)

        failure = self.failure_of(silent, timeout=0.2)
        assert (failure.code, failure.status) == ("gateway.upstream_timeout", 504)

    def test_silence_mid_body_times_out(self) -> None:
        async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
            await writer.drain()
            await asyncio.sleep(2)

        assert self.failure_of(stall, timeout=0.2).code == "gateway.upstream_timeout"

    def test_unreachable_and_malformed(self) -> None:
        async def main() -> list[str]:
            client = UpstreamClient()
            probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            port = probe.sockets[0].getsockname()[1]
            probe.close()
            await probe.wait_closed()
            codes = []
            for url, headers in ((f"http://127.0.0.1:{port}/x", []), ("ftp://example.vn/x", []),
                                 ("http://127.0.0.1:1/a b", []),
                                 ("http://127.0.0.1:1/x", [(b"x-evil", b"1\r\nx-injected: 2")])):
                try:
                    await client.open("GET", url, headers, b"", 1.0)
                except UpstreamFailure as failure:
                    codes.append(failure.code)
            await client.aclose()
            return codes

        assert run(main()) == ["gateway.upstream_unreachable"] * 4


class TestBodies:
    def test_gzip_is_undone_only_when_asked(self) -> None:
        packed = gzip.compress(b'{"name": "Nguyen"}' * 100)

        async def main() -> None:
            client = UpstreamClient()
            async with served(lambda h, b: answer(packed, "Content-Encoding: gzip")) as p:
                assert (await fetch(client, p.url + "/x"))[2] == packed
                assert (await fetch(client, p.url + "/x", decode=True))[2] == b'{"name": "Nguyen"}' * 100
                assert b"accept-encoding: gzip, deflate\r\n" in p.requests[-1]
            async with served(lambda h, b: answer(b"???", "Content-Encoding: br")) as p:
                with pytest.raises(UpstreamFailure) as caught:
                    await fetch(client, p.url + "/x", decode=True)
                assert caught.value.code == "gateway.bad_upstream_response"
            await client.aclose()

        run(main())

    def test_a_big_body_read_slowly_pauses_the_provider_and_arrives_whole(self) -> None:
        block = bytes(range(256)) * 256  # 64 KiB
        size = 64

        async def main() -> None:
            async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await read_request(reader)
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(block) * size}\r\n\r\n".encode())
                for _ in range(size):
                    writer.write(block)
                    await writer.drain()

            client = UpstreamClient()
            async with Provider(big) as p:
                response = await client.open("GET", p.url + "/x", [], b"", 2.0)
                received = bytearray()
                most_buffered = 0
                async for chunk in response.chunks():
                    received += chunk
                    most_buffered = max(most_buffered, response._buffered)
                    await asyncio.sleep(0.002)
                response.release()
                assert bytes(received) == block * size
                # Reading paused near HIGH_WATER instead of holding the whole body.
                assert most_buffered < up.HIGH_WATER + 512 * 1024
            await client.aclose()

        run(main())
