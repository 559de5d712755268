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
steps it only plays the records in between. A keyframe keeps its players in rank order, so a frame shown at
a keyframe (playing fast, a frame may lag its moment by a tolerance: `FrameView`) builds no board and sorts
nothing, and a frame can carry only the rows a viewer shows, with their ranks in the viewer's previous
frame for its rank-change marks. Nothing here reads or writes storage.
"""
from __future__ import annotations

import math
import zlib
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple, Protocol

import msgspec

from .ranking import Entry, better, rank_key
from .records import settles_at
from .scoreboard import NEVER, PlayerBoard, SessionBoard

KEYFRAME_SECONDS = 2.0
CHART_TOP = 10  # players whose scores the leaders' chart can show (the live console keeps ten too)
CHART_POINTS = 240  # per leader in a frame: more than a chart's width in braille dots adds nothing
COMPRESSION = 1  # zlib level: the chunks are small and read often
KEPT_ORDERS = 4  # rank orders of the last moments shown, for a viewer's rank-change marks

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
    # compressed msgpack: [ranked, names, finished, states]: every player's state [name, best or None, current
    # or None, current_ts, trial_end_ts], the first `ranked` (every player with an entry) in the contract's
    # order (`ranking.rank_key`), the others after; `names` their Nicknames in that order, `finished` the
    # places in it of those whose last trial ended. A frame reads the names and who finished, and decodes
    # the states of the rows it shows only. (Made before the order was kept: the states alone, in no order;
    # still read.)
    states: bytes


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


class PlayerState(msgspec.Struct, array_like=True, gc=False):
    """A player's board in a keyframe, as `_state` stores it: [name, best, current, current_ts, trial_end_ts]
    (no reference cycles: gc=False keeps the collector off thousands of them a frame)."""

    name: str
    best: tuple[int, int, int, int] | None  # Score, Shots, Level, Lives of the best trial ended
    current: tuple[int, int, int, int] | None  # of the current trial
    current_ts: float
    trial_end_ts: float


_decode_view = msgspec.msgpack.Decoder(tuple[int, list[str], list[int], list[msgspec.Raw]]).decode
_decode_state = msgspec.msgpack.Decoder(PlayerState).decode
_decode_unranked = msgspec.msgpack.Decoder(list[PlayerState]).decode  # keyframes stored before the order was


def _board(state: PlayerState) -> tuple[str, PlayerBoard]:
    name, best, current = state.name, state.best, state.current
    return name, PlayerBoard(Entry(name, *best) if best else None, Entry(name, *current) if current else None,
                             state.current_ts if state.current_ts > -1e300 else NEVER,
                             state.trial_end_ts if state.trial_end_ts > -1e300 else NEVER)


class KeyframeView:
    """A stored keyframe, decoded only as far as a frame needs: the Nicknames in rank order and who
    finished at once, a player's state when their row is shown (or every one, to play records onto)."""

    def __init__(self, states: bytes) -> None:
        data = zlib.decompress(states)
        try:
            self.ranked, self.names, finished, self._raw = _decode_view(data)
        except msgspec.ValidationError:  # stored before keyframes kept their order: ranked here
            self.ranked, self._states = _rank_states(_decode_unranked(data))
            self.names = [state.name for state in self._states]
            self.finished = [state.name for state in self._states if _finished(state)]
            return
        names = self.names
        self.finished = [names[place] for place in finished]
        self._states: list[PlayerState] | None = None

    def entries(self, first: int, stop: int) -> list[Entry]:
        """The board's entries at places first to stop (ranked places only)."""
        stop = min(stop, self.ranked)
        if self._states is not None:
            return [_entry(state) for state in self._states[first:stop]]
        return [_entry(_decode_state(raw)) for raw in self._raw[first:stop]]

    def states(self) -> list[PlayerState]:
        if self._states is None:
            self._states = [_decode_state(raw) for raw in self._raw]
        return self._states


def _rank_states(states: list[PlayerState]) -> tuple[int, list[PlayerState]]:
    keyed = [(rank_key(entry), state) for state in states if (entry := _entry(state)) is not None]
    keyed.sort(key=_first)  # keys are unique: they end with the Nickname
    ranked = [state for _, state in keyed]
    return len(ranked), ranked + [state for state in states if state.best is None and state.current is None]


def _first(item: tuple) -> object:
    return item[0]


def _entry(state: PlayerState) -> Entry | None:
    """A state's line on the board: `PlayerBoard.entry`, the better of its best trial ended and its current one."""
    name, best, current = state.name, state.best, state.current
    return better(Entry(name, *best) if best else None, Entry(name, *current) if current else None)


def _finished(state: PlayerState) -> bool:
    return state.current is None and state.best is not None  # its last trial ended, no other started


