"""Sessions on DynamoDB: which one is current, and the writes that change one (open, start, close).

The functions and the manager's console both go through here; the rules are the core's (`core.sessions`).

Which session is current: the one item of the Current table (`Name = "session"`, `SessionId`), written
in the same transaction as the Sessions item it names when a session opens. DynamoDB serves thousands of
reads a second where SSM serves 40, so a room of players allocating at once is never throttled; a
container still keeps the answer `POINTER_CACHE_SECONDS`, and a caller refused on a cached answer asks
again with `fresh=True`. What the session is: its Sessions item, read strongly consistent, the authority
every write is conditioned on. After each change the document goes to SSM `/<env>/session`, which only
`GET /session` reads (`publish`).
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import replace

from ..core import errors
from ..core import sessions as rules
from ..core.errors import ApiError
from ..core.sessions import DEFAULT_SEATS, Session
from ..core.timeutil import to_iso
from .config import StackNames
from .items import CLOSED, OPEN, StoredSession, attrs, plain

POINTER_KEY = {"Name": "session"}
POINTER_CACHE_SECONDS = 2.0
ATTEMPTS = 5

# Current table -> (time.monotonic() until which it holds, the current SessionId or None).
_pointer_cache: dict[str, tuple[float, str | None]] = {}


def clear_cache() -> None:
    _pointer_cache.clear()


def current_id(names: StackNames, fresh: bool = False) -> str | None:
    """The current session's id: the Current table's item, or this container's copy of it (2 s)."""
    cached = _pointer_cache.get(names.current)
    now = time.monotonic()
    if not fresh and cached is not None and cached[0] > now:
        return cached[1]
    item = plain(
        names.client("dynamodb")
        .get_item(TableName=names.current, Key=attrs(POINTER_KEY), ConsistentRead=True)
        .get("Item")
    )
    session_id = None if item is None else item.get("SessionId")
    _pointer_cache[names.current] = (now + POINTER_CACHE_SECONDS, session_id)
    return session_id


def read(names: StackNames, session_id: str) -> StoredSession | None:
    item = (
        names.client("dynamodb")
        .get_item(TableName=names.sessions, Key=attrs({"SessionId": session_id}), ConsistentRead=True)
        .get("Item")
    )
    return None if item is None else StoredSession.from_item(item)


def current(names: StackNames, fresh: bool = False) -> StoredSession | None:
    session_id = current_id(names, fresh)
    return None if session_id is None else read(names, session_id)


def all_sessions(names: StackNames) -> list[StoredSession]:
    """Every session, newest first."""
    pages = names.client("dynamodb").get_paginator("scan").paginate(TableName=names.sessions)
    stored = [StoredSession.from_item(item) for page in pages for item in page["Items"]]
    return sorted(stored, key=lambda s: s.session.opening_time, reverse=True)


def publish(names: StackNames, session: Session) -> None:
    """Write the document to SSM for `GET /session` (after every change of the current session)."""
    names.client("ssm").put_parameter(
        Name=names.session_parameter, Value=json.dumps(session.document()), Type="String", Overwrite=True
    )


def open_session(
    names: StackNames,
    name: str,
    game_type: str,
    synchronized: bool,
    now: float,
    timeout_minutes: int | None = None,
    total_seats: int = DEFAULT_SEATS,
) -> Session:
    """A new current session. The one before must be closed (a time-constrained one past its deadline is
    closed here, at its deadline); an id already taken gets `-2`, `-3`... as the core says."""
    taken: set[str] = set()
    for attempt in range(ATTEMPTS):
        pointer = current_id(names, fresh=True)
        stored = None if pointer is None else read(names, pointer)
        if stored is not None and stored.is_open:
            close_if_due(names, now)
            stored = read(names, stored.session.session_id)
        previous = None if stored is None else stored.session
        if stored is not None and not stored.is_open:
            # CLOSED as stored is closed, whatever this clock says of its ClosingTime; its id stays taken.
            taken.add(previous.session_id)
        session = rules.open_session(
            name, game_type, synchronized, now, timeout_minutes, total_seats,
            current=previous if stored is not None and stored.is_open else None, taken=taken,
        )
        writes = [_put_new(names, session), _point_to(names, session.session_id, pointer)]
        if previous is not None:
            writes.append(_link_after(names, previous.session_id, session.session_id))
        ddb = names.client("dynamodb")
        try:
            ddb.transact_write_items(TransactItems=writes)
        except ddb.exceptions.TransactionCanceledException as exc:
            if exc.response.get("CancellationReasons", [{}])[0].get("Code") == "ConditionalCheckFailed":
                taken.add(session.session_id)  # that id exists already: the next one
            continue  # else another session opened, or the current one changed: decide again
        except ddb.exceptions.TransactionConflictException:
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
            continue
        _pointer_cache[names.current] = (time.monotonic() + POINTER_CACHE_SECONDS, session.session_id)
        publish(names, session)
        return session
    raise ApiError(409, "SessionChanged", "Other sessions were opened meanwhile; look at the sessions list.")


def _put_new(names: StackNames, session: Session) -> dict:
    item = {**session.document(), "Status": OPEN, "OccupiedSeats": 0, "RecordCount": 0}
    return {
        "Put": {
            "TableName": names.sessions,
            "Item": attrs(item),
            "ConditionExpression": "attribute_not_exists(SessionId)",
        }
    }


