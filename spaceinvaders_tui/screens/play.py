"""The game: the playfield, the HUD, the top 10, and the session talk while it runs.

The app builds it with what it uses: the player's session (None offline), the frames (a 30 Hz timer on the
monotonic clock, bounded after a stall; tests drive them by hand with `advance`), and binds its best score and
whether the terminal hung up. The score of a game that ended goes up to the app as `GameScored`. Each frame
turns the key presses into intents (`CannonControl`), steps the engine, and lets the playfield refresh the
lines that changed. The game's `Trial` (its player session's) tells what happens on the network through
callbacks, which become messages here.

Dismissed with `Choice.AGAIN` (another game in the session: the lobby joins again) or None (back); quitting
is asked of the app (`QuitWanted`), and another offline game replaces this one (`GameWanted`).
"""
from __future__ import annotations

import asyncio
import gc
import logging
import random
import zlib
from time import monotonic
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer, Static

from api_client import GameType, NotSeated, Session, SessionClosed, SessionMismatch
from spaceinvaders_engine import Game, Phase, events
from spaceinvaders_player import TIME_UP_MARGIN, Delivery, PlayerSession, TrialEvents

from ..controls import CannonControl
from ..frames import Frames
from ..messages import (
    BoardUpdated,
    FinalScoreDelivered,
    GameScored,
    GameWanted,
    OnlineChanged,
    QuitWanted,
    StatusRefused,
    TrialEnded,
)
from ..widgets.hud import Hud
from ..widgets.playfield import Playfield
from ..widgets.top_ten import TopTen
from .common import describe
from .dialogs import Choice, ConfirmScreen, Ending, GameOverScreen, HelpScreen, Outcome

log = logging.getLogger(__name__)

MAX_FRAME_SECONDS = 0.1  # after a stall the game resumes instead of running the missed time at once
FRAME_SECONDS = 1 / 30  # a frame stepped by hand (`advance`)
MIN_WIDTH, MIN_HEIGHT = 80, 24
SCALE_2 = (132, 44)  # from this terminal size every cell is drawn 2 x 2
SIDEBAR = (24, 40)
SHORT_TYPES = {GameType.MULTIPLE_TRIALS: "multiple trials", GameType.SINGLE_TRIAL: "single trial",
               GameType.TIME_CONSTRAINED: "time-constrained"}
LOST = {"lives": "The invaders hit your last cannon.", "invasion": "The invaders have landed."}


