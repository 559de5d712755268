"""A session replayed from its stored records: the board at any moment, ranked by the live board's rules.

A session's records, in arrival order, go through the core's `SessionBoard` exactly as the local stream
processor applies them (best trial in MULTIPLE_TRIALS, a finished player stays finished, the contract's
tie-break, records after the close dropped), so the replay's last frame is the stored final board.

`ReplayIndex` is built as the records are fed, so a replay can start before the last record is read:
every KEYFRAME_SECONDS of arrival time it keeps a keyframe (every player's board, and the top ten for the
leaders' chart) and, compressed, the records since the previous keyframe. `ReplayCursor` shows the board
at any moment: it loads the keyframe at or before that moment and plays the records after it, so a seek
anywhere costs one keyframe and at most KEYFRAME_SECONDS of records; going forward by small steps it
only plays the records in between. Neither reads nor writes anything: the local server feeds an index
from its log, the manager's console from the AWS archive.
"""
from __future__ import annotations

import heapq
import zlib
from bisect import bisect_right
from collections.abc import Iterable
from typing import NamedTuple

import msgspec

from .ranking import Entry, rank_key
from .scoreboard import PlayerBoard, SessionBoard
from .sessions import Session

KEYFRAME_SECONDS = 2.0
CHART_TOP = 10  # players whose scores the leaders' chart can show (the live console keeps ten too)
CHART_POINTS = 240  # per leader in a frame: more than a chart's width in braille dots adds nothing
COMPRESSION = 1  # zlib level: the chunks are small and read often

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class ReplayRecord(NamedTuple):
    """One stored status record, as the replay needs it (arrival order is the order fed)."""

    nickname: str
    score: int
    shots: int
    level: int
    lives: int
    ts: float  # its Timestamp, epoch seconds
    received_at: float  # when the backend accepted it, epoch seconds


class Keyframe(NamedTuple):
    at: float  # the state after every record that arrived before this moment
    records: int  # records fed before it
    states: bytes  # compressed msgpack: [name, best or None, current or None, current_ts, trial_end_ts]...


def _state(name: str, board: PlayerBoard) -> list:
    return [name, board.best_finished and list(board.best_finished)[1:], board.current and list(board.current)[1:],
            max(board.current_ts, -1e300), max(board.trial_end_ts, -1e300)]


def _board(state: list) -> tuple[str, PlayerBoard]:
    name, best, current, current_ts, trial_end_ts = state
    return name, PlayerBoard(Entry(name, *best) if best else None, Entry(name, *current) if current else None,
                             current_ts, trial_end_ts)


