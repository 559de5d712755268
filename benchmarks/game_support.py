"""Set-up shared by the game's benchmarks: a local server as users start it, a manager, players."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Self

from api_client import SpaceInvadersClient, SpaceInvadersError, TokenStore
from spaceinvaders_backend.local.process import ServerProcess

MANAGER = ("bench-boss", "bench-boss-password")
PASSWORD = "bench-password"


class Server(ServerProcess):
    """`spaceinvaders-server serve` on a free loopback port, with a manager account: `with Server(dir) as s`."""

    def __enter__(self) -> Self:
        super().__enter__()
        self.create_manager(*MANAGER)
        return self


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

