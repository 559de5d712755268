"""The status publisher, stepped by hand with a fake clock over a fake transport."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from client_support import signed_in_client

from api_client import APIConnectionError, GameStatus, SessionClosed, StatusPublisher


class FakeServer:
    """/updatestatus that can be held, taken down, rate limiting or refusing."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.gate: asyncio.Event | None = None
        self.down = False
        self.answer: httpx.Response | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused")
        if self.gate is not None:
            await self.gate.wait()
        if self.answer is not None:
            return self.answer
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"SequenceNumber": str(len(self.bodies)), "ShardId": "s"})

    @property
    def scores(self) -> list[int]:
        return [body["Score"] for body in self.bodies]


class Game:
    def __init__(self) -> None:
        self.status = GameStatus(Score=0, Shots=0, Level=1, Lives=3)
        self.broken = False

    def __call__(self) -> GameStatus:
        if self.broken:
            raise RuntimeError("bug in the game")
        return self.status

    def score(self, value: int) -> None:
        self.status = self.status.model_copy(update={"Score": value})


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def now() -> list[float]:
    return [1000.0]


@pytest.fixture
async def client(server):
    return await signed_in_client(server)


def make(client, game, now, **kwargs) -> StatusPublisher:
    return StatusPublisher(client, "S1", game, clock=lambda: now[0], **kwargs)


async def step(publisher: StatusPublisher, now: list[float], seconds: float = 0.3) -> None:
    now[0] += seconds
    publisher.tick()
    await asyncio.sleep(0)
    await publisher.idle()


async def test_posts_on_change_and_keepalive_only(client, server, now):
    game = Game()
    publisher = make(client, game, now, keepalive=5.0)
    await step(publisher, now, 0)
    for _ in range(5):
        await step(publisher, now)  # 1.5 s unchanged
    assert server.scores == [0]
    game.score(10)
    await step(publisher, now)
    assert server.scores == [0, 10]
    for _ in range(16):  # 4.8 s after the last post: still quiet
        await step(publisher, now)
    assert len(server.bodies) == 2
    await step(publisher, now)  # 5.1 s: keep-alive
    assert server.scores == [0, 10, 10] and publisher.stats.sent == 3
    body = server.bodies[-1]
    assert body["SessionId"] == "S1" and body["Nickname"] == "alice" and body["Timestamp"].endswith("Z")


async def test_one_post_in_flight_and_the_newest_wins(client, server, now):
    game = Game()
    waited: list[float] = []
    publisher = make(client, game, now, on_sent=waited.append)
    server.gate = asyncio.Event()
    publisher.tick()
    await asyncio.sleep(0.01)
    for score in (1, 2, 3, 4):  # the first post is stuck: these queue, each replacing the last
        game.score(score)
        now[0] += 0.3
        publisher.tick()
        await asyncio.sleep(0.01)
    assert server.bodies == [] and publisher.stats.coalesced == 3
    server.gate.set()
    await asyncio.sleep(0.01)
    await publisher.idle()
    assert server.scores == [0, 4]  # the newest went out as soon as the slow one came back
    # on_sent: seconds from each sample to its 2xx, queueing counted (the first waited at the gate)
    assert publisher.stats.sent == 2 and waited == [pytest.approx(1.2), pytest.approx(0.0)]


async def test_outage_keeps_newest_status_and_resumes(client, server, now):
    game = Game()
    failures: list[Exception] = []
    publisher = make(client, game, now, max_backoff=1.0, on_failed=failures.append)
    await step(publisher, now, 0)
    server.down = True
    for second in range(1, 11):  # ten seconds of refused connections while the score moves
        game.score(second * 100)
        for _ in range(3):
            await step(publisher, now, 1 / 3)
    assert server.scores == [0]
    # 30 ticks, but the waits between attempts doubled from 0.3 s up to the 1 s cap.
    assert 8 <= publisher.stats.failed <= 18, publisher.stats.failed
    assert len(failures) == publisher.stats.failed and all(isinstance(e, APIConnectionError) for e in failures)
    server.down = False
    for _ in range(5):
        await step(publisher, now)
    assert server.scores == [0, 1000]  # nothing stale sent after the outage, only the newest
    assert publisher.stats.rejected == 0 and publisher.last_rejection is None  # failures are not refusals


