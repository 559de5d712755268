"""A session's board as stored: the Scoreboard table's `Ranking` index read in the contract's order.

The scoreboard function writes the items (`board_batch`); the manager's console reads the whole board
here every 1.5 s (`GET /scoreboard`'s top 10 is the same query, made by API Gateway itself).
"""

from __future__ import annotations

from typing import NamedTuple

from .config import StackNames
from .items import BoardLine, RecordKey, attrs, in_runs, plain, record_key, waiting_records

RANKING_INDEX = "Ranking"
# What a board line needs, and when it was written and arrived (the console shows the delay).
BOARD_ATTRIBUTES = ("Nickname", "Score", "Shots", "Level", "Lives", "UpdatedAt", "ArrivedAt")


def ranking(names: StackNames, session_id: str) -> list[BoardLine]:
    """Every player of the session, best first (all pages)."""
    placeholders = {f"#a{i}": a for i, a in enumerate(BOARD_ATTRIBUTES)}  # Level, Lives... are reserved words
    items = names.query(
        TableName=names.scoreboard,
        IndexName=RANKING_INDEX,
        KeyConditionExpression="#k = :s",
        ProjectionExpression=", ".join(placeholders),
        ExpressionAttributeNames={**placeholders, "#k": "SessionId"},
        ExpressionAttributeValues=attrs({":s": session_id}),
    )
    return [BoardLine.from_item(item) for item in items]


class KeptVerdicts(NamedTuple):
    """What the scoreboard function kept on a player's item of records it did not count: runs of record keys
    it judged by what it read then (no seat, not started), and records still waiting for their stamp."""

    uncounted: list[list[int]]
    waiting: list[RecordKey]

    def excludes(self, arrived_at: float, ts: float) -> bool:
        key = record_key(arrived_at, ts)
        return key in self.waiting or in_runs(self.uncounted, key)


def kept_verdicts(names: StackNames, session_id: str) -> dict[str, KeptVerdicts]:
    """Per player who has any, the records the function kept as not counted (the archive replay reads them)."""
    items = names.query(TableName=names.scoreboard, KeyConditionExpression="SessionId = :s",
                        ProjectionExpression="Nickname, Uncounted, Waiting",
                        ExpressionAttributeValues=attrs({":s": session_id}))
    verdicts = {}
    for item in items:
        values = plain(item)
        runs = [[int(v) for v in run] for run in values.get("Uncounted") or []]
        waiting = sorted(w.key for w in waiting_records(values))
        if runs or waiting:
            verdicts[values["Nickname"]] = KeptVerdicts(runs, waiting)
    return verdicts
