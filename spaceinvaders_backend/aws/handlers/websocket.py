"""The StartFunction: the WebSocket API's routes and the manager's direct invocation.

- `$connect` (after the authorizer) records the connection; `$disconnect` forgets it.
- `start` `{"action": "start", "CountdownSeconds"?}`: a Manager starts the current synchronized session
  (SynchronizeTime in the Sessions item and SSM), then every connection gets the start. Others get a 403.
- Invoked directly (`InvocationType=Event`) with `{"SessionId", "SynchronizeTime"}` by a manager that wrote
  the start itself (docs/aws.md): the stored SynchronizeTime is pushed, if the session is that one.
"""

from __future__ import annotations

import json
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ...core import models
from ...core.errors import ApiError
from .. import push, session_store
from ..caller import MANAGER_GROUPS, Caller, parse_groups
from ..config import METRICS_NAMESPACE, SERVICE, StackNames, client
from ..items import OPEN, attrs

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE)
# API Gateway closes a WebSocket after 2 hours; the item expires with it (DynamoDB TTL).
CONNECTION_LIFETIME_SECONDS = 2 * 3600


def _answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "body": json.dumps(body)}


def _start(names: StackNames, context: dict, body: str | None) -> dict:
    authorizer = context.get("authorizer") or {}
    caller = Caller(authorizer.get("username", ""), parse_groups(authorizer.get("groups")))
    caller.require(MANAGER_GROUPS, "Manager")
    request = models.decode((body or "{}").encode(), models.StartSession)
    session = session_store.start(names, request.CountdownSeconds, time.time())
    document = session.document()
    counts = push.push_start(names, session.session_id, document["SynchronizeTime"])
    metrics.add_metric(name="StartsPushed", unit=MetricUnit.Count, value=counts["sent"])
    logger.info("session started", extra={"SessionId": session.session_id, "by": caller.username, **counts})
    return _answer(200, {"action": "started", "Session": document, **counts})


def _route(names: StackNames, event: dict) -> dict:
    context = event["requestContext"]
    route, connection_id = context["routeKey"], context["connectionId"]
    ddb = client("dynamodb")
    if route == "$connect":
        username = (context.get("authorizer") or {}).get("username", "")
        now = int(time.time())
        ddb.put_item(
            TableName=names.connections,
            Item=attrs(
                {
                    "ConnectionId": connection_id,
                    "Username": username,
                    "ConnectedAt": now,
                    "ExpiresAt": now + CONNECTION_LIFETIME_SECONDS,
                }
            ),
        )
        return {"statusCode": 200}
    if route == "$disconnect":
        ddb.delete_item(TableName=names.connections, Key=attrs({"ConnectionId": connection_id}))
        return {"statusCode": 200}
    try:
        if route == "start":
            return _start(names, context, event.get("body"))
        raise ApiError(400, "UnknownAction", 'The only action is {"action": "start"} (Managers).')
    except ApiError as err:
        return _answer(err.status, err.body())


def _push_stored(names: StackNames, event: dict) -> dict:
    """The manager's direct invocation: push what the Sessions item holds, never what the event claims."""
    stored = session_store.read(names, str(event.get("SessionId", "")))
    if stored is None or stored.status != OPEN or stored.session.synchronize_time is None:
        logger.warning("start not pushed: no such open, started session", extra={"event": event})
        return {"sent": 0, "gone": 0}
    synchronize_time = stored.session.document()["SynchronizeTime"]
    if event.get("SynchronizeTime") not in (None, synchronize_time):
        logger.warning("start pushed with the stored SynchronizeTime", extra={"event": event})
    return push.push_start(names, stored.session.session_id, synchronize_time)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    names = StackNames.from_environ()
    if "requestContext" in event:
        return _route(names, event)
    return _push_stored(names, event)
