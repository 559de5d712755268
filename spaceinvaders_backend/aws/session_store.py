"""The current session as the functions see it, and the writes that change it (start, time-limit close).

Which session is current: SSM `/<env>/session`, cached for a couple of seconds because SSM serves 40
reads a second. What it is: its Sessions item, read strongly consistent, the authority every write is
conditioned on. A caller that gets a refusal from a cached answer asks again with `fresh=True`.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from ..core import sessions as rules
from ..core.errors import ApiError
from ..core.sessions import Session
from ..core.timeutil import to_iso
from .config import StackNames, client
from .items import CLOSED, OPEN, StoredSession, attrs

SESSION_CACHE_SECONDS = 2


def current_id(names: StackNames, fresh: bool = False) -> str | None:
    text = parameters.get_parameter(names.session_parameter, max_age=SESSION_CACHE_SECONDS, force_fetch=fresh)
    doc = json.loads(text)
    return doc.get("SessionId") if isinstance(doc, dict) else None


def read(names: StackNames, session_id: str) -> StoredSession | None:
    item = (
        client("dynamodb")
        .get_item(TableName=names.sessions, Key=attrs({"SessionId": session_id}), ConsistentRead=True)
        .get("Item")
    )
    return None if item is None else StoredSession.from_item(item)


def current(names: StackNames, fresh: bool = False) -> StoredSession | None:
    session_id = current_id(names, fresh)
    return None if session_id is None else read(names, session_id)


def publish(names: StackNames, session: Session) -> None:
    """Write the document to SSM for `GET /session` (as the manager does after each change)."""
    client("ssm").put_parameter(
        Name=names.session_parameter, Value=json.dumps(session.document()), Type="String", Overwrite=True
    )


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


def close_if_due(names: StackNames, now: float) -> Session | None:
    """Close the current session at its deadline if it is time-constrained and past it; the closed one."""
    stored = current(names, fresh=True)
    if stored is None or stored.status != OPEN:
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
    ddb = client("dynamodb")
    try:
        ddb.update_item(
            TableName=names.sessions, Key=attrs({"SessionId": session_id}), UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames={"#s": "Status"},
            ExpressionAttributeValues=attrs(values),
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        return False
    return True
