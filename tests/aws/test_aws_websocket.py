"""The WebSocket API of the template, emulated on 127.0.0.1 (tests/aws_websocket.py): what API Gateway
refuses is refused, and the start reaches exactly the connections of the started session."""

from __future__ import annotations

import asyncio
import json

import boto3
import botocore.exceptions
import httpx
import pytest
from aws_websocket import WebSocketApi
from aws_world import FUNCTIONS, unique
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from spaceinvaders_backend.aws.handlers import authorizer

AUTHORIZER = "WebSocketAuthorizerFunction"


@pytest.fixture(scope="module")
def api(world) -> WebSocketApi:
    return world.websocket()


def refused_status(error: pytest.ExceptionInfo) -> int:
    return error.value.response.status_code


def connection_of(api: WebSocketApi, username: str) -> str:
    (connection_id,) = [cid for cid, c in api.connections.items() if c.authorizer["username"] == username]
    return connection_id


def authorizer_calls(api: WebSocketApi) -> int:
    return sum(function == AUTHORIZER for function, _ in api.invocations)


async def test_no_token_is_a_401_before_the_authorizer_runs(api, world):
    before = authorizer_calls(api)
    for headers in ({}, {"Authorization": ""}, {"Authorization": "   "}):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{api.url}?sessionId=S1", additional_headers=headers):
                pass
        assert refused_status(refused) == 401
    assert authorizer_calls(api) == before  # the identity source was missing: the function never ran
    # A token in the query string is no identity here: the authorizer reads the Authorization header only.
    _, token = world.user()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{api.url}?sessionId=S1&Authorization={token}"):
            pass
    assert refused_status(refused) == 401


