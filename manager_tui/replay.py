"""The replay's playback, without Textual: the moment shown, the speed, the pause, and each frame turned
into the console's view (a `LiveBoard`, so the replay is drawn by the live console's widgets).

The frames come from the backend (`ReplaySource`), ranked by the core's rules. The moment moves by the
wall time elapsed times the speed; it waits where the backend has not indexed the session yet, and stops
at the end, where the final podium is shown. A frame carries only the rows the screen shows (and the top
ten, for the leaders' lines, the chart and the podium), each with its rank in the previous frame, so the
rank-change marks are the board's own whatever its size; while playing, a frame may show the keyframe up
to one frame's worth of session time before the moment asked (`tolerance`), which the backend shows
without building a board; paused, every frame is exact.
"""
from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import NamedTuple

from api_client import Session
from spaceinvaders_backend.core.replay import CHART_TOP, FrameView, ReplayFrame

from .backends import Board, ReplaySource, Seats
from .live import HISTORY_POINTS, LiveBoard, RowWindow

SPEEDS = (1, 2, 5, 10, 15, 30, 60, 120)
DEFAULT_SPEED = 30  # a 30-minute session in about a minute
SEEK_SECONDS = 10.0
FRAME_SECONDS = 0.08  # twelve frames a second and a half, so that ten hold when a tick comes late
TOP_ROWS = CHART_TOP  # rows of the board's top a frame always carries: the leaders' lines, chart and podium


class FrameEntry(NamedTuple):
    """A frame's player, read as the console reads a `ScoreEntry` (the same attributes): 5,000 of these
    a frame cost a tenth of pydantic models."""

    Nickname: str
    Score: int
    Shots: int
    Level: int
    Lives: int


def nearest_speed(speed: float) -> int:
    return min(SPEEDS, key=lambda s: abs(s - speed))


def session_at(session: Session, at: float) -> Session:
    """The session as it stood at `at`: not closed yet before its ClosingTime."""
    closing = session.ClosingTime
    if closing is not None and at < closing.timestamp():
        return session.model_copy(update={"ClosingTime": None})
    return session


class ReplayPlayer:
    def __init__(self, source: ReplaySource, speed: float = DEFAULT_SPEED) -> None:
        self.source = source
        self.session = source.session
        self.speed = nearest_speed(speed)
        self.paused = False
        self.target: float | None = None  # the moment asked for (None: the start)
        self.frame: ReplayFrame | None = None  # the last frame shown
        self.largest = 0  # players on the largest board shown
        self.live = LiveBoard()

    # --- where the replay stands -------------------------------------------------------------------
    @property
    def at(self) -> float | None:
        return self.frame.At if self.frame is not None else None

    @property
    def start(self) -> float | None:
        return self.frame.Start if self.frame is not None else None

    @property
    def at_end(self) -> bool:
        f = self.frame
        return f is not None and f.Complete and f.End is not None and f.At >= f.End

    @property
    def waiting(self) -> bool:
        """The moment asked for is past what the backend has indexed so far."""
        f = self.frame
        return f is not None and self.target is not None and not f.Complete and \
            f.IndexedTo is not None and self.target > f.IndexedTo

    def elapsed(self) -> float:
        """Seconds of session time from the replay's start to the moment shown."""
        return 0.0 if self.frame is None or self.frame.Start is None else self.frame.At - self.frame.Start

    def duration(self) -> float | None:
        f = self.frame
        return None if f is None or f.Start is None or f.End is None else f.End - f.Start

    # --- keys ------------------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.at_end:  # at the end, play again from the start
            self.target, self.paused = None, False
            return
        self.paused = not self.paused

    def faster(self, steps: int) -> None:
        index = SPEEDS.index(self.speed) + steps
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, index))]

    def seek(self, seconds: float) -> None:
        base = self.target if self.target is not None else self.at
        if base is not None:
            self.target = self._clamp(base + seconds)

    def to_start(self) -> None:
        self.target = self.start

    def to_end(self) -> None:
        if self.frame is not None and self.frame.End is not None:
            self.target = self.frame.End

    def _clamp(self, at: float) -> float:
        f = self.frame
        if f is None or f.Start is None:
            return at
        end = f.End if f.End is not None else f.Start
        return max(f.Start, min(at, end))

    # --- time passing --------------------------------------------------------------------------------
    def advance(self, wall_seconds: float) -> None:
        """Move the moment by `wall_seconds` of playing (nothing while paused, waiting or at the end)."""
        if self.paused or self.frame is None or self.at_end or self.waiting:
            return
        base = self.target if self.target is not None else self.frame.At
        self.target = self._clamp(base + wall_seconds * self.speed)

    def tolerance(self) -> float:
        """Session seconds a frame may show before the moment asked: one frame's worth while playing (the
        next frame comes that much later anyway), none while paused."""
        return 0.0 if self.paused or self.frame is None else self.speed * FRAME_SECONDS

    def view(self, first: int, count: int) -> FrameView:
        """What to ask of the next frame: the rows from `first` (0-based rank), the previous frame's moment."""
        return FrameView(max(0, first), max(1, count), self.frame.At if self.frame is not None else None,
                         self.tolerance())

    async def fetch(self, view: FrameView | None = None) -> ReplayFrame:
        return await self.source.frame(self.target, view)

    def show(self, frame: ReplayFrame, wall_now: float) -> None:
        """Fold a frame into the view: rows with rank changes marked (for MARK_SECONDS of wall time), the
        figures, the leaders' history up to the frame's moment."""
        first = self.frame is None
        self.frame = frame
        if first and self.target is None:
            self.target = frame.At
        top = list(map(FrameEntry._make, frame.Top or frame.Board[:TOP_ROWS]))
        rows = list(map(FrameEntry._make, frame.Board))
        total = frame.Players or len(rows)
        self.largest = max(self.largest, total)
        finished = frozenset(frame.Finished)
        known = frozenset(e.Nickname for e in top) | frozenset(e.Nickname for e in rows)
        ended = frame.Complete and frame.End is not None and frame.At >= frame.End
        board = Board(session=self.session if ended else session_at(self.session, frame.At), entries=top,
                      fetched_at=frame.At, seats=Seats(self.session.TotalSeats or total, total - frame.FinishedCount,
                                                       known - finished, finished))
        self.live.apply(board, marked_at=wall_now,
                        window=RowWindow(total, frame.First, rows, frame.Before, frame.FinishedCount))
        self.live.history.series = {name: deque(points, maxlen=HISTORY_POINTS)
                                    for name, points in frame.Leaders.items()}


def clock_text(seconds: float | None) -> str:
    """Session time as m:ss (h:mm:ss from an hour)."""
    if seconds is None:
        return "-:--"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def moment_text(at: float) -> str:
    """A moment as the room's wall clock shows it."""
    return datetime.fromtimestamp(at, tz=UTC).astimezone().strftime("%H:%M:%S")
