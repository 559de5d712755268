"""The arena: every bot's game of a process, kept in real time by one task.

One wake-up per frame advances every game by the ticks that are due since its start, choosing each
tick's intents from the autopilot, so the games are exactly those of a person pressing keys at 30 Hz
(the engine's fixed tick), while the process wakes 10 times a second instead of 30 times per bot.
How late each frame ran is the event loop's lag, which delays the status samples as well.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from spaceinvaders_engine import TICK_RATE, Game

from .autopilot import Autopilot
from .stats import Histogram

FRAME_SECONDS = 0.1
DT = 1 / TICK_RATE


class Match:
    """One game played in real time by an autopilot; `over` is set when the game ends."""

    def __init__(self, game: Game, pilot: Autopilot, started: float) -> None:
        self.game = game
        self.pilot = pilot
        self.started = started
        self.over = asyncio.Event()

    def advance(self, now: float) -> None:
        game, pilot = self.game, self.pilot
        for _ in range(int((now - self.started) * TICK_RATE) - game.tick):
            game.step(DT, pilot.intents(game))
            if game.over:
                self.over.set()
                return


class Arena:
    def __init__(self, lag: Histogram, clock: Callable[[], float] = time.monotonic) -> None:
        self.lag = lag  # ms each frame ran late
        self.clock = clock
        self.matches: set[Match] = set()
        self._task: asyncio.Task[None] | None = None

    def play(self, game: Game, pilot: Autopilot) -> Match:
        match = Match(game, pilot, self.clock())
        self.matches.add(match)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="arena")
        return match

    def leave(self, match: Match) -> None:
        self.matches.discard(match)

    async def _run(self) -> None:
        due = self.clock()
        while True:
            due += FRAME_SECONDS
            await asyncio.sleep(max(0.0, due - self.clock()))
            now = self.clock()
            self.lag.add((now - due) * 1000)
            if now - due > FRAME_SECONDS:
                due = now  # far behind: catch up the games, not the frames
            for match in list(self.matches):
                if match.over.is_set():
                    self.matches.discard(match)
                else:
                    match.advance(now)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
