"""DynamoDB items of `docs/aws.md` and the core's data: sessions, seats and players' boards.

The stores use the low-level client (transactions need it), so items travel in DynamoDB's typed form;
`attrs()` and `plain()` convert, with numbers as int or float on our side. The functions and the
manager's console read and write through this one codec.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from math import isfinite
from typing import Any, NamedTuple

from ..core.ranking import Entry
from ..core.scoreboard import PlayerBoard
from ..core.sessions import FINISHED, PLAYING, Session
from ..core.timeutil import parse_iso

OPEN = "OPEN"
CLOSED = "CLOSED"
# Seat states as stored (the core's are lower case).
STORED_STATE = {PLAYING: "PLAYING", FINISHED: "FINISHED"}
CORE_STATE = {v: k for k, v in STORED_STATE.items()}


# --- the one DynamoDB codec (by hand: boto3's TypeDeserializer makes a Decimal of every number, several
# times slower on the manager's board of thousands of players read every 1.5 s) ------------------------


def typed(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB attribute value."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not isfinite(value):
            raise ValueError(f"DynamoDB has no number {value}")
        return {"N": str(Decimal(repr(value)))}
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (list, tuple)):
        return {"L": [typed(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def _number(text: str) -> int | float:
    return float(text) if "." in text or "e" in text or "E" in text else int(text)


def value_of(attribute: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain value (numbers as int or float)."""
    text = attribute.get("S")  # the common kinds first, without unpacking the one-key dict
    if text is not None:
        return text
    number = attribute.get("N")
    if number is not None:
        return _number(number)
    ((kind, value),) = attribute.items()
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [value_of(v) for v in value]
    if kind == "M":
        return {k: value_of(v) for k, v in value.items()}
    if kind in ("SS", "BS", "B"):
        return value
    if kind == "NS":
        return [_number(v) for v in value]
    raise ValueError(f"unknown DynamoDB type {kind}")


