"""The offset between this machine's clock and the server's, from timed answers.

Each answer bounds the offset: the server read its clock at some local instant between sending and
receiving, and its reading lies in [reported, reported + resolution). Intersecting these bounds over
samples narrows the estimate, which matters for the `Date` header's whole seconds: samples taken at
different phases of the second cut the interval down (the watcher jitters its polls for that).
`ServerTime` has millisecond resolution, so one sample is already as good as the round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from .models import Session

DATE_RESOLUTION = 1.0
SERVER_TIME_RESOLUTION = 0.001


@dataclass
class ClockOffset:
    low: float = float("-inf")  # bounds of server clock minus local clock, seconds
    high: float = float("inf")
    samples: int = 0
    resets: int = 0

    def add(self, server_time: float, resolution: float, sent_at: float, received_at: float) -> None:
        low = server_time - received_at
        high = server_time + resolution - sent_at
        new_low, new_high = max(self.low, low), min(self.high, high)
        if new_low > new_high:  # a clock stepped or drifted: the old bounds no longer hold
            new_low, new_high = low, high
            self.resets += 1
        self.low, self.high = new_low, new_high
        self.samples += 1

    def add_answer(
        self, session: Session | None, headers: Mapping[str, str], sent_at: float, received_at: float
    ) -> bool:
        """Learn from a `/session` answer (or the start push's): its `ServerTime`, else its `Date` header (a
        header mapping that ignores case, like httpx's and websockets'). True when it had one."""
        if session is not None and session.ServerTime is not None:
            self.add(session.ServerTime.timestamp(), SERVER_TIME_RESOLUTION, sent_at, received_at)
            return True
        date = headers.get("date")
        if date:
            try:
                self.add(parsedate_to_datetime(date).timestamp(), DATE_RESOLUTION, sent_at, received_at)
                return True
            except (TypeError, ValueError):
                return False
        return False

    @property
    def known(self) -> bool:
        return self.samples > 0

    @property
    def offset(self) -> float:
        """Best estimate of server minus local (0 before any sample)."""
        return (self.low + self.high) / 2 if self.known else 0.0

    @property
    def uncertainty(self) -> float:
        """Half the width of the bounds: the most the estimate can be wrong by."""
        return (self.high - self.low) / 2 if self.known else float("inf")
