"""Waiting for a synchronized session's start, then counting down to it on the server's clock.

The player's session waits (the start pushed over the backend's WebSocket, or `/session` polled when the
push is not there; the seat kept meanwhile) and returns at `SynchronizeTime` on the server's clock, so every
player's game starts at the same instant. Dismissed with the started session, or None when it closed (or
another replaced it) first, or the player left the seat.
"""
from __future__ import annotations

import math
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Digits, Footer, Static

from api_client import Session
from spaceinvaders_player import PlayerSession

from .dialogs import MessageScreen

SHOW_EVERY = 0.1  # the digits follow the clock


class CountdownScreen(Screen[Session | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Leave the seat"),
        Binding("q", "app.interrupt", "Quit"),
    ]
    DEFAULT_CSS = """
    CountdownScreen Static { width: 100%; content-align: center middle; }
    CountdownScreen Digits { width: auto; color: $warning; }
    """

    def __init__(self, session: Session, player: PlayerSession) -> None:
        super().__init__()
        self.session = session
        self.player = player
        self._shown: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        with Middle():
            yield Static("SPACE INVADERS", classes="title")
            yield Static(self.session.SessionId, classes="note", markup=False)
            yield Static("", id="state")
            with Center():
                yield Digits("", id="digits")
        yield Footer()

    def on_mount(self) -> None:
        self.show_time()
        self.set_interval(SHOW_EVERY, self.show_time)
        self.wait()

    def show_time(self) -> None:
        remaining = self.player.watcher.seconds_until_start()
        if remaining is None:
            shown = ("You have a seat. Waiting for the manager to start the game...", "")
        else:
            shown = ("Get ready: every player starts at the same instant.", str(max(0, math.ceil(remaining))))
        if shown != self._shown:  # a redraw only when the words or the digits change
            self._shown = shown
            self.query_one("#state", Static).update(shown[0])
            self.query_one("#digits", Digits).update(shown[1])

    @work(exclusive=True)
    async def wait(self) -> None:
        started = await self.player.wait_for_start(self.session)
        self.dismiss(started)
        if started is None:
            self.app.push_screen(MessageScreen("The session was closed before it started."))

    def action_back(self) -> None:
        self.leave()

    @work(exclusive=True)
    async def leave(self) -> None:
        if not await self.player.free_seat():
            self.app.notify("Could not free your seat: the server did not answer.", severity="warning")
        self.dismiss(None)
