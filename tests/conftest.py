"""Shared fixtures: a real local server in a subprocess, on a free loopback port, with its own data."""
from __future__ import annotations

import pytest
import requests

from spaceinvaders_backend.aws import tokens
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


@pytest.fixture(autouse=True)
def _pool_keys_from_moto(monkeypatch):
    """The functions fetch a user pool's key set with urllib; moto serves it only to `requests`, which it
    intercepts. Tests reach no network either way (moto answers, or the connection fails)."""

    def fetch_json(url: str):
        answer = requests.get(url, timeout=tokens.JWKS_TIMEOUT_SECONDS)
        answer.raise_for_status()
        return answer.json()

    monkeypatch.setattr(tokens, "fetch_json", fetch_json)


@pytest.fixture(autouse=True, scope="session")
def _replay_cache_of_the_run(tmp_path_factory):
    """The AWS console's cache of replays (manager_tui/backends/replay_cache.py) in the run's own directory,
    never the user's."""
    import os

    os.environ["SPACEINVADERS_REPLAY_CACHE"] = str(tmp_path_factory.mktemp("replay-cache") / "replays.sqlite3")
