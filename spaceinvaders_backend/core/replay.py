"""A session replayed from its counted records: the board at any moment, ranked by the live board's rules.

The index holds the records that count (whoever feeds it has judged them: the local stream processor as
it counts them, or a reader of a closed session's records with `scoreboard.counts`). Each sits on the
replay's timeline at the moment its fate was settled (`records.settles_at`: its arrival, or its stamp if
later), when the live board could first show it. Records go through the core's `SessionBoard`, and a
player's board depends only on which records count (`core/scoreboard.py`), so the replay's last frame is
the stored final board, and every frame is the board of the records settled by its moment.

`ReplayIndex` takes records in any order (`add`) and orders them up to a moment no earlier record can
still come before (`commit`): every KEYFRAME_SECONDS of the timeline it keeps a keyframe (every
player's board, and the top ten for the leaders' chart) and, compressed, the records up to the next one
(a chunk). A keyframe and its chunk are a segment; `take_changes` hands new ones to whoever stores them,
and an index made from stored segments (`ReplayIndex.stored`) reads their bytes only when a cursor needs
them. `ReplayCursor` shows the board at any moment: the keyframe at or before it, then the records after
it, so a seek anywhere costs one keyframe and at most KEYFRAME_SECONDS of records; going forward by small
steps it only plays the records in between. Nothing here reads or writes storage.
"""
from __future__ import annotations

import heapq
import math
import zlib
from bisect import bisect_right
from collections.abc import Iterable
from typing import NamedTuple, Protocol

import msgspec

from .ranking import Entry, rank_key
from .records import settles_at
from .scoreboard import NEVER, PlayerBoard, SessionBoard

KEYFRAME_SECONDS = 2.0
CHART_TOP = 10  # players whose scores the leaders' chart can show (the live console keeps ten too)
CHART_POINTS = 240  # per leader in a frame: more than a chart's width in braille dots adds nothing
COMPRESSION = 1  # zlib level: the chunks are small and read often

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class ReplayRecord(NamedTuple):
    """One stored status record that counts, as the replay needs it."""

    nickname: str
    score: int
    shots: int
    level: int
    lives: int
    ts: float  # its Timestamp, epoch seconds
    received_at: float  # when the backend accepted it, epoch seconds
    seq: int = 0  # its place in the local server's log (0 where there is none)


class Keyframe(NamedTuple):
    """A keyframe as stored: made when the timeline passed `at`, holding every record settled before."""

    number: int
    at: float
    records: int  # records before it
    leaders: list  # [[Nickname, Score]...]: the top CHART_TOP at `at`
    states: bytes  # compressed msgpack: [[name, best or None, current or None, current_ts, trial_end_ts]...]


class Chunk(NamedTuple):
    """The records from keyframe `number` up to the next, as stored once the next keyframe is made."""

    number: int
    names: list[str]  # players first seen in it (their ids follow those of the earlier chunks)
    records: bytes  # compressed msgpack: [[moment, player id, score, shots, level, lives, ts]...]


class SegmentSource(Protocol):
    """Where an index made from stored segments reads their bytes."""

    def keyframe_states(self, number: int) -> bytes: ...

    def chunk_records(self, number: int) -> bytes: ...


def _state(name: str, board: PlayerBoard) -> list:
    return [name, board.best_finished and list(board.best_finished)[1:], board.current and list(board.current)[1:],
            max(board.current_ts, -1e300), max(board.trial_end_ts, -1e300)]


def _board(state: list) -> tuple[str, PlayerBoard]:
    name, best, current, current_ts, trial_end_ts = state
    return name, PlayerBoard(Entry(name, *best) if best else None, Entry(name, *current) if current else None,
                             current_ts if current_ts > -1e300 else NEVER,
                             trial_end_ts if trial_end_ts > -1e300 else NEVER)


def board_states(states: bytes) -> dict[str, PlayerBoard]:
    """A keyframe's boards, by player."""
    return dict(_board(state) for state in _decode(zlib.decompress(states)))


def _top(board: SessionBoard) -> list:
    entries = (b.entry for b in board.players.values() if b.entry is not None)
    return [[e.nickname, e.score] for e in heapq.nsmallest(CHART_TOP, entries, key=rank_key)]


