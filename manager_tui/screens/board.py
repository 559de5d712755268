"""The console: the session's line, the whole board, the leaders' chart, and the manager's actions.

It draws the app's `live` view when that changes (it watches the app's reactives `live` and `session_id`),
does each of the manager's actions in a worker of its own, and sends its wishes up as messages
(`SessionChosen`, `RefreshWanted`). Between refreshes a timer keeps the session's line current: the age of
the board shown grows while a refresh hangs (issue 19)."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..backends import BackendError, ManagerBackend, OpenRequest
from ..live import LiveBoard, SeatView, printable
from ..widgets.board_view import BoardView, header_text
from ..widgets.leaders_chart import LeadersChart
from ..widgets.podium import Podium
from ..widgets.session_bar import SessionBar
from .dialogs import ConfirmScreen, OpenSessionScreen
from .export import ExportScreen
from .messages import RefreshWanted, SessionChosen
from .sessions import SessionsScreen

log = logging.getLogger(__name__)
WIDE = 120  # from this many columns the chart is shown beside the board without asking


class BoardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_session", "Open", id="board.open"),
        Binding("s", "start_session", "Start", id="board.start"),
        Binding("x", "close_session", "Close", id="board.close"),
        Binding("d", "free_seat", "Free seat", id="board.free"),
        Binding("e", "export", "Export", id="board.export"),
        Binding("w", "app.switch_mode('wall')", "Wall", id="board.wall"),
        Binding("l", "sessions", "Sessions", id="board.sessions"),
        Binding("c", "chart", "Chart", id="board.chart"),
        Binding("r", "refresh_now", "Refresh", show=False, id="board.refresh"),
    ]

    def __init__(self, backend: ManagerBackend, *, clock: Callable[[], float], countdown_seconds: float,
                 export_dir: Path, refresh_seconds: float) -> None:
        super().__init__()
        self.backend = backend
        self.clock = clock
        self.countdown_seconds = countdown_seconds
        self.export_dir = export_dir
        self.refresh_seconds = refresh_seconds
        self.live = LiveBoard()
        self.session_id: str | None = None
        self._chart_choice: bool | None = None

    def compose(self) -> ComposeResult:
        yield SessionBar(id="session-bar")
        with Horizontal(id="main"):
            yield BoardColumn(id="board-column")
            yield LeadersChart(id="chart")
        yield Podium(id="podium")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(BoardView).focus()
        self._layout_chart()
        self.watch(self.app, "session_id", self._session_changed)
        self.watch(self.app, "live", self._live_changed)
        self.set_interval(1.0, self._tick)

    def _session_changed(self, session_id: str | None) -> None:
        self.session_id = session_id

    def _live_changed(self, live: LiveBoard) -> None:
        self.live = live
        if self.is_current:  # a screen not shown redraws when it is shown again
            # In the screen's own message loop (the change comes from the app's worker), so the screen
            # paints as soon as it has drawn.
            self.call_next(self.show)

    def on_resize(self) -> None:
        self._layout_chart()

    def _layout_chart(self) -> None:
        wide = self.app.size.width >= WIDE
        self.query_one("#chart").display = self._chart_choice if self._chart_choice is not None else wide

    def on_screen_resume(self) -> None:
        self.show()

    def _tick(self) -> None:
        """The session's line between refreshes: its clock, and the age of a board a refresh did not replace."""
        if self.is_current:
            self.query_one(SessionBar).show(self.live, self.clock(), self.stale_after)

    @property
    def stale_after(self) -> float:
        """A board older than this says how old it is (a refresh failed, or has not answered for two rounds)."""
        return 2 * self.refresh_seconds + 1.0

    def show(self) -> None:
        live = self.live
        now = self.clock()
        self.query_one(SessionBar).show(live, now, self.stale_after)
        self.query_one(BoardView).set_rows(live.rows)
        chart = self.query_one(LeadersChart)
        if chart.display:
            chart.show(live)
        self.query_one(Podium).show(live.podium(now))

    # --- actions -----------------------------------------------------------------------------------
    def _chosen_session(self) -> str | None:
        sid = self.session_id
        if sid is None:
            self.notify("no session: press o to open one", severity="warning")
        return sid

    @contextlib.contextmanager
    def _reported(self, title: str) -> Iterator[None]:
        """An action's failure becomes a notification (the console never ends in a traceback); then the
        board is refreshed, whatever happened."""
        try:
            yield
        except BackendError as error:
            self.notify(str(error), severity="error", title=title, markup=False)
        except Exception as error:  # a backend's unexpected error: told and logged
            log.exception("%s failed", title)
            self.notify(f"{type(error).__name__}: {error}", severity="error", title=title, markup=False)
        finally:
            self.post_message(RefreshWanted())

    def action_open_session(self) -> None:
        def opened(request: OpenRequest | None) -> None:
            if request is not None:
                self.open_session(request)
        self.app.push_screen(OpenSessionScreen(), opened)

    @work(group="actions", exit_on_error=False)
    async def open_session(self, request: OpenRequest) -> None:
        with self._reported("Open"):
            session = await self.backend.open_session(request)
            self.notify(f"opened {session.SessionId}", title="Session", markup=False)
            self.post_message(SessionChosen(session.SessionId))

    def action_start_session(self) -> None:
        sid = self._chosen_session()
        if sid is None:
            return
        countdown = self.countdown_seconds
        question = Text.assemble("Start ", (sid, "bold"), f"? Every seated player starts in {countdown:g} s.")
        self.app.push_screen(ConfirmScreen(question, yes="Start"), lambda yes: yes and self.start_session(countdown))

    @work(group="actions", exit_on_error=False)
    async def start_session(self, countdown: float) -> None:
        with self._reported("Start"):
            session = await self.backend.start_session(countdown)
            starts = session.SynchronizeTime.astimezone() if session.SynchronizeTime else None
            self.notify(f"{session.SessionId} starts at {starts:%H:%M:%S}" if starts else session.SessionId,
                        title="Start", markup=False)

    def action_close_session(self) -> None:
        sid = self._chosen_session()
        if sid is None:
            return
        question = Text.assemble("Close ", (sid, "bold"), "? Posts after now are not counted.")
        self.app.push_screen(ConfirmScreen(question, yes="Close"), lambda yes: yes and self.close_session())

    @work(group="actions", exit_on_error=False)
    async def close_session(self) -> None:
        with self._reported("Close"):
            session = await self.backend.close_session()
            self.notify(f"closed {session.SessionId}", title="Session", markup=False)

    def action_free_seat(self) -> None:
        sid = self._chosen_session()
        row = self.query_one(BoardView).selected
        if sid is None:
            return
        if row is None:
            self.notify("pick a player on the board first (arrow keys)", severity="warning")
            return
        question = Text.assemble("Free the seat of ", (printable(row.nickname), "bold"),
                                 f" (rank {row.rank}, {'not seated' if row.state is SeatView.NOT_SEATED else row.state})?")
        self.app.push_screen(ConfirmScreen(question, yes="Free seat"),
                             lambda yes: yes and self.free_seat(sid, row.nickname))

    @work(group="actions", exit_on_error=False)
    async def free_seat(self, session_id: str, nickname: str) -> None:
        with self._reported("Seat"):
            await self.backend.free_seat(session_id, nickname)
            self.notify(f"freed the seat of {printable(nickname)}", title="Seat", markup=False)

    def action_export(self) -> None:
        sid = self._chosen_session()
        if sid is not None:
            self.app.push_screen(ExportScreen(self.backend, sid, self.export_dir))

    def action_sessions(self) -> None:
        def chosen(session_id: str | None) -> None:
            if session_id:
                self.post_message(SessionChosen(session_id))
        self.app.push_screen(SessionsScreen(self.backend, self.export_dir), chosen)

    def action_chart(self) -> None:
        chart = self.query_one("#chart")
        self._chart_choice = not chart.display
        self._layout_chart()
        self.show()

    def action_refresh_now(self) -> None:
        self.post_message(RefreshWanted())


class BoardColumn(Static):
    """The column titles above the board (fixed) and the board itself (scrolling)."""

    DEFAULT_CSS = """
    BoardColumn { layout: vertical; height: 1fr; width: 1fr; }
    BoardColumn > #board-header { height: 1; text-style: bold; background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield Static(header_text(), id="board-header")
        yield BoardView(id="board")
