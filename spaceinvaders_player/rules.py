"""What a player's client reads in a session document and in the server's refusals: when play begins and
ends, whether to wait for the manager, the seats left, and which refusals end a game."""
from __future__ import annotations

from api_client import (
    ApiError,
    NotSeated,
    Session,
    SessionClosed,
    SessionMismatch,
    SessionNotStarted,
)

# Refusals of a status post that end the game: the session closed (or another replaced it), the seat is gone.
END_OF_TRIAL = (SessionClosed, SessionMismatch, NotSeated)
# The server frees a seat after 60 s without news from its player; a player waiting for the start takes it
# again this often, so two lost attempts in a row still keep it.
KEEP_SEAT_EVERY = 20.0
# A time-constrained game ends this much before the deadline (server clock), so its last post still counts.
TIME_UP_MARGIN = 0.25


def waits_for_start(session: Session, server_now: float) -> bool:
    """Whether a player joining now waits for the manager's start (or for a start still ahead)."""
    if not session.Synchronized:
        return False
    return session.SynchronizeTime is None or session.SynchronizeTime.timestamp() > server_now


def free_seats(session: Session) -> int | None:
    """Free seats, when the backend tells how many are taken (an extra `OccupiedSeats` field)."""
    occupied = (session.model_extra or {}).get("OccupiedSeats")
    if session.TotalSeats is None or not isinstance(occupied, int):
        return None
    return max(0, session.TotalSeats - occupied)


def ends_trial(error: ApiError) -> bool:
    """A refusal after which the game cannot go on in this session."""
    return isinstance(error, END_OF_TRIAL)


def is_early(error: ApiError) -> bool:
    """A post a moment before a synchronized start (the clocks' estimates differ): the next ones count."""
    return isinstance(error, SessionNotStarted)
