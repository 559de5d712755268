"""The local server's game state: the current session, its seats, status intake and the scoreboard.

Hot-path checks (session, seat) read in-memory state on the event loop; every change is persisted
through the single writer thread before it is answered. Seat changes are decided on the event loop, one
at a time per player, and committed in the writer's group commits with the status records; session
changes take a lock of their own. Who may do what (tokens, groups, rate limits) is the HTTP layer's
business: the backend is told the player and the decoded request.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable

from ..core import sessions as rules
from ..core.answers import BoardStats, Players
from ..core.errors import ApiError
from ..core.models import StatusUpdate
from ..core.ranking import Entry
from ..core.records import stamped_before_session, stamped_too_far_ahead
from ..core.sessions import PLAYING, Session
from ..core.timeutil import parse_rfc3339, to_iso
from . import database
from .records import StatusRecord
from .seats import Seats
from .settings import Settings
from .stream import StreamProcessor
from .writer import Writer

log = logging.getLogger("spaceinvaders.server")
SHARD_ID = "shardId-000000000000"
# How long an allocate right after a last life waits for the processor to free that seat.
LAST_LIFE_WAIT_SECONDS = 2.0


@functools.lru_cache(maxsize=1024)
def _iso_second(second: int) -> str:
    """A whole second as the contract writes instants: 5,000 players' LastSeen share a few hundred seconds,
    and `to_iso` costs microseconds each."""
    return to_iso(second)


class LocalBackend:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time,
                 on_session_saved: Callable[[Session], None] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.on_session_saved = on_session_saved  # told every stored change of a session (the start push)
        database.prepare_data_dir(settings.data_dir)
        self.writer = Writer(settings.database_path, settings.max_pending_records)
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None  # the newest session, open or closed
        self.seats = Seats()
        self.stream = StreamProcessor(self.writer, self.sessions, self.seats, clock, lambda: self._seq,
                                      settings.database_path)
        self._seq = 0
        self._lock = asyncio.Lock()  # session changes; seat changes and status posts do not take it
        self._seat_turns: dict[str, asyncio.Event] = {}  # a player's seat change in progress, set when done
        self._tasks: list[asyncio.Task] = []
        # Told when the current session or its seats change (the room's advertisement, local/advertise.py).
        self.on_change: Callable[[], None] = lambda: None
        self.seats.on_change = lambda: self.on_change()

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.writer.start()
        await self.writer.keep_reserve()
        for s in await self.writer.run(database.list_sessions):
            self.sessions[s.session_id] = s
        self._seq = await self.writer.run(database.last_seq)
        newest = max(self.sessions.values(), key=lambda s: s.opening_time, default=None)
        if newest is not None:
            await self._make_current(newest)
        await self.stream.load([newest.session_id] if newest else [])
        while await self.stream.tick():  # catch up with what was stored before a crash
            pass
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._every(self.settings.stream_interval_seconds, self.stream.tick)),
                       loop.create_task(self._every(self.settings.housekeeping_interval_seconds,
                                                    self.housekeeping))]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.stream.tick()
        await self.writer.close()

    async def _every(self, seconds: float, job) -> None:
        while True:
            try:
                await job()
            except ApiError as exc:  # storage unavailable: the writer tells when it fails and when it is back
                log.debug("background job %s: %s", getattr(job, "__name__", job), exc.message)
            except Exception:  # a failing job must not stop the others; it is retried next round
                log.exception("background job %s failed", getattr(job, "__name__", job))
            await asyncio.sleep(seconds)

    async def _make_current(self, session: Session) -> None:
        stored = await self.writer.run(database.load_seats, session.session_id)
        self.session = session  # with its seats, at once: a seat change never sees one without the other
        self.seats.reset(session.session_id, stored, self.clock())

    # --- status intake (the hot path) --------------------------------------------------------------

    @property
    def last_sequence(self) -> int:
        return self._seq

    async def post_status(self, player: str, update: StatusUpdate) -> int:
        """Store one status of `player` (the Nickname is theirs) once it is durable; answers its seq."""
        now = self.clock()
        try:
            ts, stamped = parse_rfc3339(update.Timestamp)
        except ValueError as exc:
            raise ApiError(422, "ValidationError", f"Timestamp must be an RFC 3339 date-time with a zone: {exc}.") \
                from None
        if stamped_too_far_ahead(ts, now):
            raise ApiError(422, "ValidationError", "Timestamp is more than 5 minutes ahead of the server's clock.")
        rules.check_status(self.session, update.SessionId, self.seats.state(player), now)
        if stamped_before_session(ts, self.session.opening_time):
            raise ApiError(422, "ValidationError", "Timestamp is before the session opened (more than 5 minutes "
                           "before its OpeningTime).")
        self._seq += 1
        seq = self._seq
        self.seats.posted(player, now, seq, last_life=update.Lives == 0)
        await self.writer.append_status(StatusRecord(seq, update.SessionId, player, update.Score, update.Shots,
                                                     update.Level, update.Lives, stamped, ts, now))
        return seq

    # --- seats ---------------------------------------------------------------------------------------

    async def allocate(self, username: str) -> str:
        last_life = self.seats.pending_last_life(username)
        if last_life is not None:
            # A last life posted but not processed yet frees the seat soon: let the processor see it first,
            # so that "Keep playing." never answers for a seat about to be taken away.
            await self.stream.wait_processed(last_life, LAST_LIFE_WAIT_SECONDS)
        async with self._seat_turn(username):
            now = self.clock()
            session = self.session
            if not rules.check_allocate(session, self.seats.state(username), self.seats.occupied(), now):
                self.seats.keep(username, now)
                return "Keep playing."
            seats = self.seats
            seats.reserve(username)  # taken from now on (the last seat goes to one player), not yet theirs
            try:
                await self.writer.save_seat(session.session_id, username, PLAYING, False)
            finally:
                seats.unreserve(username)
            if seats.session_id == session.session_id:  # not a session opened meanwhile
                seats.sit(username, self.clock())
            return f"Seat allocated in {session.session_id}."

    async def deallocate(self, username: str) -> str:
        async with self._seat_turn(username):
            return await self._leave(username)

    @contextlib.asynccontextmanager
    async def _seat_turn(self, username: str):
        """One seat change at a time per player, so that each is decided on the state the previous left;
        different players' changes are decided at once and commit together."""
        while (busy := self._seat_turns.get(username)) is not None:
            await busy.wait()
        done = self._seat_turns[username] = asyncio.Event()
        try:
            yield
        finally:
            del self._seat_turns[username]
            done.set()

    async def _leave(self, username: str) -> str:
        """Free the seat once the change is stored (it stays taken meanwhile: no seat is given twice)."""
        session = self.session
        if session is None or self.seats.state(username) != PLAYING:
            return "Not seated."
        played = self.seats.has_posted(username) or self.stream.has_played(session.session_id, username)
        state = rules.seat_after_leaving(session, played)
        await self.writer.save_seat(session.session_id, username, state, played)
        if self.seats.session_id == session.session_id:
            self.seats.leave(username, state)
        return "Seat freed."

    async def players(self, session_id: str) -> Players:
        """Seats of a session: live for the current one, as they were left for a past one."""
        session = self.get_session(session_id)
        last_seen = None
        if session is self.session:
            playing, finished = self.seats.playing(), self.seats.finished()
            last_seen = {name: _iso_second(int(seen)) for name, seen in self.seats.last_seen().items()}
        else:  # nobody is seen in a past session; its seats are only as they were left
            stored = Seats()
            stored.reset(session_id, await self.writer.run(database.load_seats, session_id), self.clock())
            playing, finished = stored.playing(), stored.finished()
        return Players(SessionId=session.session_id, TotalSeats=session.total_seats, OccupiedSeats=len(playing),
                       PlayingGamers=playing, FinishedGamers=finished, LastSeen=last_seen)

    # --- sessions ----------------------------------------------------------------------------------

    def get_session(self, session_id: str | None) -> Session:
        session = self.sessions.get(session_id or "")
        if session is None:
            raise ApiError(404, "SessionNotFound", f"No session {session_id!r}.")
        return session

    async def _save_session(self, session: Session) -> None:
        def save(conn):
            with database.transaction(conn):
                database.save_session(conn, session)
        await self.writer.run_reserved(save)  # the manager can close the session on a full disk
        self.sessions[session.session_id] = session
        if self.session is None or self.session.session_id != session.session_id:
            await self._make_current(session)
            await self.stream.ensure_loaded(session.session_id)
        else:
            self.session = session
        self.on_change()
        if self.on_session_saved is not None:
            self.on_session_saved(session)

    async def open_session(self, name: str, game_type: str, synchronized: bool, timeout: int | None,
                           seats: int) -> Session:
        async with self._lock:
            await self._close_if_due()
            session = rules.open_session(name, game_type, synchronized, self.clock(), timeout, seats,
                                         self.session, taken=self.sessions)
            await self._save_session(session)
            return session

    async def start_session(self, countdown: float) -> Session:
        async with self._lock:
            session = rules.start_session(self.session, self.clock(), countdown)
            await self._save_session(session)
            return session

    async def close_session(self) -> Session:
        async with self._lock:
            await self._close_if_due()
            session = rules.close_session(self.session, self.clock())
            with self.stream.closing(session):  # records it would drop wait until it is written (stream.py)
                await self._save_session(session)
            return session

    async def _close_if_due(self) -> None:
        closed = rules.close_if_due(self.session, self.clock())
        if closed is not None:
            await self._save_session(closed)

    async def housekeeping(self) -> None:
        """Close time-constrained sessions at their deadline, free the seats of idle players (in one group
        commit) and keep the space reserve."""
        async with self._lock:
            await self._close_if_due()
        idle = self.seats.idle(self.clock() - self.settings.idle_timeout_seconds)
        for username in idle:
            log.info("freeing the seat of idle player %s", username)
        outcomes = await asyncio.gather(*(self._leave_if_idle(username) for username in idle), return_exceptions=True)
        await self.writer.keep_reserve()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _leave_if_idle(self, username: str) -> None:
        async with self._seat_turn(username):
            if self.seats.is_idle(username, self.clock() - self.settings.idle_timeout_seconds):
                await self._leave(username)

    # --- scoreboards -------------------------------------------------------------------------------

    async def scoreboard(self, session_id: str, top: int | None) -> list[Entry]:
        self.get_session(session_id)
        await self.stream.ensure_loaded(session_id)
        return self.stream.scoreboard(session_id, top)

    def rank(self, session_id: str, nickname: str) -> tuple[int, Entry] | None:
        return self.stream.rank(session_id, nickname)

    def board_stats(self, session_id: str) -> BoardStats:
        return self.stream.stats(session_id)

    def session_list(self) -> list[Session]:
        return sorted(self.sessions.values(), key=lambda s: s.opening_time, reverse=True)
