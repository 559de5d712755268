"""How status records become scoreboard entries; shared by every stream processor.

Each player has a current trial (its newest record by Timestamp, so records arriving out of order do
not move a player back) and the best trial they finished. The board shows the better of the two, which
in a single-trial session is simply their one game.
"""
from __future__ import annotations

from dataclasses import dataclass

from .ranking import Entry, RankedBoard, better


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


class SessionBoard:
    """One session's boards: each player's `PlayerBoard`, and the ranked board kept in step once asked for.

    The one way a record in arrival order reaches a session's board: the local stream processor and the
    replay (`core/replay.py`) both apply records here, so a replay ranks as the live board does."""

    def __init__(self, players: dict[str, PlayerBoard] | None = None) -> None:
        self.players: dict[str, PlayerBoard] = players if players is not None else {}
        self._ranking: RankedBoard | None = None  # made when first asked for, then kept in order

    def apply(self, nickname: str, entry: Entry, ts: float, received_at: float,
              closes_at: float | None) -> tuple[bool, bool, bool]:
        """One record; answers (it counts at all, it was taken, it finished a trial). The ranking is not
        moved: call `place` for the players taken (the stream processor does once they are saved)."""
        if not counts(ts, received_at, closes_at):
            return False, False, False
        board = self.players.get(nickname)
        if board is None:
            board = self.players[nickname] = PlayerBoard()
        taken, ended = board.apply(entry, ts)
        return True, taken, ended

    def place(self, nickname: str) -> None:
        """Move a player to their board's place in the ranking (when the ranking is kept)."""
        if self._ranking is not None:
            entry = self.players[nickname].entry
            if entry is not None:
                self._ranking.put(entry)

    def forget_ranking(self) -> None:
        """Rank anew when next asked for (cheaper than moving most players one by one)."""
        self._ranking = None

    @property
    def ranking(self) -> RankedBoard:
        if self._ranking is None:
            self._ranking = RankedBoard(b.entry for b in self.players.values() if b.entry is not None)
        return self._ranking
