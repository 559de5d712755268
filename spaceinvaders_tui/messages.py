"""Messages from the network side (client callbacks and workers) to the screens."""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from api_client import ApiError, RankedEntry, ScoreEntry, Session


@dataclass
class BoardUpdated(Message, bubble=False):
    """A newer top 10 (and the player's own rank where the backend tells it)."""

    entries: list[ScoreEntry]
    caller: RankedEntry | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BoardUpdated)  # only the newest board matters


@dataclass
class TrialRefused(Message, bubble=False):
    """The server refused a status post: the session closed, the seat is gone, another session began."""

    error: ApiError


@dataclass
class SessionSeen(Message, bubble=False):
    """The current session as `/session` answered it (None: no session was ever opened)."""

    session: Session | None
