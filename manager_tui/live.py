"""What the console derives from successive boards: rank changes, new players, posts per second, the
session's phase and time left, the leaders' history and the projected podium.

Plain Python (no Textual): the screens draw what this computes, and tests drive it with made-up boards.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from api_client import ScoreEntry

from .backends import Board, Seats
from .session_clock import SessionPhase, session_phase, time_left

MARK_SECONDS = 10.0  # how long a rank change or a new player stays marked on the board
CHART_LEADERS = 5  # lines on the leaders' chart
TRACKED_LEADERS = 10  # players whose scores are kept over time (the chart and the podium read them)
RATE_WINDOW_SECONDS = 60.0  # the recent scoring rate behind the projected podium
HISTORY_POINTS = 2400  # per player: an hour of 1.5 s refreshes


class SeatView(StrEnum):
    """A player's seat as the board shows it."""

    PLAYING = "playing"
    IDLE = "idle"  # seated, but no news for a while (the server frees the seat after 60 s)
    FINISHED = "finished"  # no other game in this session
    NOT_SEATED = ""


# Read once: a member read through its enum costs ~0.2 µs on Python 3.11, and a refresh reads 5,000.
_PLAYING, _IDLE, _FINISHED, _NOT_SEATED = SeatView.PLAYING, SeatView.IDLE, SeatView.FINISHED, SeatView.NOT_SEATED


class BoardRow(NamedTuple):
    rank: int
    nickname: str
    score: int
    shots: int
    level: int
    lives: int
    moved: int  # places gained (positive) or lost (negative) within the last MARK_SECONDS
    is_new: bool  # arrived on the board within the last MARK_SECONDS
    state: SeatView


class RowWindow(NamedTuple):
    """A part of a board too big to fetch whole (a replay's frame): `entries` are the ranks `first + 1`
    onward of `total` players. The source tells each one's rank in the viewer's previous frame (`before`; 0:
    not on the board then; None: not known) and how many players on the whole board finished."""

    total: int
    first: int
    entries: list
    before: list[int] | None
    finished: int


@dataclass(frozen=True)
class Figures:
    players: int
    seats_total: int
    seats_taken: int
    playing: int
    finished: int
    idle: int
    posts_per_second: float | None
    delay: float | None


class BoardTracker:
    """Turns each new board into rows with rank changes and arrivals marked, and the session's figures."""

    def __init__(self) -> None:
        self._ranks: dict[str, int] = {}
        self._marks: dict[str, tuple[float, int, bool]] = {}  # name -> (since, places moved, is new)
        self._last_records: tuple[float, int] | None = None
        self._rate: float | None = None
        self.session_id: str | None = None
        self.rows: list[BoardRow | None] = []  # None: a row of a window's board not fetched
        self.figures: Figures | None = None

    def update(self, board: Board, now: float | None = None,
               window: RowWindow | None = None) -> list[BoardRow | None]:
        """`now` times the marks (the board's own time unless given: a replay marks on the wall clock).
        With a `window`, the board's entries are its top rows only, the rows of the window come with their
        ranks before, and the rows known of neither are None."""
        if board.session.SessionId != self.session_id:
            self.__init__()  # another session: nothing carries over
            self.session_id = board.session.SessionId
        now = board.fetched_at if now is None else now
        seats = board.seats
        if window is not None:
            rows = self._window_rows(board, window, now)
            playing, finished = window.total - window.finished, window.finished
        else:
            rows = self._rows(board, now)
            playing, finished = len(seats.playing) - len(seats.idle), len(seats.finished)
        self.rows = rows
        self._update_rate(board)
        self.figures = Figures(
            players=len(rows), seats_total=seats.total, seats_taken=seats.occupied,
            playing=playing, finished=finished, idle=len(seats.idle),
            posts_per_second=self._rate, delay=board.delay,
        )
        return rows

    def _rows(self, board: Board, now: float) -> list[BoardRow | None]:
        """Every row, marked by comparing with the previous board's ranks."""
        first = not self._ranks
        previous, ranks = self._ranks, {}
        marks = self._marks
        rows: list[BoardRow | None] = []
        for rank, entry in enumerate(board.entries, 1):
            name = entry.Nickname
            ranks[name] = rank
            before = previous.get(name)
            if before is None:
                if not first:
                    marks[name] = (now, 0, True)
            elif before != rank:
                marks[name] = (now, before - rank, False)
            rows.append(self._row(rank, entry, board.seats, now))
        self._ranks = ranks
        return rows

    def _window_rows(self, board: Board, window: RowWindow, now: float) -> list[BoardRow | None]:
        """The top rows and the window's, marked by the ranks before that the source told."""
        rows: list[BoardRow | None] = [None] * window.total
        for rank, entry in enumerate(board.entries[:window.total], 1):
            rows[rank - 1] = self._row(rank, entry, board.seats, now)
        marks, before = self._marks, window.before
        for rank, entry in enumerate(window.entries[:window.total - window.first], window.first + 1):
            if before is not None:
                was = before[rank - window.first - 1]
                if was == 0:
                    marks[entry.Nickname] = (now, 0, True)
                elif was != rank:
                    marks[entry.Nickname] = (now, was - rank, False)
            rows[rank - 1] = self._row(rank, entry, board.seats, now)
        return rows

    def _row(self, rank: int, entry: ScoreEntry, seats: Seats, now: float) -> BoardRow:
        name = entry.Nickname
        marks = self._marks
        mark = marks.get(name)
        moved, is_new = 0, False
        if mark is not None:
            if now - mark[0] < MARK_SECONDS:
                moved, is_new = mark[1], mark[2]
            else:
                del marks[name]
        if name in seats.idle:
            state = _IDLE
        elif name in seats.playing:
            state = _PLAYING
        elif name in seats.finished:
            state = _FINISHED
        else:
            state = _NOT_SEATED
        return BoardRow(rank, name, entry.Score, entry.Shots, entry.Level, entry.Lives, moved, is_new, state)

    def _update_rate(self, board: Board) -> None:
        if board.records is None:
            self._rate = None
            return
        last = self._last_records
        if last is not None:
            elapsed = board.fetched_at - last[0]
            if board.records < last[1]:
                self._rate = None  # the counter restarted (a server restart): wait for the next answer
            elif elapsed > 0.2:
                self._rate = (board.records - last[1]) / elapsed
            else:
                return  # two answers too close together say nothing about a rate
        self._last_records = (board.fetched_at, board.records)


