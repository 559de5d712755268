"""Messages up: from the network side (the player session's callbacks, workers) to the screens, and from the
screens to the app (which screen comes next, what changed of the app's state). The app answers them and hands
what changed down to its screens; no screen writes (or reads) the app's attributes."""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from api_client import ApiError, Scoreboard, Session
from api_client.rooms import Room
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
    """The player signed out (or no kept sign-in works): the app forgets the sign-in and shows the sign-in
    screen."""


@dataclass
class RoomChosen(Message):
    """The player picked a room on the network (or the room asked for was found): the app links to it."""

    room: Room


@dataclass
class GameWanted(Message):
    """A game, offline (`session` None) or a trial of the session just joined. `instead`: in place of the
    screen asking (another offline game at once), else over it (its result goes back to the lobby)."""

    session: Session | None = None
    trial: int = 1
    instead: bool = False


@dataclass
class GameScored(Message):
    """A game ended with this score: the app keeps the best score and hands it down to its screens."""

    score: int


class QuitWanted(Message):
    """The player chose to quit: the app frees the seat, then ends."""
