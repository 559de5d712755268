"""How status records become scoreboard entries; shared by every stream processor and the replay.

A player's board is a function of the *set* of their records that count, whatever order they arrive in,
however often one arrives: records are taken in the order of their `Timestamp`, each record with
`Lives: 0` ends a trial (the best trial ended is kept), and the current trial is the newest record
stamped after the last trial's end. `PlayerBoard.apply` keeps that state incrementally in any order
(a record twice, or late, changes nothing it should not), so the local stream processor, the AWS
scoreboard function (whatever its batches) and the replay (in its own order) all reach the same board.
Records with equal Timestamps are ordered by `ranking.better` (the better entry is the newer).

Which records count is `verdict`: a record counts unless it was stamped or received after the session
closed, and a processor counts one only once that is settled (`records.settles_at`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .ranking import Entry, RankedBoard, better
from .records import settles_at

NEVER = -math.inf


@dataclass
class PlayerBoard:
    best_finished: Entry | None = None  # the best trial ended (a record with Lives 0)
    current: Entry | None = None  # the newest record stamped after the last trial's end
    current_ts: float = NEVER
    trial_end_ts: float = NEVER  # the latest Timestamp of a record with Lives 0

    @property
    def entry(self) -> Entry | None:
        return better(self.best_finished, self.current)

    def apply(self, entry: Entry, ts: float) -> tuple[bool, bool]:
        """Take one record; answers (the board changed, it ended the player's latest trial)."""
        if entry.lives == 0:
            best = better(self.best_finished, entry)
            changed = best != self.best_finished
            self.best_finished = best
            if ts <= self.trial_end_ts:
                return changed, False  # an earlier trial's end (or this one's again)
            self.trial_end_ts = ts
            if self.current_ts > ts:
                return True, False  # the player already plays a trial stamped after this end
            self.current, self.current_ts = None, NEVER
            return True, True
        if ts <= self.trial_end_ts or ts < self.current_ts:
            return False, False  # of a trial that ended, or older than the current record
        if ts == self.current_ts and better(self.current, entry) is self.current:
            return False, False  # the same moment: the better of the two stands, in either order
        self.current, self.current_ts = entry, ts
        return True, False


def counts(ts: float, received_at: float, closes_at: float | None) -> bool:
    """A record counts unless it was stamped or received after the session closed."""
    return closes_at is None or settles_at(ts, received_at) <= closes_at


COUNTS, DROPPED, WAITS = "counts", "dropped", "waits"


def verdict(ts: float, received_at: float, closes_at: float | None, open_until: float) -> str:
    """Whether a processor counts a record now (COUNTS), never (DROPPED), or later (WAITS).

    `closes_at`: the session's close as known (its ClosingTime, or a time-constrained session's deadline);
    `open_until`: a moment before which the session is known not to close (for an open session the
    processor's clock, or a close being written; `math.inf` once closed). A record stamped or received
    after a close that could still come before it waits, so that no record is counted that the final
    close drops: the live board and a replay from the stored records then count the same records."""
    if not counts(ts, received_at, closes_at):
        return DROPPED
    return COUNTS if settles_at(ts, received_at) <= open_until else WAITS


class SessionBoard:
    """One session's boards: each player's `PlayerBoard`, and the ranked board kept in step once asked for.

    The one way a counted record reaches a session's board: the local stream processor and the replay
    (`core/replay.py`) both apply records here, so a replay ranks as the live board does."""

    def __init__(self, players: dict[str, PlayerBoard] | None = None) -> None:
        self.players: dict[str, PlayerBoard] = players if players is not None else {}
        self._ranking: RankedBoard | None = None  # made when first asked for, then kept in order

    def apply(self, nickname: str, entry: Entry, ts: float) -> tuple[bool, bool]:
        """One counted record; answers (the player's board changed, it ended their latest trial). The
        ranking is not moved: call `place` for the players changed (the processor does once they are saved)."""
        board = self.players.get(nickname)
        if board is None:
            board = self.players[nickname] = PlayerBoard()
        return board.apply(entry, ts)

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