class LeaderHistory:
    """The scores of the leaders over time, sampled at every refresh (the chart and the podium read it)."""

    def __init__(self) -> None:
        self.series: dict[str, deque[tuple[float, int]]] = {}
        self.session_id: str | None = None

    def add(self, session_id: str, at: float, entries: list[ScoreEntry]) -> None:
        if session_id != self.session_id:
            self.series.clear()
            self.session_id = session_id
        for entry in entries[:TRACKED_LEADERS]:
            points = self.series.get(entry.Nickname)
            if points is None:
                points = self.series[entry.Nickname] = deque(maxlen=HISTORY_POINTS)
            if not points or points[-1][1] != entry.Score or at - points[-1][0] >= 5.0:
                points.append((at, entry.Score))

    def rate(self, name: str, now: float) -> float | None:
        """Points per second over the last RATE_WINDOW_SECONDS; None until 5 s of history exist."""
        points = self.series.get(name)
        if not points:
            return None
        newest = points[-1]
        oldest = newest
        for point in reversed(points):
            if now - point[0] > RATE_WINDOW_SECONDS:
                break
            oldest = point
        span = newest[0] - oldest[0]
        if span < 5.0:
            return None
        return max(0.0, (newest[1] - oldest[1]) / span)


class Projection(NamedTuple):
    nickname: str
    score: int
    projected: int
    rate: float | None  # points per second, None when too little history


def project_podium(entries: list[ScoreEntry], history: LeaderHistory, now: float, seconds_left: float,
                   places: int = 3) -> list[Projection]:
    """The final podium if each leader keeps scoring at their recent rate until the deadline."""
    candidates = []
    for rank, entry in enumerate(entries[:TRACKED_LEADERS]):
        rate = history.rate(entry.Nickname, now)
        projected = entry.Score + int((rate or 0.0) * seconds_left)
        candidates.append((-projected, rank, Projection(entry.Nickname, entry.Score, projected, rate)))
    candidates.sort()
    return [c[2] for c in candidates[:places]]


def printable(text: str) -> str:
    """A player's name as it can be drawn: control characters (escape sequences too) shown as '?'."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


class LiveBoard:
    """The console's view of one session: the last good board and what was derived from it, the last error."""

    def __init__(self) -> None:
        self.tracker = BoardTracker()
        self.history = LeaderHistory()
        self.board: Board | None = None
        self.rows: list[BoardRow | None] = []
        self.error: str | None = None
        self.failures = 0

    def apply(self, board: Board, marked_at: float | None = None,
              window: RowWindow | None = None) -> list[BoardRow | None]:
        """A new board; `marked_at` times its rank-change marks (default: the board's time); `window`: the
        part of a board too big to fetch whole, beside the board's top rows (`BoardTracker.update`)."""
        self.board = board
        self.rows = self.tracker.update(board, marked_at, window)
        self.history.add(board.session.SessionId, board.fetched_at, board.entries)
        self.error, self.failures = None, 0
        return self.rows

    def failed(self, message: str) -> bool:
        """Remember a failed refresh; True when the manager should be told (a new message or every 10th)."""
        tell = message != self.error or self.failures % 10 == 0
        self.error = message
        self.failures += 1
        return tell

    def backend_now(self, now: float) -> float:
        return now + (self.board.clock_offset if self.board else 0.0)

    def podium(self, now: float) -> list[Projection] | None:
        """The projected final podium of a running time-constrained session, else None."""
        board = self.board
        if board is None:
            return None
        at = self.backend_now(now)
        left = time_left(board.session, at)
        if left is None or session_phase(board.session, at) is not SessionPhase.RUNNING:
            return None
        return project_podium(board.entries, self.history, board.fetched_at, left)
