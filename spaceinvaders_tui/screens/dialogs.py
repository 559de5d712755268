"""Small screens over the others: help, a question, a message, game over."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from .common import KEYS, RULES

DIALOG_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical {{ width: auto; max-width: 76; height: auto; border: heavy $success; padding: 1 2;
                     background: $surface; }}
{name} > Vertical > Static {{ width: auto; max-width: 72; }}
{name} .heading {{ color: $error; text-style: bold; width: 100%; content-align: center middle; }}
App.-ascii {name} > Vertical {{ border: ascii $success; }}
"""


def _ascii_arrows(text: str, ascii_only: bool) -> str:
    return text.replace("←", "left").replace("→", "right") if ascii_only else text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,enter", "dismiss", "Close")]
    DEFAULT_CSS = DIALOG_CSS.format(name="HelpScreen")

    def __init__(self, ascii_only: bool = False) -> None:
        super().__init__()
        self.ascii_only = ascii_only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("HOW TO PLAY", classes="heading")
            yield Static(_ascii_arrows(KEYS, self.ascii_only), markup=False)
            yield Static("\n" + RULES, markup=False, classes="note")
        yield Footer()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; dismissed with True for yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            yield Static("\ny: yes    n: no", classes="note")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class MessageScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter,escape,space", "dismiss", "OK")]
    DEFAULT_CSS = DIALOG_CSS.format(name="MessageScreen")

    def __init__(self, text: str, heading: str = "") -> None:
        super().__init__()
        self.text = text
        self.heading = heading

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.heading:
                yield Static(self.heading, classes="heading")
            yield Static(self.text, markup=False, id="text")
            yield Static("\nenter: OK", classes="note")
        yield Footer()


class Ending(Enum):
    """How a game can end; the value is the game-over screen's heading."""

    LOST = "GAME OVER"  # the last cannon hit, or the invaders landed
    TIME_UP = "TIME'S UP"  # a time-constrained session's end
    CLOSED = "SESSION CLOSED"  # the manager closed the session
    STOPPED = "GAME STOPPED"  # the server ended the game otherwise (another session began, the seat is gone)

    @property
    def by_server(self) -> bool:
        """The server ended it: no final state to post, no other game in this session."""
        return self in (Ending.CLOSED, Ending.STOPPED)


@dataclass
class Outcome:
    """How a game ended, for the game-over screen."""

    ending: Ending
    reason: str  # a sentence
    score: int
    level: int
    shots: int
    best: int
    new_best: bool
    can_play_again: bool
    rule: str = ""  # why there is no other game, when there is none

    @property
    def heading(self) -> str:
        return self.ending.value


class Choice(Enum):
    """What the player chose on the game-over screen."""

    AGAIN = "again"
    LOBBY = "lobby"
    QUIT = "quit"


class GameOverScreen(ModalScreen[Choice]):
    """The score and choices; `standing` (the final score's way to the board, the rank) is set by the game's
    screen as it learns more."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose('again')", "Play again"),
        Binding("l", "choose('lobby')", "Lobby"),
        Binding("q", "choose('quit')", "Quit"),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="GameOverScreen") + """
    GameOverScreen #score { width: 100%; content-align: center middle; text-style: bold; }
    GameOverScreen #standing { width: 100%; content-align: center middle; min-height: 1; }
    """

    standing: reactive[str] = reactive("", init=False)

    def __init__(self, outcome: Outcome, standing: str = "") -> None:
        super().__init__()
        self.outcome = outcome
        self.set_reactive(GameOverScreen.standing, standing)

    def compose(self) -> ComposeResult:
        outcome = self.outcome
        best = "NEW BEST!" if outcome.new_best else f"best {outcome.best}"
        with Vertical():
            yield Static(outcome.heading, classes="heading")
            yield Static(outcome.reason, markup=False)
            yield Static(f"\nSCORE {outcome.score}   {best}\nlevel {outcome.level}, {outcome.shots} shots",
                         id="score", markup=False)
            yield Static(self.standing, id="standing", markup=False)
            yield Static(self._choices(), classes="note", markup=False)
        yield Footer()

    def _choices(self) -> str:
        rule = f"\n{self.outcome.rule}" if self.outcome.rule else ""
        again = "enter: play again    " if self.outcome.can_play_again else ""
        return f"{rule}\n{again}l: lobby    q: quit"

    def watch_standing(self, standing: str) -> None:
        if self.is_mounted:  # set before: composed with it
            self.query_one("#standing", Static).update(standing)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters == ("again",):
            return self.outcome.can_play_again
        return True

    def action_choose(self, choice: str) -> None:
        self.dismiss(Choice(choice))
