"""The contract's ranking: Score desc, Lives desc, Shots asc, Nickname asc."""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import NamedTuple

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
    """The better-ranked of two entries (either may be missing)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if rank_key(a) <= rank_key(b) else b


def ranked(entries) -> list[Entry]:
    return sorted(entries, key=rank_key)


class RankedBoard:
    """A session's entries kept in the contract's order while players change: a change is a binary search
    and a move within a list, not a sort of the whole board (5,000 players, hundreds of changes a second,
    the whole board asked for every 1.5 s). Each player has one entry; keys are unique (they end with the
    Nickname)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries = ranked(entries)
        self._keys = [rank_key(e) for e in self._entries]
        self._key_of = {e.nickname: k for e, k in zip(self._entries, self._keys, strict=True)}

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, entry: Entry) -> None:
        """Place a player's new entry (their first, or one that replaces their previous)."""
        key = rank_key(entry)
        old = self._key_of.get(entry.nickname)
        if old is not None:
            at = bisect_left(self._keys, old)
            del self._keys[at], self._entries[at]
        at = bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._entries.insert(at, entry)
        self._key_of[entry.nickname] = key

    def top(self, count: int | None = None) -> list[Entry]:
        """The first `count` entries (every one for None), as a list of its own."""
        return self._entries[:count] if count is not None else self._entries[:]

    def rank(self, nickname: str) -> tuple[int, Entry] | None:
        """A player's 1-based rank and entry; None when they have none."""
        key = self._key_of.get(nickname)
        if key is None:
            return None
        at = bisect_left(self._keys, key)
        return at + 1, self._entries[at]
