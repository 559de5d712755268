"""The replay of a session: the board as it stood at each moment, ten frames a second, in the console's
layout or the wall's (`w`). The playback is `replay.ReplayPlayer`; the frames come from the backend."""
from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer

from ..backends import BackendError, ReplaySource
from ..live import printable
from ..replay import FRAME_SECONDS, SEEK_SECONDS, ReplayPlayer, clock_text, moment_text
from ..session_clock import session_phase
from ..widgets.board_view import BoardView
from ..widgets.leaders_chart import LeadersChart
from ..widgets.podium import Podium
from ..widgets.session_bar import PHASE_STYLES, figures_text, game_text
from ..widgets.text_panel import TextPanel
from ..widgets.wall_view import PAGE_SECONDS, WallView
from .board import WIDE, BoardColumn

REPLAY_STYLE = "bold black on yellow"
WALL_KEYS = "space: pause  +/-: speed  ←/→: 10 s  home: start  w: console  q: back"


class ReplayScreen(Screen[None]):
    DEFAULT_CSS = """
    ReplayScreen #replay-bar { height: auto; padding: 0 1; background: $panel; }
    ReplayScreen #replay-views { height: 1fr; }
    ReplayScreen #replay-console { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the board's own keys (home, end) must not take them while it has the focus.
        Binding("space", "pause", "Pause", priority=True, id="replay.pause"),
        Binding("plus,equals_sign", "speed(1)", "Faster", key_display="+", priority=True, id="replay.faster"),
        Binding("minus", "speed(-1)", "Slower", key_display="-", priority=True, id="replay.slower"),
        Binding("left", "seek(-1)", "-10 s", key_display="←", priority=True, id="replay.back"),
        Binding("right", "seek(1)", "+10 s", key_display="→", priority=True, id="replay.forward"),
        Binding("home", "to_start", "Start", priority=True, id="replay.start"),
        Binding("end", "to_end", "End", show=False, priority=True, id="replay.end"),
        Binding("w", "wall", "Wall", id="replay.wall"),
        Binding("c", "chart", "Chart", show=False, id="replay.chart"),
        Binding("q,escape", "back", "Back", priority=True, id="replay.quit"),
    ]

    def __init__(self, source: ReplaySource, *, speed: float, wall: bool = False) -> None:
        super().__init__()
        self.player = ReplayPlayer(source, speed)
        self.on_wall = wall
        self._fetching = False
        self._again = False  # a key moved the moment while a frame was being fetched
        self._asked: tuple[int, int] | None = None  # the rows asked of the last frame (first, count)
        self._bar: Text | None = None  # the bar's text drawn last
        self._banner: tuple | None = None  # what the wall's banner said when drawn last
        self._last_tick = time.monotonic()
        self._turned_at = time.monotonic()
        self._chart_choice: bool | None = None
        self._error: str | None = None
        self.frames = 0  # frames shown (the benchmark counts them)

    def compose(self) -> ComposeResult:
        yield TextPanel(id="replay-bar")
        with ContentSwitcher(initial="replay-wall" if self.on_wall else "replay-console", id="replay-views"):
            with Vertical(id="replay-console"):
                with Horizontal(id="main"):
                    yield BoardColumn(id="board-column")
                    yield LeadersChart(id="chart")
                yield Podium(id="podium")
            yield WallView(id="replay-wall")
        yield Footer()

    def on_mount(self) -> None:
        self._layout_chart()
        self.set_interval(FRAME_SECONDS, self._tick)
        self._fetch()

    def on_resize(self) -> None:
        self._layout_chart()
        self.draw()

    def _layout_chart(self) -> None:
        wide = self.app.size.width >= WIDE
        self.query_one("#chart").display = self._chart_choice if self._chart_choice is not None else wide

    # --- frames ----------------------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.monotonic()
        self.player.advance(now - self._last_tick)
        self._last_tick = now
        if self.on_wall and now - self._turned_at >= PAGE_SECONDS:
            self.query_one(WallView).page += 1
            self._turned_at = now
        if self.player.frame is None or self.player.target != self.player.at or self._window() != self._asked:
            self._fetch()  # playing, or other rows in view (scrolled, another page)
        else:
            self._draw_bar()  # paused, waiting or at the end: the bar still says so

    def _window(self) -> tuple[int, int]:
        """(first, count): the rows to fetch, those in view. The console's board: a page above and below
        the rows shown too, so that scrolling shows rows at once; the wall: the page shown."""
        players = self.player.frame.Players if self.player.frame is not None else 0
        if self.on_wall:
            return self.query_one(WallView).page_window(players)
        top, height = self.query_one(BoardView).rows_in_view
        height = height or self.app.size.height
        return max(0, top - height), 3 * height

    def _fetch(self) -> None:
        if self._fetching:
            self._again = True
            return
        self._fetching = True
        self._fetch_frame()

    @work(group="replay", exit_on_error=False)
    async def _fetch_frame(self) -> None:
        window = self._window()
        try:
            frame = await self.player.fetch(self.player.view(*window))
        except BackendError as error:
            if str(error) != self._error:
                self._error = str(error)
                self.notify(str(error), severity="error", title="Replay", markup=False)
            return
        finally:
            self._fetching = False
        self._asked = window
        self.player.show(frame, time.time())
        self.frames += 1
        self.draw()
        if self._again:
            self._again = False
            self._fetch()

    # --- drawing ---------------------------------------------------------------------------------------
    def _state(self) -> str:
        player = self.player
        state = "■ END" if player.at_end else "❚❚" if player.paused else "▶"
        return f" REPLAY {state} {player.speed}× "

    def _bar_text(self) -> Text:
        player = self.player
        text = Text(no_wrap=False)
        text.append(self._state(), REPLAY_STYLE)
        live = player.live
        if live.board is None:
            text.append("  reading the session…", "bold")
            return text
        session = live.board.session
        at = player.at or 0.0
        phase = session_phase(session, at)
        text.append(f"  {printable(session.SessionId)}", "bold")
        text.append(f"  {game_text(session)}  ")
        text.append(f" {phase} ", PHASE_STYLES.get(phase, "bold"))
        text.append(f"  {clock_text(player.elapsed())}", "bold reverse")
        text.append(f" / {clock_text(player.duration())}  at {moment_text(at)}")
        frame = player.frame
        if player.waiting and frame is not None:
            text.append(f"  reading the session: {frame.Records:,} records so far…", "bold yellow")
        text.append("\n")
        text.append_text(figures_text(live, at))
        return text

    def _draw_bar(self) -> None:
        """Between frames (paused, waiting, at the end): only what changed is drawn again, ten times a second."""
        if self.on_wall:  # the wall's own title says REPLAY, the state and the speed
            banner = (self._state(), self.player.waiting, self.player.frame and self.player.frame.Records)
            if banner != self._banner:
                self.draw()
            return
        text = self._bar_text()
        if text != self._bar:
            self._bar = text
            self.query_one("#replay-bar", TextPanel).show_text(text)

    def draw(self) -> None:
        player = self.player
        live = player.live
        bar = self.query_one("#replay-bar", TextPanel)
        bar.display = not self.on_wall
        if not self.on_wall:
            self._bar = self._bar_text()
            bar.show_text(self._bar)
        self._banner = (self._state(), player.waiting, player.frame and player.frame.Records)
        if live.board is None:
            return
        at = player.at or 0.0
        drawn_at = time.monotonic()
        if self.on_wall:
            banner = Text(self._state(), REPLAY_STYLE)
            banner.append(" ")
            frame = player.frame
            if player.waiting and frame is not None:
                banner.append(f"reading the session: {frame.Records:,} records so far…  ", "bold yellow")
            self.query_one(WallView).show(live, at, ("REPLAY", clock_text(player.elapsed())), banner=banner,
                                          keys=WALL_KEYS, final=player.at_end, drawn_at=drawn_at, so_far=True)
            return
        self.query_one(BoardView).set_rows(live.rows, height=player.largest)  # the height of the largest board
        chart = self.query_one("#chart", LeadersChart)
        if chart.display:
            chart.show(live, drawn_at)
        # The podium's line stays (the final podium, the projected one, or the podium so far): a line that
        # comes and goes would lay the whole screen out again each time the replay starts again.
        podium = self.query_one("#podium", Podium)
        projected = None if player.at_end else live.podium(at)
        if projected:
            podium.show(projected)
        else:
            podium.show_final(live.rows, "Final podium: " if player.at_end else "Podium so far: ", keep=True)

    def _moved(self) -> None:
        """A key moved the moment: the chart follows at once, the frame comes as soon as it can."""
        for chart in self.query(LeadersChart):
            chart.redraw_next()
        self._fetch()

    # --- keys ------------------------------------------------------------------------------------------
    def action_pause(self) -> None:
        self.player.toggle_pause()
        self._moved() if self.player.target != self.player.at else self._draw_bar()

    def action_speed(self, steps: int) -> None:
        self.player.faster(steps)
        self._draw_bar()

    def action_seek(self, direction: int) -> None:
        self.player.seek(direction * SEEK_SECONDS)
        self._moved()

    def action_to_start(self) -> None:
        self.player.to_start()
        self._moved()

    def action_to_end(self) -> None:
        self.player.to_end()
        self._moved()

    def action_wall(self) -> None:
        self.on_wall = not self.on_wall
        self.query_one(ContentSwitcher).current = "replay-wall" if self.on_wall else "replay-console"
        self.call_after_refresh(self.draw)

    def action_chart(self) -> None:
        chart = self.query_one("#chart")
        self._chart_choice = not chart.display
        self._layout_chart()
        self.draw()

    async def action_back(self) -> None:
        await self.player.source.aclose()
        self.dismiss()
