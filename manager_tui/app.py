"""`ManagerApp`: the manager's console. It owns the backend, the session watched and its refresh.

One refresh every `refresh_seconds` (1.5 s): the backend's board is fetched in a worker, folded into
`live` (rank changes, figures, history), and `live` (a reactive) tells the screens, which watch it and
redraw. A refresh still running when the next is due is not doubled. A failed refresh keeps the last good
board and tells the manager in a notification (once per distinct error); nothing a backend raises ends
the app. The screens send their wishes up as messages (`screens/messages.py`): another session to watch,
a refresh now.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from api_client.trust import readable_halves

from .backends import BackendError, ManagerBackend, SignInRequired, TrustRequired
from .live import LiveBoard
from .replay import DEFAULT_SPEED
from .screens.board import BoardScreen
from .screens.dialogs import ConfirmScreen, SignInScreen
from .screens.messages import RefreshWanted, ReplayWanted, SessionChosen
from .screens.replay import ReplayScreen
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
    # What the screens watch: the view of the session watched (set anew for another session, mutated by
    # each refresh) and the session's id. No repaint of their own: the screens redraw what changed.
    live: reactive[LiveBoard] = reactive(LiveBoard, always_update=True, init=False, repaint=False)
    session_id: reactive[str | None] = reactive(None, init=False, repaint=False)

    def __init__(self, backend: ManagerBackend, *, refresh_seconds: float = REFRESH_SECONDS,
                 countdown_seconds: float = 5.0, export_dir: Path | None = None, wall: bool = False,
                 session_id: str | None = None, username: str | None = None,
                 clock: Callable[[], float] = time.time, replay: str | None = None,
                 replay_speed: float = DEFAULT_SPEED) -> None:
        super().__init__()
        self.backend = backend
        self.refresh_seconds = refresh_seconds
        self.countdown_seconds = countdown_seconds
        self.export_dir = export_dir or Path.cwd()
        self.start_on_wall = wall
        self.replay_first = replay  # replay this session as soon as connected (--replay)
        self.replay_speed = replay_speed
        self.set_reactive(ManagerApp.session_id, replay or session_id)
        self.username = username  # proposed in the sign-in dialog
        self.clock = clock  # wall clock for the session's countdown and time left (fixed in snapshot tests)
        self.connected = False
        self.refreshing = False

    def on_mount(self) -> None:
        self.sub_title = self.backend.label
        self.add_mode("console", lambda: BoardScreen(self.backend, clock=self.clock,
                                                     countdown_seconds=self.countdown_seconds,
                                                     export_dir=self.export_dir,
                                                     refresh_seconds=self.refresh_seconds))
        self.add_mode("wall", lambda: WallScreen(clock=self.clock))
        self.switch_mode("wall" if self.start_on_wall and not self.replay_first else "console")
        self._refresh_timer = self.set_interval(self.refresh_seconds, self.refresh_board, name="board refresh")
        self.connect()

    async def on_unmount(self) -> None:
        self.connected = False  # no refresh starts on a closed backend
        self._refresh_timer.stop()
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
        if self.replay_first is not None:
            self.post_message(ReplayWanted(self.replay_first))
            self.replay_first = None

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
        def answered(yes: bool | None) -> None:
            if yes:
                self.backend.trust_certificate(required.fingerprint)
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

    # --- what the screens ask for -------------------------------------------------------------------
    @on(SessionChosen)
    def follow_session(self, chosen: SessionChosen) -> None:
        """Watch another session: its board starts afresh."""
        if chosen.session_id != self.session_id:
            self.session_id = chosen.session_id
            self.live = LiveBoard()
        self.refresh_board()

    @on(ReplayWanted)
    def replay_wanted(self, wanted: ReplayWanted) -> None:
        self.start_replay(wanted.session_id)

    @work(exclusive=True, group="replay", exit_on_error=False)
    async def start_replay(self, session_id: str) -> None:
        try:
            source = await self.backend.replay(session_id)
        except BackendError as error:
            self.notify(str(error), severity="error", title="Replay", markup=False)
            return
        wall = self.start_on_wall or isinstance(self.screen, WallScreen)
        self.start_on_wall = False
        await self.push_screen(ReplayScreen(source, speed=self.replay_speed, wall=wall),
                               lambda _: self.refresh_board())  # back on the live board: at once

    @on(RefreshWanted)
    def refresh_wanted(self) -> None:
        if self.connected:
            self.refresh_board()
        else:
            self.connect()

    # --- watching -----------------------------------------------------------------------------------
    def refresh_board(self) -> None:
        if not self.connected or isinstance(self.screen, ReplayScreen):
            return  # a replay covers the live board: nothing fetched for it (5,000 players: 5% of a core)
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
        try:
            board = await self.backend.board(session_id)
        except SignInRequired as error:
            self.connected = False
            self.ask_sign_in(str(error))
            return
        except Exception as error:
            if not self.connected:
                return  # the console is closing: its backend was closed under this refresh
            message = str(error) if isinstance(error, BackendError) else f"{type(error).__name__}: {error}"
            if not isinstance(error, BackendError):
                log.exception("board refresh failed")
            if self.live.failed(message):
                self.notify(message, severity="error", title="Refresh", markup=False)
            self.mutate_reactive(ManagerApp.live)
            return
        finally:
            self.refreshing = False
        if session_id != self.session_id:
            return  # the manager switched sessions while this one was fetched
        self.live.apply(board)
        self.mutate_reactive(ManagerApp.live)
