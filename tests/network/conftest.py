"""The room's network tests: HTTPS servers on loopback (`serve --tls`), and a listener that records what a
client sends, to show that a refused server is sent nothing."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from network_support import MANAGER

from spaceinvaders_backend.local.process import ServerProcess


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """`spaceinvaders-server serve --tls` on a free loopback port, with a manager account."""
    server = ServerProcess(tmp_path_factory.mktemp("tls") / "data", serve_args=["--tls"]).start()
    server.create_manager(*MANAGER)
    yield server
    server.stop()
