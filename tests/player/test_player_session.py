"""The player session against the real local server: the start pushed (no `/session` polls while the socket
is up), polling when the socket is refused or drops (and the socket tried again), the seat kept while
waiting, a game the server ends, and the final state."""
from __future__ import annotations

import asyncio
import itertools
import json
import time

import httpx
import pytest

from api_client import GameStatus, SpaceInvadersClient, SpaceInvadersError
from spaceinvaders_backend.local.process import ServerProcess, free_port
from spaceinvaders_player import Delivery, PlayerSession, TrialEvents

BOSS = ("boss", "boss-password")
_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Seats of silent players are freed after 2 s (60 s by default), so keeping the seat shows in seconds.
    process = ServerProcess(tmp_path_factory.mktemp("player") / "data", serve_args=["--idle-timeout", "2"])
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


async def signed_in(base_url: str, http: httpx.AsyncClient | None = None) -> SpaceInvadersClient:
    client = SpaceInvadersClient(base_url, token_store=None, http=http)
    name = f"ps{next(_names)}"
    await client.sign_up(name, "password1")
    await client.sign_in(name, "password1")
    return client


def config_pointing_the_socket_at(port: int | None) -> httpx.AsyncClient:
    """The real server, except that `/config` names a start socket on `port` (where nothing listens), or
    none at all (None: a backend without the push)."""
    real = httpx.AsyncHTTPTransport()

    class Rewrite(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await real.handle_async_request(request)
            if not request.url.path.endswith("/config"):
                return response
            await response.aread()
            config = json.loads(response.content)
            config["Parameters"] = [p for p in config["Parameters"]
                                    if port is not None or not p["Name"].endswith("/websocketurl")]
            for parameter in config["Parameters"]:
                if parameter["Name"].endswith("/websocketurl"):
                    parameter["Value"] = f"ws://127.0.0.1:{port}/v1/start"
            return httpx.Response(200, json=config)

    return httpx.AsyncClient(transport=Rewrite())


async def start_later(boss: SpaceInvadersClient, after: float, countdown: float = 1.0) -> float:
    await asyncio.sleep(after)
    return (await boss.start_session(countdown)).SynchronizeTime.timestamp()


async def test_the_start_is_pushed_and_nothing_polls_session_while_the_socket_is_up(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    players = [PlayerSession(await signed_in(server.base_url)) for _ in range(3)]
    sessions = [await player.join() for player in players]
    starting = asyncio.create_task(start_later(boss, 1.5))
    started = await asyncio.gather(*(p.wait_for_start(s) for p, s in zip(players, sessions, strict=True)))
    at = time.time()
    start = await starting
    assert all(s.SessionId == opened.SessionId and s.SynchronizeTime.timestamp() == start for s in started)
    assert abs(at - start) < 0.1
    for player in players:
        assert player.start_wait.stats.pushed and player.start_wait.stats.polls == 0
        await player.leave()
        await player.aclose()


async def test_when_the_socket_is_refused_the_wait_polls_and_tries_the_socket_again(server, boss):
    await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    client = await signed_in(server.base_url, http=config_pointing_the_socket_at(free_port()))
    player = PlayerSession(client, poll_interval=0.3)
    session = await player.join()
    starting = asyncio.create_task(start_later(boss, 2.5))
    started = await player.wait_for_start(session)
    at = time.time()
    assert started is not None and abs(at - await starting) < 0.1
    stats = player.start_wait.stats
    assert not stats.pushed and stats.polls >= 3 and stats.socket_failures >= 2  # refused, then again
    await player.leave()
    await player.aclose()


async def test_a_backend_without_the_push_is_polled_and_its_socket_never_tried_again(server, boss):
    await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    player = PlayerSession(await signed_in(server.base_url, http=config_pointing_the_socket_at(None)),
                           poll_interval=0.3)
    session = await player.join()
    starting = asyncio.create_task(start_later(boss, 2.0))
    started = await player.wait_for_start(session)
    assert started is not None and abs(time.time() - await starting) < 0.1
    assert player.start_wait.stats.socket_failures == 1 and player.start_wait.push_offered is False
    await player.leave()
    await player.aclose()


async def test_a_socket_that_drops_falls_back_to_polling_then_comes_back(tmp_path):
    process = ServerProcess(tmp_path / "data", serve_args=["--socket-idle-timeout", "1"])
    process.create_manager(*BOSS)
    with process:
        async with SpaceInvadersClient(process.base_url, token_store=None) as boss:
            await boss.sign_in(*BOSS)
            await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
            player = PlayerSession(await signed_in(process.base_url), poll_interval=0.3)
            session = await player.join()
            starting = asyncio.create_task(start_later(boss, 3.5))
            started = await player.wait_for_start(session)
            at = time.time()
            assert started is not None and abs(at - await starting) < 0.1
            stats = player.start_wait.stats
            assert stats.socket_failures >= 2 and stats.polls >= 1  # closed as idle each second, polled between
            await player.leave()
            await player.aclose()


async def test_the_seat_is_kept_while_waiting_for_the_start(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
    keeper = PlayerSession(await signed_in(server.base_url), keep_seat_every=0.5)
    silent = PlayerSession(await signed_in(server.base_url), keep_seat_every=60)
    waits = [asyncio.create_task(p.wait_for_start(await p.join())) for p in (keeper, silent)]
    await asyncio.sleep(4.0)  # the server frees seats silent for 2 s
    playing = (await boss.players(opened.SessionId)).PlayingGamers
    assert keeper.username in playing and silent.username not in playing
    await boss.start_session(0.5)
    await asyncio.gather(*waits)
    for player in (keeper, silent):
        await player.leave()
        await player.aclose()


async def test_a_game_the_server_ends_is_told_once_and_the_seat_forgotten(server, boss):
    opened = await boss.open_session("MULTIPLE_TRIALS")
    player = PlayerSession(await signed_in(server.base_url))
    session = await player.join()
    ended, refused = [], []
    status = GameStatus(Score=10, Shots=1, Level=1, Lives=3)
    trial = player.start_trial(session, lambda: status, TrialEvents(on_ended=ended.append, on_refused=refused.append))
    await asyncio.sleep(0.5)
    await boss.close_session()
    deadline = time.monotonic() + 10
    while not ended and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert [type(e).__name__ for e in ended] == ["SessionClosed"] and refused == []
    assert player.seated_in is None and player.trial is None and trial.ended_by is ended[0]
    assert opened.SessionId == session.SessionId
    await player.leave()
    await player.aclose()


async def test_the_final_state_is_delivered_and_the_seat_freed(server, boss):
    opened = await boss.open_session("SINGLE_TRIAL")
    player = PlayerSession(await signed_in(server.base_url))
    session = await player.join()
    state = {"Score": 0, "Shots": 0, "Level": 1, "Lives": 3}
    trial = player.start_trial(session, lambda: state)
    await asyncio.sleep(0.4)
    state.update(Score=70, Shots=4, Lives=0)
    assert await player.end_trial(trial, state) is Delivery.SENT
    assert player.seated_in is None
    board = await boss.full_scoreboard(opened.SessionId)
    assert [(e.Nickname, e.Score, e.Lives) for e in board] == [(player.username, 70, 0)]
    with pytest.raises(SpaceInvadersError):  # one game per player in a single-trial session
        await player.join()
    await player.aclose()


async def test_a_socket_that_only_pushes_the_bare_start_is_answered_by_polls(server, boss):
    """The original deployment's socket: it answers no question and pushes the bare text `start`."""
    from websockets.asyncio.server import serve

    sockets = []

    async def original(socket) -> None:
        sockets.append(socket)
        async for _ in socket:  # questions go unanswered
            pass

    async with serve(original, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        await boss.open_session("MULTIPLE_TRIALS", synchronized=True)
        player = PlayerSession(await signed_in(server.base_url, http=config_pointing_the_socket_at(port)))
        session = await player.join()
        waiting = asyncio.create_task(player.wait_for_start(session))
        await asyncio.sleep(4.0)  # the first question unanswered for 3 s: asked of /session instead
        polls = player.watcher.polls
        start = (await boss.start_session(1.5)).SynchronizeTime.timestamp()
        await sockets[0].send("start")
        started = await waiting
        at = time.time()
    assert started is not None and abs(at - start) < 0.1
    assert player.start_wait.stats.pushed and player.watcher.polls - polls <= 3  # a poll for the push, not a loop
    await player.leave()
    await player.aclose()
