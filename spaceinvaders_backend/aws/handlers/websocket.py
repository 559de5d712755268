"""The StartFunction: the WebSocket API's routes and the manager's direct invocation.

- `$connect` (after the authorizer verified the ID token) records the connection with the token's
  username and the `?sessionId=` it waits for, replacing the user's older connection to that session
  (`push.record_connection`); `$disconnect` forgets it.
- `session` `{"action": "session"}` answers on the connection (a route response)
  `{"action": "session", "Session": <the current session document, or null>}`, read from DynamoDB, so a
  client that connected after the start still learns it.
- `start` `{"action": "start", "CountdownSeconds"?}`: a Manager starts the current synchronized session
  (SynchronizeTime in the Sessions item and SSM), then that session's connections get the start. The
  groups are those of the token the connection was opened with, so they count only until that token
  expires (the authorizer passes its `exp`): a connection lives 2 hours, an ID token 60 minutes, and a
  Manager removed from the group must not keep starting sessions on an old socket.
- Invoked directly (`InvocationType=Event`) with `{"SessionId", "SynchronizeTime"}` by the manager's
  console, which wrote the start itself: the stored SynchronizeTime is pushed, if the session is that one.
"""

from __future__ import annotations

import json
import re
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ...core import models
from ...core.errors import ApiError
from .. import push, session_store
from ..caller import MANAGER_GROUPS, Caller, parse_groups
from ..config import METRICS_NAMESPACE, SERVICE, StackNames

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE)
# A SessionId: a SessionName's characters, its time suffix, and `-2`... when the id was taken.
SESSION_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ACTIONS = 'The actions are {"action": "session"} and, for Managers, {"action": "start"}.'


def _answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "body": json.dumps(body)}


def _caller(context: dict) -> Caller:
    authorizer = context.get("authorizer") or {}
    return Caller(authorizer.get("username", ""), parse_groups(authorizer.get("groups")))


def _require_unexpired_token(context: dict, now: float) -> None:
    """The claims the connection carries hold until the token's `exp`; none known counts as expired."""
    expires_at = (context.get("authorizer") or {}).get("expiresAt")
    try:
        valid = expires_at is not None and now < float(expires_at)  # API Gateway may pass it as a string
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ApiError(401, "TokenExpired", "The sign-in this connection was opened with has expired: "
                                            "connect again with a fresh ID token to start the session.")


def _connect(names: StackNames, event: dict) -> dict:
    context = event["requestContext"]
    session_id = (event.get("queryStringParameters") or {}).get("sessionId")
    if session_id is not None and not SESSION_ID.fullmatch(session_id):
        # A $connect integration's non-2xx answer refuses the upgrade with that status:
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html
        return _answer(400, ApiError(400, "ValidationError", "sessionId is not a session's id.").body())
    username = _caller(context).username
    replaced = push.record_connection(names, context["connectionId"], username, session_id, time.time())
    if replaced:
        logger.info("connection replaced", extra={"username": username, "SessionId": session_id,
                                                  "replaced": len(replaced)})
    return {"statusCode": 200}


def _session(names: StackNames) -> dict:
    stored = session_store.current(names)
    return _answer(200, {"action": "session", "Session": stored.session.document() if stored else None})


def _start(names: StackNames, context: dict, body: str | None) -> dict:
    caller = _caller(context)
    now = time.time()
    _require_unexpired_token(context, now)
    caller.require(MANAGER_GROUPS, "Manager")
    request = models.decode((body or "{}").encode(), models.StartSession)
    session = session_store.start(names, request.CountdownSeconds, now)
    document = session.document()
    counts = push.push_start(names, session.session_id, document["SynchronizeTime"])
    metrics.add_metric(name="StartsPushed", unit=MetricUnit.Count, value=counts["sent"])
    logger.info("session started", extra={"SessionId": session.session_id, "by": caller.username, **counts})
    return _answer(200, {"action": "started", "Session": document, **counts})


def _route(names: StackNames, event: dict) -> dict:
    context = event["requestContext"]
    route = context["routeKey"]
    if route == "$connect":
        return _connect(names, event)
    if route == "$disconnect":
        push.forget_connection(names, context["connectionId"])
        return {"statusCode": 200}
    try:
        if route == "session":
            return _session(names)
        if route == "start":
            return _start(names, context, event.get("body"))
        raise ApiError(400, "UnknownAction", ACTIONS)
    except ApiError as err:
        return _answer(err.status, err.body())


def _push_stored(names: StackNames, event: dict) -> dict:
    """The manager's direct invocation: push what the Sessions item holds, never what the event claims."""
    stored = session_store.read(names, str(event.get("SessionId", "")))
    if stored is None or not stored.is_open or stored.session.synchronize_time is None:
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
