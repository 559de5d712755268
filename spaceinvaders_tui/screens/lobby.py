"""The lobby: the current session (name, type, seats, start, time left), join it, or play offline.

Built by the app with its link (None: offline play) and bound to its best score; the games it asks for
(`GameWanted`) are the app's to build, and a game's "play again" comes back here as `join`."""
from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer, Static

from api_client import GameType, Session, SpaceInvadersError
from spaceinvaders_engine import InvaderKind, sprites
from spaceinvaders_player import free_seats, waits_for_start

from ..link import Link
from ..messages import GameWanted, SessionSeen, SignedOut
from ..widgets.hud import clock
from .common import describe
from .countdown import CountdownScreen
from .dialogs import HelpScreen

GAME_TYPES = {
    GameType.MULTIPLE_TRIALS: "multiple trials: play as often as you like, your best game counts",
    GameType.SINGLE_TRIAL: "single trial: one game per player",
    GameType.TIME_CONSTRAINED: "time-constrained: one game, the session ends at a set time",
}
POLL_INTERVAL = 1.0


def score_table(style: str, mystery_colour: str) -> Text:
    """The arcade's score advance table."""
    text = Text(justify="left")
    rows = [(sprites.sprite("mystery", 0, style)[0], "= ? MYSTERY", "mystery")]
    rows += [(sprites.sprite(kind, 0, style)[0].center(5), f"= {points} POINTS", "formation")
             for kind, points in ((InvaderKind.SQUID, 30), (InvaderKind.CRAB, 20), (InvaderKind.OCTOPUS, 10))]
    text.append("*SCORE ADVANCE TABLE*\n", style="bold")
    for art, words, band in rows:
        text.append(art, style=mystery_colour if band == "mystery" else "bold")
        text.append(f" {words}\n")
    return text


class LobbyScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,j", "join", "Join"),
        Binding("o", "offline", "Play offline"),
        Binding("s", "sign_out", "Sign out"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.interrupt", "Quit"),
    ]
    DEFAULT_CSS = """
    LobbyScreen #who { width: 100%; content-align: center middle; }
    LobbyScreen .panel { width: 72; height: auto; border: round $success 60%; padding: 0 1; }
    LobbyScreen #message { width: 72; height: auto; min-height: 2; padding: 0 1; }
    LobbyScreen #table { width: 32; height: auto; margin-top: 1; }
    """

    best: var[int] = var(0)  # the best score on this machine (the app's, bound)

    def __init__(self, link: Link | None, *, ascii_only: bool = False) -> None:
        super().__init__()
        self.link = link
        self.ascii_only = ascii_only
        self.session: Session | None = None
        self.seen = False  # the first answer arrived
        self.joining = False
        self._poller = None

    def compose(self) -> ComposeResult:
        with Middle():
            yield Static("SPACE INVADERS", classes="title")
            yield Static("", id="who", classes="note", markup=False)
            with Center():
                yield Static("", id="session", classes="panel")
            with Center():
                yield Static("", id="message", markup=False)
            with Center():
                yield Static(score_table("ascii" if self.ascii_only else "unicode",
                                         self.app.current_theme.error or "red"), id="table")
        yield Footer()

    def on_mount(self) -> None:
        link = self.link
        self.query_one("#session", Static).border_title = "Current session"
        if link is None:
            self.query_one("#who", Static).update("Offline play: no server. Your scores stay on this machine.")
            self._render_session()
            return
        self.query_one("#who", Static).update(f"Signed in as {link.username} at {link.base_url}")
        self.poll()
        self._poller = self.set_interval(POLL_INTERVAL, self.poll)

    def on_screen_suspend(self) -> None:
        if self._poller is not None:
            self._poller.pause()  # a game is on: no /session polls, no redraws under it

    def on_screen_resume(self) -> None:
        if self._poller is not None:
            self._poller.resume()
            self.poll()

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        try:
            session = await self.link.player.session()
        except SpaceInvadersError as error:
            self.say(describe(error))
            return
        self.post_message(SessionSeen(session))

    def on_session_seen(self, message: SessionSeen) -> None:
        could_join = self.check_action("join", ())
        self.session = message.session
        self.seen = True
        self._render_session()
        if self.check_action("join", ()) != could_join:
            self.refresh_bindings()  # the footer is rebuilt: only when Join comes or goes

    def watch_best(self) -> None:
        if self.is_mounted and self.link is None:
            self._render_session()  # offline, the panel shows the best score

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    def _render_session(self) -> None:
        panel = self.query_one("#session", Static)
        link = self.link
        if link is None:
            panel.update(f"No session: offline play.\nBest score on this machine: {self.best}")
            return
        session = self.session
        if not self.seen:
            panel.update("Asking the server...")
            return
        if session is None:
            panel.update("No session has been opened yet.\nWait for the manager, or press o to play offline.")
            return
        watcher = link.player.watcher
        now = watcher.server_now()
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        table.add_row("Name", Text(session.SessionId))
        table.add_row("Type", GAME_TYPES.get(session.GameType, session.GameType))
        free = free_seats(session)
        seats = f"{session.TotalSeats} seats" if session.TotalSeats is not None else "unknown"
        table.add_row("Seats", f"{free} free of {session.TotalSeats}" if free is not None else seats)
        if session.is_closed:
            table.add_row("State", Text("closed: wait for the next session, or play offline", style="bold"))
        elif waits_for_start(session, now):
            until = watcher.seconds_until_start()
            table.add_row("Start", "waits for the manager's start" if until is None
                          else f"the manager started it: play begins in {clock(until)}")
        else:
            table.add_row("Start", "synchronized, started" if session.Synchronized else "free: play when you like")
        deadline = session.deadline
        if deadline is not None and not session.is_closed:
            table.add_row("Time left", clock(deadline - now) if deadline > now else "none")
        panel.update(table)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "join":
            return self.link is None or (self.session is not None and not self.session.is_closed)
        if action == "sign_out":
            return self.link is not None
        return True

    def action_join(self) -> None:
        if self.link is None:
            self.action_offline()
        elif not self.joining:
            self.join()

    @work(exclusive=True, group="join")
    async def join(self) -> None:
        player = self.link.player
        self.joining = True
        self.say("Joining...")
        try:
            session = await player.join()
        except SpaceInvadersError as error:
            self.say(describe(error))
            return
        finally:
            self.joining = False
        self.say("")
        if player.waits_for_start(session):
            self.app.push_screen(CountdownScreen(session, player), callback=self._started)
        else:
            self._play(session)

    def _started(self, session: Session | None) -> None:
        if session is not None:  # else it closed first (the countdown said so) or the player left the seat
            self._play(session)

    def _play(self, session: Session) -> None:
        trial = self.link.player.games.get(session.SessionId, 1)
        self.post_message(GameWanted(session, trial))

    def action_offline(self) -> None:
        self.post_message(GameWanted())

    def action_sign_out(self) -> None:
        self.post_message(SignedOut())  # the app forgets the sign-in

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.ascii_only))
