"""The game's one connection to a backend, through `api_client`: sign-in, the current session, the seat,
and while a game runs, its `Trial` (status posts every 300 ms on the server's clock, the top 10 every 2 s).

No Textual here: screens call these coroutines from workers and get callbacks' news as messages.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from api_client import (
    ApiError,
    AuthenticationError,
    GameStatus,
    RankedEntry,
    ScoreboardPoller,
    ScoreEntry,
    Session,
    SessionWatcher,
    SpaceInvadersClient,
    SpaceInvadersError,
    StatusPublisher,
    TokenStore,
)

log = logging.getLogger(__name__)

DEFAULT_API = "http://127.0.0.1:8080/v1"  # where `spaceinvaders-server serve` listens
BOARD_INTERVAL = 2.0
LEAVE_TIMEOUT = 5.0  # the most quitting waits for the server to free the seat
STOP_WAIT = 3.0  # the most quitting waits for a final state still on its way
FINAL_RANK_DELAY = 0.6  # the server's board follows a post within its stream interval (250 ms)
TIME_UP_MARGIN = 0.25  # a time-constrained game ends this much before the deadline, so its last post counts

StatusProvider = Callable[[], Mapping[str, int]]


def session_start(session: Session) -> datetime | None:
    """When play begins: the manager's start for a synchronized session, the opening otherwise."""
    return session.SynchronizeTime if session.Synchronized else session.OpeningTime


def session_deadline(session: Session) -> float | None:
    """The end of a time-constrained session (epoch seconds, server clock), else None."""
    start = session_start(session)
    if session.GameType != "TIME_CONSTRAINED" or start is None:
        return None
    return start.timestamp() + (session.TimeoutInMinutes or 5) * 60


def waits_for_start(session: Session, server_now: float) -> bool:
    """Whether a player joining now waits for the manager's start (or for a start still ahead)."""
    if not session.Synchronized:
        return False
    return session.SynchronizeTime is None or session.SynchronizeTime.timestamp() > server_now


def free_seats(session: Session) -> int | None:
    """Free seats, when the backend tells how many are taken (an extra `OccupiedSeats` field)."""
    occupied = (session.model_extra or {}).get("OccupiedSeats")
    if session.TotalSeats is None or not isinstance(occupied, int):
        return None
    return max(0, session.TotalSeats - occupied)


class Trial:
    """One game's talk with its session; `finish` delivers the final state, however long the network is out."""

    def __init__(
        self,
        link: Link,
        session: Session,
        status: StatusProvider,
        *,
        on_refused: Callable[[ApiError], None],
        on_board: Callable[[list[ScoreEntry], RankedEntry | None], None],
    ) -> None:
        self.session = session
        self.status = status
        self.finished = False  # the final state was delivered (or refused): nothing more to post
        self.refusals = 0
        self._on_refused = on_refused
        self._on_board = on_board
        deadline = session_deadline(session)
        watcher = link.watcher

        def stamp() -> float:  # the server's clock; never past a time-constrained session's end
            now = watcher.server_now()
            return now if deadline is None else min(now, deadline - 0.001)

        self.publisher = StatusPublisher(link.client, session.SessionId, self._sample, on_rejected=self._refused,
                                         wall_clock=stamp)
        self.poller = ScoreboardPoller(link.client, session.SessionId, interval=BOARD_INTERVAL,
                                       on_update=self._board)
        self._seen = (0, 0)
        self.online = True

    def _sample(self) -> Mapping[str, int] | None:
        return None if self.finished else self.status()

    def _refused(self, error: ApiError) -> None:
        self.refusals += 1
        if not self.finished:
            self._on_refused(error)

    def _board(self, entries: list[ScoreEntry]) -> None:
        self._on_board(entries, self.poller.caller)

    def start(self) -> None:
        self.publisher.start()
        self.poller.start()

    def check_online(self) -> bool:
        """Whether the server answered lately: any success since the last check says yes, only failures no."""
        stats = self.publisher.stats
        seen = (stats.sent + stats.rejected + self.poller.polls, stats.failed + self.poller.errors)
        ok, failed = seen[0] - self._seen[0], seen[1] - self._seen[1]
        self._seen = seen
        if ok:
            self.online = True
        elif failed:
            self.online = False
        return self.online

    async def finish(self, final: Mapping[str, int]) -> bool:
        """Post the final state until the server has it (the publisher retries through outages); True
        when delivered, False when refused (the session closed meanwhile)."""
        target = GameStatus.model_validate(dict(final))
        refusals = self.refusals
        while self.publisher.last_sent != target and self.refusals == refusals and self.publisher.running:
            await asyncio.sleep(0.05)
        self.finished = True
        await self.publisher.stop()
        return self.publisher.last_sent == target

    async def refresh_board(self) -> None:
        await self.poller.poll_once()
        self._on_board(self.poller.latest, self.poller.caller)

    async def stop(self) -> None:
        """Stop posting (sending the newest state within 3 s unless finished) and polling."""
        await self.poller.stop()
        await self.publisher.stop()
        self.finished = True