async def test_a_bad_token_or_a_wrong_stage_is_refused(api, world):
    _, token = world.user()
    before = authorizer_calls(api)
    for bad in ("garbage", token[:-4] + "AAAA"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(api.url, additional_headers={"Authorization": bad}):
                pass
        assert refused_status(refused) == 401
    assert authorizer_calls(api) == before + 2
    with pytest.raises(InvalidStatus) as refused:
        async with connect(api.url.rsplit("/", 1)[0] + "/other", additional_headers={"Authorization": token}):
            pass
    assert refused_status(refused) == 403


async def test_the_authorizers_deny_is_a_403_and_its_failure_a_500(world):
    def deny(event, context):
        answer = authorizer.handler(event, context)
        answer["policyDocument"]["Statement"][0]["Effect"] = "Deny"
        return answer

    def broken(event, context):
        raise RuntimeError("the pool's keys are unavailable")

    _, token = world.user()
    for function, status in ((deny, 403), (broken, 500)):
        with WebSocketApi({**FUNCTIONS, AUTHORIZER: function}, stage=world.env) as api:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(api.url, additional_headers={"Authorization": token}):
                    pass
            assert refused_status(refused) == status


async def test_a_connection_is_recorded_with_the_tokens_user_and_its_session(api, world):
    name, token = world.user()
    async with connect(f"{api.url}?sessionId=ROOM1", additional_headers={"Authorization": token}):
        connection_id = connection_of(api, name)
        item = world.item("Connections", ConnectionId=connection_id)
        assert (item["Username"], item["SessionId"]) == (name, "ROOM1")
        assert item["ExpiresAt"] - int(item["ConnectedAt"]) == 2 * 3600  # ConnectedAt to the millisecond
    for _ in range(100):  # $disconnect runs once the socket is closed
        if world.item("Connections", ConnectionId=connection_id) is None:
            break
        await asyncio.sleep(0.02)
    assert world.item("Connections", ConnectionId=connection_id) is None
    with pytest.raises(InvalidStatus) as refused:  # the $connect integration's 400 refuses the upgrade
        async with connect(f"{api.url}?sessionId=not%20an%20id", additional_headers={"Authorization": token}):
            pass
    assert refused_status(refused) == 400


async def test_routes_answer_on_the_connection(api, world, manager):
    sid = manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)["SessionId"]
    _, token = world.user()
    async with connect(f"{api.url}?sessionId={sid}", additional_headers={"Authorization": token}) as ws:
        await ws.send(json.dumps({"action": "session"}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answer == {"action": "session", "Session": world.api.get("/v1/session", token).json()}
        for unknown in ('{"action": "dance"}', "not json", '{"action": "$connect"}'):
            await ws.send(unknown)
            refusal = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert refusal["errorCode"] == "UnknownAction", unknown  # the $default route's answer
        await ws.send(json.dumps({"action": "start"}))  # a Gamer: refused, nothing started
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["errorCode"] == "Forbidden"
    assert "SynchronizeTime" not in world.item("Sessions", SessionId=sid)


async def test_frames_over_32_kb_and_messages_over_128_kb_close_the_connection(api, world):
    _, token = world.user()
    headers = {"Authorization": token}
    async with connect(api.url, additional_headers=headers, max_size=None) as ws:
        await ws.send(['{"action": "session", "pad": "', "x" * 30_000, "x" * 30_000, '"}'])  # fragments
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["action"] == "session"
        await ws.send('{"pad": "' + "x" * 40_000 + '"}')  # one frame of 40 KB
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1009
    async with connect(api.url, additional_headers=headers) as ws:
        await ws.send(["x" * 30_000 for _ in range(5)])  # 150 KB in frames of 30 KB
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1009


async def test_the_management_api_refuses_unsigned_unknown_and_oversized_posts(api, world):
    gateway = boto3.client("apigatewaymanagementapi", endpoint_url=api.management_endpoint, region_name="us-east-1")
    with pytest.raises(gateway.exceptions.GoneException):
        gateway.post_to_connection(ConnectionId="nobody=", Data=b"{}")
    unsigned = await asyncio.to_thread(httpx.post, f"{api.management_endpoint}/@connections/nobody%3D", content=b"{}")
    assert unsigned.status_code == 403
    name, token = world.user()
    async with connect(api.url, additional_headers={"Authorization": token}) as ws:
        connection_id = connection_of(api, name)
        with pytest.raises(botocore.exceptions.ClientError) as too_big:
            await asyncio.to_thread(gateway.post_to_connection, ConnectionId=connection_id, Data=b"x" * 140_000)
        assert too_big.value.response["Error"]["Code"] == "PayloadTooLargeException"
        await asyncio.to_thread(gateway.post_to_connection, ConnectionId=connection_id, Data=b'{"hello": 1}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"hello": 1}
        info = await asyncio.to_thread(gateway.get_connection, ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"


async def test_the_start_reaches_the_sessions_connections_only(api, world, manager):
    sid = manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)["SessionId"]
    (_, waiting), (_, other) = world.user(), world.user()
    async with (
        connect(f"{api.url}?sessionId={sid}", additional_headers={"Authorization": waiting}) as ws,
        connect(f"{api.url}?sessionId=OLD{sid}", additional_headers={"Authorization": other}) as elsewhere,
    ):
        started = await asyncio.to_thread(manager.start, 3)  # the manager's start: item, SSM, the function
        pushed = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert pushed == {"action": "start", "SessionId": sid, "SynchronizeTime": started["SynchronizeTime"]}
        assert pushed["SynchronizeTime"] == world.api.get("/v1/session", waiting).json()["SynchronizeTime"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(elsewhere.recv(), 0.5)


def test_the_template_declares_what_the_emulator_serves(api):
    assert set(api.routes) == {"$connect", "$disconnect", "session", "start", "$default"}
    assert {k for k, r in api.routes.items() if r.two_way} == {"session", "start", "$default"}
    assert api.authorizer == (AUTHORIZER, ["route.request.header.Authorization"])


async def test_connecting_again_closes_the_users_older_socket_to_that_session(api, world):
    """The older socket is closed (@connections DELETE), so its client falls back to polling instead of waiting
    on a socket that will hear nothing; another session's socket of the same user stays."""
    _, token = world.user()
    headers = {"Authorization": token}
    async with (  # entered in this order: the second connection to ROOM2 comes last
        connect(f"{api.url}?sessionId=ROOM2", additional_headers=headers) as first,
        connect(f"{api.url}?sessionId=OTHER2", additional_headers=headers) as elsewhere,
        connect(f"{api.url}?sessionId=ROOM2", additional_headers=headers) as second,
    ):
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(first.recv(), 5)
        await second.send(json.dumps({"action": "session"}))
        assert json.loads(await asyncio.wait_for(second.recv(), 5))["action"] == "session"
        await elsewhere.send(json.dumps({"action": "session"}))
        assert json.loads(await asyncio.wait_for(elsewhere.recv(), 5))["action"] == "session"
