"""How status records become scoreboard entries; shared by every stream processor.

Each player has a current trial (its newest record by Timestamp, so records arriving out of order do
not move a player back) and the best trial they finished. The board shows the better of the two, which
in a single-trial session is simply their one game.
"""
from __future__ import annotations

from dataclasses import dataclass

from .ranking import Entry, better


@dataclass
class PlayerBoard:
    best_finished: Entry | None = None
    current: Entry | None = None
    current_ts: float = float("-inf")
    # Records of a trial that already ended (stamped no later than its end) are stale.
    trial_end_ts: float = float("-inf")

    @property
    def entry(self) -> Entry | None:
        return better(self.best_finished, self.current)

    def apply(self, entry: Entry, ts: float) -> tuple[bool, bool]:
        """Apply one record; answers (it was taken, not stale; it finished a trial)."""
        if ts <= self.trial_end_ts or ts < self.current_ts:
            return False, False
        if entry.lives == 0:
            self.best_finished = better(self.best_finished, entry)
            self.current = None
            self.current_ts = float("-inf")
            self.trial_end_ts = ts
            return True, True
        self.current = entry
        self.current_ts = ts
        return True, False


def counts(ts: float, received_at: float, closes_at: float | None) -> bool:
    """A record counts unless it was stamped or received after the session closed."""
    return closes_at is None or (ts <= closes_at and received_at <= closes_at)
