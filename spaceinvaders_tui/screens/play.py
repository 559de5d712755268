"""The game: the playfield, the HUD, the top 10, and the session talk while it runs.

Frames come from a 30 Hz timer owned by the screen (time measured with `monotonic`, bounded after a
stall); tests drive them by hand with `advance`. Each frame turns the key presses into intents
(`CannonControl`), steps the engine, and lets the playfield refresh the lines that changed.
"""
from __future__ import annotations

import gc
import random
import zlib
from time import monotonic
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from api_client import NotSeated, Session, SessionClosed, SessionMismatch, SessionNotStarted
from spaceinvaders_engine import Game, Phase, events

from ..controls import CannonControl
from ..link import TIME_UP_MARGIN, session_deadline
from ..messages import BoardUpdated, TrialRefused
from ..widgets.hud import Hud
from ..widgets.playfield import Playfield
from ..widgets.top_ten import TopTen
from .common import describe
from .dialogs import ConfirmScreen, GameOverScreen, HelpScreen, Outcome

FRAME_RATE = 30
MAX_FRAME_SECONDS = 0.1  # after a stall the game resumes instead of running the missed time at once
MIN_WIDTH, MIN_HEIGHT = 80, 24
SCALE_2 = (132, 44)  # from this terminal size every cell is drawn 2 x 2
SIDEBAR = (24, 40)
SHORT_TYPES = {"MULTIPLE_TRIALS": "multiple trials", "SINGLE_TRIAL": "single trial",
               "TIME_CONSTRAINED": "time-constrained"}
LOST = {"lives": "The invaders hit your last cannon.", "invasion": "The invaders have landed."}


