"""The local server's game state: the current session, its seats, status intake and the scoreboard.

Hot-path checks (session, seat, rate) read in-memory state on the event loop; every change is
persisted through the single writer thread before it is answered.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..core import sessions as rules
from ..core.errors import ApiError
from ..core.models import StatusUpdate, decode
from ..core.ranking import Entry
from ..core.sessions import FINISHED, PLAYING, Session
from ..core.timeutil import parse_iso
from . import database
from .auth import Identity
from .settings import Settings
from .stream import StreamProcessor
from .writer import Writer

log = logging.getLogger("spaceinvaders.server")
SHARD_ID = "shardId-000000000000"
# A client's clock may run ahead of the server's, but a record stamped far in the future would outrank
# every later record of that player and could slip past the session's close.
MAX_CLOCK_AHEAD_SECONDS = 300.0


class RateLimiter:
    """A token bucket per player: `rate` posts a second with bursts of `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, list[float]] = {}

    def take(self, key: str, now: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [self.burst - 1.0, now]
            return
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            raise ApiError(429, "TooManyRequests", f"Status posts are limited to {self.rate:g} a second.",
                           headers={"Retry-After": "1"})
        bucket[0] = tokens - 1.0


class LocalBackend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        database.prepare_data_dir(settings.data_dir)
        self.writer = Writer(settings.database_path, settings.max_pending_records)
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None  # the newest session, open or closed
        self.seats: dict[str, str] = {}  # username -> PLAYING or FINISHED, in the current session
        self.seated_at: dict[str, float] = {}
        self.last_seen: dict[str, float] = {}
        self.posted: set[str] = set()  # posted in the current session
        self.last_life: dict[str, int] = {}  # username -> seq of its newest Lives-0 post
        self.stream = StreamProcessor(self.writer, self.sessions.get, self._finished)
        self.writer.on_committed = self.stream.committed
        self._seq = 0
        self._lock = asyncio.Lock()  # session and seat changes; status posts do not take it
        self._tasks: list[asyncio.Task] = []

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.writer.start()
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
            except Exception:  # a failing job must not stop the others; it is retried next round
                log.exception("background job %s failed", getattr(job, "__name__", job))
            await asyncio.sleep(seconds)

    async def _make_current(self, session: Session) -> None:
        self.session = session
        self.seats, self.seated_at, self.posted = {}, {}, set()
        now = time.time()
        for username, state, played in await self.writer.run(database.load_seats, session.session_id):
            if state:
                self.seats[username] = state
            if state == PLAYING:
                self.seated_at[username] = now
                self.last_seen[username] = now  # a restart gives everyone a fresh idle allowance
            if played:
                self.posted.add(username)

    # --- status intake (the hot path) --------------------------------------------------------------

    @property
    def last_sequence(self) -> int:
        return self._seq

    async def post_status(self, ident: Identity, body: bytes) -> bytes:
        update: StatusUpdate = decode(body, StatusUpdate)
        name = update.Nickname
        if name != ident.username:
            raise ApiError(403, "Forbidden", "Nickname must be your own username.")
        now = time.time()
        self.limiter.take(name, now)
        try:
            ts = parse_iso(update.Timestamp)
        except ValueError:
            raise ApiError(422, "ValidationError", "Timestamp must be an ISO-8601 instant.") from None
        if ts > now + MAX_CLOCK_AHEAD_SECONDS:
            raise ApiError(422, "ValidationError", "Timestamp is more than 5 minutes ahead of the server's clock.")
        rules.check_status(self.session, update.SessionId, self.seats.get(name), now)
        self.last_seen[name] = now
        self.posted.add(name)
        self._seq += 1
        seq = self._seq
        if update.Lives == 0:
            self.last_life[name] = seq
        await self.writer.append_status((seq, update.SessionId, name, update.Score, update.Shots, update.Level,
                                         update.Lives, update.Timestamp, ts, now))
        return b'{"SequenceNumber":"%020d","ShardId":"%s"}' % (seq, SHARD_ID.encode())

    def _finished(self, session_id: str, username: str, received_at: float) -> bool:
        """The processor saw a player's last life go: free the seat, unless they took a new one since.
        Answers whether the player is now finished (for a past session, always)."""
        if self.session is None or session_id != self.session.session_id:
            return True
        if self.seats.get(username) == PLAYING and self.seated_at.get(username, 0.0) > received_at:
            return False
        self.seats[username] = FINISHED
        self.seated_at.pop(username, None)
        return True

    # --- seats ---------------------------------------------------------------------------------------

    def occupied(self) -> int:
        return sum(1 for state in self.seats.values() if state == PLAYING)

    async def allocate(self, username: str) -> str:
        last_life = self.last_life.pop(username, None)
        if last_life is not None:
            # A last life posted but not processed yet frees the seat soon: let the processor see it first,
            # so that "Keep playing." never answers for a seat about to be taken away.
            deadline = time.monotonic() + 2.0
            while self.stream.checkpoint < last_life and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        async with self._lock:
            now = time.time()
            session = self.session
            if not rules.check_allocate(session, self.seats.get(username), self.occupied(), now):
                self.last_seen[username] = now
                return "Keep playing."
            await self.writer.run(self._save_seat, session.session_id, username, PLAYING, False)
            self.seats[username] = PLAYING
            self.seated_at[username] = self.last_seen[username] = now
            self.posted.discard(username)
            return f"Seat allocated in {session.session_id}."

    async def deallocate(self, username: str) -> str:
        async with self._lock:
            return await self._leave(username)

    async def _leave(self, username: str) -> str:
        session = self.session
        if session is None or self.seats.get(username) != PLAYING:
            return "Not seated."
        played = username in self.posted or self.stream.has_played(session.session_id, username)
        state = rules.seat_after_leaving(session, played)
        await self.writer.run(self._save_seat, session.session_id, username, state, played)
        if state is None:
            self.seats.pop(username, None)
        else:
            self.seats[username] = state
        self.seated_at.pop(username, None)
        return "Seat freed."

    @staticmethod
    def _save_seat(conn, session_id: str, username: str, state: str | None, played: bool) -> None:
        with database.transaction(conn):
            database.save_seat(conn, session_id, username, state, played)

    async def players(self, session_id: str) -> dict[str, object]:
        """Seats of a session: live for the current one, as they were left for a past one."""
        session = self.get_session(session_id)
        if session is self.session:
            seats = self.seats
        else:
            seats = {u: s for u, s, _ in await self.writer.run(database.load_seats, session_id) if s}
        playing = sorted(u for u, s in seats.items() if s == PLAYING)
        return {"SessionId": session.session_id, "TotalSeats": session.total_seats, "OccupiedSeats": len(playing),
                "PlayingGamers": playing, "FinishedGamers": sorted(u for u, s in seats.items() if s == FINISHED)}

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
        await self.writer.run(save)
        self.sessions[session.session_id] = session
        if self.session is None or self.session.session_id != session.session_id:
            await self._make_current(session)
            await self.stream.ensure_loaded(session.session_id)
        else:
            self.session = session

    async def open_session(self, name: str, game_type: str, synchronized: bool, timeout: int | None,
                           seats: int) -> Session:
        async with self._lock:
            await self._close_if_due()
            session = rules.open_session(name, game_type, synchronized, time.time(), timeout, seats, self.session)
            await self._save_session(session)
            return session

    async def start_session(self, countdown: float) -> Session:
        async with self._lock:
            session = rules.start_session(self.session, time.time(), countdown)
            await self._save_session(session)
            return session

    async def close_session(self) -> Session:
        async with self._lock:
            await self._close_if_due()
            session = rules.close_session(self.session, time.time())
            await self._save_session(session)
            return session

    async def _close_if_due(self) -> None:
        closed = rules.close_if_due(self.session, time.time())
        if closed is not None:
            await self._save_session(closed)

    async def housekeeping(self) -> None:
        """Close time-constrained sessions at their deadline and free the seats of idle players."""
        async with self._lock:
            await self._close_if_due()
            cutoff = time.time() - self.settings.idle_timeout_seconds
            idle = [u for u, s in self.seats.items() if s == PLAYING and self.last_seen.get(u, 0.0) < cutoff]
            for username in idle:
                log.info("freeing the seat of idle player %s", username)
                await self._leave(username)

    def scoreboard(self, session_id: str, top: int | None) -> list[Entry]:
        self.get_session(session_id)
        return self.stream.scoreboard(session_id, top)

    def rank(self, session_id: str, nickname: str) -> tuple[int, Entry] | None:
        return self.stream.rank(session_id, nickname)

    def board_stats(self, session_id: str) -> dict[str, object]:
        return self.stream.stats(session_id)

    async def load_scoreboard(self, session_id: str) -> None:
        self.get_session(session_id)
        await self.stream.ensure_loaded(session_id)

    def session_list(self) -> list[Session]:
        return sorted(self.sessions.values(), key=lambda s: s.opening_time, reverse=True)
