"""The synchronized start over the WebSocket API: who is connected to which session, and the push.

A connection is recorded at `$connect` with the user the authorizer verified and the session of its
`?sessionId=` (the Connections table; the `BySession` index finds one session's connections without a
Scan). The start function pushes `{"action": "start", "SessionId", "SynchronizeTime"}` to the connections of
that session only; connections that are gone are forgotten. The manager's console, which writes the start
itself, asks the start function to push (`start_and_announce`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from ..core.sessions import Session
from . import session_store
from .config import StackNames
from .items import attrs

SENDERS = 16
BY_SESSION_INDEX = "BySession"
# API Gateway closes a WebSocket after 2 hours; the item expires with it (DynamoDB TTL).
CONNECTION_LIFETIME_SECONDS = 2 * 3600


def record_connection(
    names: StackNames, connection_id: str, username: str, session_id: str | None, now: float
) -> None:
    item = {
        "ConnectionId": connection_id,
        "Username": username,
        "ConnectedAt": int(now),
        "ExpiresAt": int(now) + CONNECTION_LIFETIME_SECONDS,
    }
    if session_id:  # without one, the connection hears no start (the index skips it) but may ask
        item["SessionId"] = session_id
    names.client("dynamodb").put_item(TableName=names.connections, Item=attrs(item))


def forget_connection(names: StackNames, connection_id: str) -> None:
    names.client("dynamodb").delete_item(TableName=names.connections, Key=attrs({"ConnectionId": connection_id}))


def connection_ids(names: StackNames, session_id: str) -> list[str]:
    """The connections waiting for this session's start."""
    items = names.query(
        TableName=names.connections,
        IndexName=BY_SESSION_INDEX,
        KeyConditionExpression="SessionId = :s",
        ExpressionAttributeValues=attrs({":s": session_id}),
        ProjectionExpression="ConnectionId",
    )
    return [item["ConnectionId"]["S"] for item in items]


def start_message(session_id: str, synchronize_time: str) -> bytes:
    return json.dumps({"action": "start", "SessionId": session_id, "SynchronizeTime": synchronize_time}).encode()


def push_start(names: StackNames, session_id: str, synchronize_time: str) -> dict[str, int]:
    """Send the start to every connection of the session; answers the counts (sent, gone)."""
    message = start_message(session_id, synchronize_time)
    api = names.client("apigatewaymanagementapi", names.websocket_endpoint)

    def send(connection_id: str) -> bool:
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=message)
            return True
        except api.exceptions.GoneException:
            forget_connection(names, connection_id)
            return False

    with ThreadPoolExecutor(SENDERS) as pool:
        sent = list(pool.map(send, connection_ids(names, session_id)))
    return {"sent": sum(sent), "gone": len(sent) - sum(sent)}


def ask_to_push(names: StackNames, session: Session) -> None:
    """The manager's side: the start function pushes what the Sessions item holds (asynchronously)."""
    document = session.document()
    names.client("lambda").invoke(
        FunctionName=names.start_function,
        InvocationType="Event",
        Payload=json.dumps({"SessionId": session.session_id, "SynchronizeTime": document["SynchronizeTime"]}),
    )


def start_and_announce(names: StackNames, countdown_seconds: float, now: float) -> Session:
    """The manager's start: `SynchronizeTime` written (`session_store.start`), then the start function asked
    to push it."""
    started = session_store.start(names, countdown_seconds, now)
    ask_to_push(names, started)
    return started
