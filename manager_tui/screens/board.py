"""The console: the session's line, the whole board, the leaders' chart, and the manager's actions."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..backends import BackendError, OpenRequest
from ..live import printable
from ..widgets.board_view import BoardView, header_text
from ..widgets.leaders_chart import LeadersChart
from ..widgets.podium import Podium
from ..widgets.session_bar import SessionBar
from .dialogs import ConfirmScreen, OpenSessionScreen
from .export import ExportScreen
from .messages import BoardRefreshed
from .sessions import SessionsScreen

if TYPE_CHECKING:
    from ..app import ManagerApp

WIDE = 120  # from this many columns the chart is shown beside the board without asking


class BoardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_session", "Open", id="board.open"),
        Binding("s", "start_session", "Start", id="board.start"),
        Binding("x", "close_session", "Close", id="board.close"),
        Binding("d", "free_seat", "Free seat", id="board.free"),
        Binding("e", "export", "Export", id="board.export"),
        Binding("w", "wall", "Wall", id="board.wall"),
        Binding("l", "sessions", "Sessions", id="board.sessions"),
        Binding("c", "chart", "Chart", id="board.chart"),
        Binding("r", "refresh_now", "Refresh", show=False, id="board.refresh"),
    ]

    app: ManagerApp

    def compose(self) -> ComposeResult:
        yield SessionBar(id="session-bar")
        with Horizontal(id="main"):
            yield BoardColumn(id="board-column")
            yield LeadersChart(id="chart")
        yield Podium(id="podium")
        yield Footer()

    def on_mount(self) -> None:
        self._chart_choice: bool | None = None
        self.query_one(BoardView).focus()
        self._layout_chart()
        self.show()

    def on_resize(self) -> None:
        self._layout_chart()

    def _layout_chart(self) -> None:
        wide = self.app.size.width >= WIDE
        self.query_one("#chart").display = self._chart_choice if self._chart_choice is not None else wide

    def on_screen_resume(self) -> None:
        self.show()

    def on_board_refreshed(self, refreshed: BoardRefreshed) -> None:
        self.show()
        self.app.drawn(refreshed)

    def show(self) -> None:
        live = self.app.live
        now = self.app.clock()
        self.query_one(SessionBar).show(live, now)
        self.query_one(BoardView).set_rows(live.rows)
        chart = self.query_one(LeadersChart)
        if chart.display:
            chart.show(live)
        self.query_one(Podium).show(live.podium(now))

    # --- actions -----------------------------------------------------------------------------------
    def _session_id(self) -> str | None:
        sid = self.app.session_id
        if sid is None:
            self.notify("no session: press o to open one", severity="warning")
        return sid

    def action_open_session(self) -> None:
        def opened(request: OpenRequest | None) -> None:
            if request is not None:
                self.run_action_worker("open", request)
        self.app.push_screen(OpenSessionScreen(), opened)

    def action_start_session(self) -> None:
        sid = self._session_id()
        if sid is None:
            return
        countdown = self.app.countdown_seconds
        question = Text.assemble("Start ", (sid, "bold"), f"? Every seated player starts in {countdown:g} s.")
        self.app.push_screen(ConfirmScreen(question, yes="Start"),
                             lambda yes: yes and self.run_action_worker("start", countdown))

    def action_close_session(self) -> None:
        sid = self._session_id()
        if sid is None:
            return
        question = Text.assemble("Close ", (sid, "bold"), "? Posts after now are not counted.")
        self.app.push_screen(ConfirmScreen(question, yes="Close"),
                             lambda yes: yes and self.run_action_worker("close", None))

    def action_free_seat(self) -> None:
        sid = self._session_id()
        row = self.query_one(BoardView).selected
        if sid is None:
            return
        if row is None:
            self.notify("pick a player on the board first (arrow keys)", severity="warning")
            return
        question = Text.assemble("Free the seat of ", (printable(row.nickname), "bold"),
                                 f" (rank {row.rank}, {row.state or 'not seated'})?")
        self.app.push_screen(ConfirmScreen(question, yes="Free seat"),
                             lambda yes: yes and self.run_action_worker("free", (sid, row.nickname)))

    @work(group="actions", exit_on_error=False)
    async def run_action_worker(self, action: str, argument: object) -> None:
        backend = self.app.backend
        try:
            if action == "open":
                assert isinstance(argument, OpenRequest)
                session = await backend.open_session(argument)
                self.notify(f"opened {session.SessionId}", title="Session", markup=False)
                self.app.watch_session(session.SessionId)
            elif action == "start":
                session = await backend.start_session(float(argument))  # type: ignore[arg-type]
                self.notify(f"{session.SessionId} starts at {session.SynchronizeTime.astimezone():%H:%M:%S}", title="Start",
                            markup=False)
            elif action == "close":
                session = await backend.close_session()
                self.notify(f"closed {session.SessionId}", title="Session", markup=False)
            elif action == "free":
                sid, name = argument  # type: ignore[misc]
                await backend.free_seat(sid, name)
                self.notify(f"freed the seat of {printable(name)}", title="Seat", markup=False)
        except BackendError as error:
            self.notify(str(error), severity="error", title=action.capitalize(), markup=False)
        except Exception as error:  # noqa: BLE001 - the console never ends in a traceback
            self.notify(f"{type(error).__name__}: {error}", severity="error", title=action.capitalize(),
                        markup=False)
        self.app.refresh_board()

    def action_export(self) -> None:
        sid = self._session_id()
        if sid is not None:
            self.app.push_screen(ExportScreen(self.app.backend, sid, self.app.export_dir))

    def action_wall(self) -> None:
        self.app.action_wall()

    def action_sessions(self) -> None:
        def chosen(session_id: str | None) -> None:
            if session_id:
                self.app.watch_session(session_id)
        self.app.push_screen(SessionsScreen(self.app.backend), chosen)

    def action_chart(self) -> None:
        chart = self.query_one("#chart")
        self._chart_choice = not chart.display
        self._layout_chart()
        self.show()

    def action_refresh_now(self) -> None:
        if self.app.connected:
            self.app.refresh_board()
        else:
            self.app.connect()


class BoardColumn(Static):
    """The column titles above the board (fixed) and the board itself (scrolling)."""

    DEFAULT_CSS = """
    BoardColumn { layout: vertical; height: 1fr; width: 1fr; }
    BoardColumn > #board-header { height: 1; text-style: bold; background: $boost; }
    """

    def compose(self) -> ComposeResult:
        yield Static(header_text(), id="board-header")
        yield BoardView(id="board")
