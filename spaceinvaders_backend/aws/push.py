"""The synchronized start over the WebSocket API: who is connected to which session, and the push.

A connection is recorded at `$connect` with the user the authorizer verified and the session of its
`?sessionId=` (the Connections table; the `BySession` index finds one session's connections without a Scan). A
user keeps one connection per session: a new one replaces the user's older ones for that session (their items
deleted, their sockets closed, so their clients fall back to polling `/session` instead of waiting on a socket
that will hear nothing), and the push goes to the newest per user even if two connects raced. So one player
connecting again and again costs the start one message. The start function pushes `{"action": "start",
"SessionId", "SynchronizeTime"}` to the connections of that session only; connections that are gone are
forgotten. The manager's console, which writes the start itself, asks the start function to push
(`start_and_announce`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from ..core.sessions import Session
from . import session_store
from .config import StackNames
from .items import attrs, plain

SENDERS = 16
BY_SESSION_INDEX = "BySession"
# API Gateway closes a WebSocket after 2 hours; the item expires with it (DynamoDB TTL).
CONNECTION_LIFETIME_SECONDS = 2 * 3600


def record_connection(
    names: StackNames, connection_id: str, username: str, session_id: str | None, now: float
) -> list[str]:
    """Record the connection; for a session, forget and close the user's other connections to it (all but
    the newest, which is this one unless a newer connect raced it). Answers the connections replaced."""
    item = {
        "ConnectionId": connection_id,
        "Username": username,
        "ConnectedAt": round(now, 3),
        "ExpiresAt": int(now) + CONNECTION_LIFETIME_SECONDS,
    }
    if session_id:  # without one, the connection hears no start (the index skips it) but may ask
        item["SessionId"] = session_id
    names.client("dynamodb").put_item(TableName=names.connections, Item=attrs(item))
    if not session_id:
        return []
    _, older = _newest_and_older(_connections(names, session_id, username))
    for stale in older:
        forget_connection(names, stale)
        close_connection(names, stale)
    return older


def forget_connection(names: StackNames, connection_id: str) -> None:
    names.client("dynamodb").delete_item(TableName=names.connections, Key=attrs({"ConnectionId": connection_id}))


def close_connection(names: StackNames, connection_id: str) -> None:
    """Close a socket (@connections DELETE); one already gone, or failing to close, is left to its timeouts."""
    api = names.client("apigatewaymanagementapi", names.websocket_endpoint)
    try:
        api.delete_connection(ConnectionId=connection_id)
    except ClientError:  # GoneException (410) among them
        pass


def _connections(names: StackNames, session_id: str, username: str | None = None) -> list[dict]:
    """The session's connections (`ConnectionId`, `Username`, `ConnectedAt`), of one user when named."""
    query = {
        "TableName": names.connections,
        "IndexName": BY_SESSION_INDEX,
        "KeyConditionExpression": "SessionId = :s",
        "ExpressionAttributeValues": {":s": session_id},
        "ProjectionExpression": "ConnectionId, Username, ConnectedAt",
    }
    if username is not None:
        query["FilterExpression"] = "Username = :u"
        query["ExpressionAttributeValues"][":u"] = username
    query["ExpressionAttributeValues"] = attrs(query["ExpressionAttributeValues"])
    return [plain(item) for item in names.query(**query)]


def _newest_and_older(connections: list[dict]) -> tuple[str | None, list[str]]:
    """Of one user's connections to a session: the newest (by `ConnectedAt`, then id) and the others."""
    ordered = sorted(connections, key=lambda c: (float(c.get("ConnectedAt", 0)), c["ConnectionId"]))
    ids = [c["ConnectionId"] for c in ordered]
    return (ids[-1] if ids else None), ids[:-1]


def connection_ids(names: StackNames, session_id: str) -> list[str]:
    """The connections waiting for this session's start: each user's newest."""
    by_user: dict[str, list[dict]] = {}
    for connection in _connections(names, session_id):
        by_user.setdefault(connection.get("Username", ""), []).append(connection)
    return [newest for newest, _ in map(_newest_and_older, by_user.values()) if newest is not None]


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
