"""One bot: a real player's life, from signing in to leaving its seat.

It signs in with tokens kept by an earlier run, or signs up (or in) with its password; waits for an
open session and takes a seat; waits for a synchronized start on the server's clock; plays games with
its autopilot. Everything it says to the session goes through its `PlayerSession` (`spaceinvaders_player`),
the game's own: the seat kept while waiting, the start pushed or polled, the status every 300 ms, the top 10
every 2 s, the refusals, the final state. After a game it rests a few seconds and takes a seat again
(multiple-trial sessions); when the session closes, or the manager frees its seat, it waits for the next
session. Cancelled (the run's end, Ctrl+C), it sends its last status and frees its seat.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from api_client import (
    AuthenticationError,
    ConflictError,
    GamerCannotPlay,
    NoSeatsAvailable,
    NoSessionAvailable,
    RetryPolicy,
    Scoreboard,
    Session,
    SessionClosed,
    SpaceInvadersClient,
    SpaceInvadersError,
    retrying,
)
from spaceinvaders_engine import Game
from spaceinvaders_player import PlayerSession, Trial, TrialEvents

from .arena import Arena
from .autopilot import Autopilot, Skill
from .metering import expecting
from .stats import BotState, RunStats

log = logging.getLogger(__name__)

JOIN_PATIENCE = 120.0  # seconds a sign-up or sign-in keeps trying through a crowded server's 429s
# The server hashes passwords a few at a time and answers a crowd 429 with Retry-After: the bots wait as
# told, each stretched by up to half (those told the same wait do not come back together).
JOIN_RETRY = RetryPolicy(max_attempts=200, max_elapsed=JOIN_PATIENCE, base_delay=0.5, max_delay=5.0,
                         retry_after_jitter=0.5)
SEAT_RETRY = 5.0  # seconds between tries for a seat in a full session
SESSION_POLL = 2.0  # seconds between looks for an open (or the next) session
REST = (3.0, 10.0)  # seconds between two games, like a person reading the board


class GameEnd(Enum):
    OVER = "over"  # the bot lost its last life (or the invaders landed)
    STOPPED = "stopped"  # the server ended the game: the session closed, another began, the seat is gone


@dataclass(frozen=True)
class BotPlan:
    index: int
    name: str
    password: str
    skill: Skill
    seed: int


class JoinError(Exception):
    """The bot cannot become a player (its name is taken by another account, the API refuses it)."""


class Bot:
    def __init__(self, plan: BotPlan, client: SpaceInvadersClient, arena: Arena, stats: RunStats,
                 join_gate: asyncio.Semaphore, *, on_change: Callable[[], None] | None = None) -> None:
        self.plan = plan
        self.on_change = on_change  # told after the bot changed its state or joined (or could not) in `stats`
        self.client = client
        self.arena = arena
        self.stats = stats
        self.join_gate = join_gate
        self.rng = random.Random(plan.seed)
        self.player = PlayerSession(client, on_post=self._posted, stagger=self.rng)
        self.state = BotState.JOINING
        stats.users[self.state] += 1
        self.games = 0
        self.best_score = 0
        self.level = 1
        self.rank: int | None = None  # best rank seen on the top 10
        self.posts = 0
        self.error: str | None = None
        self.trial: Trial | None = None  # the game being played
        self._spawned = time.monotonic()
        self._joined = False

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def seated(self) -> bool:
        return self.player.seated_in is not None

    def _become(self, state: BotState) -> None:
        self.stats.users[self.state] -= 1
        self.stats.users[state] += 1
        self.state = state
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _posted(self, seconds: float) -> None:
        """A status post's 2xx came, `seconds` after its sample was taken."""
        self.posts += 1
        self.stats.record_post(seconds * 1000)

    async def live(self) -> None:
        """The bot's whole life; returns when cancelled (after cleaning up) or when it cannot join."""
        player = self.player
        try:
            await self.sign_in()
            while True:
                self._become(BotState.WAITING)
                session = await player.open_session(every=SESSION_POLL)
                seated = await self._take_seat()
                if seated is not None and player.waits_for_start(seated):
                    seated = await player.wait_for_start(seated)
                if seated is None:
                    await player.open_session(other_than=session.SessionId, every=SESSION_POLL)
                    continue
                while await self._play(seated) is GameEnd.OVER:
                    self._become(BotState.RESTING)
                    await asyncio.sleep(self.rng.uniform(*REST))
                    if await self._take_seat() is None:
                        break
                await player.open_session(other_than=session.SessionId, every=SESSION_POLL)
        except JoinError as error:
            self.error = str(error)
            self.stats.join_failures += 1
            self._changed()
            log.warning("%s cannot join: %s", self.name, error)
        except SpaceInvadersError as error:  # e.g. the server no longer takes its tokens
            self.error = str(error)
            if not self._joined:
                self.stats.join_failures += 1
                self._changed()
            log.warning("%s stopped: %s", self.name, error)
        finally:
            await self._leave()

    # -- signing in --------------------------------------------------------------------------------

    async def sign_in(self) -> None:
        if await self.client.resume(self.name):
            try:
                await self.player.session()  # the kept tokens still work (or were refreshed)?
                return
            except AuthenticationError:
                self.client.sign_out()  # another server's, or expired for good
            except SpaceInvadersError as error:
                raise JoinError(f"cannot reach the API: {error}") from error
        name, password = self.name, self.plan.password
        async with self.join_gate:  # the server hashes passwords a few at a time; queueing there costs 429s
            with retrying(JOIN_RETRY):
                try:
                    try:
                        with expecting(409):
                            await self.client.sign_up(name, password)
                    except ConflictError:
                        pass  # signed up by an earlier run (its tokens are gone or for another address)
                    await self.client.sign_in(name, password)
                except AuthenticationError as error:
                    raise JoinError(f"{name} is another account's name (use another --name-prefix)") from error
                except SpaceInvadersError as error:
                    raise JoinError(f"signing in failed: {error}") from error

    # -- seats ---------------------------------------------------------------------------------------

    async def _take_seat(self) -> Session | None:
        """A seat in the current session: the session, or None when it has no game for us."""
        while True:
            try:
                session = await self.player.join()
            except NoSeatsAvailable:
                await asyncio.sleep(SEAT_RETRY * self.rng.uniform(0.75, 1.25))
                continue
            except (GamerCannotPlay, SessionClosed, NoSessionAvailable):
                return None
            except AuthenticationError as error:
                raise JoinError(f"the API no longer takes {self.name}'s tokens: {error}") from error
            except SpaceInvadersError as error:  # the server is unreachable: try again, as a person would
                log.info("%s: taking a seat failed: %s", self.name, error)
                await asyncio.sleep(SEAT_RETRY)
                continue
            if not self._joined:
                self._joined = True
                self.stats.joined += 1
                self.stats.join_seconds.add((time.monotonic() - self._spawned) * 1000)
                self._changed()
            return session

    # -- playing -----------------------------------------------------------------------------------

    async def _play(self, session: Session) -> GameEnd:
        """One game until it is over, or the server ends it."""
        self._become(BotState.PLAYING)
        game = Game(self.rng.getrandbits(32))
        match = self.arena.play(game, Autopilot(self.plan.skill, self.rng.getrandbits(32)))
        stopped = asyncio.Event()
        trial = self.trial = self.player.start_trial(session, game.status, TrialEvents(
            on_board=self._note_rank, on_ended=lambda error: stopped.set()))
        over = asyncio.create_task(match.over.wait())
        ended = asyncio.create_task(stopped.wait())
        try:
            await asyncio.wait((over, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (over, ended):
                task.cancel()
            self.arena.leave(match)
            self.best_score = max(self.best_score, game.score)
            self.level = game.level
        try:
            if trial.ended_by is not None:
                return GameEnd.STOPPED
            # The final state (Lives 0) until the server has it; the seat is freed. Shielded: cancelled now
            # (the run's end), it goes on and leaving waits for it.
            await asyncio.shield(self.player.end_trial(trial, game.status()))
            self.games += 1
            self.stats.games += 1
            return GameEnd.OVER
        finally:
            self.stats.superseded += trial.publisher.stats.coalesced
            self.trial = None

    def _note_rank(self, board: Scoreboard) -> None:
        rank = board.Caller.Rank if board.Caller is not None else None
        if rank is None:
            for position, entry in enumerate(board.entries, 1):
                if entry.Nickname.lower() == self.name.lower():
                    rank = position
        if rank is not None and (self.rank is None or rank < self.rank):
            self.rank = rank

    async def _leave(self) -> None:
        """Send the last status and free the seat, within the player session's limits; never raises."""
        self._become(BotState.LEFT)
        try:
            if not await self.player.leave():
                log.warning("%s could not free its seat", self.name)
        except Exception:
            log.exception("%s failed while leaving", self.name)
