"""The contract's ranking: Score desc, Lives desc, Shots asc, Nickname asc."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sortedcontainers import SortedKeyList

from .answers import ScoreEntry


class Entry(NamedTuple):
    """One player's line on a scoreboard."""

    nickname: str
    score: int
    shots: int
    level: int
    lives: int

    def answer(self) -> ScoreEntry:
        return ScoreEntry(Nickname=self.nickname, Score=self.score, Shots=self.shots, Level=self.level,
                          Lives=self.lives)

    def as_dict(self) -> dict[str, object]:
        return {
            "Nickname": self.nickname,
            "Score": self.score,
            "Shots": self.shots,
            "Level": self.level,
            "Lives": self.lives,
        }


def rank_key(entry: Entry) -> tuple[int, int, int, str]:
    """Sort key: smaller is better."""
    return (-entry.score, -entry.lives, entry.shots, entry.nickname)


def better(a: Entry | None, b: Entry | None) -> Entry | None:
    """The better-ranked of two entries of one player (either may be missing). Level, which the contract's
    order leaves out, decides between entries equal in everything else (the higher), so that the answer
    never depends on which of the two came first."""
    if a is None:
        return b
    if b is None:
        return a
    ka, kb = rank_key(a), rank_key(b)
    if ka != kb:
        return a if ka < kb else b
    return a if a.level >= b.level else b


def ranked(entries) -> list[Entry]:
    return sorted(entries, key=rank_key)


class RankedBoard:
    """A session's entries kept in the contract's order while players change (5,000 players, hundreds of
    changes a second, the whole board asked for every 1.5 s): `SortedKeyList` keeps the order, a change is
    a removal and an insertion, nothing sorts the whole board. Each player has one entry; keys are unique
    (they end with the Nickname). benchmarks/ranking.py measures it against the parallel lists it replaced."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entry_of = {e.nickname: e for e in entries}
        self._order = SortedKeyList(self._entry_of.values(), key=rank_key)

    def __len__(self) -> int:
        return len(self._order)

    def put(self, entry: Entry) -> None:
        """Place a player's new entry (their first, or one that replaces their previous)."""
        old = self._entry_of.get(entry.nickname)
        if old is not None:
            self._order.remove(old)
        self._order.add(entry)
        self._entry_of[entry.nickname] = entry

    def top(self, count: int | None = None) -> list[Entry]:
        """The first `count` entries (every one for None), as a list of its own."""
        return self._order[:count]

    def rank(self, nickname: str) -> tuple[int, Entry] | None:
        """A player's 1-based rank and entry; None when they have none."""
        entry = self._entry_of.get(nickname)
        if entry is None:
            return None
        return self._order.index(entry) + 1, entry