class PlayScreen(Screen[Choice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,a,h", "move(-1)", "Move", key_display="← →"),
        Binding("right,d,l", "move(1)", "Move", show=False),
        Binding("space", "fire", "Fire"),
        Binding("p", "pause", "Pause"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_game", "Quit"),
    ]
    DEFAULT_CSS = """
    PlayScreen #body { height: 1fr; }
    PlayScreen #status { height: 1; color: $foreground 70%; background: $background; }
    PlayScreen #too-small { display: none; width: 100%; height: 1fr; content-align: center middle; }
    PlayScreen.-too-small #too-small { display: block; }
    PlayScreen.-too-small #body, PlayScreen.-too-small Hud, PlayScreen.-too-small #status { display: none; }
    """

    games = 0  # games started in this run (numbers the frame log's games)
    best: var[int] = var(0)  # the best score on this machine (the app's, bound)
    hung_up: var[bool] = var(False)  # the terminal is gone: draw nothing more (the app's, bound)

    def __init__(self, session: Session | None, *, player: PlayerSession | None, frames: Frames,
                 username: str | None = None, ascii_only: bool = False, trial: int = 1,
                 seed: int | None = None) -> None:
        super().__init__()
        PlayScreen.games += 1
        self.number = PlayScreen.games
        self.session = session
        self.player = player if session is not None else None  # the player's session, for a game in a session
        self.frames = frames
        self.username = username
        self.ascii_only = ascii_only
        self.trial_number = trial
        if seed is None:  # everyone in a session gets the same invaders' dice for the same trial
            seed = zlib.crc32(f"{session.SessionId}/{trial}".encode()) if session else random.getrandbits(32)
        self.game = Game(seed)
        self.control = CannonControl()
        self.paused = False
        self._auto_paused = False
        self.too_small = False
        self.field: Playfield | None = None  # set on mount
        self._timer = None
        self.outcome: Outcome | None = None
        self.delivery: Delivery | None = None  # the final score's way to the server (None: none sent)
        self.online = True  # the server answers the game's posts
        self.trial = None
        self.deadline = session.deadline if session else None
        self.clock = 0.0  # seconds on the frames' clock at the last frame
        self._game_over: GameOverScreen | None = None
        self._flash = ("", 0.0)  # a short message in the status line, until a time
        self._status_text = ""

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    # --- building -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        ascii_only = self.ascii_only
        yield Hud(ascii_only=ascii_only)
        with Horizontal(id="body"):
            yield Playfield(self.game, style="ascii" if ascii_only else "unicode", on_paint=self.frames.painted)
            yield TopTen(self.username, title=self.session.SessionId if self.session else "", ascii_only=ascii_only)
        yield Static("", id="status", markup=False)
        yield Static("", id="too-small", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.field = self.query_one(Playfield)
        self.hud = self.query_one(Hud)
        self.board = self.query_one(TopTen)
        player = self.player
        if player is not None:
            self.trial = player.start_trial(self.session, self.game.status, TrialEvents(
                on_board=lambda board: self.post_message(BoardUpdated(board)),
                on_ended=lambda error: self.post_message(TrialEnded(error)),
                on_refused=lambda error: self.post_message(StatusRefused(error)),
                on_online=lambda online: self.post_message(OnlineChanged(online)),
            ))  # fmt: skip
        else:
            self.board.show_offline(self.best)
        # The app's long-lived objects (Textual's, httpx's, pydantic's) leave the garbage collector's view:
        # a full collection over them paused the game ~100 ms every few seconds; a frame's garbage is young.
        gc.collect()
        gc.freeze()
        self._timer = self.frames.start(self, self._on_timer)
        self.clock = self.frames.now()
        self._show_status()

    def watch_best(self, best: int) -> None:
        if self.field is not None and self.player is None:
            self.board.show_offline(best)  # offline, the sidebar shows the best score

    def on_unmount(self) -> None:
        if self.trial is not None and self.player is not None:
            self.player.close_trial(self.trial)

    def on_resize(self) -> None:
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.too_small = small
        if small and not self.paused and not self.ended:
            self._set_paused(True)
        self.set_class(small, "-too-small")
        self.query_one("#too-small", Static).update(
            f"The game needs a terminal of at least {MIN_WIDTH} x {MIN_HEIGHT}; this one is {width} x {height}.\n"
            "Make it larger: the game is paused (p to play on)."
        )
        field_width = 108 if width >= SCALE_2[0] and height >= SCALE_2[1] else 54
        self.query_one(TopTen).styles.width = max(SIDEBAR[0], min(SIDEBAR[1], width - field_width - 2))

    # --- frames -------------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        if self.hung_up:
            return
        now = self.frames.now()
        dt = min(MAX_FRAME_SECONDS, max(0.0, now - self.clock))
        self.clock = now
        self._frame(dt)

    def advance(self, seconds: float) -> None:
        """Run frames of 1/30 s by hand (tests, whose frames have no timer)."""
        for _ in range(round(seconds / FRAME_SECONDS)):
            self.clock += FRAME_SECONDS
            self._frame(FRAME_SECONDS)

    def _frame(self, dt: float) -> None:
        game = self.game
        if not self.paused and not self.too_small:
            if not self.ended:
                self._handle(game.step(dt, self.control.intents(self.clock)))
                self._check_time()
            elif game.over and game.explosions:
                game.step(dt)  # the last explosions burn out
        self._draw()

    def _draw(self) -> None:
        game = self.game
        field = self.field
        if field is None:
            return
        field.banner = self._banner()
        changed = field.update_frame()
        self.frames.stepped(changed, self.number)
        time_left = None
        if self.deadline is not None and self.player is not None:
            time_left = self.deadline - self.player.watcher.server_now()
        self.hud.show(game.score, self.best, game.level, game.shots, game.lives, time_left)

    def _set_paused(self, paused: bool) -> None:
        """Pause or go on; the frame timer stops meanwhile (a paused game costs nothing)."""
        self.paused = paused
        self.control.reset()
        if self._timer is not None:
            if paused:
                self._timer.pause()
            else:
                self.clock = self.frames.now()
                self._timer.resume()
        self._draw()
        self._show_status()

    def _banner(self) -> str | None:
        if self.outcome is not None:
            return self.outcome.heading
        if self.paused:
            return "PAUSED"
        if self.game.phase is Phase.WAVE_BREAK:
            return f"LEVEL {self.game.level}"
        return None

    def _handle(self, happened: list[events.Event]) -> None:
        for event in happened:
            if isinstance(event, events.LifeLost):
                self.control.reset()
            elif isinstance(event, events.ExtraLife):
                self.flash("Extra life!")
            elif isinstance(event, events.GameOver):
                self._end(Ending.LOST, LOST.get(event.reason, "Game over."))

    def _check_time(self) -> None:
        if self.deadline is None or self.player is None or self.ended:
            return
        if self.player.watcher.server_now() >= self.deadline - TIME_UP_MARGIN:
            self._end(Ending.TIME_UP, "The session's time is over.")

    # --- the end of a game --------------------------------------------------------------------------
    def _end(self, ending: Ending, reason: str) -> None:
        game = self.game
        if self.paused:
            self._set_paused(False)  # frames go on under the game-over screen: the last explosions burn out
        new_best = game.score > self.best
        self.post_message(GameScored(game.score))  # the app keeps the best and binds it back here
        session = self.session
        multiple = session is not None and session.GameType == GameType.MULTIPLE_TRIALS
        again = not ending.by_server and (session is None or (multiple and ending is Ending.LOST))
        rule = ""
        if session is not None and not again and not ending.by_server:
            rule = "This session allows one game per player." if not multiple else ""
        self.outcome = Outcome(ending, reason, game.score, game.level, game.shots, max(self.best, game.score),
                               new_best, again, rule)
        if self.trial is not None and self.player is not None and not ending.by_server:
            self.delivery = Delivery.SENDING
            self._deliver(self.player.end_trial(self.trial, game.status()))
        self.field.banner = ending.value
        self.field.update_frame()
        self._game_over = GameOverScreen(self.outcome, self._standing())
        self.app.push_screen(self._game_over, callback=self._after_game_over)

    @work(group="delivery")
    async def _deliver(self, ending: asyncio.Task[Delivery]) -> None:
        """Wait for the final state's fate (the task goes on beyond this screen) and tell it as a message."""
        await asyncio.wait([ending])
        if ending.cancelled():
            delivery = Delivery.FAILED
        elif ending.exception() is not None:
            log.error("delivering the final score failed", exc_info=ending.exception())
            delivery = Delivery.FAILED
        else:
            delivery = ending.result()
        self.post_message(FinalScoreDelivered(delivery))

    def _standing(self) -> str:
        """The game-over screen's line about the final score's way to the board and the rank."""
        if self.session is None:
            return "Offline play: this score stays on this machine."
        if self.delivery is Delivery.SENDING:
            return "Sending your final score..." + ("" if self.online else " (network lost: retrying)")
        if self.delivery is Delivery.REFUSED:
            return "The server takes no more scores for this session."
        if self.delivery is Delivery.FAILED:
            return "Your final score could not be sent (the error is in the log)."
        rank = self.board.my_rank
        if rank is not None:
            return f"RANK #{rank} in {self.session.SessionId}"
        return "Not in the top 10."

    def _tell_standing(self) -> None:
        if self._game_over is not None:
            self._game_over.standing = self._standing()

    def _after_game_over(self, choice: Choice | None) -> None:
        self._game_over = None
        if choice is Choice.QUIT:
            self.post_message(QuitWanted())
        elif choice is Choice.AGAIN and self.session is None:
            self.post_message(GameWanted(instead=True))
        else:
            self.dismiss(choice)

    # --- messages from the session ------------------------------------------------------------------
    def on_board_updated(self, message: BoardUpdated) -> None:
        self.board.show_board(message.board.entries, message.board.Caller)
        self._tell_standing()

    def on_final_score_delivered(self, message: FinalScoreDelivered) -> None:
        self.delivery = message.delivery
        self._show_status()  # no more "online": the game no longer talks to the server
        self._tell_standing()

    def on_online_changed(self, message: OnlineChanged) -> None:
        self.online = message.online
        self._show_status()
        self._tell_standing()

    def on_status_refused(self, message: StatusRefused) -> None:
        self.notify(f"The server refused your status: {describe(message.error)}", severity="warning")

    def on_trial_ended(self, message: TrialEnded) -> None:
        error = message.error
        if self.ended:
            return
        if isinstance(error, NotSeated):
            text = describe(error) + " Join again from the lobby."
        elif isinstance(error, SessionMismatch):
            text = describe(error)
        else:
            text = "The manager closed the session. Your score up to now is on the board."
        self._end(Ending.CLOSED if isinstance(error, SessionClosed) else Ending.STOPPED, text)

    # --- status line --------------------------------------------------------------------------------
    def flash(self, text: str, seconds: float = 2.0) -> None:
        self._flash = (text, monotonic() + seconds)
        self._show_status()
        self.set_timer(seconds, self._show_status)  # the line without it, once it is over

    def _show_status(self) -> None:
        if self.field is None:  # not mounted yet
            return
        parts = []
        text, until = self._flash
        if text and monotonic() < until:
            parts.append(text)
        if self.paused and not self.ended:
            parts.append("PAUSED: p to play on")
        if self.session is None:
            parts.append("Offline play: scores stay on this machine")
        else:
            parts.append(f"{self.session.SessionId} ({SHORT_TYPES.get(self.session.GameType, '?')})")
            if self.trial is not None and not self.trial.finished:
                parts.append("online" if self.online else "network lost: playing on, scores are sent when it is back")
        text = "  |  ".join(parts)
        if text != self._status_text:  # an update re-runs the layout: only when the words change
            self._status_text = text
            self.query_one("#status", Static).update(text, layout=False)  # one line, always

    # --- keys ---------------------------------------------------------------------------------------
    def action_move(self, direction: int) -> None:
        if not (self.paused or self.ended):
            self.control.press(direction, self.frames.now())

    def action_fire(self) -> None:
        if not (self.paused or self.ended):
            self.control.fire()

    def action_pause(self) -> None:
        if self.ended:
            return
        self._auto_paused = False
        self._set_paused(not self.paused)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.ascii_only))

    def action_quit_game(self) -> None:
        if self.ended:
            self.post_message(QuitWanted())
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(QuitWanted())

        self.app.push_screen(ConfirmScreen(
            "Leave the game?\nYour seat is freed; your score so far stays on the board."
            if self.session else "Leave the game?"), callback=answered)

    def on_screen_suspend(self) -> None:
        if not self.ended and not self.paused:
            self._auto_paused = True
            self._set_paused(True)

    def on_screen_resume(self) -> None:
        if self._auto_paused and not self.too_small:
            self._auto_paused = False
            self._set_paused(False)
        self._show_status()

