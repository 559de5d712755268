"""`LeanTransport`: a small HTTP/1.1 keep-alive transport for httpx, for many players in one process.

Why: httpx's default transport (httpcore over anyio streams) costs ~1 ms of CPU per request here, and
its pool scans every connection on each request, so one client shared by 200 players costs ~4 ms per
request. This transport speaks plain HTTP/1.1 over asyncio protocols and keeps idle connections on a
stack per origin (O(1) to take and return), which is all a JSON API on keep-alive needs. It buffers
whole bodies (the contract's are small) and does not do HTTP/2, proxies or streaming uploads.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict

import certifi
import httpx

_MAX_HEAD = 64 * 1024


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time. Parses the answer as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]] | None = None
        self._head: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self._length: int | None = None  # body length; -1 chunked; None until close
        self.keep_alive = True
        self.head_only = False
        self.received_any = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            if self._head is not None and self._length is None:
                self._finish(bytes(self._buffer))  # body delimited by the close
            else:
                self._answer.set_exception(
                    httpx.RemoteProtocolError("server closed the connection mid-answer")
                )

    def send(
        self, data: bytes, head_only: bool
    ) -> asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]]:
        assert self.transport is not None
        self.head_only = head_only
        self.received_any = False
        self._buffer.clear()
        self._head, self._length = None, None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._answer

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            self.closed = True  # bytes nobody asked for: the connection is out of step
            if self.transport is not None:
                self.transport.close()
            return
        self.received_any = True
        self._buffer += data
        try:
            self._parse()
        except ValueError as exc:
            self._answer.set_exception(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))
            self.close()

    def _parse(self) -> None:
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    raise ValueError("header too long")
                return
            self._read_head(bytes(self._buffer[:end]))
            del self._buffer[: end + 4]
        if self._length is None:
            return  # read until the server closes
        if self._length >= 0:
            if len(self._buffer) >= self._length:
                self._finish(bytes(self._buffer[: self._length]))
            return
        body = _dechunk(self._buffer)
        if body is not None:
            self._finish(body)

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError(f"bad status line {lines[0][:80]!r}")
        status = int(parts[1])
        headers: list[tuple[bytes, bytes]] = []
        length: int | None = None
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise ValueError("bad header line")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                length = int(value)
            elif lower == b"transfer-encoding" and b"chunked" in value.lower():
                length = -1
            elif lower == b"connection" and value.lower() == b"close":
                self.keep_alive = False
        if parts[0] == b"HTTP/1.0" or (length is None and status not in (204, 304) and status >= 200):
            self.keep_alive = self.keep_alive and length is not None
        if status in (204, 304) or 100 <= status < 200 or self.head_only:
            length = 0
        self._head, self._length = (status, headers), length

    def _finish(self, body: bytes) -> None:
        assert self._answer is not None and self._head is not None
        if not self._answer.done():
            self._answer.set_result((self._head[0], self._head[1], body))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _dechunk(buffer: bytearray) -> bytes | None:
    """The body of a complete chunked message, or None while it is incomplete."""
    out = bytearray()
    pos = 0
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";", 1)[0], 16)
        if size == 0:
            return (
                bytes(out)
                if buffer.find(b"\r\n\r\n", line_end) >= 0 or buffer.endswith(b"0\r\n\r\n")
                else None
            )
        start = line_end + 2
        if len(buffer) < start + size + 2:
            return None
        out += buffer[start : start + size]
        pos = start + size + 2


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle_per_origin: int = 256, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: defaultdict[tuple[str, str, int], list[_Connection]] = defaultdict(list)
        self._max_idle = max_idle_per_origin
        self._ssl = ssl_context
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def _connect(self, origin: tuple[str, str, int], timeout: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return connection

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("transport is closed")
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        head = [f"{request.method} {url.raw_path.decode('ascii')} HTTP/1.1\r\n".encode("ascii")]
        for name, value in request.headers.raw:
            if name.lower() not in (b"content-length", b"transfer-encoding"):
                head.append(name + b": " + value + b"\r\n")
        if body or request.method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        message = b"".join(head) + body
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
    def _take_idle(idle: list[_Connection]) -> _Connection | None:
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
