"""Small modal dialogs: confirm, sign in, open a session."""
from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from api_client import GameType

from ..backends import OpenRequest

ESCAPE: list[BindingType] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]


class ConfirmScreen(ModalScreen[bool]):
    """A question with Yes/No; the text is a `Text`, so names in it are never read as markup."""

    BINDINGS: ClassVar[list[BindingType]] = [*ESCAPE, Binding("y", "answer(True)", "Yes", id="dialog.yes"),
                                             Binding("n", "answer(False)", "No", id="dialog.no")]

    def __init__(self, question: Text, *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, id="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(False)


class SignInScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [*ESCAPE, Binding("enter", "next_field", show=False, priority=True)]

    def __init__(self, reason: str, where: str, username: str | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.where = where
        self.username = username
        # The field focused as the dialog is shown (a later `focus()` would let the app's auto-focus take the
        # username first, and a password typed as the dialog appears would land there).
        self.AUTO_FOCUS = "#password" if username else "#username"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Sign in as a manager ({self.where})", "bold"))
            yield Static(Text(self.reason, "italic"), id="reason")
            yield Input(self.username or "", placeholder="username", id="username", compact=True)
            yield Input(placeholder="password", password=True, id="password", compact=True)
            with Horizontal(classes="buttons"):
                yield Button("Sign in", variant="primary", id="sign-in", compact=True)
                yield Button("Quit", id="quit", compact=True)


    def action_next_field(self) -> None:
        # A binding, not Input.Submitted: focus moves before the keys typed after Enter are handed on.
        if self.focused is not self.query_one("#username", Input):
            raise SkipAction()
        self.set_focus(self.query_one("#password", Input))  # at once: `focus()` waits for the queue

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#sign-in")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if username and password:
            self.dismiss((username, password))

    @on(Button.Pressed, "#quit")
    def action_cancel(self) -> None:
        self.dismiss(None)


GAME_TYPES = [("Multiple trials", GameType.MULTIPLE_TRIALS), ("Single trial", GameType.SINGLE_TRIAL),
              ("Time-constrained", GameType.TIME_CONSTRAINED)]


class OpenSessionScreen(ModalScreen[OpenRequest | None]):
    """The form to open a session: name, game type, minutes (time-constrained), seats, synchronized."""

    BINDINGS: ClassVar[list[BindingType]] = ESCAPE

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="open-form"):
            yield Static(Text("Open a session", "bold"))
            yield Label("Name")
            yield Input("ROOM", id="name", max_length=40, compact=True)
            yield Label("Game")
            yield Select(GAME_TYPES, value=GameType.MULTIPLE_TRIALS, allow_blank=False, id="game", compact=True)
            yield Label("Minutes (time-constrained: 1 to 30)")
            yield Input("5", id="minutes", type="integer", disabled=True, compact=True)
            yield Label("Seats")
            yield Input("200", id="seats", type="integer", compact=True)
            yield Checkbox("Synchronized start (players wait for s)", value=True, id="synchronized", compact=True)
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Open", variant="primary", id="open", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Select.Changed, "#game")
    def _game_changed(self, event: Select.Changed) -> None:
        self.query_one("#minutes", Input).disabled = event.value != GameType.TIME_CONSTRAINED

    def request(self) -> OpenRequest:
        """The form as a request; ValueError with a message for the manager when a field is wrong."""
        game = GameType(self.query_one("#game", Select).value)
        try:
            seats = int(self.query_one("#seats", Input).value)
            minutes = int(self.query_one("#minutes", Input).value) if game == GameType.TIME_CONSTRAINED else None
        except ValueError:
            raise ValueError("seats and minutes are whole numbers") from None
        return OpenRequest(self.query_one("#name", Input).value.strip(), game,
                           self.query_one("#synchronized", Checkbox).value, seats, minutes)

    @on(Input.Submitted)
    @on(Button.Pressed, "#open")
    def _submit(self) -> None:
        try:
            request = self.request()
        except ValueError as error:
            self.query_one("#form-error", Static).update(Text(str(error), "bold red"))
            return
        self.dismiss(request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
