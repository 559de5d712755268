"""The start push of the local server (`/v1/start`) and the client's `StartListener`, against the real server
process: the protocol of docs/client.md, the refusals on the upgrade, and the socket's bounds."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api_client import (
    ClosedPushed,
    PushUnavailable,
    SessionAnswer,
    SpaceInvadersClient,
    StartListener,
    StartPushed,
    TokenStore,
)
from spaceinvaders_backend.local.process import ServerProcess

BOSS = ("boss", "boss-password")
_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("push") / "data")
    process.create_manager(*BOSS)
    with process:
        yield process


@pytest.fixture
async def boss(server):
    async with SpaceInvadersClient(server.base_url, token_store=None) as client:
        await client.sign_in(*BOSS)
        current = await client.session()
        if current is not None and not current.is_closed:
            await client.close_session()
        yield client


async def player(base_url: str) -> SpaceInvadersClient:
    client = SpaceInvadersClient(base_url, token_store=None)
    name = f"push{next(_names)}"
    await client.sign_up(name, "password1")
    await client.sign_in(name, "password1")
    return client


def socket_url(server, session_id: str = "S") -> str:
    return f"ws://127.0.0.1:{server.port}/v1/start?sessionId={session_id}"


async def test_config_names_the_socket_from_the_requests_own_host(server, boss):
    assert (await boss.config()).websocket_url == f"ws://127.0.0.1:{server.port}/v1/start"
    by_name = SpaceInvadersClient(f"http://localhost:{server.port}/v1", token_store=None)
    assert (await by_name.config()).websocket_url == f"ws://localhost:{server.port}/v1/start"
    await by_name.aclose()


async def test_the_start_and_the_close_are_pushed_to_every_listener_of_the_session(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    players = [await player(server.base_url) for _ in range(3)]
    listeners = [StartListener(p, opened.SessionId) for p in players]
    for listener in listeners:
        await listener.open()
        await listener.ask()
        answer = await asyncio.wait_for(listener.receive(), 5)
        assert isinstance(answer, SessionAnswer) and answer.session.SessionId == opened.SessionId
        assert answer.session.SynchronizeTime is None and answer.session.ServerTime is not None
        assert answer.sent_at <= answer.received_at
    started = await boss.start_session(2.0)
    at = time.monotonic()
    pushed = await asyncio.gather(*(asyncio.wait_for(listener.receive(), 5) for listener in listeners))
    assert time.monotonic() - at < 0.5
    assert pushed == [StartPushed(opened.SessionId, started.SynchronizeTime)] * 3
    closed = await boss.close_session()
    pushed = await asyncio.gather(*(asyncio.wait_for(listener.receive(), 5) for listener in listeners))
    assert pushed == [ClosedPushed(opened.SessionId, closed.ClosingTime)] * 3
    for listener, client in zip(listeners, players, strict=True):
        await listener.aclose()
        await client.aclose()


async def test_a_start_made_before_the_socket_opened_is_in_the_session_answer(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    started = await boss.start_session(3.0)
    client = await player(server.base_url)
    async with StartListener(client, opened.SessionId) as listener:
        await listener.ask()
        answer = await asyncio.wait_for(listener.receive(), 5)
    assert answer.session.SynchronizeTime == started.SynchronizeTime
    await client.aclose()


async def test_no_token_or_a_bad_one_is_refused_on_the_upgrade(server):
    for headers in ({}, {"Authorization": "not-a-token"}):
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(socket_url(server), additional_headers=headers, proxy=None):
                pass
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["errorCode"] == "Unauthorized"
    client = await player(server.base_url)
    token = await (await client.auth()).token()
    with pytest.raises(InvalidStatus) as no_session:
        async with websockets.connect(socket_url(server, "").rstrip("="), proxy=None,
                                      additional_headers={"Authorization": token}):
            pass
    assert no_session.value.response.status_code == 400
    await client.aclose()


async def test_a_players_message_cannot_start_anything(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    client = await player(server.base_url)
    token = await (await client.auth()).token()
    async with websockets.connect(socket_url(server, opened.SessionId), proxy=None,
                                  additional_headers={"Authorization": token}) as socket:
        for message in ({"action": "start"}, {"action": "start", "CountdownSeconds": 0}, "start", "{"):
            await socket.send(message if isinstance(message, str) else json.dumps(message))
            answer = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert answer["action"] == "error" and answer["errorCode"] == "UnknownAction"
    assert (await boss.session()).SynchronizeTime is None
    await client.aclose()


async def test_the_sockets_bounds(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    client = await player(server.base_url)
    token = await (await client.auth()).token()
    connect = lambda: websockets.connect(socket_url(server, opened.SessionId), proxy=None,
                                         additional_headers={"Authorization": token}, open_timeout=5)
    # Four sockets per player; a fifth is refused with a 429.
    sockets = [await connect() for _ in range(4)]
    with pytest.raises(InvalidStatus) as crowded:
        await connect()
    assert crowded.value.response.status_code == 429
    # A message past 1 KiB closes the socket (1009).
    await sockets[0].send(json.dumps({"action": "session", "pad": "x" * 2000}))
    with pytest.raises(ConnectionClosed) as big:
        await asyncio.wait_for(sockets[0].recv(), 5)
    assert big.value.rcvd.code == 1009
    for socket in sockets:
        await socket.close()
    await asyncio.sleep(0.2)
    async with connect():  # the closed ones no longer count
        pass
    await client.aclose()


async def test_a_silent_socket_is_closed_after_the_idle_timeout(tmp_path):
    with ServerProcess(tmp_path / "data", serve_args=["--socket-idle-timeout", "1"]) as quick:
        client = await player(quick.base_url)
        async with StartListener(client, "S") as listener:
            await listener.ask()
            assert isinstance(await asyncio.wait_for(listener.receive(), 5), SessionAnswer)
            at = time.monotonic()
            with pytest.raises(PushUnavailable, match="1001"):  # silent for 1 s (600 s by default)
                await asyncio.wait_for(listener.receive(), 10)
            assert 0.9 < time.monotonic() - at < 5
        await client.aclose()


async def test_the_listener_says_when_the_push_is_unavailable(server, tmp_path, monkeypatch):
    client = await player(server.base_url)
    dead = ServerProcess(tmp_path / "dead")  # a port nobody listens on
    listener = StartListener(client, "S")
    monkeypatch.setattr(listener, "url", lambda: _as_awaitable(f"ws://127.0.0.1:{dead.port}/v1/start?sessionId=S"))
    with pytest.raises(PushUnavailable) as refused:
        await listener.open()
    assert refused.value.status is None and not refused.value.sent
    offline = SpaceInvadersClient(server.base_url, token_store=TokenStore(tmp_path))
    with pytest.raises(PushUnavailable):  # not signed in
        await StartListener(offline, "S").open()
    await offline.aclose()
    await client.aclose()


async def _as_awaitable(value):
    return value


async def test_config_names_a_wss_socket_when_the_request_came_over_tls(tmp_path):
    import httpx

    from spaceinvaders_backend.local.app import create_app
    from spaceinvaders_backend.local.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "data"))  # /config needs no lifespan: the ASGI app as is
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://room.example:8443") as http:
        parameters = {p["Name"]: p["Value"] for p in (await http.get("/v1/config")).json()["Parameters"]}
    assert parameters["/local/websocketurl"] == "wss://room.example:8443/v1/start"
