"""Connections per source address, on a real server: one address holding idle sockets that reconnect at once
cannot keep everybody else's new connections waiting; the global bound still holds.

The server runs with `--max-connections 200 --max-connections-per-source 40` and the default 5 s head
timeout (an idle socket is closed after 5 s): without a bound per source, 300 idle sockets from 127.0.0.2
take every slot, and a new connection from 127.0.0.1 waits for one of them to time out.
"""
from __future__ import annotations

import selectors
import socket
import threading
import time

import httpx
import pytest
from backend_support import LocalServer

from spaceinvaders_backend.local.connections import _address, served_by_source
from spaceinvaders_backend.local.ratelimit import source_key

MAX_CONNECTIONS = 200
PER_SOURCE = 40
ATTACKER = "127.0.0.2"


class IdleSockets(threading.Thread):
    """`count` connections from `source` that never send a byte, each opened again as soon as it closes."""

    def __init__(self, port: int, source: str, count: int) -> None:
        super().__init__(daemon=True)
        self.port, self.source, self.count = port, source, count
        self.stop = threading.Event()
        self.reconnects = 0

    def _open(self, selector: selectors.BaseSelector) -> None:
        s = socket.socket()
        s.setblocking(False)
        s.bind((self.source, 0))
        s.connect_ex(("127.0.0.1", self.port))
        selector.register(s, selectors.EVENT_READ)

    def run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for _ in range(self.count):
                self._open(selector)
            while not self.stop.is_set():
                for key, _ in selector.select(0.05):
                    s = key.fileobj
                    try:
                        if s.recv(1):
                            continue
                    except BlockingIOError:
                        continue
                    except OSError:
                        pass
                    selector.unregister(s)  # closed by the server: open another at once
                    s.close()
                    self.reconnects += 1
                    self._open(selector)
            for key in list(selector.get_map().values()):
                key.fileobj.close()


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("guard") / "data",
                         serve_args=["--max-connections", str(MAX_CONNECTIONS),
                                     "--max-connections-per-source", str(PER_SOURCE)]).start()
    yield server
    server.stop()


def test_idle_sockets_from_one_address_leave_new_connections_served(guarded_server):
    flood = IdleSockets(guarded_server.port, ATTACKER, 300)
    flood.start()
    try:
        time.sleep(1.5)  # every slot taken, then the guard's passes
        took = []
        for _ in range(10):
            started = time.monotonic()
            with httpx.Client(base_url=guarded_server.base_url, timeout=10) as fresh:  # a new connection
                assert fresh.get("/health").status_code == 200
            took.append(time.monotonic() - started)
            time.sleep(0.1)
    finally:
        flood.stop.set()
        flood.join(10)
    # Without the bound, each waited for an idle socket's 5 s head timeout.
    assert max(took) < 1.5, took
    assert flood.reconnects > 100  # the guard closed the excess (and the flood came back for more)


def test_the_connection_table_is_read_as_the_kernel_writes_it(tmp_path):
    table = tmp_path / "tcp"
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    rows = [
        "0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 100 1",  # listening
        "1: 0100007F:1F90 0200007F:C350 01 00000000:00000000 00:00000000 00000000 0 0 300 1",  # 127.0.0.2
        "2: 0100007F:1F90 0200007F:C351 01 00000000:00000000 00:00000000 00000000 0 0 200 1",  # 127.0.0.2
        "3: 0100007F:1F90 0100007F:C352 01 00000000:00000000 00:00000000 00000000 0 0 0 1",  # not accepted
        "4: 0100007F:1F91 0300007F:C353 01 00000000:00000000 00:00000000 00000000 0 0 400 1",  # another port
        "5: 0100007F:1F90 0300007F:C354 06 00000000:00000000 00:00000000 00000000 0 0 0 1",  # TIME_WAIT
    ]
    table.write_text(header + "\n".join(rows) + "\n")
    assert served_by_source(0x1F90, (table,)) == {"127.0.0.2": [200, 300]}
    # IPv6 (four 32-bit words, each in the host's order), counted by its /64.
    assert source_key(_address("0000000000000000FFFF00000200007F")) == "127.0.0.2"
    assert _address("B80D0120000000000000000001000000") == "2001:db8::1"
    assert source_key("2001:db8::1") == "2001:db8::/64"
