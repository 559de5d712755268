"""Session rules: game types, seats, single trial, late join, time limits, synchronized start.

Pure functions over plain data so that the local server and the AWS handlers apply the same rules.
"""
from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from . import errors
from .answers import SessionDocument
from .errors import ApiError
from .timeutil import session_suffix, to_iso

MULTIPLE_TRIALS = "MULTIPLE_TRIALS"
SINGLE_TRIAL = "SINGLE_TRIAL"
TIME_CONSTRAINED = "TIME_CONSTRAINED"
DEFAULT_TIMEOUT_MINUTES = 5
DEFAULT_SEATS = 200
# A synchronized game may post this much before SynchronizeTime: clients' clock estimates are not exact.
START_TOLERANCE_SECONDS = 1.0

PLAYING = "playing"
FINISHED = "finished"


@dataclass(frozen=True)
class Session:
    session_id: str
    game_type: str
    synchronized: bool
    total_seats: int
    opening_time: float
    timeout_minutes: int | None = None
    synchronize_time: float | None = None
    closing_time: float | None = None

    @property
    def started_at(self) -> float | None:
        """When play begins: the synchronized start, or the opening for free sessions."""
        return self.synchronize_time if self.synchronized else self.opening_time

    @property
    def deadline(self) -> float | None:
        """When a time-constrained session closes by itself."""
        if self.game_type != TIME_CONSTRAINED or self.timeout_minutes is None:
            return None
        start = self.started_at
        return None if start is None else start + self.timeout_minutes * 60

    def closes_at(self) -> float | None:
        if self.closing_time is not None:
            return self.closing_time
        return self.deadline

    def is_closed(self, now: float) -> bool:
        end = self.closes_at()
        return end is not None and now >= end

    def has_started(self, now: float) -> bool:
        start = self.started_at
        return start is not None and now >= start - START_TOLERANCE_SECONDS

    @property
    def single_trial(self) -> bool:
        return self.game_type != MULTIPLE_TRIALS

    def answer(self, server_time: float | None = None) -> SessionDocument:
        """The session document of the contract; ServerTime when given."""
        return SessionDocument(
            SessionId=self.session_id, GameType=self.game_type, Synchronized=self.synchronized,  # type: ignore[arg-type]
            TotalSeats=self.total_seats, OpeningTime=to_iso(self.opening_time),
            TimeoutInMinutes=self.timeout_minutes,
            SynchronizeTime=None if self.synchronize_time is None else to_iso(self.synchronize_time),
            ClosingTime=None if self.closing_time is None else to_iso(self.closing_time),
            ServerTime=None if server_time is None else to_iso(server_time),
        )

    def document(self, server_time: float | None = None) -> dict[str, Any]:
        """The session document as plain JSON data."""
        return msgspec.to_builtins(self.answer(server_time))


def new_session_id(name: str, now: float, taken: Container[str] = ()) -> str:
    """Name plus time, e.g. `ROOM-A261126T221500`; `-2`, `-3` ... after it when that id is taken
    (the same name opened twice in one second)."""
    base = name + session_suffix(now)
    session_id, counter = base, 1
    while session_id in taken:
        counter += 1
        session_id = f"{base}-{counter}"
    return session_id


def open_session(
    name: str,
    game_type: str,
    synchronized: bool,
    now: float,
    timeout_minutes: int | None = None,
    total_seats: int = DEFAULT_SEATS,
    current: Session | None = None,
    taken: Iterable[str] = (),
) -> Session:
    """A new session; `taken` holds the ids already used (the current one is always counted)."""
    if current is not None and not current.is_closed(now):
        raise ApiError(409, errors.SESSION_OPEN, f"Session {current.session_id} is still open; close it first.")
    if game_type == TIME_CONSTRAINED:
        timeout_minutes = timeout_minutes or DEFAULT_TIMEOUT_MINUTES
    else:
        timeout_minutes = None
    used = {*taken, *([current.session_id] if current is not None else [])}
    return Session(new_session_id(name, now, used), game_type, synchronized, total_seats, now, timeout_minutes)


def start_session(session: Session | None, now: float, countdown_seconds: float) -> Session:
    """The manager's synchronized start: every player begins at the same instant, a little ahead."""
    live = require_open(session, now)
    if not live.synchronized:
        raise ApiError(409, "SessionNotSynchronized", "Only a synchronized session is started by the manager.")
    if live.synchronize_time is not None and live.synchronize_time <= now:
        raise ApiError(409, "SessionAlreadyStarted", "The session has already started.")
    return replace(live, synchronize_time=now + countdown_seconds)


def close_session(session: Session | None, now: float) -> Session:
    live = require_open(session, now)
    return replace(live, closing_time=now)


def close_if_due(session: Session | None, now: float) -> Session | None:
    """A time-constrained session past its deadline, closed at the deadline; else None."""
    if session is None or session.closing_time is not None:
        return None
    deadline = session.deadline
    if deadline is None or now < deadline:
        return None
    return replace(session, closing_time=deadline)


def require_open(session: Session | None, now: float) -> Session:
    if session is None:
        raise ApiError(409, errors.NO_SESSION_AVAILABLE, "No session is open.")
    if session.is_closed(now):
        raise ApiError(409, errors.SESSION_CLOSED, f"Session {session.session_id} is closed.")
    return session


def check_allocate(session: Session | None, seat: str | None, occupied: int, now: float) -> bool:
    """Whether an allocation takes a new seat (True) or keeps the one held (False); raises the refusals."""
    if session is None:
        raise ApiError(422, errors.NO_SESSION_AVAILABLE, "There is no session to play.")
    if session.is_closed(now):
        raise ApiError(422, errors.SESSION_CLOSED, f"Session {session.session_id} is closed.")
    if seat == PLAYING:
        return False
    if seat == FINISHED and session.single_trial:
        raise ApiError(422, errors.GAMER_CANNOT_PLAY, "You have already played this session.")
    if occupied >= session.total_seats:
        raise ApiError(422, errors.NO_SEATS_AVAILABLE, "All seats are taken.")
    return True


def seat_after_leaving(session: Session, played: bool) -> str | None:
    """A player's state after leaving a seat (deallocate, idle): single-trial sessions allow one go."""
    return FINISHED if (session.single_trial and played) else None


def check_status(session: Session | None, session_id: str, seat: str | None, now: float) -> None:
    """Whether a status post can count; raises the refusal (409, conflict with the session state)."""
    if session is None or session.session_id != session_id:
        raise ApiError(409, errors.SESSION_MISMATCH, f"{session_id!r} is not the current session.")
    if session.is_closed(now):
        raise ApiError(409, errors.SESSION_CLOSED, f"Session {session_id} is closed.")
    if not session.has_started(now):
        raise ApiError(409, errors.SESSION_NOT_STARTED, "The session has not started yet.")
    if seat != PLAYING:
        raise ApiError(409, errors.NOT_SEATED, "You have no seat in this session; allocate one first.")
