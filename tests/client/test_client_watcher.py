"""Clock offset estimation and the synchronized start, with a server whose clock is far from ours."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.utils import formatdate

import httpx
import pytest
from client_support import signed_in_client

from api_client import ClockOffset, ScoreboardPoller, SessionWatcher
from api_client.models import format_instant


class SkewedServer:
    """A server whose clock runs `skew` seconds ahead of ours and that starts a game `start_in` after opening."""

    def __init__(self, skew: float, start_in: float, server_time: bool, delay: float = 0.005) -> None:
        self.skew, self.server_time, self.delay = skew, server_time, delay
        self.start_at = time.time() + skew + start_in  # server clock
        self.polls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)  # half the round trip before the server reads its clock
        now = time.time() + self.skew
        await asyncio.sleep(self.delay)
        self.polls += 1
        doc = {
            "SessionId": "S",
            "GameType": "MULTIPLE_TRIALS",
            "Synchronized": True,
            "OpeningTime": format_instant(datetime.fromtimestamp(now - 5, UTC)),
        }
        if self.polls >= 2:  # the manager pressed start after the player began waiting
            doc["SynchronizeTime"] = format_instant(datetime.fromtimestamp(self.start_at, UTC))
        if self.server_time:
            doc["ServerTime"] = format_instant(datetime.fromtimestamp(now, UTC))
        return httpx.Response(200, json=doc, headers={"Date": formatdate(now, usegmt=True)})


def test_offset_bounds_intersect_and_reset_on_a_clock_step():
    clock = ClockOffset()
    clock.add(server_time=110.0, resolution=1.0, sent_at=100.0, received_at=100.2)
    assert (clock.low, clock.high) == pytest.approx((9.8, 11.0))
    clock.add(server_time=111.0, resolution=1.0, sent_at=100.7, received_at=100.8)
    assert (clock.low, clock.high) == pytest.approx((10.2, 11.0))  # a later phase cut the lower bound
    assert clock.offset == pytest.approx(10.6) and clock.uncertainty == pytest.approx(0.4)
    clock.add(server_time=150.0, resolution=0.001, sent_at=100.0, received_at=100.01)  # our clock stepped
    assert clock.resets == 1 and clock.offset == pytest.approx(49.9955)


@pytest.mark.parametrize("server_time", [True, False], ids=["ServerTime", "Date-header"])
async def test_synchronized_start_within_100_ms_of_the_server_clock(server_time):
    server = SkewedServer(skew=37.25, start_in=1.2, server_time=server_time)
    client = await signed_in_client(server)
    watcher = SessionWatcher(client, interval=0.1)
    session = await watcher.wait_for_start()
    started = time.time() + server.skew  # the server's clock at the moment we start
    assert session.SynchronizeTime is not None
    assert abs(started - server.start_at) < 0.1
    assert abs(watcher.clock.offset - 37.25) < 0.1


async def test_unsynchronized_session_starts_at_once_and_changes_are_reported():
    changes = []

    async def handler(request: httpx.Request) -> httpx.Response:
        doc = {
            "SessionId": "S",
            "GameType": "SINGLE_TRIAL",
            "Synchronized": False,
            "OpeningTime": "2026-11-26T22:15:00.000Z",
            "ServerTime": format_instant(datetime.now(UTC)),
        }
        return httpx.Response(200, json=doc)

    watcher = SessionWatcher(await signed_in_client(handler), on_change=changes.append)
    assert (await watcher.wait_for_start()).GameType == "SINGLE_TRIAL"
    await watcher.poll_once()
    assert len(changes) == 1  # a new ServerTime alone is not a change


async def test_pollers_survive_failures_and_keep_the_last_good_board():
    answers = [
        httpx.Response(
            200, json={"Scoreboard": [{"Nickname": "a", "Score": 5, "Shots": 1, "Level": 1, "Lives": 2}]}
        ),
        httpx.Response(503, json={"errorMessage": "busy", "errorCode": "Overloaded"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/session"):
            raise httpx.ConnectError("refused")
        return answers.pop(0) if answers else httpx.Response(200, text="not json")

    client = await signed_in_client(handler)
    client.core.retry = type(client.core.retry)(max_attempts=1)
    updates = []
    poller = ScoreboardPoller(client, "S", interval=0.01, on_update=updates.append)
    async with poller:
        await asyncio.sleep(0.1)
    assert [e.Nickname for e in poller.latest] == ["a"] and len(updates) == 1 and poller.errors >= 2
    watcher = SessionWatcher(client)
    assert await watcher.poll_once() is None and watcher.errors == 1
