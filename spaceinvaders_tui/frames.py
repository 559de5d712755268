"""Where the game's frames come from: a 30 Hz timer on the monotonic clock.

The play screen asks its app's `Frames` to start the timer, for the time of a key press, and tells it of
every frame stepped and painted. Tests give the app frames they step by hand, and `benchmarks/game_fps.py`
frames that log each one (both subclasses live beside them); the game itself has no switch for either.
"""
from __future__ import annotations

from collections.abc import Callable
from time import monotonic

from textual.screen import Screen
from textual.timer import Timer

FRAME_RATE = 30


class Frames:
    def start(self, screen: Screen, step: Callable[[], None]) -> Timer | None:
        """Start stepping `screen`'s game; the timer, which the screen pauses and resumes."""
        return screen.set_interval(1 / FRAME_RATE, step)

    def now(self) -> float:
        """Seconds on the frames' clock (a key press is timed on it)."""
        return monotonic()

    def stepped(self, changed: int, game: int) -> None:
        """A frame of game number `game` (in this run) was stepped; `changed` of its lines were redrawn."""

    def painted(self) -> None:
        """Textual drew a line of the newest changed frame."""

    def close(self) -> None:
        """The app ends."""
