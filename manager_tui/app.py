"""`ManagerApp`: the manager's console. It owns the backend, the session watched and its refresh.

One refresh every `refresh_seconds` (1.5 s): the backend's board is fetched in a worker, folded into
`self.live` (rank changes, figures, history) and the screen on top redraws from it. A refresh still
running when the next is due is not doubled. A failed refresh keeps the last good board and tells the
manager in a notification (once per distinct error); nothing a backend raises ends the app.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from .backends import BackendError, ManagerBackend, SignInRequired, TrustRequired
from .live import LiveBoard
from .screens.board import BoardScreen
from .screens.dialogs import SignInScreen
from .screens.messages import BoardRefreshed
from .screens.wall import WallScreen

log = logging.getLogger(__name__)
REFRESH_SECONDS = 1.5


class ManagerApp(App[None]):
    CSS_PATH = "manager.tcss"
    TITLE = "Space Invaders — manager"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit-ctrl-c"),
        # Priority, so focus moves before the keys typed after Tab are handed on (a fast typist, a paste).
        Binding("tab", "focus_next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", show=False, priority=True),
    ]

    def __init__(self, backend: ManagerBackend, *, refresh_seconds: float = REFRESH_SECONDS,
                 countdown_seconds: float = 5.0, export_dir: Path | None = None, wall: bool = False,
                 session_id: str | None = None, username: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.backend = backend
        self.refresh_seconds = refresh_seconds
        self.countdown_seconds = countdown_seconds
        self.export_dir = export_dir or Path.cwd()
        self.start_on_wall = wall
        self.session_id: str | None = session_id
        self.username = username  # proposed in the sign-in dialog
        self.clock = clock  # wall clock for the session's countdown and time left (fixed in snapshot tests)
        self.live = LiveBoard()
        self.connected = False
        self.refreshing = False
        # (fetch seconds, fetch + apply + next screen update seconds) of recent refreshes, for the benchmark.
        self.refresh_times: deque[tuple[float, float]] = deque(maxlen=10_000)

    def on_mount(self) -> None:
        self.sub_title = self.backend.label
        self.push_screen(BoardScreen())
        if self.start_on_wall:
            self.push_screen(WallScreen())
        self.set_interval(self.refresh_seconds, self.refresh_board, name="board refresh")
        self.connect()

    async def on_unmount(self) -> None:
        await self.backend.aclose()

    # --- connecting ---------------------------------------------------------------------------------
    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect(self) -> None:
        try:
            await self.backend.connect()
            await self._pick_session()
        except SignInRequired as error:
            self.ask_sign_in(str(error))
            return
        except TrustRequired as error:
            self.ask_trust(error)
            return
        except BackendError as error:
            self.notify(f"{error} — press r to try again", severity="error", title="Connect", markup=False,
                        timeout=30)
            return
        self.connected = True
        self.refresh_board()

    async def _pick_session(self) -> None:
        if self.session_id is not None:
            return
        current = await self.backend.current_session()
        if current is None:
            sessions = await self.backend.sessions()
            current = sessions[0] if sessions else None
        if current is not None:
            self.session_id = current.SessionId

    def ask_sign_in(self, reason: str) -> None:
        def answered(credentials: tuple[str, str] | None) -> None:
            if credentials is None:
                self.exit()
            else:
                self.sign_in(*credentials)
        self.push_screen(SignInScreen(reason, self.backend.label, self.username), answered)

    def ask_trust(self, required: TrustRequired) -> None:
        """Trust on first use: the fingerprint, once; a yes is remembered (api_client/trust.py)."""
        from rich.text import Text

        from api_client.trust import readable_halves

        from .screens.dialogs import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.backend.trust_certificate(required.fingerprint)  # type: ignore[attr-defined]
                self.connect()
            else:
                self.notify("Not connected: the server's certificate is not trusted — press r to be asked again",
                            severity="error", title="Connect", timeout=30)
        first, second = readable_halves(required.fingerprint)
        question = Text(f"The server at {required.origin} has a certificate that no authority vouches for. "
                        f"Its SHA-256 fingerprint:\n\n  {first}\n  {second}\n\nCompare it with the fingerprint the "
                        "server printed when it started. Only if they are the same, trust it: this console then "
                        "remembers it and refuses any other certificate at this address.")
        self.push_screen(ConfirmScreen(question, yes="Trust"), answered)

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def sign_in(self, username: str, password: str) -> None:
        self.username = username
        try:
            await self.backend.sign_in(username, password)
        except BackendError as error:
            self.ask_sign_in(str(error))
            return
        self.connect()

    # --- watching -----------------------------------------------------------------------------------
    def watch_session(self, session_id: str) -> None:
        """Watch another session: its board starts afresh."""
        if session_id != self.session_id:
            self.session_id = session_id
            self.live = LiveBoard()
            self.screen.post_message(BoardRefreshed())
        self.refresh_board()

    def refresh_board(self) -> None:
        if not self.connected:
            return
        if self.session_id is None:
            self._find_session()
        elif not self.refreshing:
            self.refreshing = True
            self._fetch_board(self.session_id)

    @work(exclusive=True, group="find", exit_on_error=False)
    async def _find_session(self) -> None:
        try:
            await self._pick_session()
        except BackendError as error:
            if self.live.failed(str(error)):
                self.notify(str(error), severity="error", title="Sessions", markup=False)

    @work(group="board", exit_on_error=False)
    async def _fetch_board(self, session_id: str) -> None:
        started = time.perf_counter()
        try:
            board = await self.backend.board(session_id)
        except SignInRequired as error:
            self.connected = False
            self.ask_sign_in(str(error))
            return
        except Exception as error:
            message = str(error) if isinstance(error, BackendError) else f"{type(error).__name__}: {error}"
            if not isinstance(error, BackendError):
                log.exception("board refresh failed")
            if self.live.failed(message):
                self.notify(message, severity="error", title="Refresh", markup=False)
            self.screen.post_message(BoardRefreshed())
            return
        finally:
            self.refreshing = False
        if session_id != self.session_id:
            return  # the manager switched sessions while this one was fetched
        fetched = time.perf_counter()
        self.live.apply(board)
        self.screen.post_message(BoardRefreshed(started, fetched))

    def drawn(self, refreshed: BoardRefreshed) -> None:
        """A screen redrew from a refresh: once that update is on the terminal, note how long it all took."""
        if refreshed.started is not None and refreshed.fetched is not None:
            started, fetched = refreshed.started, refreshed.fetched
            self.screen.call_after_refresh(
                lambda: self.refresh_times.append((fetched - started, time.perf_counter() - started)))

    def action_wall(self) -> None:
        if isinstance(self.screen, WallScreen):
            self.pop_screen()
        else:
            self.push_screen(WallScreen())
