"""Hostile clients at the HTTP layer: silent, slow and oversized requests, on a real server.

The server runs with short limits (`--head-timeout 1 --body-timeout 2 --max-connections 60`) so the
tests see each limit act within seconds; docs/api.md states the defaults.
"""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from backend_support import Api, LocalServer, assert_error, status_body

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 60


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("hostile") / "data",
                         serve_args=["--head-timeout", str(HEAD_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
                                     "--max-connections", str(MAX_CONNECTIONS)]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def room(strict_server):
    """A seated player in an open session."""
    api = Api(strict_server.base_url)
    boss = api.manager(strict_server)
    sid = boss.open_session()["SessionId"]
    player = api.gamer()
    player.seat()
    yield sid, player
    api.close()


def _connect(server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return s


def _closed_within(s: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing the socket, or None when it is still open after `seconds`."""
    s.settimeout(seconds)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return data


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_silent_sockets_are_closed(strict_server):
    sockets = [_connect(strict_server) for _ in range(10)]
    start = time.monotonic()
    for s in sockets:
        assert _closed_within(s, HEAD_TIMEOUT + 3) == b""
        s.close()
    assert time.monotonic() - start < HEAD_TIMEOUT + 3


def test_a_head_sent_a_byte_at_a_time_is_cut_off(strict_server):
    s = _connect(strict_server)
    head = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    start = time.monotonic()
    with pytest.raises(OSError):  # the server closes the socket while bytes still trickle in
        for byte in head:
            s.send(bytes([byte]))
            time.sleep(0.05)
            if time.monotonic() - start > HEAD_TIMEOUT + 5:
                break
    assert time.monotonic() - start < HEAD_TIMEOUT + 3
    s.close()


def test_an_idle_keep_alive_connection_is_closed(strict_server):
    s = _connect(strict_server)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5)
    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    assert _closed_within(s, HEAD_TIMEOUT + 3) == b""
    s.close()


def test_a_body_shorter_than_its_length_gets_a_408(strict_server, room):
    _, player = room
    s = _connect(strict_server)
    s.sendall(b"POST /v1/allocate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: " + player.token.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"Us")
    start = time.monotonic()
    answer = _closed_within(s, BODY_TIMEOUT + 3)
    assert answer is not None and answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"errorCode":"RequestTimeout"' in answer
    assert BODY_TIMEOUT - 0.5 < time.monotonic() - start < BODY_TIMEOUT + 3
    s.close()


def test_a_huge_head_is_refused_with_431_and_never_buffered(strict_server):
    s = _connect(strict_server)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: " + b"a" * 32 * 1024 + b"\r\n\r\n")
    answer = _closed_within(s, 5)
    assert answer is not None and answer.startswith(b"HTTP/1.1 431"), answer
    s.close()
    # 100 MB more, four at once: the server reads no more than its limit of each.
    pid = strict_server.proc.pid
    before = _rss_kib(pid)

    def flood() -> None:
        f = _connect(strict_server)
        try:
            f.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: ")
            chunk = b"a" * 1024 * 1024
            for _ in range(100):
                f.sendall(chunk)
        except OSError:
            pass  # closed by the server, as it should
        finally:
            f.close()

    threads = [threading.Thread(target=flood) for _ in range(4)]
    for t in threads:
        t.start()
    health = httpx.get(f"{strict_server.base_url}/health", timeout=5)
    for t in threads:
        t.join(30)
    assert health.status_code == 200
    assert _rss_kib(pid) - before < 20 * 1024, (before, _rss_kib(pid))


def test_a_flood_of_idle_and_slow_sockets_leaves_others_served(strict_server, room):
    """More silent and slow sockets than the server serves at once: health and status posts still answer."""
    sid, player = room
    stop = threading.Event()
    opened = []

    def hold_silent() -> None:  # reconnects as soon as the server closes it, until told to stop
        while not stop.is_set():
            try:
                s = _connect(strict_server)
            except OSError:
                time.sleep(0.05)
                continue
            opened.append(1)
            while not stop.is_set() and _closed_within(s, 0.2) is None:
                pass
            s.close()

    def trickle() -> None:
        while not stop.is_set():
            try:
                s = _connect(strict_server)
                for byte in b"POST /v1/updatestatus HTTP/1.1\r\nHost: x\r\n":
                    if stop.is_set():
                        break
                    s.send(bytes([byte]))
                    time.sleep(0.1)
            except OSError:
                pass
            finally:
                s.close()

    threads = ([threading.Thread(target=hold_silent, daemon=True) for _ in range(2 * MAX_CONNECTIONS)]
               + [threading.Thread(target=trickle, daemon=True) for _ in range(20)])
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)  # every slot taken
        answered = []
        for i in range(3):
            start = time.monotonic()
            with httpx.Client(base_url=strict_server.base_url, timeout=10) as fresh:  # a new connection each time
                assert fresh.get("/health").status_code == 200
                r = fresh.post("/updatestatus", json=status_body(sid, player.name, i),
                               headers={"Authorization": player.token})
                assert r.status_code == 200, r.text
            answered.append(time.monotonic() - start)
            time.sleep(0.2)
        # Each waits at most for a slot freed by the head timeout.
        assert max(answered) < 2 * HEAD_TIMEOUT + 3, answered
        assert len(opened) > MAX_CONNECTIONS  # the flood did fill the server
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert_error(httpx.get(f"{strict_server.base_url}/nothing"), 404, "NotFound")