def board_states(states: bytes) -> dict[str, PlayerBoard]:
    """A keyframe's boards, by player."""
    return dict(_board(state) for state in KeyframeView(states).states())


def _keyframe_states(board: SessionBoard) -> tuple[bytes, list]:
    """The board's states, ranked first (`Keyframe.states`), and its top CHART_TOP ([[Nickname, Score]...]).
    Sorted here, once a keyframe, rather than kept in order as each record is indexed (fewer moves)."""
    placed, unplaced = [], []
    for name, b in board.players.items():
        entry = b.entry
        if entry is None:
            unplaced.append((name, b))
        else:
            placed.append((rank_key(entry), name, b))
    placed.sort(key=_first)  # the keys are unique: they end with the Nickname
    players = [(name, b) for _, name, b in placed] + unplaced
    names = [name for name, _ in players]
    finished = [place for place, (_, b) in enumerate(players) if b.current is None and b.best_finished]
    states = [_state(name, b) for name, b in players]
    leaders = [[name, -key[0]] for key, name, _ in placed[:CHART_TOP]]
    return zlib.compress(_encode([len(placed), names, finished, states]), COMPRESSION), leaders


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

    @property
    def stored_end(self) -> float | None:
        """The end to store with the segments: an incomplete index's open chunk is not stored, so it ends at
        its last keyframe; records read again after a restart are indexed from there at their own moments
        (with a later end they would all be moved to it: shown late)."""
        if self.complete:
            return self.end
        return self.keyframe_at[-1] if self.keyframe_at else None

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
        states, leaders = _keyframe_states(self._board)
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


class FrameView(NamedTuple):
    """What a viewer asks of a frame besides its moment (the other parameters of `GET /manager/replay`)."""

    first: int = 0  # the first row sent: its rank minus one
    count: int | None = None  # rows sent from `first` (None: every one after it)
    since: float | None = None  # the moment of the viewer's previous frame: each row sent says its rank then
    tolerance: float = 0.0  # seconds the frame may show earlier than asked: a keyframe's moment, if one is that near


class ReplayCursor:
    """The board of an index at one moment, kept ranked as the moment moves.

    It shows a moment in one of two ways: a keyframe's states as stored (already in rank order: nothing
    built, nothing sorted), where a frame may be shown at a keyframe's moment (`seek`'s tolerance) or at the
    end (the last keyframe holds the final board); or the board played from a keyframe up to the moment,
    records applied one by one through `SessionBoard`."""

    def __init__(self, index: ReplayIndex) -> None:
        self.index = index
        self.board = SessionBoard()  # the board played (when no keyframe is shown as stored)
        self.at: float | None = None
        self._keyframe = -1
        self._chunk: list = []
        self._played = 0  # records of the chunk applied
        self._shown: KeyframeView | None = None  # the keyframe shown as stored (no board played)
        self._decoded: tuple[int, KeyframeView] | None = None  # the keyframe read last
        self._orders: OrderedDict[float, dict[str, int]] = OrderedDict()  # moment shown -> rank by name

    def seek(self, at: float, tolerance: float = 0.0) -> float:
        """Move to the moment `at` (clamped to what is indexed); answers the moment shown: `at`, or a
        keyframe's moment up to `tolerance` seconds earlier when that is cheaper than playing records."""
        index = self.index
        limit = index.indexed_to
        if index.start is None or limit is None:
            return at
        at = min(max(at, index.start), limit)
        last = len(index.keyframe_at) - 1
        if index.complete and at >= limit and index.keyframe_at[last] > limit:
            self._show(last)  # made after every record: the final board, the board at the end
            self.at = at
            return at
        keyframe = index.keyframe_before(at)
        moment = index.keyframe_at[keyframe]
        onward = keyframe == self._keyframe and self.at is not None and self.at <= at
        if tolerance > 0 and not onward and at - moment <= tolerance:
            # A keyframe holds the records settled before its moment: it is the board just before it.
            self._show(keyframe)
            self.at = math.nextafter(moment, -math.inf)
            return self.at
        if not onward or self._shown is not None:
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

    def _decode(self, keyframe: int) -> KeyframeView:
        decoded = self._decoded
        if decoded is None or decoded[0] != keyframe:
            decoded = self._decoded = (keyframe, KeyframeView(self.index.states(keyframe)))
        return decoded[1]

    def _show(self, keyframe: int) -> None:
        self._shown = self._decode(keyframe)
        self._keyframe = keyframe

    def _load(self, keyframe: int) -> None:
        # Ranked when first asked for (one sort after the records up to the moment are played), then kept
        # in step as the following records are played.
        self.board = SessionBoard(dict(_board(state) for state in self._decode(keyframe).states()))
        self._shown = None
        self._keyframe = keyframe
        self._chunk = self.index.chunk(keyframe)
        self._played = 0

    # --- what the moment shows -----------------------------------------------------------------------
    def players(self) -> int:
        """Players on the board."""
        return self._shown.ranked if self._shown is not None else len(self.board.ranking)

    def rows(self, first: int = 0, count: int | None = None) -> list[Entry]:
        """The board's entries from rank `first + 1`, `count` of them (None: to the end)."""
        first = max(0, first)
        shown = self._shown
        if shown is not None:
            return shown.entries(first, shown.ranked if count is None else first + count)
        return self.board.ranking.top(None if count is None else first + count)[first:]

    def entries(self, count: int | None = None) -> list[Entry]:
        return self.rows(0, count)

    def finished(self) -> list[str]:
        """Players whose last trial ended and who have not started another."""
        if self._shown is not None:
            return self._shown.finished
        return [name for name, b in self.board.players.items() if b.current is None and b.best_finished]

    def order(self) -> dict[str, int]:
        """Each player's rank at the moment shown; the last few moments' are kept, for `ranks_at`."""
        orders, at = self._orders, self.at
        order = orders.get(at)
        if order is None:
            shown = self._shown
            if shown is not None:
                order = dict(zip(shown.names[:shown.ranked], range(1, shown.ranked + 1), strict=True))
            else:
                order = {e.nickname: rank for rank, e in enumerate(self.board.ranking.top(), 1)}
            orders[at] = order
            while len(orders) > KEPT_ORDERS:
                orders.popitem(last=False)
        return order

    def ranks_at(self, moment: float, names: Iterable[str]) -> list[int] | None:
        """The players' ranks at `moment` (0: not on the board then), if it is one of the last moments
        shown (a viewer's previous frame); None otherwise."""
        order = self._orders.get(moment)
        return None if order is None else [order.get(name, 0) for name in names]


