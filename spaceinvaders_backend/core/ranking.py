"""The contract's ranking: Score desc, Lives desc, Shots asc, Nickname asc."""
from __future__ import annotations

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
