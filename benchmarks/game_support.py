"""Set-up shared by the game's benchmarks: a local server as users start it, a manager, players."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

from api_client import SpaceInvadersClient, SpaceInvadersError, TokenStore

MANAGER = ("bench-boss", "bench-boss-password")
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`spaceinvaders-server serve` on a free loopback port, with a manager account."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "spaceinvaders_backend.local.cli", *args, "--data-dir", str(self.data_dir)]

    def __enter__(self) -> Self:
        self.log = open(self.data_dir.parent / "server.log", "ab")
        self.proc = subprocess.Popen(self._cli("serve", "--port", str(self.port)), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        subprocess.run(self._cli("create-manager", "--username", MANAGER[0], "--password", MANAGER[1]),
                       check=True, capture_output=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


async def manager(base_url: str) -> SpaceInvadersClient:
    client = SpaceInvadersClient(base_url, token_store=None)
    await client.sign_in(*MANAGER)
    return client


async def fresh_session(boss: SpaceInvadersClient, game_type: str = "MULTIPLE_TRIALS", **kwargs):
    try:
        await boss.close_session()
    except SpaceInvadersError:
        pass
    # a fresh name each time: two sessions of one name opened in one second are refused
    return await boss.open_session(game_type, session_name=f"BENCH{time.monotonic_ns() % 10**6}", **kwargs)


async def sign_up(base_url: str, name: str, data_dir: Path | None = None) -> None:
    """A player; with `data_dir`, their tokens are kept there, so the game starts in the lobby."""
    store = TokenStore(data_dir) if data_dir else None
    async with SpaceInvadersClient(base_url, token_store=store) as client:
        await client.sign_up(name, PASSWORD)
        if data_dir:
            await client.sign_in(name, PASSWORD)


def run(coroutine):
    return asyncio.run(coroutine)