class ReplayIndex:
    """Keyframes and compressed records of one session, built as its records are fed in arrival order."""

    def __init__(self, session: Session, keyframe_seconds: float = KEYFRAME_SECONDS) -> None:
        self.session = session
        self.closes_at = session.closes_at()
        self.keyframe_seconds = keyframe_seconds
        self.keyframes: list[Keyframe] = []
        self._keyframe_at: list[float] = []
        self._chunks: list[bytes] = []  # chunk i: the records between keyframe i and i + 1
        self._pending: list[tuple] = []  # [player id, score, shots, level, lives, ts, received_at]
        self._ids: dict[str, int] = {}
        self.names: list[str] = []  # player ids in the chunks -> Nickname
        self._board = SessionBoard()
        self.leaders: dict[str, tuple[list[float], list[int]]] = {}  # name -> (keyframe moments, scores)
        self.records = 0
        self.start: float | None = None  # the first keyframe's moment: the session's start or first record
        self.end: float | None = None  # the newest record's arrival
        self.latest_ts = float("-inf")  # the latest Timestamp fed
        self.complete = False

    # --- building ------------------------------------------------------------------------------------
    def feed(self, records: Iterable[ReplayRecord]) -> None:
        board, closes_at, ids, names = self._board, self.closes_at, self._ids, self.names
        next_keyframe = self._next_keyframe()
        pending, fed, end, latest_ts = self._pending, 0, self.end, self.latest_ts
        for name, score, shots, level, lives, ts, at in records:
            if at >= next_keyframe or self.start is None:
                self.records += fed
                fed = 0
                if self.start is None:
                    began = self.session.started_at
                    start = min(at, began) if began is not None else at
                    self._keyframe(start)
                    self.start = start  # only now: a reader seeing a start finds its keyframe
                else:
                    self._keyframe(self.start + self.keyframe_seconds * int((at - self.start) / self.keyframe_seconds))
                next_keyframe = self._next_keyframe()
                pending = self._pending
            board.apply(name, Entry(name, score, shots, level, lives), ts, at, closes_at)
            player = ids.get(name)
            if player is None:
                player = ids[name] = len(names)
                names.append(name)
            pending.append((player, score, shots, level, lives, ts, at))
            fed += 1
            if end is None or at > end:
                end = self.end = at
            if ts > latest_ts:
                latest_ts = self.latest_ts = ts
        self.records += fed

    def reclose(self, session: Session) -> bool:
        """The session closed (or will, at a deadline) since its indexing began: the index is kept when
        the close drops none of the records fed so far (then later ones are judged by the new close);
        answers whether it was kept (if not, index the session again)."""
        closes_at = session.closes_at()
        if closes_at is not None and (self.latest_ts > closes_at or (self.end or float("-inf")) > closes_at):
            return False
        self.session, self.closes_at = session, closes_at
        return True

    def finish(self) -> None:
        """Every record is fed: the last chunk is closed (a last keyframe holds the final board)."""
        if self.start is not None:
            self._keyframe(max(self.end or self.start, self._keyframe_at[-1]) + 1e-6)
        self.complete = True

    def _next_keyframe(self) -> float:
        return self._keyframe_at[-1] + self.keyframe_seconds if self._keyframe_at else float("inf")

    def _keyframe(self, at: float) -> None:
        if self._keyframe_at:
            self._chunks.append(zlib.compress(_encode(self._pending), COMPRESSION))
            self._pending = []
        players = self._board.players
        states = [_state(name, board) for name, board in players.items()]
        self.keyframes.append(Keyframe(at, self.records, zlib.compress(_encode(states), COMPRESSION)))
        self._keyframe_at.append(at)
        entries = (b.entry for b in players.values() if b.entry is not None)
        for entry in heapq.nsmallest(CHART_TOP, entries, key=rank_key):
            moments, scores = self.leaders.setdefault(entry.nickname, ([], []))
            moments.append(at)
            scores.append(entry.score)

    # --- reading ---------------------------------------------------------------------------------------
    @property
    def indexed_to(self) -> float | None:
        """The latest moment a cursor can show exactly (every record before it is indexed)."""
        if self.complete:
            return self.end if self.end is not None else self.start
        return self._keyframe_at[-1] if self._keyframe_at else None

    def keyframe_before(self, at: float) -> int:
        return max(0, bisect_right(self._keyframe_at, at) - 1)

    def chunk(self, keyframe: int) -> list:
        """The records after `keyframe` up to the next one, as [player id, score, shots, level, lives, ts,
        received_at] (`names[player id]` is the Nickname)."""
        if keyframe < len(self._chunks):
            return _decode(zlib.decompress(self._chunks[keyframe]))
        return list(self._pending)  # records after the newest keyframe: not complete yet

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
        if index.start is None or not index.keyframes:
            return at
        limit = index.indexed_to if index.indexed_to is not None else index.start
        at = min(max(at, index.start), limit)
        keyframe = index.keyframe_before(at)
        if keyframe != self._keyframe or self.at is None or at < self.at:
            self._load(keyframe)
        elif self._played == len(self._chunk) and not index.complete and keyframe == len(index.keyframes) - 1:
            self._chunk = index.chunk(keyframe)  # the open end of an index still growing
        board, chunk, closes_at, names = self.board, self._chunk, index.closes_at, index.names
        played = self._played
        taken_names = []
        while played < len(chunk) and chunk[played][6] <= at:
            player, score, shots, level, lives, ts, received_at = chunk[played]
            name = names[player]
            _counts, taken, _ended = board.apply(name, Entry(name, score, shots, level, lives), ts, received_at,
                                                 closes_at)
            if taken:
                taken_names.append(name)
            played += 1
        if len(taken_names) > len(board.players) // 4:
            board.forget_ranking()  # one sort when next asked for beats moving most players one by one
        else:
            for name in taken_names:
                board.place(name)
        self._played = played
        self.at = at
        return at

    def _load(self, keyframe: int) -> None:
        states = _decode(zlib.decompress(self.index.keyframes[keyframe].states))
        # Ranked when first asked for (one sort after the records up to the moment are played), then kept
        # in step as the following records are played.
        self.board = SessionBoard(dict(_board(state) for state in states))
        self._keyframe = keyframe
        self._chunk = self.index.chunk(keyframe)
        self._played = 0

    def entries(self) -> list[Entry]:
        return self.board.ranking.top()

    def finished(self) -> list[str]:
        """Players whose last trial ended and who have not started another."""
        return [name for name, b in self.board.players.items() if b.current is None and b.best_finished]


class ReplayFrame(msgspec.Struct, kw_only=True):
    """The board of a session at one moment of its replay (`GET /manager/replay` answers this)."""

    SessionId: str
    At: float  # the moment shown, epoch seconds (the backend's clock)
    Start: float | None  # the replay's first moment: the session's start or its first record
    End: float | None  # the newest record's arrival
    IndexedTo: float | None  # up to where the replay can be shown (End once Complete)
    Complete: bool  # every record is indexed (a closed session, read to its end)
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
