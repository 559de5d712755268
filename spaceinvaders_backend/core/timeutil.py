"""ISO-8601 instants as the contract writes them: UTC, milliseconds, a trailing Z."""
from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def to_iso(epoch: float) -> str:
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601 instant; a naive one is taken as UTC. Raises ValueError."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def session_suffix(epoch: float) -> str:
    """The time suffix of a SessionId, e.g. `261126T221500`."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%y%m%dT%H%M%S")
