"""The contract's ranking as one string, for stores that sort by a key (the AWS ranking index).

Fixed-width complements of the numbers, then the Nickname: comparing two such strings (by code point, or
by UTF-8 bytes as DynamoDB does) orders them as `ranking.rank_key` orders the entries.
"""

from __future__ import annotations

from .ranking import Entry

SCORE_MAX = 10**9
LIVES_MAX = 99
SHOTS_MAX = 10**9


def rank_text(entry: Entry) -> str:
    """e.g. `0999999800#96#0000000012#alice` for Score 200, Lives 3, Shots 12."""
    return f"{SCORE_MAX - entry.score:010d}#{LIVES_MAX - entry.lives:02d}#{entry.shots:010d}#{entry.nickname}"
