"""API Gateway's WebSocket API as `template.yaml` declares it, served for real on 127.0.0.1.

A WebSocket server (the `websockets` library) plays the stage `wss://<api>.execute-api.<region>.amazonaws.com/
<stage>` and an HTTP server plays its `@connections` management API, and both call the template's Lambda
handlers in-process (against moto), the way API Gateway does. Each rule cites the page it follows; where AWS
refuses something, this refuses it too (`tests/aws/test_aws_websocket.py` checks each refusal):

- The upgrade goes to `/<stage>` only. The `$connect` route's REQUEST authorizer runs first, but only if
  every identity source is present and not empty; otherwise 401 without calling the function
  (IdentitySource, https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html).
  Its event is the documented REQUEST shape (`type`, `methodArn` ending in `/$connect`, `headers`,
  `multiValueHeaders`, `queryStringParameters`, `requestContext`...:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html).
  An error `Unauthorized` is a 401, a policy that does not allow the `$connect` ARN is a 403, any other
  failure a 500 (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
  https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer). Its `context` (and
  `principalId`) reach every route of the connection as `requestContext.authorizer`.
- The `$connect` integration answering a non-2xx status refuses the upgrade with that status
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html).
- A message goes to the route its `$request.body.action` names, else to `$default` (non-JSON too)
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-overview.html,
  .../websocket-api-develop-routes.html); a route with a route response sends the integration's `body`
  back on the connection, a route without one sends nothing
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html).
- A frame over 32 KB, or a message over 128 KB, closes the connection with code 1009
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).
- `POST /<stage>/@connections/{id}` sends its body to the connection; the request must be signed (SigV4),
  an unknown or closed id is `410 GoneException`, a body over 128 KB `413 PayloadTooLargeException`;
  `GET` tells the connection, `DELETE` closes it
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html,
  https://docs.aws.amazon.com/apigatewaymanagementapi/latest/APIReference/API_PostToConnection.html).

Not emulated: the 2-hour and 10-minute-idle limits, throttling, binary media types, API keys.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import http.server
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from aws_gateway import LambdaContext, load_template
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

FRAME_LIMIT = 32 * 1024
MESSAGE_LIMIT = 128 * 1024
ACCOUNT = "123456789012"

Handler = Callable[[dict, Any], Any]


@dataclass(frozen=True)
class Route:
    key: str
    function: str  # the template's logical id of the integration's function
    two_way: bool  # has a route response: the integration's body goes back to the client


@dataclass
class Connection:
    id: str
    socket: ServerConnection
    authorizer: dict[str, Any]
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)


def _function_of(integration_uri: Any) -> str:
    """The function of `arn:...:lambda:path/2015-03-31/functions/${Name.Arn}/invocations`."""
    text = integration_uri["Fn::Sub"] if isinstance(integration_uri, dict) else integration_uri
    return re.search(r"/functions/\$\{(\w+)\.Arn\}/invocations", text).group(1)


def read_routes(template: dict) -> tuple[str, dict[str, Route], tuple[str, list[str]] | None]:
    """(route selection expression, routes by key, (authorizer function, identity sources) of $connect)."""
    resources = template["Resources"]
    api = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    integrations = {
        name: _function_of(r["Properties"]["IntegrationUri"])
        for name, r in resources.items()
        if r["Type"] == "AWS::ApiGatewayV2::Integration"
    }
    answered = {
        r["Properties"]["RouteId"]["Ref"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::RouteResponse"
    }
    routes, authorizer = {}, None
    for name, resource in resources.items():
        if resource["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        props = resource["Properties"]
        target = props["Target"]["Fn::Sub"] if isinstance(props["Target"], dict) else props["Target"]
        integration = target.split("${", 1)[1].rstrip("}")
        routes[props["RouteKey"]] = Route(props["RouteKey"], integrations[integration], name in answered)
        if props.get("AuthorizationType") == "CUSTOM":
            auth = resources[props["AuthorizerId"]["Ref"]]["Properties"]
            authorizer = (_function_of(auth["AuthorizerUri"]), list(auth.get("IdentitySource", [])))
    return api["Properties"]["RouteSelectionExpression"], routes, authorizer


def _now_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class WebSocketApi:
    """`with WebSocketApi(functions, stage="test") as api:` `api.url` is the stage's `ws://` URL and
    `api.management_endpoint` the `@connections` endpoint a function's `WEBSOCKET_ENDPOINT` names."""

    def __init__(self, functions: dict[str, Handler], stage: str, region: str = "us-east-1",
                 template: dict | None = None) -> None:
        self.functions = functions
        self.stage = stage
        self.region = region
        self.api_id = "emulated"
        self.selection, self.routes, self.authorizer = read_routes(template or load_template())
        assert self.selection == "$request.body.action", self.selection  # the one expression emulated
        self.connections: dict[str, Connection] = {}
        self.invocations: list[tuple[str, dict]] = []  # (function, event), for tests to look at
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._http: http.server.ThreadingHTTPServer | None = None
        self.port = 0

    # --- life -------------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._management_handler())
        threading.Thread(target=self._http.serve_forever, name="ws-management", daemon=True).start()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name="ws-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the WebSocket API did not start")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{self.stage}"

    @property
    def management_endpoint(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_port}/{self.stage}"

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(
            self._connection,
            "127.0.0.1",
            0,
            process_request=self._upgrade,
            max_size=(MESSAGE_LIMIT, FRAME_LIMIT),
        ) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    # --- Lambda ---------------------------------------------------------------------------------------
    async def _invoke(self, function: str, event: dict) -> Any:
        self.invocations.append((function, event))
        return await asyncio.to_thread(self.functions[function], event, LambdaContext())

    def _request_context(self, route: str, event_type: str, connection_id: str, **more: Any) -> dict:
        now = time.time()
        return {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": _now_text(now),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": int(now * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
            "requestId": uuid.uuid4().hex,
            "domainName": f"{self.api_id}.execute-api.{self.region}.amazonaws.com",
            "connectionId": connection_id,
            "apiId": self.api_id,
            **more,
        }

    # --- $connect -------------------------------------------------------------------------------------
    async def _upgrade(self, socket: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path)
        if path.path.rstrip("/") != f"/{self.stage}":
            return _reject(socket, 403, {"message": "Forbidden"})
        query = parse_qsl(path.query, keep_blank_values=True)
        headers = _headers(request.headers)
        connection_id = base64.b64encode(os.urandom(12)).decode()[:15] + "="
        shape = {
            "headers": {k: v[-1] for k, v in headers.items()},
            "multiValueHeaders": headers,
            "queryStringParameters": {k: v for k, v in query} or None,
            "multiValueQueryStringParameters": _multi(query) or None,
            "stageVariables": None,
        }
        context: dict[str, Any] = {}
        if self.authorizer is not None:
            function, sources = self.authorizer
            if not all(_identity(source, request.headers, query) for source in sources):
                return _reject(socket, 401, {"message": "Unauthorized"})
            event = {
                "type": "REQUEST",
                "methodArn": f"arn:aws:execute-api:{self.region}:{ACCOUNT}:{self.api_id}/{self.stage}/$connect",
                **shape,
                "requestContext": self._request_context("$connect", "CONNECT", connection_id),
            }
            try:
                answer = await self._invoke(function, event)
            except Exception as error:  # noqa: BLE001 - the authorizer's failure is the client's answer
                if str(error) == "Unauthorized":
                    return _reject(socket, 401, {"message": "Unauthorized"})
                return _reject(socket, 500, {"message": "Internal server error"})
            if not _allows(answer, event["methodArn"]):
                return _reject(socket, 403, {"message": "Forbidden"})
            context = {"principalId": answer.get("principalId"), **(answer.get("context") or {})}
        event = {
            **shape,
            "requestContext": self._request_context(
                "$connect", "CONNECT", connection_id, **({"authorizer": context} if context else {})
            ),
            "isBase64Encoded": False,
        }
        route = self.routes["$connect"]
        try:
            answer = await self._invoke(route.function, event)
        except Exception:  # noqa: BLE001
            return _reject(socket, 500, {"message": "Internal server error"})
        status = int((answer or {}).get("statusCode", 200))
        if not 200 <= status < 300:
            return _reject(socket, status, {"message": (answer or {}).get("body") or "Refused"})
        socket.api_connection = Connection(connection_id, socket, context)  # type: ignore[attr-defined]
        self.connections[connection_id] = socket.api_connection  # type: ignore[attr-defined]
        return None

    # --- messages and $disconnect ---------------------------------------------------------------------
    async def _connection(self, socket: ServerConnection) -> None:
        connection: Connection = socket.api_connection  # type: ignore[attr-defined]
        try:
            async for message in socket:
                connection.last_active_at = time.time()
                await self._message(connection, message)
        except ConnectionClosed:
            pass
        finally:
            self.connections.pop(connection.id, None)
            route = self.routes.get("$disconnect")
            if route is not None:
                event = {
                    "headers": {},
                    "requestContext": self._request_context(
                        "$disconnect", "DISCONNECT", connection.id, authorizer=connection.authorizer,
                        disconnectStatusCode=socket.close_code, disconnectReason=socket.close_reason or "",
                    ),
                    "isBase64Encoded": False,
                }
                try:
                    await self._invoke(route.function, event)
                except Exception:  # noqa: BLE001, S110 - API Gateway does not retry $disconnect either
                    pass

    async def _message(self, connection: Connection, message: str | bytes) -> None:
        binary = isinstance(message, bytes)
        body = base64.b64encode(message).decode() if binary else message
        key = None
        if not binary:
            try:
                parsed = json.loads(message)
            except ValueError:
                parsed = None
            action = parsed.get("action") if isinstance(parsed, dict) else None
            key = action if isinstance(action, str) and action in self.routes else None
        if key in (None, "$connect", "$disconnect"):
            key = "$default"
        route = self.routes.get(key)
        request_context = self._request_context(
            key, "MESSAGE", connection.id, messageId=uuid.uuid4().hex, authorizer=connection.authorizer
        )
        if route is None:
            await connection.socket.send(json.dumps({"message": "Forbidden", "connectionId": connection.id,
                                                     "requestId": request_context["requestId"]}))
            return
        event = {"requestContext": request_context, "body": body, "isBase64Encoded": binary}
        try:
            answer = await self._invoke(route.function, event)
        except Exception:  # noqa: BLE001
            await connection.socket.send(json.dumps({"message": "Internal server error",
                                                     "connectionId": connection.id,
                                                     "requestId": request_context["requestId"]}))
            return
        if route.two_way and isinstance(answer, dict) and answer.get("body") is not None:
            await connection.socket.send(answer["body"])

    # --- @connections ---------------------------------------------------------------------------------
    def _management_handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        api = self

        class ManagementApi(http.server.BaseHTTPRequestHandler):
            def _connection(self) -> Connection | None:
                prefix = f"/{api.stage}/@connections/"
                path = unquote(urlsplit(self.path).path)
                if not path.startswith(prefix):
                    self._answer(404, "NotFoundException", "No method found matching route")
                    return None
                if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
                    self._answer(403, "ForbiddenException", "Missing Authentication Token")
                    return None
                found = api.connections.get(path[len(prefix):])
                if found is None:
                    self._answer(410, "GoneException", None)
                return found

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                connection = self._connection()
                if connection is None:
                    return
                if len(data) > MESSAGE_LIMIT:
                    self._answer(413, "PayloadTooLargeException", "Message too long")
                    return
                text = data.decode("utf-8", errors="replace")
                try:
                    asyncio.run_coroutine_threadsafe(connection.socket.send(text), api._loop).result(10)
                except ConnectionClosed:
                    self._answer(410, "GoneException", None)
                    return
                self._answer(200)

            def do_GET(self) -> None:
                connection = self._connection()
                if connection is not None:
                    self._answer(200, body={  # GetConnection's response body
                        "connectedAt": _iso(connection.connected_at),
                        "lastActiveAt": _iso(connection.last_active_at),
                        "identity": {"sourceIp": "127.0.0.1", "userAgent": ""},
                    })

            def do_DELETE(self) -> None:
                connection = self._connection()
                if connection is not None:
                    asyncio.run_coroutine_threadsafe(connection.socket.close(), api._loop).result(10)
                    self._answer(204)

            def _answer(self, status: int, error: str | None = None, message: str | None = None,
                        body: dict | None = None) -> None:
                payload = b""
                if error is not None:
                    payload = json.dumps({"message": message}).encode()
                elif body is not None:
                    payload = json.dumps(body).encode()
                self.send_response(status)
                if error is not None:
                    self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        return ManagementApi


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _headers(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers.raw_items():
        out.setdefault(name, []).append(value)
    return out


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def _identity(source: str, headers: Headers, query: list[tuple[str, str]]) -> bool:
    """Whether an identity source (`route.request.header.X`, `route.request.querystring.X`) is present and
    not empty."""
    kind, _, name = source.removeprefix("route.request.").partition(".")
    if kind == "header":
        return bool(headers.get(name, "").strip())
    if kind == "querystring":
        return any(k == name and v for k, v in query)
    raise AssertionError(f"identity source not emulated: {source}")


def _allows(answer: Any, method_arn: str) -> bool:
    """An IAM policy that allows `execute-api:Invoke` on the `$connect` ARN and denies it nowhere."""
    if not isinstance(answer, dict):
        return False
    statements = (answer.get("policyDocument") or {}).get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]

    def matches(statement: dict) -> bool:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        return any(a in ("execute-api:Invoke", "execute-api:*", "*") for a in actions) and any(
            _arn_match(r, method_arn) for r in resources
        )

    relevant = [s for s in statements if matches(s)]
    return any(s.get("Effect") == "Allow" for s in relevant) and not any(
        s.get("Effect") == "Deny" for s in relevant
    )


def _arn_match(pattern: str, arn: str) -> bool:
    return fnmatch.fnmatchcase(arn, pattern)


def _reject(socket: ServerConnection, status: int, body: dict) -> Response:
    response = socket.respond(status, json.dumps(body))
    response.headers["Content-Type"] = "application/json"
    return response
