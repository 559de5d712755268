"""Seats: taking one and leaving one, each a DynamoDB transaction with the session's `OccupiedSeats`.

`/allocate` and `/deallocate` (the seat function), the idle sweep, the scoreboard function's last life and
the manager's console all change seats here; `leave` is the one way a seat is freed.

The rules are the core's (`check_allocate`, `seat_after_leaving`); the transactions are conditioned on the
seat as it was read and on `OccupiedSeats < TotalSeats`, so players racing for the last seat, or one
player's two requests racing each other, never seat more players than there are seats. A cancelled
transaction is read again and decided again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from ..core import sessions as rules
from ..core.errors import ApiError
from ..core.sessions import FINISHED, PLAYING, Session
from . import session_store
from .config import StackNames
from .items import OPEN, STORED_STATE, Seat, SeatLine, StoredSession, attrs

ATTEMPTS = 8
KEEP_PLAYING = "Keep playing."
NOT_SEATED = "Not seated."


class SeatChanged(Exception):
    """The seat or the session moved between our read and our write: read again."""


def busy() -> ApiError:
    return ApiError(
        503, "Busy", "Too many players are changing seats at once; try again.", headers={"Retry-After": "1"}
    )


def read_seat(names: StackNames, session_id: str, username: str) -> Seat | None:
    item = (
        names.client("dynamodb")
        .get_item(TableName=names.seats, Key=_key(session_id, username), ConsistentRead=True)
        .get("Item")
    )
    return Seat.from_item(item)


def has_board(names: StackNames, session_id: str, username: str) -> bool:
    """Whether the player has an entry on the session's board (posted in an earlier seat)."""
    item = (
        names.client("dynamodb")
        .get_item(
            TableName=names.scoreboard,
            Key=attrs({"SessionId": session_id, "Nickname": username}),
            ProjectionExpression="RankKey",  # an item without one only keeps records not counted
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item is not None and "RankKey" in item


def _key(session_id: str, username: str) -> dict:
    return attrs({"SessionId": session_id, "Username": username})


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * 2**attempt))


def _transact(names: StackNames, items: list[dict]) -> None:
    ddb = names.client("dynamodb")
    try:
        ddb.transact_write_items(TransactItems=items)
    except (ddb.exceptions.TransactionCanceledException, ddb.exceptions.TransactionConflictException) as exc:
        raise SeatChanged() from exc


def _occupied_change(names: StackNames, session_id: str, delta: int) -> dict:
    if delta > 0:
        condition = "#s = :open AND OccupiedSeats < TotalSeats"
        values = {":d": delta, ":open": OPEN}
        names_ = {"#s": "Status"}
    else:
        condition = "OccupiedSeats > :zero"
        values = {":d": delta, ":zero": 0}
        names_ = {}
    update = {
        "TableName": names.sessions,
        "Key": attrs({"SessionId": session_id}),
        "UpdateExpression": "SET OccupiedSeats = OccupiedSeats + :d",
        "ConditionExpression": condition,
        "ExpressionAttributeValues": attrs(values),
    }
    if names_:
        update["ExpressionAttributeNames"] = names_
    return {"Update": update}


def _as_read(seat: Seat | None) -> tuple[str, dict]:
    """A condition that holds while the seat's state is still what we read."""
    if seat is None or seat.state is None:
        return "attribute_not_exists(#st)", {}
    return "#st = :was", {":was": STORED_STATE[seat.state]}


def allocate(names: StackNames, username: str, now: Callable[[], float] = time.time) -> str:
    for attempt in range(ATTEMPTS):
        # The first try trusts the cached current session; refusals and conflicts are decided on fresh reads.
        stored = session_store.current(names, fresh=attempt > 0)
        session = stored.session if stored else None
        seat = read_seat(names, session.session_id, username) if session else None
        try:
            takes_seat = rules.check_allocate(
                session, seat.state if seat else None, stored.occupied if stored else 0, now()
            )
        except ApiError:
            if attempt == 0:
                continue
            raise
        try:
            if takes_seat:
                _take_seat(names, stored, username, seat, now())
                return f"Seat allocated in {session.session_id}."
            _keep_playing(names, session.session_id, username, now())
            return KEEP_PLAYING
        except SeatChanged:
            _backoff(attempt)
    raise busy()


def _take_seat(names: StackNames, stored: StoredSession, username: str, seat: Seat | None, at: float) -> None:
    if stored.status != OPEN:
        raise SeatChanged()
    condition, values = _as_read(seat)
    _transact(
        names,
        [
            {
                "Update": {
                    "TableName": names.seats,
                    "Key": _key(stored.session.session_id, username),
                    "UpdateExpression": "SET #st = :playing, Played = :no, AllocatedAt = :t, "
                    "LastAllocateAt = :t, LastSeen = :t",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#st": "State"},
                    "ExpressionAttributeValues": attrs(
                        {":playing": STORED_STATE[PLAYING], ":no": False, ":t": at, **values}
                    ),
                }
            },
            _occupied_change(names, stored.session.session_id, +1),
        ]
    )


def _keep_playing(names: StackNames, session_id: str, username: str, at: float) -> None:
    ddb = names.client("dynamodb")
    try:
        ddb.update_item(
            TableName=names.seats,
            Key=_key(session_id, username),
            UpdateExpression="SET LastAllocateAt = :t, LastSeen = :t",
            ConditionExpression="#st = :playing",
            ExpressionAttributeNames={"#st": "State"},
            ExpressionAttributeValues=attrs({":t": at, ":playing": STORED_STATE[PLAYING]}),
        )
    except ddb.exceptions.ConditionalCheckFailedException as exc:
        raise SeatChanged() from exc