class Link:
    """The client, the session watcher and the seat of one player."""

    def __init__(
        self, base_url: str, *, token_store: TokenStore | None = None, http: httpx.AsyncClient | None = None
    ) -> None:
        self.client = SpaceInvadersClient(base_url, token_store=token_store, http=http)
        self.base_url = self.client.base_url
        self.watcher = SessionWatcher(self.client)
        self.seated_in: str | None = None  # the SessionId of the seat held
        self.trials: dict[str, int] = {}  # games joined in this run, by session (numbers each trial)
        self.trial: Trial | None = None
        self.ending: asyncio.Task[bool] | None = None  # a finished game's final state on its way
        self._ending_trial: Trial | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def username(self) -> str | None:
        return self.client.username

    async def probe(self) -> bool:
        """Whether a backend answers: `/health`, or `/config` for the original deployment without one."""
        if await self.client.health():
            return True
        try:
            await self.client.config()
        except SpaceInvadersError:
            return False
        return True

    async def uses_cognito(self) -> bool:
        return (await self.client.config()).uses_cognito

    async def resume(self) -> bool:
        """Sign in with the tokens kept by an earlier run, if they still work."""
        if not await self.client.resume():
            return False
        try:
            await self.watcher.poll_once()
        except AuthenticationError:
            self.client.sign_out()
            return False
        return True

    async def sign_in(self, username: str, password: str) -> None:
        await self.client.sign_in(username, password)

    async def sign_up(self, username: str, password: str, email: str | None = None) -> bool:
        """Create the account; True when it can sign in at once (False: a code was sent, see `confirm`)."""
        return (await self.client.sign_up(username, password, email)).UserConfirmed

    async def confirm(self, username: str, code: str) -> None:
        await self.client.confirm_sign_up(username, code)

    def sign_out(self) -> None:
        self.client.sign_out()

    async def session(self) -> Session | None:
        """The current session (transient failures answer the last one seen)."""
        return await self.watcher.poll_once()

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
        self.trials[session.SessionId] = self.trials.get(session.SessionId, 0) + 1
        return session

    async def keep_seat(self) -> None:
        """Allocating again while seated tells the server we are still here (idle seats are freed)."""
        await self.client.allocate()

    def start_trial(
        self,
        session: Session,
        status: StatusProvider,
        *,
        on_refused: Callable[[ApiError], None],
        on_board: Callable[[list[ScoreEntry], RankedEntry | None], None],
    ) -> Trial:
        self.trial = Trial(self, session, status, on_refused=on_refused, on_board=on_board)
        self.trial.start()
        return self.trial

    def end_trial(self, trial: Trial, final: Mapping[str, int]) -> asyncio.Task[bool]:
        """The game is over: deliver its final state (through outages), free the seat, fetch the final
        rank. Runs on its own, beyond the game's screen; answers whether the server took the final state."""
        self.ending = asyncio.create_task(self._end_trial(trial, final))
        self._ending_trial = trial
        return self.ending

    async def _end_trial(self, trial: Trial, final: Mapping[str, int]) -> bool:
        delivered = await trial.finish(final)
        await self.free_seat()
        if delivered:
            await asyncio.sleep(FINAL_RANK_DELAY)
            await trial.refresh_board()
        return delivered

    def abandon_trial(self, trial: Trial) -> None:
        """The session refused the game (closed, replaced, seat gone): stop talking, nothing to give back."""
        trial.finished = True
        self.forget_seat()
        self.close_trial(trial)

    def close_trial(self, trial: Trial) -> None:
        """The game's screen is gone: stop its board and, unless finished, post its newest state. A final
        state still on its way keeps going (`end_trial` stops the publisher once it is delivered)."""
        if self.trial is trial:
            self.trial = None
        ending = self._ending_trial is trial and self.ending is not None and not self.ending.done()
        self._background.add(task := asyncio.create_task(trial.poller.stop() if ending else trial.stop()))
        task.add_done_callback(self._background.discard)

    async def free_seat(self) -> bool:
        """Give the seat back (a finished trial, a quit); True when the server confirmed it in time."""
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
        """The seat went with its session (closed by the manager, replaced): nothing to give back."""
        self.seated_in = None

    async def leave(self) -> bool:
        """Quitting: the game's newest state is posted, a final one still on its way gets a few seconds,
        and the seat is freed. True when the server confirmed the seat free (or none was held)."""
        if self.ending is not None and not self.ending.done():
            try:
                await asyncio.wait_for(asyncio.shield(self.ending), STOP_WAIT)
            except TimeoutError:
                self.ending.cancel()
        if self.trial is not None:
            trial, self.trial = self.trial, None
            await trial.stop()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        return await self.free_seat()

    async def aclose(self) -> None:
        await self.client.aclose()


async def release_seat(base_url: str, username: str, token_store: TokenStore | None) -> bool:
    """Free a seat left held when the app ended abnormally, with the tokens kept on disk."""
    async with SpaceInvadersClient(base_url, token_store=token_store) as client:
        if not await client.resume(username):
            return False
        try:
            await asyncio.wait_for(client.deallocate(username), LEAVE_TIMEOUT)
        except (SpaceInvadersError, TimeoutError):
            return False
    return True
