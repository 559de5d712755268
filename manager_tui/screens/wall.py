"""Wall mode: the projector view of the session watched (`widgets/wall_view.py` draws it). The pages turn
by themselves so that every player is seen in turn; the clock moves every second."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..live import LiveBoard
from ..widgets.session_bar import clock_of
from ..widgets.wall_view import PAGE_SECONDS, LeaderLine, WallView

__all__ = ["LeaderLine", "WallScreen"]


class WallScreen(Screen[None]):
    """Draws the app's `live` view (a reactive it watches) when it changes, and its clock every second."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w,escape", "app.switch_mode('console')", "Console", id="wall.leave"),
        Binding("space", "next_page", "Next page", id="wall.next"),
    ]

    def __init__(self, *, clock: Callable[[], float]) -> None:
        super().__init__()
        self.clock = clock
        self.live = LiveBoard()
        self._turned_at = time.monotonic()

    def compose(self) -> ComposeResult:
        yield WallView(id="wall")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self.watch(self.app, "live", self._live_changed)

    def _live_changed(self, live: LiveBoard) -> None:
        self.live = live
        if self.is_current:  # a screen not shown redraws when it is shown again
            # In the screen's own message loop (the change comes from the app's worker), so the screen
            # paints as soon as it has drawn.
            self.call_next(self.show)

    def on_screen_resume(self) -> None:
        self.show()

    def on_resize(self) -> None:
        self.show()

    def _tick(self) -> None:
        if not self.is_current:
            return
        if time.monotonic() - self._turned_at >= PAGE_SECONDS:
            self.action_next_page()
        else:  # the countdown moves every second, between refreshes
            self.query_one(WallView).show_clock(clock_of(self.live, self.clock()))

    def action_next_page(self) -> None:
        self.query_one(WallView).page += 1
        self._turned_at = time.monotonic()
        self.show()

    def show(self) -> None:
        now = self.clock()
        self.query_one(WallView).show(self.live, now, clock_of(self.live, now))
