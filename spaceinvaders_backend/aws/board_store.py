"""A session's board as stored: the Scoreboard table's `Ranking` index read in the contract's order.

The scoreboard function writes the items (`board_batch`); the manager's console reads the whole board
here every 1.5 s (`GET /scoreboard`'s top 10 is the same query, made by API Gateway itself).
"""

from __future__ import annotations

from .config import StackNames
from .items import BoardLine, attrs

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
