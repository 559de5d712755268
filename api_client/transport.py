"""`Http11Transport`: an HTTP/1.1 keep-alive transport for httpx, for many players in one process.

Why: httpx's default transport (httpcore over anyio) costs ~1 ms of CPU per request here, and its pool
scans every connection on each request, so one client shared by 200 players costs ~3 ms a request
(benchmarks/client_cpu.py). This one keeps idle connections on a stack per origin (O(1) to take and
return) and leaves reading the answers to llhttp, Node's HTTP parser, through `httptools` (which uvicorn
uses too): lengths, chunks, bodies delimited by a close and keep-alive rules are llhttp's. It buffers
whole bodies (the contract's are small) and does no HTTP/2, proxies or streaming uploads.
`Http11Connection` and `open_connection` also serve alone, where even httpx's request and response
objects cost too much (benchmarks/session_latency.py).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict

import certifi
import httptools
import httpx

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body
_FRAMING = (b"content-length", b"transfer-encoding")


class Http11Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; llhttp calls the `on_*` methods as bytes arrive.

    `send` writes a whole request and returns a future of its answer, failing with
    `httpx.RemoteProtocolError`; after it, reuse the connection only while `keep_alive and not closed`.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = False
        self.received_any = False
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[Answer] | None = None
        self._head_only = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False

    def send(self, data: bytes, head_only: bool = False) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._head_only = head_only
        self.received_any = self._headers_done = False
        self._headers, self._body = [], []
        self._answer = asyncio.get_running_loop().create_future()
        if self.closed:
            self._answer.set_exception(httpx.RemoteProtocolError("the connection is closed"))
        else:
            self.transport.write(data)
        return self._answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol ---------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not answer.done():
                answer.set_exception(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answer = self._answer
        if answer is None or answer.done():
            return
        # httptools cannot be told about the end of the stream, so a body that only the close delimits
        # (no Content-Length, not chunked) is finished here; any other answer was cut short.
        if self._headers_done and not any(name.lower() in _FRAMING for name, _ in self._headers):
            self._finish()
        else:
            answer.set_exception(httpx.RemoteProtocolError("server closed the connection mid-answer"))

    # llhttp callbacks -----------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._answer is None or self._answer.done():
            raise httpx.RemoteProtocolError("a second answer to one request")  # stops llhttp: closed

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        if self._head_only:  # no body follows, whatever Content-Length says; llhttp would wait for one
            self.keep_alive = False
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # an interim answer (100 Continue): the real one follows
            self._headers, self._body, self._headers_done = [], [], False
            return
        self.keep_alive = self._parser.should_keep_alive()
        self._finish()

    def _finish(self) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_result((self._parser.get_status_code(), self._headers, b"".join(self._body)))


async def open_connection(
    host: str, port: int, ssl_context: ssl.SSLContext | None = None, timeout: float | None = None
) -> Http11Connection:
    """A new connection; failing to connect raises `httpx.ConnectError` or `httpx.ConnectTimeout`."""
    try:
        async with asyncio.timeout(timeout):
            _, connection = await asyncio.get_running_loop().create_connection(
                Http11Connection, host, port, ssl=ssl_context, server_hostname=host if ssl_context else None
            )
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
    except OSError as exc:
        raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
    return connection


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            raise httpx.LocalProtocolError(f"line break in header {name!r}", request=request)
        if name.lower() not in _FRAMING:
            head.append(b"%s: %s\r\n" % (name, value))
    if body or request.method in ("POST", "PUT", "PATCH"):
        head.append(b"Content-Length: %d\r\n" % len(body))
    head.append(b"\r\n")
    return b"".join(head) + body


class Http11Transport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle_per_origin: int = 256, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: defaultdict[tuple[str, str, int], list[Http11Connection]] = defaultdict(list)
        self._max_idle = max_idle_per_origin
        self._ssl = ssl_context
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def _connect(self, origin: tuple[str, str, int], timeout: float | None) -> Http11Connection:
        scheme, host, port = origin
        return await open_connection(host, port, self._ssl_context() if scheme == "https" else None, timeout)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("transport is closed")
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        message = _request_bytes(request, await request.aread())
        idle = self._idle[origin]
        while True:
            connection = self._take_idle(idle)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, timeouts.get("connect"))
            try:
                answer = connection.send(message, request.method == "HEAD")
                async with asyncio.timeout(timeouts.get("read")):
                    status, headers, content = await answer
                break
            except TimeoutError as exc:
                connection.close()
                raise httpx.ReadTimeout("no answer in time", request=request) from exc
            except httpx.RemoteProtocolError:
                connection.close()
                # The server closed an idle keep-alive connection as we reused it: it read nothing.
                if reused and not connection.received_any:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
        if connection.keep_alive and not connection.closed and len(idle) < self._max_idle:
            idle.append(connection)
        else:
            connection.close()
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request)

    @staticmethod
    def _take_idle(idle: list[Http11Connection]) -> Http11Connection | None:
        while idle:
            candidate = idle.pop()  # the most recently used: the least likely to have been closed
            if not candidate.closed:
                return candidate
        return None

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
