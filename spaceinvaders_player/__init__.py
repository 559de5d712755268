"""A player's talk with a session, with no UI: the one home the game, the bots and the benchmarks share.

`PlayerSession` (session.py) joins, keeps the seat, waits for the start (pushed or polled, start.py), runs
each game's `Trial` (trial.py) and frees the seat; `rules.py` reads session documents and refusals.
"""
from .rules import (
    END_OF_TRIAL,
    KEEP_SEAT_EVERY,
    TIME_UP_MARGIN,
    ends_trial,
    free_seats,
    is_early,
    waits_for_start,
)
from .session import LEAVE_TIMEOUT, PlayerSession, release_seat
from .start import StartWait, StartWaitStats
from .trial import Delivery, StatusProvider, Trial, TrialEvents, TrialState

__all__ = [
    "END_OF_TRIAL",
    "KEEP_SEAT_EVERY",
    "LEAVE_TIMEOUT",
    "TIME_UP_MARGIN",
    "Delivery",
    "PlayerSession",
    "StartWait",
    "StartWaitStats",
    "StatusProvider",
    "Trial",
    "TrialEvents",
    "TrialState",
    "ends_trial",
    "free_seats",
    "is_early",
    "release_seat",
    "waits_for_start",
]
