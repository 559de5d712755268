"""A session's timing on the backend's clock: when play starts, the deadline, the phase, the time left."""
from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from api_client import Session
from api_client.models import format_instant


def iso(epoch: float) -> str:
    """The contract's form of an instant: UTC, milliseconds, a trailing Z."""
    return format_instant(datetime.fromtimestamp(epoch, tz=UTC))


def session_start(session: Session) -> float | None:
    """When play begins (`Session.starts_at`), in epoch seconds."""
    start = session.starts_at
    return None if start is None else start.timestamp()


class SessionPhase(StrEnum):
    """Where a session is, as the console's session line and the wall show it."""

    WAITING = "WAITING"  # for the manager's start
    COUNTDOWN = "COUNTDOWN"
    RUNNING = "RUNNING"
    TIME_UP = "TIME UP"
    CLOSED = "CLOSED"


def session_phase(session: Session, now: float) -> SessionPhase:
    """The session's phase on the backend's clock."""
    if session.ClosingTime is not None:
        return SessionPhase.CLOSED
    start = session_start(session)
    if start is None:
        return SessionPhase.WAITING
    if now < start:
        return SessionPhase.COUNTDOWN
    deadline = session.deadline
    if deadline is not None and now >= deadline:
        return SessionPhase.TIME_UP
    return SessionPhase.RUNNING


def seconds_to_start(session: Session, now: float) -> float | None:
    start = session_start(session)
    return None if start is None or now >= start or session.ClosingTime else start - now


def time_left(session: Session, now: float) -> float | None:
    """Seconds left in a time-constrained session (0 when over), None for other game types."""
    deadline = session.deadline
    if deadline is None:
        return None
    if session.ClosingTime is not None:
        return 0.0
    start = session_start(session)
    return max(0.0, deadline - max(now, start or now))


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = int(seconds + 0.999)  # 0.2 s left still shows 0:01
    return f"{whole // 60}:{whole % 60:02d}"
