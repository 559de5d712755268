"""The scoreboard poller: the top 10 (or, for managers, every player) every few seconds, in the background."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Self

from .callbacks import notify
from .client import SpaceInvadersClient
from .errors import SpaceInvadersError
from .models import RankedEntry, Scoreboard, ScoreEntry

log = logging.getLogger(__name__)


class ScoreboardPoller:
    def __init__(
        self,
        client: SpaceInvadersClient,
        session_id: str,
        *,
        interval: float = 2.0,
        full: bool = False,
        on_update: Callable[[list[ScoreEntry]], None] | None = None,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.interval = interval
        self.full = full  # the manager's whole board instead of the players' top 10
        self.on_update = on_update
        self.latest: list[ScoreEntry] = []
        self.answer: Scoreboard | None = None  # the whole newest answer (Caller, Stats where served)
        self.polls = 0
        self.errors = 0
        self.last_error: SpaceInvadersError | None = None
        self._task: asyncio.Task[None] | None = None

    async def poll_once(self) -> list[ScoreEntry]:
        """Fetch once; a failure is counted and the last good board stays."""
        fetch = self.client.full_scoreboard_answer if self.full else self.client.scoreboard_answer
        try:
            answer = await fetch(self.session_id)
        except SpaceInvadersError as error:
            self.errors += 1
            self.last_error = error
            log.debug("scoreboard poll failed: %s", error)
            return self.latest
        self.polls += 1
        board = answer.entries
        changed = board != self.latest or answer.Caller != (self.answer and self.answer.Caller)
        self.answer = answer
        self.latest = board
        if changed:
            notify(self.on_update, board, "on_update")
        return board

    @property
    def caller(self) -> RankedEntry | None:
        """The player's own rank from the newest answer; None when not on the board or not served."""
        return self.answer.Caller if self.answer is not None else None

    async def _run(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"scoreboard-{self.session_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
