"""Shared fixtures: a real local server in a subprocess, on a free loopback port, with its own data."""
from __future__ import annotations

import pytest

from spaceinvaders_backend.local.process import ServerProcess

LocalServer = ServerProcess  # `spaceinvaders-server serve` as a user runs it; stopped, killed, started again


@pytest.fixture
def local_server(tmp_path):
    server = LocalServer(tmp_path / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def local_server_module(tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("server") / "data").start()
    yield server
    server.stop()