def _point_to(names: StackNames, session_id: str, was: str | None) -> dict:
    """The Current item names the new session, if it still names the one we read."""
    put: dict = {"TableName": names.current, "Item": attrs({**POINTER_KEY, "SessionId": session_id})}
    if was is None:
        put["ConditionExpression"] = "attribute_not_exists(SessionId)"
    else:
        put["ConditionExpression"] = "SessionId = :was"
        put["ExpressionAttributeValues"] = attrs({":was": was})
    return {"Put": put}


def _link_after(names: StackNames, previous_id: str, session_id: str) -> dict:
    """History: the closed session before names its successor, once."""
    return {
        "Update": {
            "TableName": names.sessions,
            "Key": attrs({"SessionId": previous_id}),
            "UpdateExpression": "SET NextSessionId = :next",
            "ConditionExpression": "#s = :closed AND attribute_not_exists(NextSessionId)",
            "ExpressionAttributeNames": {"#s": "Status"},
            "ExpressionAttributeValues": attrs({":next": session_id, ":closed": CLOSED}),
        }
    }


def start(names: StackNames, countdown_seconds: float, now: float) -> Session:
    """The synchronized start: `SynchronizeTime` a countdown ahead, in the item and in SSM."""
    stored = current(names, fresh=True)
    started = rules.start_session(stored.session if stored else None, now, countdown_seconds)
    changed = _update_session(
        names, started.session_id, "SET SynchronizeTime = :t",
        "#s = :open AND Synchronized = :yes AND (attribute_not_exists(SynchronizeTime) OR SynchronizeTime > :now)",
        {":t": to_iso(started.synchronize_time), ":open": OPEN, ":yes": True, ":now": to_iso(now)},
    )
    if not changed:
        # Closed or started by somebody else in the meantime: answer as the rules would now.
        stored = current(names, fresh=True)
        rules.start_session(stored.session if stored else None, now, countdown_seconds)
        raise ApiError(409, "SessionChanged", "The session changed while starting it; try again.")
    publish(names, started)
    return started


def close(names: StackNames, now: float) -> Session:
    """The manager closes the current session now (a time-constrained one past its deadline is closed at
    its deadline instead, and that is a refusal: it was over).

    Never before `OpenUntil`: the scoreboard function has counted records settled up to it (board_batch), so
    the close lands at the later of the two (to the millisecond above: ClosingTime is written in ms), and
    no record counted is one the close drops. The function moving it meanwhile fails the write: read again."""
    for _attempt in range(ATTEMPTS):
        stored = current(names, fresh=True)
        if stored is not None and stored.is_open and close_if_due(names, now) is not None:
            raise ApiError(409, errors.SESSION_CLOSED, f"Session {stored.session.session_id} is over: its time is up.")
        closed = rules.close_session(stored.session if stored else None, now)
        at = math.floor(now * 1000) / 1000  # ClosingTime is written in ms
        if stored.open_until > at:
            at = math.ceil(stored.open_until * 1000) / 1000
        deadline = closed.deadline
        values = {":closed": CLOSED, ":open": OPEN}
        guard = "#s = :open"
        if deadline is not None and at >= deadline:
            at = deadline  # nothing settled after a deadline is counted: no OpenUntil to wait for
        else:
            guard += " AND (attribute_not_exists(OpenUntil) OR OpenUntil <= :at)"
            values[":at"] = at
        closed = replace(closed, closing_time=at)
        if _update_session(names, closed.session_id, "SET #s = :closed, ClosingTime = :t", guard,
                           {**values, ":t": to_iso(at)}):
            publish(names, closed)
            return closed
        if not read(names, closed.session_id).is_open:
            raise ApiError(409, errors.SESSION_CLOSED, f"Session {closed.session_id} was closed meanwhile.")
    raise ApiError(409, "SessionChanged", "The session kept changing while closing it; try again.")


def keep_open_until(names: StackNames, session_id: str, moment: float) -> bool:
    """The scoreboard function, before it counts records of an open session settled up to `moment`: no close
    may come before it. False when the session is closed (read it again: its close decides) or already kept
    open that long."""
    return _update_session(names, session_id, "SET OpenUntil = :t",
                           "#s = :open AND (attribute_not_exists(OpenUntil) OR OpenUntil < :t)",
                           {":open": OPEN, ":t": moment})


def close_if_due(names: StackNames, now: float) -> Session | None:
    """Close the current session at its deadline if it is time-constrained and past it; the closed one."""
    stored = current(names, fresh=True)
    if stored is None or not stored.is_open:
        return None
    closed = rules.close_if_due(stored.session, now)
    if closed is None:
        return None
    if not _update_session(names, closed.session_id, "SET #s = :closed, ClosingTime = :t", "#s = :open",
                           {":closed": CLOSED, ":open": OPEN, ":t": to_iso(closed.closing_time)}):
        return None  # the manager closed it first
    publish(names, closed)
    return closed


def _update_session(names: StackNames, session_id: str, update: str, condition: str, values: dict) -> bool:
    """One conditional update of a Sessions item (`#s` names its Status); False when the condition failed."""
    ddb = names.client("dynamodb")
    try:
        ddb.update_item(
            TableName=names.sessions, Key=attrs({"SessionId": session_id}), UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames={"#s": "Status"},
            ExpressionAttributeValues=attrs(values),
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        return False
    return True