def deallocate(names: StackNames, username: str, now: Callable[[], float] = time.time) -> str:
    """The player leaves the current session's seat; "Not seated." when they hold none."""
    for attempt in range(ATTEMPTS):
        stored = session_store.current(names, fresh=attempt > 0)
        if stored is None:
            if attempt == 0:
                continue
            return NOT_SEATED
        try:
            answer = leave(names, stored.session, username, now())
        except SeatChanged:
            _backoff(attempt)
            continue
        if answer == NOT_SEATED and attempt == 0:
            continue  # maybe a newer session than the cached one
        return answer
    raise busy()


def free(names: StackNames, session_id: str, username: str, now: Callable[[], float] = time.time) -> str:
    """The manager frees a player's seat in any session: what `/deallocate` does for the player."""
    stored = session_store.read(names, session_id)
    if stored is None:
        raise ApiError(404, "NoSuchSession", f"There is no session {session_id}.")
    for attempt in range(ATTEMPTS):
        try:
            return leave(names, stored.session, username, now())
        except SeatChanged:
            _backoff(attempt)
    raise busy()


def leave(
    names: StackNames, session: Session, username: str, at: float, idle_before: float | None = None
) -> str:
    """Free a PLAYING seat (deallocate, the manager, the idle sweep when `idle_before` is given).

    Raises SeatChanged when the seat moved meanwhile (or, for the sweep, was seen since `idle_before`).
    """
    seat = read_seat(names, session.session_id, username)
    if seat is None or seat.state != PLAYING:
        return NOT_SEATED
    if idle_before is not None and seat.last_seen >= idle_before:
        return NOT_SEATED
    played = seat.played or has_board(names, session.session_id, username)
    state = rules.seat_after_leaving(session, played)
    values: dict = {":playing": STORED_STATE[PLAYING], ":t": at, ":played": played}
    if state == FINISHED:
        update = "SET #st = :finished, LeftAt = :t, Played = :played"
        values[":finished"] = STORED_STATE[FINISHED]
    else:
        update = "SET LeftAt = :t, Played = :played REMOVE #st"
    condition = "#st = :playing"
    if idle_before is not None:
        condition += " AND LastSeen < :idle"
        values[":idle"] = idle_before
    _transact(
        names,
        [
            {
                "Update": {
                    "TableName": names.seats,
                    "Key": _key(session.session_id, username),
                    "UpdateExpression": update,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#st": "State"},
                    "ExpressionAttributeValues": attrs(values),
                }
            },
            _occupied_change(names, session.session_id, -1),
        ]
    )
    return "Seat freed."


def idle_players(names: StackNames, session_id: str, idle_before: float) -> list[str]:
    """Players seated in the session with no sign of life since `idle_before`."""
    items = names.query(
        TableName=names.seats,
        KeyConditionExpression="SessionId = :s",
        FilterExpression="#st = :playing AND LastSeen < :idle",
        ExpressionAttributeNames={"#st": "State"},
        ExpressionAttributeValues=attrs({":s": session_id, ":playing": STORED_STATE[PLAYING], ":idle": idle_before}),
        ProjectionExpression="Username",
        ConsistentRead=True,
    )
    return [item["Username"]["S"] for item in items]


def finish_trial(names: StackNames, session: Session, username: str, arrived_at: float) -> bool:
    """The processor saw the player's last life go (a record that arrived at `arrived_at`): the seat is
    FINISHED and freed, unless the player asked for a seat since (a new trial in MULTIPLE_TRIALS).
    Answers whether the seat was finished."""
    condition = "#st = :playing"
    values: dict = {
        ":playing": STORED_STATE[PLAYING],
        ":finished": STORED_STATE[FINISHED],
        ":t": arrived_at,
        ":yes": True,
    }
    if not session.single_trial:
        condition += " AND LastAllocateAt <= :t"
    try:
        _transact(
            names,
            [
                {
                    "Update": {
                        "TableName": names.seats,
                        "Key": _key(session.session_id, username),
                        "UpdateExpression": "SET #st = :finished, LeftAt = :t, Played = :yes",
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#st": "State"},
                        "ExpressionAttributeValues": attrs(values),
                    }
                },
                _occupied_change(names, session.session_id, -1),
            ]
        )
    except SeatChanged:
        return False
    return True


def mark_played(names: StackNames, session: Session, username: str, seat: Seat, seen_at: float) -> None:
    """The processor applied records from this seat: refresh `LastSeen` and `Played` (a seat left before
    its records were processed, in a single-trial session, becomes FINISHED: the player did play)."""
    ddb = names.client("dynamodb")
    if seat.state == PLAYING:
        update, condition = "SET LastSeen = :t, Played = :yes", "#st = :playing AND AllocatedAt = :alloc"
        values = {":t": seen_at, ":yes": True, ":playing": STORED_STATE[PLAYING], ":alloc": seat.allocated_at}
    elif seat.state is None and session.single_trial:
        update, condition = "SET #st = :finished, Played = :yes", "attribute_not_exists(#st) AND LeftAt >= :t"
        values = {":t": seen_at, ":yes": True, ":finished": STORED_STATE[FINISHED]}
    else:
        return
    try:
        ddb.update_item(
            TableName=names.seats,
            Key=_key(session.session_id, username),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#st": "State"},
            ExpressionAttributeValues=attrs(values),
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        pass  # the seat moved on meanwhile; its new state stands


def seats(names: StackNames, session_id: str) -> list[SeatLine]:
    """Every seat of the session (the manager's watch), in username order."""
    items = names.query(
        TableName=names.seats,
        KeyConditionExpression="SessionId = :s",
        ExpressionAttributeValues=attrs({":s": session_id}),
        ProjectionExpression="Username, #st, AllocatedAt, LastSeen",
        ExpressionAttributeNames={"#st": "State"},
    )
    return [SeatLine.from_item(item) for item in items]
