"""The first screen: find the server (a room on this network, or the address given), settle whether to
trust it, resume a kept sign-in, or say how to start a server.

Started without an address (`spaceinvaders` alone), it listens for rooms on the network for a moment
while asking this machine's default address; the rooms heard are listed (name, address, session,
players) and picking one pins the certificate its advertisement names. Whatever the way in, the
server's certificate is settled before anything is sent (`ServerTrust.check`): a valid chain, the pinned
or remembered fingerprint, or the player's yes to the fingerprint shown (trust on first use). A changed
fingerprint is refused here, with what to check. A room picked goes up to the app (`RoomChosen`), which links
to it and hands the new link down (`link`, bound): this screen then connects to it.
"""
from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from api_client import SpaceInvadersError
from api_client.rooms import BROWSE_SECONDS, FIND_SECONDS, Room, RoomNotFound, browse, matching
from api_client.trust import ServerIdentity, ServerTrustError

from ..link import Link
from ..messages import GameWanted, RoomChosen, SignedIn, SignedOut
from ..settings import GameSettings
from .trust import TrustScreen

NO_SERVER = """\
No Space Invaders server answers at {where}.

To play in a session, start the local server in another terminal:

    spaceinvaders-server serve

or give the address of your room's server (the command it printed):

    spaceinvaders --api 'https://HOST:PORT/v1#sha256=...'

Or play offline now: your scores stay on this machine."""

NO_ROOM = "No room answered on this network, and no server on this machine.\n\n"
THIS_MACHINE = "this machine"


def room_label(room: Room | None, local_url: str) -> Text:
    """One line of the rooms list: name, address, session, players (fits 80 columns with the list's frame)."""
    if room is None:
        return Text.assemble((f"{THIS_MACHINE:<16}", "bold"), f" {local_url}")
    players = ""
    if room.session and room.players is not None:
        players = f"{room.players}" + (f"/{room.seats}" if room.seats else "") + " players"
    return Text.assemble((f"{room.name[:16]:<16}", "bold"), f" {room.where:<21} ",
                         (f"{(room.session or 'no session open')[:20]:<20}", "italic"), f" {players:>15}",
                         "" if room.secure else " (plain HTTP)")


class ConnectScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Try again"),
        Binding("o", "offline", "Play offline"),
        Binding("q", "app.interrupt", "Quit"),
    ]
    DEFAULT_CSS = """
    ConnectScreen #message { width: auto; max-width: 80; padding: 1 2; }
    ConnectScreen #rooms { display: none; width: 80; max-height: 12; }
    ConnectScreen #rooms.-shown { display: block; }
    """

    unreachable = False
    link: var[Link | None] = var(None)  # the app's link (bound): a new one when a room is picked

    def __init__(self, link: Link, settings: GameSettings) -> None:
        super().__init__()
        self.set_reactive(ConnectScreen.link, link)
        self.settings = settings
        self.rooms: list[Room | None] = []  # as listed; None is this machine's default address

    def compose(self) -> ComposeResult:
        with Middle():
            yield Static("SPACE INVADERS", classes="title")
            with Center():
                yield Static("", id="message", markup=False)
            with Center():
                yield OptionList(id="rooms")
        yield Footer()

    def on_mount(self) -> None:
        if self.settings.discover:
            self.search()
        else:
            self.connect()

    def watch_link(self, old: Link | None, new: Link | None) -> None:
        if new is not old and self.is_mounted:  # (binding it sets the same link again)
            self.connect()  # to the room picked

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("retry", "offline"):
            return self.unreachable
        return True

    def _show(self, text: str, unreachable: bool) -> None:
        self.unreachable = unreachable
        self.query_one("#message", Static).update(text)
        self.query_one("#rooms", OptionList).set_class(False, "-shown")
        self.refresh_bindings()

    # --- finding the room ------------------------------------------------------------------------------

    @work(exclusive=True, group="connect")
    async def search(self) -> None:
        wanted = self.settings.room
        link = self.link
        self._show("Looking for rooms on this network ..." if wanted is None
                   else f"Looking for the room {wanted!r} on this network ...", False)
        seconds = FIND_SECONDS if wanted else BROWSE_SECONDS
        until = (lambda name: name.lower() == wanted.lower()) if wanted else None
        found, local = await asyncio.gather(browse(seconds, until=until), link.probe(), return_exceptions=True)
        rooms: list[Room] = [] if isinstance(found, BaseException) else found
        note = f"(Could not listen on the network: {found})\n\n" if isinstance(found, Exception) else ""
        local_answers = local is True
        if wanted is not None:
            try:
                self.post_message(RoomChosen(matching(rooms, wanted)))
            except RoomNotFound as error:
                self._show(f"{note}{error}", True)
            return
        if not rooms:
            if local_answers:
                self.connect()  # as before rooms existed: the server on this machine
            else:
                where = f"the local server's default address, {link.base_url}"
                self._show(note + NO_ROOM + NO_SERVER.format(where=where), True)
            return
        self.rooms = [*rooms, None] if local_answers else list(rooms)
        self._list_rooms(link.base_url)

    def _list_rooms(self, local_url: str) -> None:
        count = len(self.rooms)
        self._show(f"{count} room{'s' * (count != 1)} found. Pick one (arrows, enter):", True)
        options = self.query_one("#rooms", OptionList)
        options.clear_options()
        options.add_options([Option(room_label(room, local_url)) for room in self.rooms])
        options.set_class(True, "-shown")
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#rooms")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        room = self.rooms[event.option_index]
        if room is None:
            self.connect()
        else:
            self.post_message(RoomChosen(room))  # the app links to it

    # --- connecting ------------------------------------------------------------------------------------

    async def _ask(self, identity: ServerIdentity) -> bool:
        return bool(await self.app.push_screen_wait(TrustScreen(identity)))

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        link = self.link
        self._show(f"Connecting to {link.base_url} ...", False)
        try:
            await link.client.trust.check(ask=self._ask)
        except ServerTrustError as error:
            self._show(str(error), True)
            return
        except SpaceInvadersError:
            pass  # the server does not answer: said below
        if not await link.probe():
            given = self.settings.api_given or link.base_url != self.settings.api_url
            where = link.base_url if given else f"the local server's default address, {link.base_url}"
            self._show(NO_SERVER.format(where=where), True)
            return
        try:
            resumed = await link.resume()
        except SpaceInvadersError as error:
            self._show(f"The server at {link.base_url} answered with an error:\n{error}", True)
            return
        self.post_message(SignedIn() if resumed else SignedOut())  # the app shows the lobby or the sign-in

    def action_retry(self) -> None:
        if self.settings.discover:  # the rooms are asked again, also after one was picked
            self.search()
        else:
            self.connect()

    def action_offline(self) -> None:
        self.post_message(GameWanted())
