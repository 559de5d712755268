"""DynamoDB items of docs/aws.md as plain values, and back.

The low-level client's typed values are converted by hand: the board of 5,000 players is read every
1.5 s, and boto3's `TypeDeserializer` (Decimal for every number) costs several times more.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import IDLE_AFTER_SECONDS

# The session document of API.md: what SSM /<env>/session holds and GET /session answers.
SESSION_FIELDS = ("SessionId", "GameType", "Synchronized", "TimeoutInMinutes", "TotalSeats", "OpeningTime",
                  "SynchronizeTime", "ClosingTime")


def _value(typed: dict[str, Any]) -> Any:
    kind, value = next(iter(typed.items()))
    if kind == "S":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_value(v) for v in value]
    if kind == "M":
        return plain(value)
    return value


def plain(item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: _value(typed) for name, typed in item.items()}


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": repr(value)}
    if value is None:
        return {"NULL": True}
    return {"S": str(value)}


def item_of(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Typed attribute values; None fields are left out (an absent SynchronizeTime is not a NULL one)."""
    return {name: _typed(value) for name, value in values.items() if value is not None}


def session_document(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in SESSION_FIELDS if item.get(name) is not None}


def session_id_for(name: str, epoch: float) -> str:
    """The contract's SessionId: the name and the opening time, e.g. `ROOM-A261126T221500`."""
    return name + datetime.fromtimestamp(epoch, tz=UTC).strftime("%y%m%dT%H%M%S")


def seat_state(seats: list[dict[str, Any]], now: float) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(playing, finished, idle) from Seats items; idle = playing with nothing seen for IDLE_AFTER_SECONDS."""
    playing, finished, idle = [], [], []
    for seat in seats:
        name = seat["Username"]["S"]
        state = seat.get("State", {}).get("S")
        if state == "FINISHED":
            finished.append(name)
        elif state == "PLAYING":
            playing.append(name)
            seen = seat.get("LastSeen") or seat.get("AllocatedAt")
            if seen is not None and now - float(seen["N"]) >= IDLE_AFTER_SECONDS:
                idle.append(name)
    return frozenset(playing), frozenset(finished), frozenset(idle)