class ReplayFrame(msgspec.Struct, kw_only=True):
    """The board of a session at one moment of its replay (`GET /manager/replay` answers this)."""

    SessionId: str
    At: float  # the moment shown, epoch seconds (the backend's clock)
    Start: float | None  # the replay's first moment: the session's start or its first record
    End: float | None  # the latest moment a counted record settled
    IndexedTo: float | None  # up to where the replay can be shown (End once Complete)
    Complete: bool  # every record is indexed (a closed session whose board is final)
    Records: int  # records indexed
    Board: list[tuple[str, int, int, int, int]]  # [Nickname, Score, Shots, Level, Lives] in rank order, from First
    Finished: list[str]  # the finished players among those sent (in Board or Top)
    Leaders: dict[str, list[tuple[float, int]]]  # the top CHART_TOP's scores at keyframes, up to At
    First: int = 0  # the rank of Board's first row, minus one (0 unless asked for a part of the board)
    Players: int = 0  # players on the whole board
    Top: list[tuple[str, int, int, int, int]] = msgspec.field(default_factory=list)  # the first CHART_TOP rows
    FinishedCount: int = 0  # finished players on the whole board
    Before: list[int] | None = None  # each Board row's rank at the moment `since` asked (0: not on the board)


def frame_of(cursor: ReplayCursor, session_id: str, at: float | None, leaders: int = 5,
             view: FrameView | None = None) -> ReplayFrame:
    """The frame at `at` (None: the replay's start), with the chart's series of the first `leaders`; `view`
    says which rows to send (default: all), the moment of the viewer's previous frame, the tolerance."""
    index = cursor.index
    view = view or FrameView()
    shown = cursor.seek(at if at is not None else (index.start or 0.0), view.tolerance)
    whole = view.first <= 0 and view.count is None
    entries = cursor.rows(view.first, view.count)
    top = entries[:CHART_TOP] if view.first <= 0 else cursor.rows(0, CHART_TOP)
    finished = cursor.finished()
    sent = {e.nickname for e in entries} | {e.nickname for e in top}
    before = None
    if view.since is not None:
        before = cursor.ranks_at(view.since, (e.nickname for e in entries))
    cursor.order()  # kept for a viewer's next frame
    return ReplayFrame(
        SessionId=session_id, At=shown, Start=index.start, End=index.end, IndexedTo=index.indexed_to,
        Complete=index.complete, Records=index.records,
        Board=[(e.nickname, e.score, e.shots, e.level, e.lives) for e in entries],
        Finished=finished if whole else [name for name in finished if name in sent],
        Leaders={e.nickname: index.series(e.nickname, shown) for e in top[:leaders]},
        First=max(0, view.first), Players=cursor.players(),
        Top=[(e.nickname, e.score, e.shots, e.level, e.lives) for e in top],
        FinishedCount=len(finished), Before=before,
    )