class ReplayIndex:
    """Keyframes and compressed records of one session's counted records, on the timeline of their
    settle moments. `started_at`: the session's start, where the replay begins if known before its
    first record (the owner may set it later, before the first commit)."""

    def __init__(self, started_at: float | None = None, keyframe_seconds: float = KEYFRAME_SECONDS) -> None:
        self.started_at = started_at
        self.keyframe_seconds = keyframe_seconds
        self.start: float | None = None  # the first keyframe's moment: the session's start or first record
        self.end: float | None = None  # the latest settle moment of a record indexed
        self.records = 0  # records in the chunks, the open one too
        self.complete = False
        self.committed_to = -math.inf  # every counted record settled by then is indexed
        self.keyframe_at: list[float] = []
        self.keyframe_records: list[int] = []
        self.names: list[str] = []  # player ids in the chunks -> Nickname
        self.leaders: dict[str, tuple[list[float], list[int]]] = {}  # name -> (keyframe moments, scores)
        self.source: SegmentSource | None = None  # stored segments not held in memory
        self._ids: dict[str, int] = {}
        self._names_from = 0  # names[_names_from:] were first seen in the open chunk
        self._board = SessionBoard()
        self._buffer: list[tuple] = []  # added, not committed: (moment, seq, name, score, shots, level, lives, ts)
        self._open: list[list] = []  # the open chunk: [moment, player id, score, shots, level, lives, ts]
        # (keyframe number, its open chunk) as readers see it: replaced in one assignment, see `_keyframe`.
        self._open_chunk: tuple[int, list[list]] = (-1, self._open)
        self._open_seq = 0  # the lowest seq in the open chunk (0: none)
        self._states: dict[int, bytes] = {}  # keyframes held in memory
        self._chunks: dict[int, bytes] = {}  # closed chunks held in memory
        self._changes: list[Keyframe | Chunk] = []  # made since `take_changes`

    @classmethod
    def stored(cls, keyframes: list[tuple[int, float, int, list]], chunk_names: list[list[str]],
               source: SegmentSource, *, started_at: float | None, end: float | None, complete: bool,
               keyframe_seconds: float = KEYFRAME_SECONDS) -> ReplayIndex:
        """An index from its stored segments: the keyframes' (number, at, records, leaders) and the closed
        chunks' names, in order; their bytes are read from `source` when needed. A complete index is read
        as it is; an incomplete one goes on from its last keyframe (`resume`)."""
        index = cls(started_at, keyframe_seconds)
        index.source = source
        for number, at, records, leaders in keyframes:
            assert number == len(index.keyframe_at), "keyframes are stored one after another"
            index.keyframe_at.append(at)
            index.keyframe_records.append(records)
            index._add_leaders(at, leaders)
        for names in chunk_names:
            for name in names:
                index._ids[name] = len(index.names)
                index.names.append(name)
        index._names_from = len(index.names)
        index._open_chunk = (len(index.keyframe_at) - 1, index._open)
        if index.keyframe_at:
            index.start = index.keyframe_at[0]
            index.records = index.keyframe_records[-1]
            index.committed_to = index.keyframe_at[-1]
        index.end, index.complete = end, complete
        if complete:
            index.committed_to = math.inf
        return index

    def resume(self) -> None:
        """Before going on with a stored, incomplete index: its last keyframe's boards, to play onto."""
        if self.keyframe_at:
            self._board = SessionBoard(board_states(self.states(len(self.keyframe_at) - 1)))

    # --- building ------------------------------------------------------------------------------------
    def add(self, records: Iterable[ReplayRecord]) -> None:
        """Counted records, in any order; indexed once committed."""
        buffer = self._buffer
        for name, score, shots, level, lives, ts, received_at, seq in records:
            buffer.append((settles_at(ts, received_at), seq, name, score, shots, level, lives, ts))

    def commit(self, upto: float) -> None:
        """Index the records added that settled by `upto`: no record added later may settle before it."""
        buffer = self._buffer
        if buffer:
            buffer.sort(key=_moment)  # stable: records of one moment keep the order they were added in
            cut = bisect_right(buffer, upto, key=_moment)
            ready, self._buffer = buffer[:cut], buffer[cut:]
            self._index(ready)
        self.committed_to = max(self.committed_to, upto)

    def feed(self, records: Iterable[ReplayRecord], upto: float | None = None) -> None:
        """`add` then `commit` (to `upto`, or to the last record's arrival: for records read in the order
        they arrived, none read later can settle before it)."""
        records = list(records)
        self.add(records)
        if upto is None:
            if not records:
                return
            upto = records[-1].received_at
        self.commit(upto)

    def finish(self) -> None:
        """Every record is in: commit them all and close the last chunk (a last keyframe holds the final
        board). Once is enough: a second call changes nothing."""
        if self.complete:
            return
        self.commit(math.inf)
        if self.start is not None:
            at = max(self.end if self.end is not None else self.start, self.keyframe_at[-1]) + 1e-6
            self._keyframe(at)
            self._close_chunk()
        self.complete = True

    def pending_seq(self) -> int | None:
        """The lowest seq of the records not yet in a closed chunk (None when there are none): what must be
        read again to go on after a restart, from `resume`."""
        seqs = [seq for _, seq, *_ in self._buffer if seq]
        if self._open_seq:
            seqs.append(self._open_seq)
        return min(seqs) if seqs else None

    def take_changes(self) -> list[Keyframe | Chunk]:
        """The keyframes and closed chunks made since the last call, for storing."""
        changes, self._changes = self._changes, []
        return changes

    def release(self) -> None:
        """Forget the bytes of stored segments (they are read from `source` when needed)."""
        if self.source is None:
            return
        last = len(self.keyframe_at) - 1
        self._states = {n: s for n, s in self._states.items() if n == last}
        self._chunks.clear()

    def _index(self, ready: list[tuple]) -> None:
        if not ready:
            return
        board, ids, names = self._board, self._ids, self.names
        next_keyframe = self._next_keyframe()
        for at, seq, name, score, shots, level, lives, ts in ready:
            if self.end is not None and at < self.end:
                at = self.end  # added after a commit past its moment (a caller's promise broken): shown late
            if self.start is None:
                began = self.started_at
                start = min(at, began) if began is not None else at
                self._keyframe(start)
                self.start = start  # after its keyframe: a reader that sees a start finds the keyframe
                next_keyframe = self._next_keyframe()
            if at >= next_keyframe:  # the keyframe of the step this record falls in
                step = self.start + self.keyframe_seconds * int((at - self.start) / self.keyframe_seconds)
                self._keyframe(max(step, next_keyframe))  # max: a rounding never repeats a moment
                next_keyframe = self._next_keyframe()
            pending = self._open
            board.apply(name, Entry(name, score, shots, level, lives), ts)
            player = ids.get(name)
            if player is None:
                player = ids[name] = len(names)
                names.append(name)
            pending.append([at, player, score, shots, level, lives, ts])
            if seq and (not self._open_seq or seq < self._open_seq):
                self._open_seq = seq
            self.records += 1
            if self.end is None or at > self.end:
                self.end = at

    def _next_keyframe(self) -> float:
        return self.keyframe_at[-1] + self.keyframe_seconds if self.keyframe_at else math.inf

    def _keyframe(self, at: float) -> None:
        """A new keyframe and its open chunk. A cursor may read the index from another thread (the archive's
        reader builds it in one): everything a reader needs of the keyframe is in place before its moment
        is appended to `keyframe_at`, which makes it visible."""
        if self.keyframe_at:
            self._close_chunk()
        number = len(self.keyframe_at)
        states = zlib.compress(_encode([_state(name, b) for name, b in self._board.players.items()]), COMPRESSION)
        leaders = _top(self._board)
        self._states[number] = states
        self._open, self._open_seq = [], 0
        self._open_chunk = (number, self._open)
        self.keyframe_records.append(self.records)
        self._add_leaders(at, leaders)
        self.keyframe_at.append(at)
        self._changes.append(Keyframe(number, at, self.records, leaders, states))

    def _close_chunk(self) -> None:
        number = len(self.keyframe_at) - 1
        records = zlib.compress(_encode(self._open), COMPRESSION)
        self._chunks[number] = records
        self._changes.append(Chunk(number, self.names[self._names_from:], records))
        self._names_from = len(self.names)
        self._open_seq = 0  # its records are in a closed chunk (the list stays whole for cursors holding it)

    def _add_leaders(self, at: float, leaders: list) -> None:
        for name, score in leaders:
            moments, scores = self.leaders.setdefault(name, ([], []))
            moments.append(at)
            scores.append(score)

    # --- reading ---------------------------------------------------------------------------------------
    @property
    def indexed_to(self) -> float | None:
        """The latest moment a cursor can show exactly (every record settled before it is indexed)."""
        if self.start is None:
            return None
        if self.complete:
            return self.end if self.end is not None else self.start
        return max(self.start, min(self.committed_to, self.end if self.end is not None else self.start))

    def keyframe_before(self, at: float) -> int:
        return max(0, bisect_right(self.keyframe_at, at) - 1)

    def states(self, keyframe: int) -> bytes:
        states = self._states.get(keyframe)
        if states is None:
            states = self.source.keyframe_states(keyframe)
        return states

    def chunk(self, keyframe: int) -> list:
        """The records after `keyframe` up to the next one, as [moment, player id, score, shots, level,
        lives, ts] (`names[player id]` is the Nickname)."""
        number, records_open = self._open_chunk
        if keyframe == number:
            # The open chunk itself, not a copy: a cursor holding it sees the records appended since (in
            # the order of their moments), and once closed, this list holds the whole chunk.
            return records_open
        records = self._chunks.get(keyframe)
        if records is None:
            records = self.source.chunk_records(keyframe)
        return _decode(zlib.decompress(records))

    def series(self, name: str, at: float, points: int = CHART_POINTS) -> list[tuple[float, int]]:
        """A leader's score at the keyframes up to `at` where they were in the top ten (at most `points`
        of them, evenly spread, the newest always)."""
        known = self.leaders.get(name)
        if known is None:
            return []
        moments, scores = known
        upto = bisect_right(moments, at)
        step = max(1, upto // points)
        picked = list(range(upto - 1, -1, -step))[::-1]
        return [(moments[i], scores[i]) for i in picked]


def _moment(item: tuple) -> float:
    return item[0]


class ReplayCursor:
    """The board of an index at one moment, kept ranked as the moment moves."""

    def __init__(self, index: ReplayIndex) -> None:
        self.index = index
        self.board = SessionBoard()
        self.at: float | None = None
        self._keyframe = -1
        self._chunk: list = []
        self._played = 0  # records of the chunk applied

    def seek(self, at: float) -> float:
        """Move to the moment `at` (clamped to what is indexed); answers the moment shown."""
        index = self.index
        limit = index.indexed_to
        if index.start is None or limit is None:
            return at
        at = min(max(at, index.start), limit)
        keyframe = index.keyframe_before(at)
        if keyframe != self._keyframe or self.at is None or at < self.at:
            self._load(keyframe)
        board, chunk, names = self.board, self._chunk, index.names
        played = self._played
        changed = []
        while played < len(chunk) and chunk[played][0] <= at:
            _moment_of, player, score, shots, level, lives, ts = chunk[played]
            name = names[player]
            if board.apply(name, Entry(name, score, shots, level, lives), ts)[0]:
                changed.append(name)
            played += 1
        if len(changed) > len(board.players) // 4:
            board.forget_ranking()  # one sort when next asked for beats moving most players one by one
        else:
            for name in changed:
                board.place(name)
        self._played = played
        self.at = at
        return at

    def _load(self, keyframe: int) -> None:
        # Ranked when first asked for (one sort after the records up to the moment are played), then kept
        # in step as the following records are played.
        self.board = SessionBoard(board_states(self.index.states(keyframe)))
        self._keyframe = keyframe
        self._chunk = self.index.chunk(keyframe)
        self._played = 0

    def entries(self, count: int | None = None) -> list[Entry]:
        return self.board.ranking.top(count)

    def finished(self) -> list[str]:
        """Players whose last trial ended and who have not started another."""
        return [name for name, b in self.board.players.items() if b.current is None and b.best_finished]


class ReplayFrame(msgspec.Struct, kw_only=True):
    """The board of a session at one moment of its replay (`GET /manager/replay` answers this)."""

    SessionId: str
    At: float  # the moment shown, epoch seconds (the backend's clock)
    Start: float | None  # the replay's first moment: the session's start or its first record
    End: float | None  # the latest moment a counted record settled
    IndexedTo: float | None  # up to where the replay can be shown (End once Complete)
    Complete: bool  # every record is indexed (a closed session whose board is final)
    Records: int  # records indexed
    Board: list[tuple[str, int, int, int, int]]  # [Nickname, Score, Shots, Level, Lives] in rank order
    Finished: list[str]
    Leaders: dict[str, list[tuple[float, int]]]  # the top CHART_TOP's scores at keyframes, up to At


def frame_of(cursor: ReplayCursor, session_id: str, at: float | None, leaders: int = 5) -> ReplayFrame:
    """The frame at `at` (None: the replay's start), with the chart's series of the first `leaders`."""
    index = cursor.index
    shown = cursor.seek(at if at is not None else (index.start or 0.0))
    entries = cursor.entries()
    return ReplayFrame(
        SessionId=session_id, At=shown, Start=index.start, End=index.end, IndexedTo=index.indexed_to,
        Complete=index.complete, Records=index.records,
        Board=[(e.nickname, e.score, e.shots, e.level, e.lives) for e in entries],
        Finished=cursor.finished(),
        Leaders={e.nickname: index.series(e.nickname, shown) for e in entries[:leaders]},
    )