def attrs(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values -> typed attribute values (`{"S": ...}`), for items, keys and expression values."""
    return {k: typed(v) for k, v in values.items()}


def plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    values = {}
    for name, attribute in item.items():  # strings and numbers inline: the manager's board is 5,000 items
        text = attribute.get("S")
        if text is None:
            number = attribute.get("N")
            if number is None:
                values[name] = value_of(attribute)
                continue
            text = float(number) if "." in number or "e" in number or "E" in number else int(number)
        values[name] = text
    return values


# --- sessions ---------------------------------------------------------------------------------------------


def session_from_document(doc: dict[str, Any]) -> Session:
    """The core's session from the contract's document (or a Sessions item, which holds one)."""

    def instant(name: str) -> float | None:
        value = doc.get(name)
        return None if value is None else parse_iso(value)

    return Session(
        session_id=doc["SessionId"],
        game_type=doc["GameType"],
        synchronized=bool(doc.get("Synchronized", False)),
        total_seats=int(doc["TotalSeats"]),
        opening_time=parse_iso(doc["OpeningTime"]),
        timeout_minutes=None if doc.get("TimeoutInMinutes") is None else int(doc["TimeoutInMinutes"]),
        synchronize_time=instant("SynchronizeTime"),
        closing_time=instant("ClosingTime"),
    )


@dataclass(frozen=True)
class StoredSession:
    """A Sessions item: the session, its status as stored, its occupied seats and records counted, and
    `OpenUntil`: the scoreboard function counts records of an open session only up to a moment it first
    writes here, and a close is never earlier (`session_store.close`)."""

    session: Session
    status: str
    occupied: int
    records: int = 0
    open_until: float = float("-inf")

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredSession:
        values = plain(item)
        return cls(
            session_from_document(values),
            values.get("Status", OPEN),
            int(values.get("OccupiedSeats", 0)),
            int(values.get("RecordCount", 0)),
            float(values.get("OpenUntil", float("-inf"))),
        )

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


# --- seats ------------------------------------------------------------------------------------------------

# AllocatedAt comes from a function's clock, a record's arrival from Kinesis': both are AWS clocks, but a
# second of slack costs nothing (a player posts only after the allocation answered).
CLOCK_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class Seat:
    """A Seats item. `state` is PLAYING, FINISHED or None (left a seat that does not end their play)."""

    state: str | None
    played: bool = False
    allocated_at: float = 0.0
    last_allocate_at: float = 0.0  # every allocation request, "Keep playing." included
    last_seen: float = 0.0
    left_at: float | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> Seat | None:
        if item is None:
            return None
        allocated = _seconds(item, "AllocatedAt", 0.0)
        state, last_seen = _state_and_last_seen(item)
        left_at = item.get("LeftAt")
        return cls(
            state=state,
            played=bool(item.get("Played", {}).get("BOOL", False)),
            allocated_at=allocated,
            last_allocate_at=_seconds(item, "LastAllocateAt", allocated),
            last_seen=last_seen,
            left_at=None if left_at is None else float(left_at["N"]),
        )

    def held_at(self, t: float) -> bool:
        """Whether a record that arrived at `t` came from this seat: allocated before, not yet left."""
        if t < self.allocated_at - CLOCK_SLACK_SECONDS:
            return False
        return self.state == PLAYING or (self.left_at is not None and t <= self.left_at)


class SeatLine(NamedTuple):
    """A seat as the manager's watch lists them, thousands every 1.5 s (a tuple: cheap to build)."""

    username: str
    state: str | None
    last_seen: float

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SeatLine:
        state, last_seen = _state_and_last_seen(item)
        return cls(item["Username"]["S"], state, last_seen)


def _seconds(item: dict[str, Any], name: str, default: float) -> float:
    attribute = item.get(name)
    return default if attribute is None else float(attribute["N"])


def _state_and_last_seen(item: dict[str, Any]) -> tuple[str | None, float]:
    """A seat's state (the core's), and its last sign of life: `LastSeen`, or its allocation before any."""
    state = item.get("State")
    seen = item.get("LastSeen") or item.get("AllocatedAt")
    return None if state is None else CORE_STATE.get(state["S"]), 0.0 if seen is None else float(seen["N"])


# --- players' boards --------------------------------------------------------------------------------------


def _entry(nickname: str, values: list | None) -> Entry | None:
    return None if values is None else Entry(nickname, *(int(v) for v in values))


def _numbers(entry: Entry | None) -> list[int] | None:
    return None if entry is None else [entry.score, entry.shots, entry.level, entry.lives]


class BoardLine(NamedTuple):
    """A player's line of a board as the Ranking index answers it (the manager's watch: thousands every
    1.5 s, so decoded straight from the typed item into a tuple). `updated_at`/`arrived_at`: when the
    scoreboard function wrote it and when its record reached Kinesis (epoch seconds), if known."""

    nickname: str
    score: int
    shots: int
    level: int
    lives: int
    updated_at: float | None = None
    arrived_at: float | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BoardLine:
        updated, arrived = item.get("UpdatedAt"), item.get("ArrivedAt")
        return cls(
            item["Nickname"]["S"],
            int(item["Score"]["N"]),
            int(item["Shots"]["N"]),
            int(item["Level"]["N"]),
            int(item["Lives"]["N"]),
            None if updated is None else float(updated["N"]),
            None if arrived is None else float(arrived["N"]),
        )

    def entry(self) -> dict[str, Any]:
        """The contract's board entry."""
        return {"Nickname": self.nickname, "Score": self.score, "Shots": self.shots, "Level": self.level,
                "Lives": self.lives}


def board_from_item(nickname: str, values: dict[str, Any] | None) -> PlayerBoard:
    """The processor's state of a player, kept in their Scoreboard item (`BestTrial`, `CurrentTrial`...)."""
    if values is None:
        return PlayerBoard()
    return PlayerBoard(
        best_finished=_entry(nickname, values.get("BestTrial")),
        current=_entry(nickname, values.get("CurrentTrial")),
        current_ts=float(values.get("CurrentTs", float("-inf"))),
        trial_end_ts=float(values.get("TrialEndTs", float("-inf"))),
    )


def board_state(board: PlayerBoard) -> dict[str, Any]:
    """The attributes that keep a PlayerBoard (absent ones are not written: DynamoDB has no infinity)."""
    state: dict[str, Any] = {}
    if board.best_finished is not None:
        state["BestTrial"] = _numbers(board.best_finished)
    if board.current is not None:
        state["CurrentTrial"] = _numbers(board.current)
        state["CurrentTs"] = board.current_ts
    if board.trial_end_ts != float("-inf"):
        state["TrialEndTs"] = board.trial_end_ts
    return state


# --- records the scoreboard function did not count, or not yet ---------------------------------------------
# A record's verdict that depends on what the function read when it processed it (the player's seat, whether
# a synchronized session had started) is kept on the player's Scoreboard item, so that a replay from the
# archive decides every record as the function did (archive_records.py). A record is named
# by (its arrival in ms, its Timestamp in ms): `RecordKey`.

RecordKey = tuple[int, int]


def record_key(arrived_at: float, ts: float) -> RecordKey:
    return round(arrived_at * 1000), round(ts * 1000)


def uncounted_runs(runs: list[list[int]], last_counted: RecordKey | None, uncounted: list[RecordKey],
                   counted: list[RecordKey]) -> list[list[int]]:
    """`Uncounted`: runs [low arrival, low stamp, high arrival, high stamp] of record keys holding only records
    not counted. One batch's keys (`uncounted`, `counted`) are added; its first run joins the last one kept
    when no counted record lies between them (`last_counted`: the highest key counted before), so a player
    who keeps posting without a seat adds one run, not one a record."""
    new: list[list[int]] = []
    open_run: list[int] | None = None
    for key, was_counted in sorted([(k, False) for k in uncounted] + [(k, True) for k in counted]):
        if was_counted:
            open_run = None
        elif open_run is None:
            open_run = [*key, *key]
            new.append(open_run)
        else:
            open_run[2:] = key
    runs = [list(r) for r in runs]
    if runs and new:
        last_high, first_low = tuple(runs[-1][2:]), tuple(new[0][:2])
        if (last_high < first_low and (last_counted is None or last_counted <= last_high)
                and not any(last_high < k < first_low for k in counted)):
            runs[-1][2:] = new.pop(0)[2:]
    return sorted(runs + new)


def in_runs(runs: list[list[int]], key: RecordKey) -> bool:
    return any(tuple(r[:2]) <= key <= tuple(r[2:]) for r in runs)


class WaitingRecord(NamedTuple):
    """A record stamped ahead of the function's clock when processed: kept on the player's item (`Waiting`)
    and decided once its stamp has passed, at the player's next batch."""

    arrived_at: float
    ts: float
    score: int
    shots: int
    level: int
    lives: int

    @property
    def key(self) -> RecordKey:
        return record_key(self.arrived_at, self.ts)


def waiting_records(values: dict[str, Any] | None) -> list[WaitingRecord]:
    return [WaitingRecord(float(a), float(t), *(int(v) for v in rest))
            for a, t, *rest in (values or {}).get("Waiting") or []]