async def test_429_backs_off_for_retry_after(client, server, now):
    game = Game()
    publisher = make(client, game, now)
    server.answer = httpx.Response(
        429, headers={"Retry-After": "2"}, json={"errorMessage": "slow", "errorCode": "RateLimited"}
    )
    await step(publisher, now, 0)
    server.answer = None
    game.score(5)
    for _ in range(6):  # 1.8 s: still inside Retry-After
        await step(publisher, now)
    assert server.bodies == [] and publisher.stats.failed == 1
    await step(publisher, now)
    assert server.scores == [5]


async def test_refusal_goes_to_on_rejected_and_is_not_resent(client, server, now):
    game = Game()
    refused: list[Exception] = []
    publisher = make(client, game, now, on_rejected=refused.append)
    server.answer = httpx.Response(409, json={"errorMessage": "closed", "errorCode": "SessionClosed"})
    await step(publisher, now, 0)
    await step(publisher, now)
    assert len(refused) == 1 and isinstance(refused[0], SessionClosed)
    assert publisher.stats.rejected == 1 and publisher.stats.failed == 0


async def test_a_failing_state_provider_or_callback_never_raises(client, server, now):
    game = Game()

    def bad_callback(error: Exception) -> None:
        raise ValueError("callback bug")

    publisher = make(client, game, now, on_rejected=bad_callback)
    game.broken = True
    await step(publisher, now, 0)
    assert publisher.stats.provider_errors == 1 and server.bodies == []
    game.broken = False
    server.answer = httpx.Response(403, json={"errorMessage": "not you", "errorCode": "Forbidden"})
    await step(publisher, now)
    assert publisher.stats.rejected == 1


async def test_stop_sends_the_final_state(client, server):
    game = Game()
    async with StatusPublisher(client, "S1", game, interval=0.02) as publisher:
        await asyncio.sleep(0.1)
        game.status = GameStatus(Score=77, Shots=9, Level=2, Lives=0)
    assert server.scores[0] == 0 and server.bodies[-1]["Score"] == 77 and server.bodies[-1]["Lives"] == 0
    assert not publisher.running and publisher.stats.sent == len(server.bodies)


async def test_stop_is_bounded_when_the_server_hangs(client, server):
    game = Game()
    publisher = StatusPublisher(client, "S1", game, interval=0.02, stop_timeout=0.3)
    server.gate = asyncio.Event()  # never set: every post hangs
    publisher.start()
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await publisher.stop()
    assert time.monotonic() - started < 0.6
    assert publisher.stats.sent == 0 and publisher.stats.failed >= 1


async def test_deliver_answers_once_the_final_state_is_stored_through_an_outage(client, server):
    game = Game()
    async with StatusPublisher(client, "S1", game, interval=0.02, max_backoff=0.05) as publisher:
        server.down = True
        final = GameStatus(Score=40, Shots=3, Level=1, Lives=0)
        game.status = final
        delivery = asyncio.create_task(publisher.deliver(final))
        await asyncio.sleep(0.2)
        assert not delivery.done() and publisher.stats.failed >= 1  # retried, not given up
        server.down = False
        assert await asyncio.wait_for(delivery, 2) is True
        assert server.bodies[-1]["Lives"] == 0


async def test_deliver_answers_false_on_a_refusal_and_when_stopped_first(client, server):
    game = Game()
    publisher = StatusPublisher(client, "S1", game, interval=0.02)
    publisher.start()
    server.answer = httpx.Response(409, json={"errorMessage": "closed", "errorCode": "SessionClosed"})
    game.status = GameStatus(Score=5, Lives=0)
    assert await asyncio.wait_for(publisher.deliver(game.status), 2) is False
    server.answer = None
    server.gate = asyncio.Event()  # posts hang: stop ends the wait
    game.status = GameStatus(Score=6, Lives=0)
    waiting = asyncio.create_task(publisher.deliver(game.status))
    await asyncio.sleep(0.05)
    publisher.stop_timeout = 0.1
    await publisher.stop()
    assert await asyncio.wait_for(waiting, 1) is False
