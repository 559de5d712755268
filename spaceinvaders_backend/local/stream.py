"""The stream processor: plays the role of the original's Kinesis-triggered Lambda.

It reads committed status records after its position, in arrival order, decides each with the core's
`verdict`, applies those that count to each player's board, and saves the boards, the seats of players
who finished, its checkpoint and the session's replay in one transaction, so a crash never counts a
record twice nor skips one.

A record counts only once its fate is settled, so that the board never counts a record the session's
final close drops (and a replay from the stored records ends on the stored board): a record stamped
ahead of the server's clock waits until its stamp has passed, and while a manager's close is being
written, the records it would drop wait until it is. The checkpoint stored is the last record before
the first one waiting: after a restart those are read and decided again (a player's board takes a
record twice as once).

As it counts them, the processor puts each session's records into its replay (`core/replay.py`):
keyframes and chunks stored with its output, so a replay seeks at once, also after a restart. Its
`Complete` is set when the session is closed and every record of it is decided: then the board is final.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import msgspec

from ..core.answers import BoardStats
from ..core.ranking import Entry, RankedBoard
from ..core.records import settles_at
from ..core.replay import Chunk, Keyframe, ReplayIndex, ReplayRecord
from ..core.scoreboard import COUNTS, WAITS, PlayerBoard, SessionBoard, verdict
from ..core.sessions import FINISHED, Session
from . import database
from .records import StatusRecord
from .seats import Seats
from .writer import Writer

CHECKPOINT = "scoreboard"
READ_LIMIT = 20_000
LOST_AFTER_SECONDS = 5.0  # a record given a seq before a close is committed by then, or never


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
                       Entry(*s.current) if s.current else None,
                       s.current_ts if s.current_ts > -1e300 else -math.inf,
                       s.trial_end_ts if s.trial_end_ts > -1e300 else -math.inf)


class StoredSegments:
    """A session's stored replay segments, read on a connection of its own (read-only) when a cursor needs
    them."""

    def __init__(self, db_path: Path, session_id: str) -> None:
        self.db_path = db_path
        self.session_id = session_id
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = database.connect(self.db_path, readonly=True)
        return self._conn

    def keyframe_states(self, number: int) -> bytes:
        return database.replay_states(self._connection(), self.session_id, number)

    def chunk_records(self, number: int) -> bytes:
        return database.replay_records(self._connection(), self.session_id, number)


def load_stored_replay(conn: sqlite3.Connection, db_path: Path, session: Session) -> ReplayIndex | None:
    """A session's replay as stored (None if there is none)."""
    stored = database.load_replay(conn, session.session_id)
    if stored is None:
        return None
    end_at, complete, _resume, keyframes, names = stored
    return ReplayIndex.stored([(n, at, records, json.loads(leaders)) for n, at, records, leaders in keyframes],
                              [json.loads(n) for n in names], StoredSegments(db_path, session.session_id),
                              started_at=session.started_at, end=end_at, complete=complete)


def _save_replay(conn: sqlite3.Connection, session_id: str, index: ReplayIndex, changes: list) -> None:
    keyframes = [(c.number, c.at, c.records, json.dumps(c.leaders), c.states) for c in changes
                 if isinstance(c, Keyframe)]
    chunks = [(c.number, json.dumps(c.names), c.records) for c in changes if isinstance(c, Chunk)]
    database.save_replay(conn, session_id, keyframes, chunks, index.stored_end, index.complete,
                         index.pending_seq())


def _save(conn: sqlite3.Connection, checkpoint: int, boards: list, seats: list, replays: list) -> None:
    """The processor's output, its checkpoint and the replays' new segments, in one transaction."""
    with database.transaction(conn):
        database.save_progress(conn, CHECKPOINT, checkpoint, boards, seats)
        for session_id, index, changes in replays:
            _save_replay(conn, session_id, index, changes)


class SessionStream:
    """What the processor keeps of one session: its board, its replay, its figures since the server started."""

    def __init__(self, players: dict[str, PlayerBoard] | None = None) -> None:
        self.board = SessionBoard(players)
        # The ranking, made now, shows what is saved: `place` moves a player once their records are. Made
        # when first asked for, during a save, it showed records not yet saved nor counted in `records`.
        self.board.ranking  # noqa: B018 (made for its effect)
        self.records = 0  # records counted since the server started
        self.delay: float | None = None  # seconds the oldest record of the last round waited
        # The replay made as records are counted; None for a session from before that (replayed from the log).
        self.index: ReplayIndex | None = None
        self.index_from = -math.inf  # records settled before this are in the stored segments already
        self.last_seq: int | None = None  # once closed: no record of the session comes after this seq