class PlayScreen(Screen[None]):
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

    def __init__(self, session: Session | None, *, trial: int = 1, seed: int | None = None) -> None:
        super().__init__()
        PlayScreen.games += 1
        self.number = PlayScreen.games
        self.session = session
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
        self.delivery = ""  # the final score: "sending", "sent", "refused"
        self.trial = None
        self.deadline = session_deadline(session) if session else None
        self.clock = 0.0  # seconds: monotonic, or the manual clock of tests
        self._flash = ("", 0.0)  # a short message in the status line, until a time
        self._status_text = ""

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    # --- building -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        app = self.app
        link = app.link
        yield Hud(ascii_only=app.ascii_only)
        with Horizontal(id="body"):
            yield Playfield(self.game, style="ascii" if app.ascii_only else "unicode")
            yield TopTen(link.username if link else None, title=self.session.SessionId if self.session else "",
                         ascii_only=app.ascii_only)
        yield Static("", id="status", markup=False)
        yield Static("", id="too-small", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        app = self.app
        self.field = self.query_one(Playfield)
        self.hud = self.query_one(Hud)
        self.board = self.query_one(TopTen)
        if app.frame_log is not None:
            self.field.on_paint = app.frame_log.paint
        if self.session is not None and app.link is not None:
            self.trial = app.link.start_trial(
                self.session, self.game.status,
                on_refused=lambda error: self.post_message(TrialRefused(error)),
                on_board=lambda entries, caller: self.post_message(BoardUpdated(entries, caller)),
            )  # fmt: skip
        else:
            self.board.show_offline(app.best.best)
        # The app's long-lived objects (Textual's, httpx's, pydantic's) leave the garbage collector's view:
        # a full collection over them paused the game ~100 ms every few seconds; a frame's garbage is young.
        gc.collect()
        gc.freeze()
        if not app.settings.manual_clock:
            self.clock = monotonic()
            self._timer = self.set_interval(1 / FRAME_RATE, self._on_timer)
        self.set_interval(1.0, self._show_status)
        self._show_status()

    def on_unmount(self) -> None:
        if self.trial is not None and self.app.link is not None:
            self.app.link.close_trial(self.trial)

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
        if self.app.hung_up:
            return
        now = monotonic()
        dt = min(MAX_FRAME_SECONDS, max(0.0, now - self.clock))
        self.clock = now
        self._frame(dt)

    def advance(self, seconds: float) -> None:
        """Run frames of 1/30 s by hand (tests, with the app's manual clock)."""
        for _ in range(round(seconds * FRAME_RATE)):
            self.clock += 1 / FRAME_RATE
            self._frame(1 / FRAME_RATE)

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
        if self.app.frame_log is not None:
            self.app.frame_log.frame(changed, self.number)
        time_left = None
        if self.deadline is not None and self.app.link is not None:
            time_left = self.deadline - self.app.link.watcher.server_now()
        self.hud.show(game.score, self.app.best.best, game.level, game.shots, game.lives, time_left)

    def _set_paused(self, paused: bool) -> None:
        """Pause or go on; the frame timer stops meanwhile (a paused game costs nothing)."""
        self.paused = paused
        self.control.reset()
        if self._timer is not None:
            if paused:
                self._timer.pause()
            else:
                self.clock = monotonic()
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
                self._end("GAME OVER", LOST.get(event.reason, "Game over."), post_final=True)

    def _check_time(self) -> None:
        if self.deadline is None or self.app.link is None or self.ended:
            return
        if self.app.link.watcher.server_now() >= self.deadline - TIME_UP_MARGIN:
            self._end("TIME'S UP", "The session's time is over.", post_final=True)

    # --- the end of a game --------------------------------------------------------------------------
    def _end(self, heading: str, reason: str, *, post_final: bool, may_go_on: bool = True) -> None:
        game = self.game
        if self.paused:
            self._set_paused(False)  # frames go on under the game-over screen: the last explosions burn out
        new_best = self.app.best.record(game.score)
        session = self.session
        again = may_go_on and (session is None or (session.GameType == "MULTIPLE_TRIALS" and heading == "GAME OVER"))
        rule = ""
        if session is not None and not again and may_go_on:
            rule = ("This session allows one game per player." if session.GameType != "MULTIPLE_TRIALS"
                    else "")
        self.outcome = Outcome(heading, reason, game.score, game.level, game.shots, self.app.best.best, new_best,
                               again, rule, self._standing)
        link = self.app.link
        if self.trial is not None and link is not None:
            if post_final:
                self.delivery = "sending"
                task = link.end_trial(self.trial, game.status())
                task.add_done_callback(lambda done: self._delivered(done.result() if not done.cancelled()
                                                                    and not done.exception() else False))
            else:
                link.abandon_trial(self.trial)
        self.field.banner = heading
        self.field.update_frame()
        self.app.push_screen(GameOverScreen(self.outcome), callback=self._after_game_over)

    def _delivered(self, ok: bool) -> None:
        self.delivery = "sent" if ok else "refused"

    def _standing(self) -> str:
        """The game-over screen's line about the final score's way to the board and the rank."""
        if self.session is None:
            return "Offline play: this score stays on this machine."
        if self.delivery == "sending":
            online = self.trial is None or self.trial.online
            return "Sending your final score..." + ("" if online else " (network lost: retrying)")
        if self.delivery == "refused":
            return "The server takes no more scores for this session."
        rank = self.board.my_rank
        if rank is not None:
            return f"RANK #{rank} in {self.session.SessionId}"
        return "Not in the top 10."

    def _after_game_over(self, choice: str | None) -> None:
        if choice == "quit":
            self.app.leave()
            return
        self.app.pop_screen()
        if choice == "again":
            if self.session is None:
                self.app.push_screen(PlayScreen(None))
            else:
                lobby = self.app.screen
                if hasattr(lobby, "join"):
                    lobby.join()

    # --- messages from the session ------------------------------------------------------------------
    def on_board_updated(self, message: BoardUpdated) -> None:
        self.board.show_board(message.entries, message.caller)

    def on_trial_refused(self, message: TrialRefused) -> None:
        error = message.error
        if isinstance(error, SessionNotStarted):
            return  # a post a moment early on a synchronized start; the next ones count
        if not isinstance(error, (SessionClosed, SessionMismatch, NotSeated)):
            self.notify(f"The server refused your status: {describe(error)}", severity="warning")
            return
        if self.ended:
            return
        self.app.link.forget_seat()
        if isinstance(error, NotSeated):
            text = describe(error) + " Join again from the lobby."
        elif isinstance(error, SessionMismatch):
            text = describe(error)
        else:
            text = "The manager closed the session. Your score up to now is on the board."
        self._end("SESSION CLOSED" if isinstance(error, SessionClosed) else "GAME STOPPED", text,
                  post_final=False, may_go_on=False)

    # --- status line --------------------------------------------------------------------------------
    def flash(self, text: str, seconds: float = 2.0) -> None:
        self._flash = (text, monotonic() + seconds)
        self._show_status()

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
                online = self.trial.check_online()
                parts.append("online" if online else "network lost: playing on, scores are sent when it is back")
        text = "  |  ".join(parts)
        if text != self._status_text:  # an update re-runs the layout: only when the words change
            self._status_text = text
            self.query_one("#status", Static).update(text, layout=False)  # one line, always

    # --- keys ---------------------------------------------------------------------------------------
    def action_move(self, direction: int) -> None:
        if not (self.paused or self.ended):
            self.control.press(direction, self.clock if self.app.settings.manual_clock else monotonic())

    def action_fire(self) -> None:
        if not (self.paused or self.ended):
            self.control.fire()

    def action_pause(self) -> None:
        if self.ended:
            return
        self._auto_paused = False
        self._set_paused(not self.paused)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_quit_game(self) -> None:
        if self.ended:
            self.app.leave()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.leave()

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

