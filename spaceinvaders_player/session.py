"""`PlayerSession`: the one place where a player talks with a session, for the game, the bots and the benchmarks.

It joins (takes a seat), keeps the seat while a synchronized session waits for the manager, waits for the
start (pushed, or polled: `start.py`), runs each game's `Trial` (status posts, the top 10, the refusals),
delivers a game's final state through outages, and frees the seat. It knows no UI: what happens reaches
the caller through the callbacks it was given (`TrialEvents`, `on_post`), and the refusals it cannot
handle are raised (`NoSeatsAvailable`, `GamerCannotPlay`, `SessionClosed`...).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping

from api_client import (
    GameStatus,
    Session,
    SessionWatcher,
    SpaceInvadersClient,
    SpaceInvadersError,
    TokenStore,
)

from .rules import KEEP_SEAT_EVERY, waits_for_start
from .start import StartWait
from .trial import Delivery, StatusProvider, Trial, TrialEvents

log = logging.getLogger(__name__)

LEAVE_TIMEOUT = 5.0  # the most freeing a seat waits for the server (the program is ending)
STOP_WAIT = 3.0  # the most leaving waits for a final state still on its way
FINAL_RANK_DELAY = 0.6  # the server's board follows a post within its stream interval (250 ms)


class PlayerSession:
    def __init__(
        self,
        client: SpaceInvadersClient,
        *,
        on_post: Callable[[float], None] | None = None,
        stagger: random.Random | None = None,
        push: bool = True,
        poll_interval: float = 1.0,
        keep_seat_every: float = KEEP_SEAT_EVERY,
    ) -> None:
        self.client = client
        self.watcher = SessionWatcher(client, interval=poll_interval)  # the session, the server's clock
        self.start_wait = StartWait(client, self.watcher, push=push)
        self.on_post = on_post  # seconds from each status sample to its 2xx (the bots' punctuality)
        self.stagger = stagger  # many players in one process: games' timers start at random phases
        self.keep_seat_every = keep_seat_every
        self.seated_in: str | None = None  # the SessionId of the seat held
        self.games: dict[str, int] = {}  # games joined in this run, by session (numbers each trial)
        self.trial: Trial | None = None
        self.ending: asyncio.Task[Delivery] | None = None  # a finished game's final state on its way
        self._ending_trial: Trial | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def username(self) -> str | None:
        return self.client.username

    # --- the session ---------------------------------------------------------------------------------
    async def session(self) -> Session | None:
        """The current session (transient failures answer the last one seen)."""
        return await self.watcher.poll_once()

    async def open_session(self, *, other_than: str | None = None, every: float = 2.0) -> Session:
        """Wait until a session is open (other than `other_than`, the one just played), looking every
        `every` seconds (jittered, so that many players do not look together)."""
        while True:
            session = await self.watcher.poll_once()
            if session is not None and not session.is_closed and session.SessionId != other_than:
                return session
            await asyncio.sleep(every * random.uniform(0.75, 1.25))

    def waits_for_start(self, session: Session) -> bool:
        return waits_for_start(session, self.watcher.server_now())

    # --- the seat ------------------------------------------------------------------------------------
    async def join(self) -> Session:
        """Take a seat in the current session; raises the refusals (`NoSeatsAvailable`, `GamerCannotPlay`...)."""
        if self.ending is not None and not self.ending.done():
            try:  # the last game's final state first, or the new seat would end with it
                await asyncio.wait_for(asyncio.shield(self.ending), LEAVE_TIMEOUT)
            except TimeoutError:
                raise SpaceInvadersError("your last game's score is still on its way; try again in a moment") from None
        await self.client.allocate()
        session = await self.watcher.poll_once()
        if session is None:  # closed and gone between the two calls
            raise SpaceInvadersError("the session disappeared")
        self.seated_in = session.SessionId
        self.games[session.SessionId] = self.games.get(session.SessionId, 0) + 1
        return session

    async def wait_for_start(self, session: Session) -> Session | None:
        """Wait for the session's start (returns at that instant on the server's clock), keeping the seat
        meanwhile; the started session, or None when it closed or another replaced it first."""
        if not self.waits_for_start(session):
            return session
        keeper = asyncio.create_task(self._keep_seat())
        try:
            started = await self.start_wait.until_start(session)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        if started is None:
            self.forget_seat()
        return started

    async def _keep_seat(self) -> None:
        """Allocating again while seated tells the server we are still here (idle seats are freed)."""
        while True:
            await asyncio.sleep(self.keep_seat_every)
            try:
                await self.client.allocate()
            except SpaceInvadersError as error:  # a closed session ends the wait; a hiccup is retried next round
                log.info("keeping the seat failed: %s", error)

    async def free_seat(self) -> bool:
        """Give the seat back (a finished game, a quit); True when the server confirmed it in time."""
        if self.seated_in is None:
            return True
        try:
            await asyncio.wait_for(self.client.deallocate(), LEAVE_TIMEOUT)
        except (SpaceInvadersError, TimeoutError) as error:
            log.warning("could not free the seat: %s", error)
            return False
        self.seated_in = None
        return True

    def forget_seat(self) -> None:
        """The seat went with its session (closed by the manager, replaced, freed): nothing to give back."""
        self.seated_in = None

    # --- games ---------------------------------------------------------------------------------------
    def start_trial(self, session: Session, status: StatusProvider, events: TrialEvents | None = None) -> Trial:
        """A game begins: its status is posted every 300 ms and its board polled until it ends."""
        self.trial = Trial(self, session, self.games.get(session.SessionId, 1), status, events or TrialEvents(),
                           stagger=self.stagger)
        self.trial.start()
        return self.trial

    def trial_ended(self, trial: Trial) -> None:
        """The server ended the game (the trial tells, then its owner hears `on_ended`): the seat is gone."""
        self.forget_seat()
        self.close_trial(trial)

    def end_trial(self, trial: Trial, final: Mapping[str, int] | GameStatus) -> asyncio.Task[Delivery]:
        """The game is over: deliver its final state (through outages), free the seat, fetch the board once
        more for the final rank. Runs on its own, beyond the caller's screen or task."""
        self.ending = asyncio.create_task(self._end_trial(trial, final))
        self._ending_trial = trial
        return self.ending

    async def _end_trial(self, trial: Trial, final: Mapping[str, int] | GameStatus) -> Delivery:
        try:
            delivery = await trial.finish(final)
        except Exception:  # a bug or an answer nobody foresaw: said and logged, never shown as a refusal
            log.exception("the final state of %s could not be delivered", trial.session.SessionId)
            delivery = Delivery.FAILED
        await self.free_seat()
        if delivery is Delivery.SENT:
            await asyncio.sleep(FINAL_RANK_DELAY)
            await trial.refresh_board()
        await trial.stop_board()
        return delivery

    def close_trial(self, trial: Trial) -> None:
        """The game's screen is gone: stop its board and, unless over, post its newest state. A final state
        still on its way keeps going (`end_trial` stops the publisher once it is delivered)."""
        if self.trial is trial:
            self.trial = None
        ending = self._ending_trial is trial and self.ending is not None and not self.ending.done()
        self._background.add(task := asyncio.create_task(trial.stop_board() if ending else trial.stop()))
        task.add_done_callback(self._background.discard)

    async def leave(self) -> bool:
        """Quitting: the game's newest state is posted, a final one still on its way gets a few seconds,
        and the seat is freed. True when the server confirmed the seat free (or none was held)."""
        if self.ending is not None and not self.ending.done():
            try:
                await asyncio.wait_for(asyncio.shield(self.ending), STOP_WAIT)
            except TimeoutError:
                self.ending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.ending
        if self.trial is not None:
            trial, self.trial = self.trial, None
            await trial.stop()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        return await self.free_seat()

    async def aclose(self) -> None:
        await self.client.aclose()


async def release_seat(base_url: str, username: str, token_store: TokenStore | None) -> bool:
    """Free a seat left held when a program ended abnormally, with the tokens kept on disk."""
    async with SpaceInvadersClient(base_url, token_store=token_store) as client:
        if not await client.resume(username):
            return False
        try:
            await asyncio.wait_for(client.deallocate(username), LEAVE_TIMEOUT)
        except (SpaceInvadersError, TimeoutError):
            return False
    return True
