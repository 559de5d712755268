"""Http11Transport against raw HTTP/1.1 answers: lengths, chunks, closes, and stale keep-alive connections."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api_client import Http11Transport


class RawServer:
    """Reads one request head (and its Content-Length body) and writes scripted raw bytes back."""

    def __init__(self, *answers: bytes, close_after: bool = False) -> None:
        self.answers = list(answers)
        self.close_after = close_after
        self.connections = 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.bodies.append(await reader.readexactly(length))
                answer = self.answers.pop(0)
                for i in range(0, len(answer), 7):  # in small pieces: the parser must reassemble
                    writer.write(answer[i : i + 7])
                    await writer.drain()
                if self.close_after:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


async def test_content_length_chunked_and_keep_alive():
    raw = RawServer(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"a": 1}\n',
        b'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"b"\r\n3\r\n: 2\r\n1\r\n}\r\n0\r\n\r\n',
        b"HTTP/1.1 204 No Content\r\n\r\n",
    )
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        first = await http.post(url + "/x", json={"k": "v"})
        assert first.status_code == 200 and first.json() == {"a": 1}
        second = await http.get(url + "/y?q=1")
        assert second.status_code == 201 and second.json() == {"b": 2}
        third = await http.get(url + "/z")
        assert third.status_code == 204 and third.content == b""
    assert raw.connections == 1 and raw.bodies[0] == b'{"k":"v"}'


async def test_body_delimited_by_close_and_no_reuse_after_connection_close():
    raw = RawServer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world", close_after=True)
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        assert (await http.get(url)).text == "hello world"
        raw.answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        assert (await http.get(url)).text == "ok"
    assert raw.connections == 2


async def test_server_closing_an_idle_connection_is_retried_on_a_fresh_one():
    raw = RawServer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", close_after=True
    )  # closes without saying
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        assert (await http.get(url)).text == "1"
        raw.answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2")
        assert (await http.post(url, content=b"x")).text == "2"
    assert raw.connections == 2


async def test_garbage_and_mid_answer_drops_are_protocol_errors():
    raw = RawServer(b"SSH-2.0-OpenSSH\r\n\r\n", close_after=True)
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)
    raw = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", close_after=True)
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


async def test_refused_connection_is_a_connect_error():
    raw = RawServer()
    async with raw as url:
        pass
    async with httpx.AsyncClient(transport=Http11Transport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url)


async def test_interim_answer_is_skipped_and_head_has_no_body():
    raw = RawServer(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",  # HEAD: the length of a body not sent
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext",
    )
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        assert (await http.post(url, content=b"x")).text == "ok"
        head = await http.head(url)
        assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "5"
        assert (await http.get(url)).text == "next"


async def test_a_second_answer_nobody_asked_for_closes_the_connection():
    raw = RawServer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3",
    )
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        assert (await http.get(url)).text == "1"
        await asyncio.sleep(0.05)  # the stray answer arrives
        assert (await http.get(url)).text == "3"
    assert raw.connections == 2  # the out-of-step connection was not reused


async def test_a_line_break_in_a_header_is_refused_before_sending():
    raw = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    async with raw as url, httpx.AsyncClient(transport=Http11Transport()) as http:
        with pytest.raises(httpx.LocalProtocolError):
            await http.get(url, headers={"Authorization": "token\r\nX-Evil: 1"})
    assert raw.connections == 0


async def test_a_pool_keeps_a_connection_for_each_player_in_flight():
    # 300 players in flight at once, then again: the second wave reuses every connection of the first
    # (a pool that kept fewer would open new ones on every later stall: see api_client/pool.py).
    from api_client import lean_http_client

    players = 300
    raw = RawServer(*[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"] * (2 * players))
    async with raw as url:
        http = lean_http_client()
        for _ in range(2):
            answers = await asyncio.gather(*(http.get(url + "/x") for _ in range(players)))
            assert all(a.status_code == 200 for a in answers)
        await http.aclose()
    assert raw.connections == players
