"""Trust on first use: the one question asked about a server no authority vouches for and nothing pins."""
from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from api_client.trust import ServerIdentity, readable_halves

from .dialogs import DIALOG_CSS

QUESTION = """\
The server at {origin} has a certificate
that no authority vouches for. Its SHA-256 fingerprint:

    {first}
    {second}

Compare it with the fingerprint the server printed when it
started (ask whoever runs it). Only if they are the same, trust
it: this machine then remembers it and refuses any other
certificate at this address."""


class TrustScreen(ModalScreen[bool]):
    """Dismissed with True when the player trusts the server's certificate."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Trust and remember"),
        Binding("n,escape", "answer(False)", "Do not connect"),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="TrustScreen")

    def __init__(self, identity: ServerIdentity) -> None:
        super().__init__()
        self.identity = identity

    def compose(self) -> ComposeResult:
        first, second = readable_halves(self.identity.fingerprint)
        with Vertical():
            yield Static("A SERVER SEEN FOR THE FIRST TIME", classes="heading")
            yield Static(QUESTION.format(origin=self.identity.origin, first=first, second=second), markup=False)
            yield Static("\ny: trust and remember    n: do not connect", classes="note")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
