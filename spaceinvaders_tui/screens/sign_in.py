"""Sign in or sign up, with Cognito or the local server's accounts as the server's /config says."""
from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from api_client import PermissionDeniedError, SpaceInvadersError

from ..link import Link
from ..messages import GameWanted, SignedIn
from .common import describe


class SignInScreen(Screen[None]):
    # Focused as the screen is shown: with the app's default ("*") the scrolling form took the focus first,
    # and keys typed before `focus()` took effect went nowhere (a Tab then sent the rest to the username).
    AUTO_FOCUS = "#username"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "sign_up", "Sign up"),
        Binding("ctrl+o", "offline", "Play offline"),
        Binding("ctrl+c", "app.interrupt", "Quit", priority=True),
        Binding("enter", "next_field", show=False, priority=True),
    ]
    DEFAULT_CSS = """
    SignInScreen #form { width: 60; height: auto; padding: 0 2; }
    SignInScreen Input { width: 100%; }
    SignInScreen #buttons { height: auto; margin-top: 1; }
    SignInScreen #buttons Button { margin-right: 2; }
    SignInScreen #code { display: none; }
    SignInScreen #code.-shown { display: block; }
    SignInScreen #message { height: auto; margin-top: 1; }
    """

    def __init__(self, link: Link) -> None:
        super().__init__()
        self.link = link

    def compose(self) -> ComposeResult:
        with VerticalScroll(), Center(), Vertical(id="form"):
            yield Static("SPACE INVADERS", classes="title")
            yield Static("", id="where", classes="note", markup=False)
            yield Input(placeholder="username", id="username", max_length=32)
            yield Input(placeholder="password", id="password", password=True)
            yield Input(placeholder="e-mail (sign-up only, optional)", id="email")
            yield Input(placeholder="code from the e-mail", id="code", max_length=10)
            with Horizontal(id="buttons"):
                yield Button("Sign in", id="sign-in", variant="primary")
                yield Button("Sign up", id="sign-up")
            yield Static("", id="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.describe_backend()

    @work(exclusive=True, group="config")
    async def describe_backend(self) -> None:
        link = self.link
        try:
            kind = "Amazon Cognito accounts" if await link.uses_cognito() else "accounts of this server"
        except SpaceInvadersError:
            kind = "the server's accounts"
        self.query_one("#where", Static).update(f"{link.base_url}, {kind}")

    def _say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.update(text)

    def _fields(self) -> tuple[str, str] | None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username or not password:
            self._say("Type a username and a password.", error=True)
            return None
        return username, password

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "code":
            self.confirm()
        else:
            self.action_sign_in()

    def action_next_field(self) -> None:
        # A binding, not Input.Submitted: focus moves before the keys typed after Enter are handed on.
        if self.focused is not self.query_one("#username", Input):
            raise SkipAction()
        self.set_focus(self.query_one("#password", Input))  # at once: `focus()` waits for the queue

    @on(Button.Pressed, "#sign-in")
    def action_sign_in(self) -> None:
        fields = self._fields()
        if fields:
            self.sign_in(*fields)

    @on(Button.Pressed, "#sign-up")
    def action_sign_up(self) -> None:
        fields = self._fields()
        if fields:
            email = self.query_one("#email", Input).value.strip() or None
            self.sign_up(*fields, email)

    def action_offline(self) -> None:
        self.post_message(GameWanted())

    def _need_code(self) -> None:
        code = self.query_one("#code", Input)
        code.add_class("-shown")
        code.focus()
        self._say("Type the code sent to your e-mail, then press Enter.")

    @work(exclusive=True, group="auth")
    async def sign_in(self, username: str, password: str) -> None:
        self._say("Signing in...")
        try:
            await self.link.sign_in(username, password)
        except PermissionDeniedError as error:  # Cognito: the account is not confirmed yet
            if error.code == "UserNotConfirmedException":
                self._need_code()
            else:
                self._say(describe(error), error=True)
            return
        except SpaceInvadersError as error:
            self._say(describe(error), error=True)
            return
        self.post_message(SignedIn())

    @work(exclusive=True, group="auth")
    async def sign_up(self, username: str, password: str, email: str | None) -> None:
        self._say("Signing up...")
        try:
            confirmed = await self.link.sign_up(username, password, email)
        except SpaceInvadersError as error:
            taken = getattr(error, "status", None) == 409
            self._say("That username is taken: pick another, or sign in." if taken else describe(error),
                      error=True)
            return
        if not confirmed:
            self._need_code()
            return
        self.sign_in(username, password)

    @work(exclusive=True, group="auth")
    async def confirm(self) -> None:
        fields = self._fields()
        code = self.query_one("#code", Input).value.strip()
        if not fields or not code:
            return
        try:
            await self.link.confirm(fields[0], code)
        except SpaceInvadersError as error:
            self._say(describe(error), error=True)
            return
        self.sign_in(*fields)
