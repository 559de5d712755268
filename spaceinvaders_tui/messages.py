"""Messages up: from the network side (the player session's callbacks, workers) to the screens, and from the
screens to the app (which screen comes next)."""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from api_client import ApiError, Scoreboard, Session
from spaceinvaders_player import Delivery


@dataclass
class BoardUpdated(Message, bubble=False):
    """A newer top 10 (and the player's own rank, `Caller`, where the backend tells it)."""

    board: Scoreboard

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BoardUpdated)  # only the newest board matters


@dataclass
class TrialEnded(Message, bubble=False):
    """The server ended the game: the session closed, another began, or the seat is gone."""

    error: ApiError


@dataclass
class StatusRefused(Message, bubble=False):
    """The server refused a status post for another reason; the game goes on."""

    error: ApiError


@dataclass
class OnlineChanged(Message, bubble=False):
    """The server stopped answering the game's posts, or answers again."""

    online: bool


@dataclass
class FinalScoreDelivered(Message, bubble=False):
    """What became of the game's final state: stored, refused, or failed (logged)."""

    delivery: Delivery


@dataclass
class SessionSeen(Message, bubble=False):
    """The current session as `/session` answered it (None: no session was ever opened)."""

    session: Session | None


class SignedIn(Message):
    """The player signed in (or a kept sign-in still works): the app shows the lobby."""


class SignedOut(Message):
    """The player signed out (or no kept sign-in works): the app shows the sign-in screen."""
