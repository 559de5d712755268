"""Waiting for a synchronized session's start, then counting down to it on the server's clock.

`SessionWatcher.wait_for_start` returns at `SynchronizeTime` by the server's clock (its offset learned
from the answers' `ServerTime` or `Date`), so every player's game starts at the same instant. While
waiting, the seat is re-taken every 20 s: the server frees the seats of players it has not heard from.
"""
from __future__ import annotations

import asyncio
import math
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Digits, Footer, Static

from api_client import Session, SpaceInvadersError

KEEP_SEAT_EVERY = 20.0


async def wait_for_start(link, session_id: str) -> Session | None:
    """Wait for the session's start on the server's clock, keeping the seat meanwhile; answers the started
    session, or None when it closed or was replaced first (the benchmark of synchronized starts uses this)."""

    async def keep_seat() -> None:
        while True:
            await asyncio.sleep(KEEP_SEAT_EVERY)
            try:
                await link.keep_seat()
            except SpaceInvadersError:
                pass  # the watcher sees a closed session; a network hiccup is retried next round

    keeper = asyncio.create_task(keep_seat())
    try:
        session = await link.watcher.wait_for_start()
    finally:
        keeper.cancel()
    if session.SessionId != session_id or session.is_closed:
        return None
    return session


class CountdownScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Leave the seat"),
        Binding("q", "app.interrupt", "Quit"),
    ]
    DEFAULT_CSS = """
    CountdownScreen Static { width: 100%; content-align: center middle; }
    CountdownScreen Digits { width: auto; color: $warning; }
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

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
        self.set_interval(0.1, self.show_time)
        self.wait()

    def show_time(self) -> None:
        remaining = self.app.link.watcher.seconds_until_start()
        state = self.query_one("#state", Static)
        digits = self.query_one("#digits", Digits)
        if remaining is None:
            state.update("You have a seat. Waiting for the manager to start the game...")
            digits.update("")
        else:
            state.update("Get ready: every player starts at the same instant.")
            digits.update(str(max(0, math.ceil(remaining))))

    @work(exclusive=True)
    async def wait(self) -> None:
        from .dialogs import MessageScreen
        from .play import PlayScreen

        link = self.app.link
        session = await wait_for_start(link, self.session.SessionId)
        if session is None:
            link.forget_seat()
            self.app.pop_screen()
            self.app.push_screen(MessageScreen("The session was closed before it started."))
            return
        self.app.switch_screen(PlayScreen(session, trial=link.trials.get(session.SessionId, 1)))

    def action_back(self) -> None:
        self.leave()

    @work(exclusive=True)
    async def leave(self) -> None:
        if not await self.app.link.free_seat():
            self.app.notify("Could not free your seat: the server did not answer.", severity="warning")
        self.app.pop_screen()
