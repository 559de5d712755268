"""One bot: a real player's life, from signing in to leaving its seat.

It signs in with tokens kept by an earlier run, or signs up (or in) with its password; waits for an
open session and takes a seat; waits for a synchronized start on the server's clock; plays games
with its autopilot while `StatusPublisher` posts its status every 300 ms and `ScoreboardPoller` reads
the top 10 every 2 s; after a game it rests a few seconds and takes a seat again (multiple-trial
sessions); when the session closes, or the manager frees its seat, it waits for the next session.
Cancelled (the run's end, Ctrl+C), it sends its final status and frees its seat.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from api_client import (
    AuthenticationError,
    ConflictError,
    GamerCannotPlay,
    NoSeatsAvailable,
    NoSessionAvailable,
    NotSeated,
    RateLimitError,
    ScoreboardPoller,
    ServiceUnavailableError,
    Session,
    SessionClosed,
    SessionMismatch,
    SessionWatcher,
    SpaceInvadersError,
    StatusPublisher,
)
from api_client.errors import ApiError, parse_retry_after
from spaceinvaders_engine import Game

from .arena import Arena
from .autopilot import Autopilot, Skill
from .metering import TimedClient, expecting
from .stats import RunStats

log = logging.getLogger(__name__)
T = TypeVar("T")

INTERVAL = 0.3  # the game's status pace
SCOREBOARD_INTERVAL = 2.0
JOIN_PATIENCE = 120.0  # seconds a sign-up or sign-in keeps trying through 429s and 503s
SEAT_RETRY = 5.0  # seconds between tries for a seat in a full session
SESSION_POLL = 2.0  # seconds between looks for an open (or the next) session
REST = (3.0, 10.0)  # seconds between two games, like a person reading the board
SEAT_KEEP = 30.0  # waiting longer than this for a start, take the seat again (idle players lose it at 60 s)
CLEANUP_TIMEOUT = 5.0
END_OF_TRIAL = (SessionClosed, SessionMismatch, NotSeated)  # refusals of a status post that end a game


@dataclass(frozen=True)
class BotPlan:
    index: int
    name: str
    password: str
    skill: Skill
    seed: int


class JoinError(Exception):
    """The bot cannot become a player (its name is taken by another account, the API refuses it)."""


async def patiently(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """`call()`, again after each 429 or 503 once the Retry-After has passed (with jitter), until `deadline`."""
    while True:
        try:
            return await call()
        except (RateLimitError, ServiceUnavailableError) as error:
            header = next((v for k, v in error.headers.items() if k.lower() == "retry-after"), None)
            wait = parse_retry_after(header)
            wait = (1.0 if wait is None else wait) * random.uniform(1.0, 1.5)  # many bots told the same wait should not return together
            if time.monotonic() + wait > deadline:
                raise
            await asyncio.sleep(wait)


class Bot:
    def __init__(self, plan: BotPlan, client: TimedClient, arena: Arena, stats: RunStats,
                 join_gate: asyncio.Semaphore) -> None:
        self.plan = plan
        self.client = client
        self.arena = arena
        self.stats = stats
        self.join_gate = join_gate
        self.rng = random.Random(plan.seed)
        self.state = "joining"
        stats.users[self.state] += 1
        self.seated = False
        self.games = 0
        self.best_score = 0
        self.level = 1
        self.rank: int | None = None  # best rank seen on the top 10
        self.posts = 0
        self.error: str | None = None
        self.publisher: StatusPublisher | None = None
        self._poller: ScoreboardPoller | None = None
        self._spawned = time.monotonic()
        self._joined = False
        self._offset = 0.0  # server clock minus ours, from the session watcher

    @property
    def name(self) -> str:
        return self.plan.name

    def _become(self, state: str) -> None:
        self.stats.users[self.state] -= 1
        self.stats.users[state] += 1
        self.state = state

    async def live(self) -> None:
        """The bot's whole life; returns when cancelled (after cleaning up) or when it cannot join."""
        try:
            await self.sign_in()
            watcher = SessionWatcher(self.client)
            while True:
                self._become("waiting")
                session = await self._open_session(watcher)
                if not await self._take_seat():
                    await self._next_session(watcher, session.SessionId)
                    continue
                if session.Synchronized and (session.SynchronizeTime is None or self._before_start(watcher)):
                    waited = time.monotonic()
                    session = await watcher.wait_for_start()
                    if time.monotonic() - waited > SEAT_KEEP and not await self._take_seat():
                        continue
                self._offset = watcher.clock.offset
                while not session.is_closed:
                    if await self._play(session) != "over":
                        break
                    self._become("resting")
                    await asyncio.sleep(self.rng.uniform(*REST))
                    if not await self._take_seat():
                        break
                await self._next_session(watcher, session.SessionId)
        except JoinError as error:
            self.error = str(error)
            self.stats.join_failures += 1
            log.warning("%s cannot join: %s", self.name, error)
        except SpaceInvadersError as error:  # e.g. the server no longer takes its tokens
            self.error = str(error)
            if not self._joined:
                self.stats.join_failures += 1
            log.warning("%s stopped: %s", self.name, error)
        finally:
            await self._leave()

    # -- signing in --------------------------------------------------------------------------------

    async def sign_in(self) -> None:
        if await self.client.resume(self.name):
            try:
                await self.client.session()  # the kept tokens still work (or were refreshed)?
                return
            except AuthenticationError:
                self.client.sign_out()  # another server's, or expired for good
            except SpaceInvadersError as error:
                raise JoinError(f"cannot reach the API: {error}") from error
        deadline = time.monotonic() + JOIN_PATIENCE
        name, password = self.name, self.plan.password
        async with self.join_gate:  # the server hashes passwords a few at a time; queueing there costs 503s
            try:
                try:
                    with expecting(409):
                        await patiently(lambda: self.client.sign_up(name, password), deadline)
                except ConflictError:
                    pass  # signed up by an earlier run (its tokens are gone or for another address)
                await patiently(lambda: self.client.sign_in(name, password), deadline)
            except AuthenticationError as error:
                raise JoinError(f"{name} is another account's name (use another --name-prefix)") from error
            except SpaceInvadersError as error:
                raise JoinError(f"signing in failed: {error}") from error

    # -- sessions and seats ------------------------------------------------------------------------

    async def _open_session(self, watcher: SessionWatcher) -> Session:
        while True:
            session = await watcher.poll_once()
            if session is not None and not session.is_closed:
                return session
            await asyncio.sleep(SESSION_POLL * self.rng.uniform(0.75, 1.25))

    async def _next_session(self, watcher: SessionWatcher, previous: str) -> None:
        """Wait until a session other than `previous` is open (the manager opened the next one)."""
        while True:
            session = await watcher.poll_once()
            if session is not None and session.SessionId != previous and not session.is_closed:
                return
            await asyncio.sleep(SESSION_POLL * self.rng.uniform(0.75, 1.25))

    def _before_start(self, watcher: SessionWatcher) -> bool:
        remaining = watcher.seconds_until_start()
        return remaining is not None and remaining > 0

    async def _take_seat(self) -> bool:
        """A seat in the current session: True when seated, False when this session has no game for us."""
        while True:
            try:
                await self.client.allocate(self.name)
            except NoSeatsAvailable:
                await asyncio.sleep(SEAT_RETRY * self.rng.uniform(0.75, 1.25))
                continue
            except (GamerCannotPlay, SessionClosed, NoSessionAvailable):
                return False
            except ApiError as error:
                if isinstance(error, AuthenticationError):
                    raise JoinError(f"the API no longer takes {self.name}'s tokens: {error}") from error
                log.info("%s: allocate failed: %s", self.name, error)
                await asyncio.sleep(SEAT_RETRY)
                continue
            except SpaceInvadersError as error:  # the server is unreachable: try again, as a person would
                log.info("%s: allocate failed: %s", self.name, error)
                await asyncio.sleep(SEAT_RETRY)
                continue
            self.seated = True
            if not self._joined:
                self._joined = True
                self.stats.joined += 1
                self.stats.join_seconds.add((time.monotonic() - self._spawned) * 1000)
            return True

    # -- playing -----------------------------------------------------------------------------------

    async def _play(self, session: Session) -> str:
        """One game until it is over ("over") or the session stops taking it ("closed")."""
        self._become("playing")
        game = Game(self.rng.getrandbits(32))
        match = self.arena.play(game, Autopilot(self.plan.skill, self.rng.getrandbits(32)))
        ended = asyncio.Event()
        refusal: list[ApiError] = []

        def refused(error: ApiError) -> None:
            if isinstance(error, END_OF_TRIAL):
                refusal.append(error)
                ended.set()

        offset = self._offset
        self.client.wall_clock = lambda: time.time() + offset
        publisher = self.publisher = StatusPublisher(
            self.client, session.SessionId, game.status, nickname=self.name, interval=INTERVAL,
            on_rejected=refused, wall_clock=self.client.wall_clock)
        poller = ScoreboardPoller(self.client, session.SessionId, interval=SCOREBOARD_INTERVAL,
                                  on_update=lambda _: self._note_rank(poller))
        # A person's game starts its timers when its screen is up: not all on the same millisecond.
        starter = asyncio.create_task(self._start_later(publisher, poller))
        over = asyncio.create_task(match.over.wait())
        refused_task = asyncio.create_task(ended.wait())
        try:
            await asyncio.wait((over, refused_task), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (starter, over, refused_task):
                task.cancel()
            self.arena.leave(match)
            await self._end_game(game)
        if refusal:
            if isinstance(refusal[0], NotSeated):
                self.seated = False
            return "closed"
        self.seated = False  # Lives 0: the server frees the seat
        self.games += 1
        self.stats.games += 1
        return "over"

    async def _start_later(self, publisher: StatusPublisher, poller: ScoreboardPoller) -> None:
        await asyncio.sleep(self.rng.uniform(0, INTERVAL))
        publisher.start()
        await asyncio.sleep(self.rng.uniform(0, SCOREBOARD_INTERVAL))
        poller.start()
        self._poller = poller

    def _note_rank(self, poller: ScoreboardPoller) -> None:
        caller = poller.caller
        rank = getattr(caller, "Rank", None)
        if rank is None:
            for position, entry in enumerate(poller.latest, 1):
                if entry.Nickname.lower() == self.name.lower():
                    rank = position
        if rank is not None and (self.rank is None or rank < self.rank):
            self.rank = rank

    async def _end_game(self, game: Game) -> None:
        publisher, self.publisher = self.publisher, None
        poller, self._poller = self._poller, None
        if publisher is not None:
            await publisher.stop()  # the final state (Lives 0 after a game over)
            self.posts += publisher.stats.sent
            self.stats.superseded += publisher.stats.coalesced
        if poller is not None:
            await poller.stop()
        self.best_score = max(self.best_score, game.score)
        self.level = game.level

    async def _leave(self) -> None:
        """Free the seat (and finish a game in progress) within CLEANUP_TIMEOUT; never raises."""
        self._become("left")
        if not self.seated:
            return
        try:
            await asyncio.wait_for(self.client.deallocate(self.name), CLEANUP_TIMEOUT)
            self.seated = False
        except (TimeoutError, SpaceInvadersError) as error:
            log.warning("%s could not free its seat: %s", self.name, error)
