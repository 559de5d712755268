"""The first screen: find the server, resume a kept sign-in, or say how to start a server."""
from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static

from api_client import SpaceInvadersError

NO_SERVER = """\
No Space Invaders server answers at {where}.

To play in a session, start the local server in another terminal:

    spaceinvaders-server serve

or give the address of your room's server:

    spaceinvaders --api http://HOST:PORT/v1     (or SPACEINVADERS_API)

Or play offline now: your scores stay on this machine."""


class ConnectScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Try again"),
        Binding("o", "offline", "Play offline"),
        Binding("q", "app.interrupt", "Quit"),
    ]
    DEFAULT_CSS = """
    ConnectScreen #message { width: auto; max-width: 80; padding: 1 2; }
    """

    unreachable = False

    def compose(self) -> ComposeResult:
        with Middle():
            yield Static("SPACE INVADERS", classes="title")
            with Center():
                yield Static("", id="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.connect()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("retry", "offline"):
            return self.unreachable
        return True

    def _show(self, text: str, unreachable: bool) -> None:
        self.unreachable = unreachable
        self.query_one("#message", Static).update(text)
        self.refresh_bindings()

    @work(exclusive=True)
    async def connect(self) -> None:
        from .lobby import LobbyScreen
        from .sign_in import SignInScreen

        link = self.app.link
        self._show(f"Connecting to {link.base_url} ...", False)
        if not await link.probe():
            given = self.app.settings.api_given
            where = link.base_url if given else f"the local server's default address, {link.base_url}"
            self._show(NO_SERVER.format(where=where), True)
            return
        try:
            resumed = await link.resume()
        except SpaceInvadersError as error:
            self._show(f"The server at {link.base_url} answered with an error:\n{error}", True)
            return
        self.app.switch_screen(LobbyScreen() if resumed else SignInScreen())

    def action_retry(self) -> None:
        self.connect()

    def action_offline(self) -> None:
        from .play import PlayScreen

        self.app.push_screen(PlayScreen(None))
