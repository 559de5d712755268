"""The stream processor: plays the role of the original's Kinesis-triggered Lambda.

It reads committed status records after its checkpoint, in arrival order, applies them to each
player's board, and saves the boards, the seats of players who finished, and the new checkpoint in one
transaction, so a crash never counts a record twice nor skips one.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import msgspec

from ..core.answers import BoardStats
from ..core.ranking import Entry, RankedBoard
from ..core.scoreboard import PlayerBoard, SessionBoard
from ..core.sessions import FINISHED, Session
from . import database
from .records import StatusRecord
from .seats import Seats
from .writer import Writer

CHECKPOINT = "scoreboard"
READ_LIMIT = 20_000


class _StoredBoard(msgspec.Struct, array_like=True):
    best_finished: tuple | None
    current: tuple | None
    current_ts: float
    trial_end_ts: float


def _dump(board: PlayerBoard) -> str:
    return msgspec.json.encode(_StoredBoard(board.best_finished, board.current,
                                            max(board.current_ts, -1e300),
                                            max(board.trial_end_ts, -1e300))).decode()


def _load(text: str) -> PlayerBoard:
    s = msgspec.json.decode(text, type=_StoredBoard)
    return PlayerBoard(Entry(*s.best_finished) if s.best_finished else None,
                       Entry(*s.current) if s.current else None, s.current_ts, s.trial_end_ts)


class SessionStream:
    """What the processor keeps of one session: its board, and its figures since the server started."""

    def __init__(self, players: dict[str, PlayerBoard] | None = None) -> None:
        self.board = SessionBoard(players)
        self.records = 0  # records processed since the server started
        self.delay: float | None = None  # seconds the oldest record of the last round waited


class StreamProcessor:
    """Given the writer (the stream and its storage), every session by id, the current seats, a clock."""

    def __init__(self, writer: Writer, sessions: Mapping[str, Session], seats: Seats,
                 clock: Callable[[], float]) -> None:
        self.writer = writer
        self._sessions = sessions
        self._seats = seats
        self._clock = clock
        self.checkpoint = 0
        self._advanced = asyncio.Condition()  # notified each time the checkpoint moves
        self._streams: dict[str, SessionStream] = {}

    async def load(self, session_ids: list[str]) -> None:
        self.checkpoint = await self.writer.run(database.checkpoint, CHECKPOINT)
        for sid in session_ids:
            await self._load_stream(sid)

    async def _load_stream(self, session_id: str) -> SessionStream:
        rows = await self.writer.run(database.load_boards, session_id)
        stream = self._streams[session_id] = SessionStream({nick: _load(text) for nick, text in rows})
        return stream

    async def _next_records(self) -> list[StatusRecord]:
        records = self.writer.recent(self.checkpoint, READ_LIMIT)
        if records is None:  # not in memory (a failed commit, a restart): read the stream itself
            records = await self.writer.run(database.read_status_after, self.checkpoint, READ_LIMIT)
        return records

    async def wait_processed(self, seq: int, timeout: float) -> bool:
        """Wait until the record `seq` is processed, at most `timeout` seconds; answers whether it is."""
        async with self._advanced:
            try:
                await asyncio.wait_for(self._advanced.wait_for(lambda: self.checkpoint >= seq), timeout)
            except TimeoutError:
                return False
        return True

    async def tick(self) -> int:
        """Process what is new; answers how many records were read."""
        records = await self._next_records()
        if not records:
            return 0
        changed: dict[tuple[str, str], PlayerBoard] = {}
        finished: list[tuple[str, str, float]] = []
        counted: dict[str, list] = {}  # session -> [earliest receive time, records] of this round
        sessions: dict[str, tuple[float | None, SessionStream] | None] = {}
        for record in records:
            sid, nick, ts, received_at = record.session_id, record.nickname, record.ts, record.received_at
            known = sessions.get(sid, False)
            if known is False:
                session = self._sessions.get(sid)
                stream = self._streams.get(sid)
                if session is not None and stream is None:
                    # An older session's records after a crash: its stored boards first, not empty ones.
                    stream = await self._load_stream(sid)
                known = sessions[sid] = None if session is None else (session.closes_at(), stream)
            if known is None:
                continue
            closes_at, stream = known
            counts, taken, ended = stream.board.apply(
                nick, Entry(nick, record.score, record.shots, record.level, record.lives), ts, received_at,
                closes_at)
            if not counts:
                continue
            round_stats = counted.get(sid)
            if round_stats is None:
                counted[sid] = [received_at, 1]  # rows come in arrival order: the first is the oldest
            else:
                round_stats[1] += 1
            if taken:
                changed[(sid, nick)] = stream.board.players[nick]
            if ended:
                finished.append((sid, nick, received_at))
        last = records[-1].seq
        # The seats decide first: a player who already took a new seat keeps it, in memory and on disk.
        freed = [(sid, nick, FINISHED) for sid, nick, received_at in finished
                 if self._seats.trial_ended(sid, nick, received_at)]
        await self.writer.run(
            database.save_progress, CHECKPOINT, last,
            [(sid, nick, _dump(b)) for (sid, nick), b in changed.items()], freed,
        )
        async with self._advanced:
            self.checkpoint = last
            self._advanced.notify_all()
        done = self._clock()
        for sid, (received_at, count) in counted.items():
            stream = self._streams[sid]
            stream.delay = max(0.0, done - received_at)
            stream.records += count
        for sid, nick in changed:
            self._streams[sid].board.place(nick)
        return len(records)

    def has_played(self, session_id: str, nickname: str) -> bool:
        stream = self._streams.get(session_id)
        return stream is not None and nickname in stream.board.players

    def rank(self, session_id: str, nickname: str) -> tuple[int, Entry] | None:
        """A player's 1-based rank on the session's board and their entry; None when not on it."""
        return self._ranking(session_id).rank(nickname)

    def stats(self, session_id: str) -> BoardStats:
        stream = self._streams.get(session_id)
        return BoardStats(Records=stream.records if stream else 0, Delay=stream.delay if stream else None)

    def scoreboard(self, session_id: str, top: int | None = None) -> list[Entry]:
        """The ranked board of a session held in memory (the current one and those seen since start)."""
        return self._ranking(session_id).top(top)

    def _ranking(self, session_id: str) -> RankedBoard:
        stream = self._streams.get(session_id)
        return stream.board.ranking if stream is not None else RankedBoard()  # not loaded: nothing known

    async def ensure_loaded(self, session_id: str) -> None:
        if session_id not in self._streams:
            await self._load_stream(session_id)
