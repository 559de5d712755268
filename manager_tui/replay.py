"""The replay's playback, without Textual: the moment shown, the speed, the pause, and each frame turned
into the console's view (a `LiveBoard`, so the replay is drawn by the live console's widgets).

The frames come from the backend (`ReplaySource`), ranked by the core's rules. The moment moves by the
wall time elapsed times the speed; it waits where the backend has not indexed the session yet, and stops
at the end, where the final podium is shown.
"""
from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import NamedTuple

from api_client import Session
from spaceinvaders_backend.core.replay import ReplayFrame

from .backends import Board, ReplaySource, Seats
from .live import HISTORY_POINTS, LiveBoard

SPEEDS = (1, 2, 5, 10, 15, 30, 60, 120)
DEFAULT_SPEED = 30  # a 30-minute session in about a minute
SEEK_SECONDS = 10.0
FRAME_SECONDS = 0.09  # about eleven frames a second, so that ten hold when a tick comes late


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

    async def fetch(self) -> ReplayFrame:
        return await self.source.frame(self.target)

    def show(self, frame: ReplayFrame, wall_now: float) -> None:
        """Fold a frame into the view: rows with rank changes marked (for MARK_SECONDS of wall time), the
        figures, the leaders' history up to the frame's moment."""
        first = self.frame is None
        self.frame = frame
        if first and self.target is None:
            self.target = frame.At
        entries = list(map(FrameEntry._make, frame.Board))
        finished = frozenset(frame.Finished)
        names = frozenset(e.Nickname for e in entries)
        ended = frame.Complete and frame.End is not None and frame.At >= frame.End
        board = Board(session=self.session if ended else session_at(self.session, frame.At), entries=entries, fetched_at=frame.At,
                      seats=Seats(self.session.TotalSeats or len(names), len(names - finished), names - finished,
                                  finished))
        self.live.apply(board, marked_at=wall_now)
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
