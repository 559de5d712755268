"""The game app: screens from connecting to game over, one `Link` to the backend for the whole run.

Messages up, attributes down. The app owns the run's state (the settings, the link, the frames, the best
score, whether the terminal hung up) and builds each screen with what that screen uses; the link (a room
picked), the best score and the hang-up are reactives it binds onto the screens that use them. Screens say
what comes next and what changed with messages (`SignedIn`, `SignedOut`, `RoomChosen`, `GameWanted`,
`GameScored`, `QuitWanted`); the app, which knows every screen, answers them, so no screen imports another
that imports it back, and no screen reads or writes the app's attributes
(`tests/test_screens_keep_to_their_attributes.py`)."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import ClassVar

import httpx
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var

from api_client import Session, TokenStore

from .best_score import BestScore
from .frames import Frames
from .link import Link
from .messages import GameScored, GameWanted, QuitWanted, RoomChosen, SignedIn, SignedOut
from .screens.connect import ConnectScreen
from .screens.dialogs import Choice
from .screens.lobby import LobbyScreen
from .screens.play import PlayScreen
from .screens.sign_in import SignInScreen
from .settings import GameSettings
from .theme import ARCADE

log = logging.getLogger(__name__)

ASCII_KEYS = {"←": "left", "→": "right", "↑": "up", "↓": "down"}


class SpaceInvadersApp(App[None]):
    TITLE = "Space Invaders"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    .title { color: $error; text-style: bold; width: 100%; content-align: center middle; }
    .note { color: $foreground 70%; }
    .error { color: $error; }
    App.-ascii TopTen { border-left: ascii $success 40%; }
    App.-ascii Input { border: ascii $panel-lighten-2; }
    App.-ascii Input:focus { border: ascii $primary; }
    App.-ascii Button { border: ascii $panel-lighten-2; }
    App.-ascii .panel { border: ascii $success 60%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True, system=True),
        # Priority, so focus moves before the keys typed after Tab are handed on (a fast typist, a paste).
        Binding("tab", "focus_next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", show=False, priority=True),
    ]

    link: var[Link | None] = var(None)  # the backend (None: offline), bound onto the connect screen
    best_score: var[int] = var(0)  # `best`'s score, bound onto the lobby and the games
    hung_up: var[bool] = var(False)  # the terminal is gone: draw nothing more (bound onto the games)

    def __init__(self, settings: GameSettings, *, http: httpx.AsyncClient | None = None,
                 frames: Frames | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.best = BestScore(settings.data_dir)
        self.best_score = self.best.best
        self.token_store = TokenStore(settings.data_dir) if settings.data_dir else TokenStore()
        if not settings.offline:
            self.link = Link(settings.api_url, token_store=self.token_store, http=http)
        self.frames = frames or Frames()  # tests step frames by hand, benchmarks log them
        self._leaving = False
        self.register_theme(ARCADE)

    @property
    def ascii_only(self) -> bool:
        return self.settings.ascii_only

    def get_key_display(self, binding: Binding) -> str:
        display = super().get_key_display(binding)
        if self.ascii_only:
            for arrow, word in ASCII_KEYS.items():
                display = display.replace(arrow, word)
        return display

    def on_mount(self) -> None:
        self.theme = self.settings.theme
        if self.ascii_only:
            self.add_class("-ascii")
        self._catch_signals(True)
        self.push_screen(self._lobby() if self.link is None else self._connect(self.link))

    # --- the screens, each built with what it uses ----------------------------------------------------
    def _connect(self, link: Link) -> ConnectScreen:
        return ConnectScreen(link, self.settings).data_bind(link=SpaceInvadersApp.link)

    def _lobby(self) -> LobbyScreen:
        return LobbyScreen(self.link, ascii_only=self.ascii_only).data_bind(best=SpaceInvadersApp.best_score)

    def _game(self, session: Session | None, trial: int) -> PlayScreen:
        link = self.link
        player = link.player if link is not None and session is not None else None
        return PlayScreen(session, trial=trial, player=player, username=link.username if link else None,
                          frames=self.frames, ascii_only=self.ascii_only).data_bind(
            best=SpaceInvadersApp.best_score, hung_up=SpaceInvadersApp.hung_up)

    # --- what the screens ask for ---------------------------------------------------------------------
    def on_signed_in(self, message: SignedIn) -> None:
        self.switch_screen(self._lobby())

    def on_signed_out(self, message: SignedOut) -> None:
        if self.link is not None:
            self.link.sign_out()  # the kept tokens are forgotten too
            self.switch_screen(SignInScreen(self.link))

    def on_room_chosen(self, message: RoomChosen) -> None:
        """A new link to the room, pinned to the certificate its advertisement names; connect to it."""
        old = self.link
        link = Link(message.room.url, token_store=self.token_store)
        link.client.trust.how = "room"
        self.link = link  # bound onto the connect screen, which connects to it
        if old is not None:
            self.run_worker(old.aclose(), group="close")

    def on_game_wanted(self, message: GameWanted) -> None:
        game = self._game(message.session, message.trial)
        if message.instead:
            self.switch_screen(game)
        else:
            self.push_screen(game, callback=self._after_game)

    def _after_game(self, choice: Choice | None) -> None:
        if choice is Choice.AGAIN and isinstance(self.screen, LobbyScreen):
            self.screen.join()  # another trial of the session: the lobby joins again

    def on_game_scored(self, message: GameScored) -> None:
        if self.best.record(message.score):
            self.best_score = self.best.best

    def on_quit_wanted(self, message: QuitWanted) -> None:
        self.leave()

    def _catch_signals(self, on: bool) -> None:
        """A closed terminal (SIGHUP) or a kill (SIGTERM) frees the seat before the app ends."""
        try:
            loop = asyncio.get_running_loop()
            for sig, handler in ((signal.SIGHUP, self._hang_up), (signal.SIGTERM, self.action_interrupt)):
                if on:
                    loop.add_signal_handler(sig, handler)
                else:
                    loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            log.debug("no signal handlers on this platform")

    def _hang_up(self) -> None:
        """The terminal closed. Textual's output would block on the dead terminal, so frames stop, the seat
        is freed, and the process ends without restoring a terminal that is not there."""
        self.hung_up = True
        self.leave()

    def action_interrupt(self) -> None:
        """Ctrl+C, a closed terminal: leave at once (the seat is freed first)."""
        self.leave()

    def leave(self, message: str | None = None) -> None:
        """Free the seat, then end the app (in a worker: the screen stays alive meanwhile)."""
        if self._leaving:
            return
        self._leaving = True
        self.run_worker(self._leave(message), group="leave", exclusive=True)

    async def _leave(self, message: str | None) -> None:
        for screen in self.screen_stack:  # a game left before its end still counts for the best score
            if isinstance(screen, PlayScreen):
                self.best.record(screen.game.score)
        if self.link is not None:
            if self.link.player.seated_in is not None:
                self.notify("Freeing your seat...", timeout=10)
            await self.link.player.leave()  # a seat it could not free is tried again by the command line
        if self.hung_up:
            if self.link is not None:
                await self.link.aclose()
            self.frames.close()
            os._exit(0)
        self.exit(message=message)

    async def on_unmount(self) -> None:
        self._catch_signals(False)
        if self.link is not None:
            await self.link.aclose()
        self.frames.close()
