"""The synchronized start pushed to every WebSocket connection; connections that are gone are forgotten."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from .config import StackNames, client
from .items import attrs

SENDERS = 16


def connection_ids(names: StackNames) -> list[str]:
    pages = (
        client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=names.connections, ProjectionExpression="ConnectionId")
    )
    return [item["ConnectionId"]["S"] for page in pages for item in page["Items"]]


def push_start(names: StackNames, session_id: str, synchronize_time: str) -> dict[str, int]:
    """Send `{"action": "start", "SessionId", "SynchronizeTime"}` to every connection; answers the counts."""
    message = json.dumps(
        {"action": "start", "SessionId": session_id, "SynchronizeTime": synchronize_time}
    ).encode()
    api = client("apigatewaymanagementapi", endpoint_url=names.websocket_endpoint)

    def send(connection_id: str) -> bool:
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=message)
            return True
        except api.exceptions.GoneException:
            client("dynamodb").delete_item(
                TableName=names.connections, Key=attrs({"ConnectionId": connection_id})
            )
            return False

    with ThreadPoolExecutor(SENDERS) as pool:
        sent = list(pool.map(send, connection_ids(names)))
    return {"sent": sum(sent), "gone": len(sent) - sum(sent)}
