"""Every session, newest first: pick one to watch, replay or export."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from api_client import Session

from ..backends import BackendError, ManagerBackend
from ..widgets.session_bar import game_text
from .export import ExportScreen
from .messages import ReplayWanted


def _when(session: Session, field: str) -> str:
    value = getattr(session, field)
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class SessionsScreen(Screen[str | None]):
    """Answers the SessionId to watch, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="sessions.back"),
        Binding("enter", "watch", "Watch", id="sessions.watch"),
        Binding("e", "export", "Export", id="sessions.export"),
        Binding("p", "replay", "Replay", id="sessions.replay"),
        Binding("r", "reload", "Reload", id="sessions.reload"),
    ]

    def __init__(self, backend: ManagerBackend, export_dir: Path) -> None:
        super().__init__()
        self.backend = backend
        self.export_dir = export_dir
        self.sessions: list[Session] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Sessions, newest first — enter: watch, p: replay, e: export, escape: back", "bold"),
                     classes="title")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Session", "Game", "Seats", "Opened", "Closed")
        table.focus()
        self.action_reload()

    @work(exclusive=True, exit_on_error=False)
    async def action_reload(self) -> None:
        try:
            self.sessions = await self.backend.sessions()
        except BackendError as error:
            self.notify(str(error), severity="error", title="Sessions", markup=False)
            return
        table = self.query_one(DataTable)
        table.clear()
        for session in self.sessions:
            table.add_row(Text(session.SessionId), game_text(session), str(session.TotalSeats or ""),
                          _when(session, "OpeningTime"), _when(session, "ClosingTime") or "open",
                          key=session.SessionId)

    def _chosen(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.sessions or table.cursor_row < 0 or table.cursor_row >= len(self.sessions):
            return None
        return self.sessions[table.cursor_row].SessionId

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(str(event.row_key.value))

    def action_watch(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self.dismiss(chosen)

    def action_export(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self.app.push_screen(ExportScreen(self.backend, chosen, self.export_dir))

    def action_replay(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self.app.post_message(ReplayWanted(chosen))
            self.dismiss(None)

    def action_back(self) -> None:
        self.dismiss(None)