class StreamProcessor:
    """Given the writer (the stream and its storage), every session by id, the current seats, a clock, and
    the last sequence number given to a record."""

    def __init__(self, writer: Writer, sessions: Mapping[str, Session], seats: Seats,
                 clock: Callable[[], float], last_sequence: Callable[[], int] = lambda: 0,
                 db_path: Path | None = None) -> None:
        self.writer = writer
        self._sessions = sessions
        self._seats = seats
        self._clock = clock
        self._last_sequence = last_sequence
        self._db_path = db_path
        self.checkpoint = 0  # every record up to it is decided
        self._position = 0  # the last record read
        self._last_received = -math.inf  # its arrival: every record read later arrived no earlier
        self._waiting: list[StatusRecord] = []  # records read whose fate is not settled yet, in seq order
        self._closing: dict[str, float] = {}  # session -> ClosingTime of a close being written
        self._advanced = asyncio.Condition()  # notified each time records are decided
        self._streams: dict[str, SessionStream] = {}

    async def load(self, session_ids: list[str]) -> None:
        self.checkpoint = self._position = await self.writer.run(database.checkpoint, CHECKPOINT)
        unfinished = await self.writer.run(database.incomplete_replays)
        for sid in dict.fromkeys([*session_ids, *unfinished]):
            if sid in self._sessions:
                await self._load_stream(sid)

    async def _load_stream(self, session_id: str) -> SessionStream:
        rows = await self.writer.run(database.load_boards, session_id)
        stream = self._streams[session_id] = SessionStream({nick: _load(text) for nick, text in rows})
        session = self._sessions[session_id]
        if self._db_path is None:
            return stream
        stored = await self.writer.run(self._stored_replay, session)
        if stored is not None:
            index, resume_seq = stored
            stream.index = index
            if not index.complete:  # go on from its last keyframe: the records of its open chunk again
                index.resume()
                stream.index_from = index.keyframe_at[-1] if index.keyframe_at else -math.inf
                if resume_seq is not None and resume_seq <= self._position:
                    self._position = resume_seq - 1
        elif not rows:
            stream.index = ReplayIndex(session.started_at)  # a new session: its replay is made as it goes
            stream.index.source = StoredSegments(self._db_path, session_id)
        return stream

    def _stored_replay(self, conn: sqlite3.Connection, session: Session) -> tuple[ReplayIndex, int | None] | None:
        index = load_stored_replay(conn, self._db_path, session)
        if index is None:
            return None
        return index, database.load_replay(conn, session.session_id)[2]

    async def _next_records(self) -> list[StatusRecord]:
        records = self.writer.recent(self._position, READ_LIMIT)
        if records is None:  # not in memory (a failed commit, a restart): read the stream itself
            records = await self.writer.run(database.read_status_after, self._position, READ_LIMIT)
        return records

    @contextlib.contextmanager
    def closing(self, session: Session) -> Iterator[None]:
        """The close of `session` (at its ClosingTime) is being written: until it is, or fails, the records
        it would drop wait, so none is counted that the close then drops."""
        self._closing[session.session_id] = session.closing_time
        try:
            yield
        finally:
            self._closing.pop(session.session_id, None)

    def _decided(self, seq: int) -> bool:
        return seq <= self._position and all(r.seq != seq for r in self._waiting)

    async def wait_processed(self, seq: int, timeout: float) -> bool:
        """Wait until the record `seq` is decided, at most `timeout` seconds; answers whether it is."""
        async with self._advanced:
            try:
                await asyncio.wait_for(self._advanced.wait_for(lambda: self._decided(seq)), timeout)
            except TimeoutError:
                return False
        return True

    async def tick(self) -> int:
        """Decide what is new and what waited; answers how many records were read."""
        records = await self._next_records()
        for sid in {r.session_id for r in records}:
            if sid in self._sessions and sid not in self._streams:
                await self._load_stream(sid)  # an older session's records after a crash: its stored boards first
        if not records and self._unfinished():
            await self._forget_lost_records()
        if not records and not self._waiting and not self._unfinished():
            return 0
        # From here to the save, nothing awaits: the sessions, the closes being written and the clock are
        # read at one moment.
        now = self._clock()
        changed: dict[tuple[str, str], PlayerBoard] = {}
        finished: list[tuple[str, str, float]] = []
        counted: dict[str, list] = {}  # session -> [earliest receive time, records] of this round
        waiting: list[StatusRecord] = []
        for record in (*self._waiting, *records):
            sid, nick, ts, received_at = record.session_id, record.nickname, record.ts, record.received_at
            session = self._sessions.get(sid)
            if session is None:
                continue
            stream = self._streams[sid]
            fate = verdict(ts, received_at, session.closes_at(), self._open_until(session, now))
            if fate != COUNTS:
                if fate == WAITS:
                    waiting.append(record)
                continue
            taken, ended = stream.board.apply(nick, Entry(nick, record.score, record.shots, record.level,
                                                          record.lives), ts)
            if stream.index is not None and settles_at(ts, received_at) >= stream.index_from:
                stream.index.add((ReplayRecord(nick, record.score, record.shots, record.level, record.lives, ts,
                                               received_at, record.seq),))
            round_stats = counted.get(sid)
            if round_stats is None:
                counted[sid] = [received_at, 1]
            else:
                round_stats[0] = min(round_stats[0], received_at)
                round_stats[1] += 1
            if taken:
                changed[(sid, nick)] = stream.board.players[nick]
            if ended:
                finished.append((sid, nick, received_at))
        if records:
            self._position = records[-1].seq
            self._last_received = max(self._last_received, records[-1].received_at)
        self._waiting = waiting
        checkpoint = waiting[0].seq - 1 if waiting else self._position
        replays = self._replay_changes()
        # The seats decide first: a player who already took a new seat keeps it, in memory and on disk.
        freed = [(sid, nick, FINISHED) for sid, nick, received_at in finished
                 if self._seats.trial_ended(sid, nick, received_at)]
        await self.writer.run(_save, checkpoint, [(sid, nick, _dump(b)) for (sid, nick), b in changed.items()],
                              freed, replays)
        for _sid, index, _changes in replays:
            index.release()  # their bytes are stored: read back when a replay needs them
        async with self._advanced:
            self.checkpoint = checkpoint
            self._advanced.notify_all()
        done = self._clock()
        for sid, (received_at, count) in counted.items():
            stream = self._streams[sid]
            stream.delay = max(0.0, done - received_at)
            stream.records += count
        for sid, nick in changed:
            self._streams[sid].board.place(nick)
        return len(records)

    def _open_until(self, session: Session, now: float) -> float:
        """Up to when a session is known to stay open: closed, it is decided by its close alone; open, no
        close comes before the clock, nor before a close being written."""
        if session.closing_time is not None:
            return math.inf
        return min(now, self._closing.get(session.session_id, math.inf))

    async def _forget_lost_records(self) -> None:
        """A closed session's last seq may name records never stored (their commit failed, the post got a
        503): once the log holds nothing after the position, a while after the close, none is to come."""
        stored = await self.writer.run(database.last_seq)
        now = self._clock()
        for sid, stream in self._streams.items():
            closed_at = self._sessions[sid].closing_time
            if (stream.last_seq is not None and stream.last_seq > self._position >= stored
                    and closed_at is not None and now - closed_at > LOST_AFTER_SECONDS):
                stream.last_seq = self._position

    def _unfinished(self) -> bool:
        """A closed session's replay is still to be completed."""
        return any(s.index is not None and not s.index.complete and self._sessions[sid].closing_time is not None
                   for sid, s in self._streams.items())

    def _replay_changes(self) -> list[tuple[str, ReplayIndex, list]]:
        """Each replay made as it goes indexes what no later record can settle before; a closed session's is
        completed once every record of it is decided. Answers what to store."""
        out = []
        for sid, stream in self._streams.items():
            index = stream.index
            if index is None or index.complete:
                continue
            session = self._sessions[sid]
            if index.started_at is None:
                index.started_at = session.started_at
            if session.closing_time is not None and stream.last_seq is None:
                stream.last_seq = self._last_sequence()  # it is closed: no record of it is given a later seq
            waits = [settles_at(r.ts, r.received_at) for r in self._waiting if r.session_id == sid]
            if stream.last_seq is not None and self._position >= stream.last_seq and not waits:
                index.finish()
            else:
                # Records read later arrived no earlier than the last one read; waiting ones settle later.
                index.commit(math.nextafter(min([self._last_received, *waits]), -math.inf))
            changes = index.take_changes()
            if changes or index.complete or index.pending_seq() is not None:
                out.append((sid, index, changes))
        return out

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

    def replay(self, session_id: str) -> ReplayIndex | None:
        """The replay this processor makes of a session as it goes (None: a session from before, or not loaded)."""
        stream = self._streams.get(session_id)
        return None if stream is None else stream.index

    def _ranking(self, session_id: str) -> RankedBoard:
        stream = self._streams.get(session_id)
        return stream.board.ranking if stream is not None else RankedBoard()  # not loaded: nothing known

    async def ensure_loaded(self, session_id: str) -> None:
        if session_id not in self._streams:
            await self._load_stream(session_id)
