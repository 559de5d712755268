"""The run's figures: histograms, merging across processes, post punctuality, the failure threshold,
and the patience of sign-ins with a crowded server's 429s."""
from __future__ import annotations

import argparse
import asyncio
import inspect
import random

import httpx
import pytest
from client.client_support import make_jwt

from api_client import SpaceInvadersClient
from spaceinvaders_bots.arena import Arena
from spaceinvaders_bots.autopilot import SKILLS
from spaceinvaders_bots.bot import Bot, BotPlan, JoinError
from spaceinvaders_bots.cli import duration
from spaceinvaders_bots.identity import BotsDirectory, bot_name, check_prefix
from spaceinvaders_bots.report import RunInfo, Window, passed, summary_json, summary_text
from spaceinvaders_bots.stats import BotState, Histogram, RunStats, bucket
from spaceinvaders_bots.swarm import Swarm, SwarmConfig


def test_histogram_percentiles_are_within_the_bucket_precision():
    rng = random.Random(1)
    samples = [rng.expovariate(1 / 5.0) for _ in range(20_000)]
    histogram = Histogram()
    for ms in samples:
        histogram.add(ms)
    ordered = sorted(samples)
    for q in (0.5, 0.9, 0.99):
        exact = ordered[int(q * len(ordered)) - 1]
        assert histogram.percentile(q) == pytest.approx(exact, rel=0.06)
    assert histogram.percentile(1.0) == max(samples)
    assert histogram.mean == pytest.approx(sum(samples) / len(samples))
    assert len(histogram.counts) < 400  # a run of any length keeps a few hundred buckets
    assert bucket(1234.5) == 1200 and bucket(0.0456) == 0.046 and bucket(0) == 0


def test_stats_of_processes_merge_into_the_stats_of_one():
    rng = random.Random(2)
    whole, parts = RunStats(), [RunStats(), RunStats()]
    for i in range(3000):
        ms, failed = rng.uniform(0.5, 400), rng.random() < 0.01
        error = "503 Overloaded" if failed else None
        name = rng.choice(["POST /updatestatus", "GET /scoreboard"])
        for stats in (whole, parts[i % 2]):
            stats.endpoint(name).record(ms, error)
            if name == "POST /updatestatus":
                stats.record_post(ms)
    merged = RunStats()
    for part in parts:
        merged.merge(RunStats.from_dict(part.to_dict()))  # as the workers send them
    for name, stats in whole.endpoints.items():
        got = merged.endpoints[name]
        assert (got.requests, got.failures, got.errors) == (stats.requests, stats.failures, stats.errors)
        assert got.latency.counts == stats.latency.counts
        assert got.latency.total == pytest.approx(stats.latency.total)  # added in another order
        assert (got.latency.min, got.latency.max) == (stats.latency.min, stats.latency.max)
    assert merged.post_delay.counts == whole.post_delay.counts
    assert (merged.posts_sent, merged.posts_on_time) == (whole.posts_sent, whole.posts_on_time)


def test_a_post_is_on_time_when_answered_before_the_next_sample():
    stats = RunStats(interval=0.3)
    for ms in (5.0, 120.0, 299.9, 300.0, 300.1, 900.0):
        stats.record_post(ms)
    stats.superseded = 2  # samples that never went out on their own are late too
    assert stats.posts_on_time == 4
    assert stats.posts_late == 2 + 2
    assert stats.on_time_share == pytest.approx(4 / 8)


def test_windows_show_the_last_interval_only():
    earlier = RunStats()
    earlier.endpoint("POST /updatestatus").record(1.0, None)
    earlier.record_post(1.0)
    later = RunStats.from_dict(earlier.to_dict())
    for _ in range(10):
        later.endpoint("POST /updatestatus").record(50.0, None)
        later.record_post(50.0)
    window = Window.between(earlier, later, 2.0)
    assert window.requests_per_second == 5.0 and window.posts_per_second == 5.0
    assert window.post_latency.count == 10 and window.post_latency.percentile(0.5) == 50.0


def test_the_failure_threshold_is_a_count_or_a_share():
    stats = RunStats()
    for i in range(1000):
        stats.endpoint("GET /scoreboard").record(1.0, "503 Overloaded" if i < 5 else None)
    assert not passed(stats, "0") and not passed(stats, "4") and passed(stats, "5")
    assert passed(stats, "0.5%") and not passed(stats, "0.4%")


def test_summaries_carry_the_locust_figures():
    stats = RunStats()
    stats.endpoint("POST /updatestatus").record(2.0, None)
    stats.endpoint("POST /updatestatus").record(None, "no answer")
    info = RunInfo("http://127.0.0.1:1/v1", 1, 7, "mixed", 20.0, elapsed=10.0, max_failures="1")
    document = summary_json(stats, info, [])
    figures = document["endpoints"]["POST /updatestatus"]
    assert figures["requests"] == 2 and figures["failures"] == 1 and figures["requests_per_second"] == 0.2
    assert {"min_ms", "avg_ms", "median_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms"} <= set(figures)
    assert document["failures"] == [{"endpoint": "POST /updatestatus", "error": "no answer", "occurrences": 1}]
    assert document["passed"]
    text = summary_text(stats, info, [])
    assert "Aggregated" in text and "99%" in text and "no answer" in text and "passed" in text


class CrowdedServer:
    """Sign-ups and sign-ins answered 429 with Retry-After `wait` for the first `busy` tries."""

    def __init__(self, busy: int, wait: str) -> None:
        self.busy, self.wait = busy, wait
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        self.paths.append(path)
        if path == "/config":
            return httpx.Response(200, json={"Parameters": [{"Name": "/local/auth", "Value": "local"}]})
        if self.busy:
            self.busy -= 1
            return httpx.Response(429, headers={"Retry-After": self.wait},
                                  json={"errorMessage": "busy", "errorCode": "TooManyRequests"})
        if path == "/auth/signup":
            return httpx.Response(200, json={"UserConfirmed": True})
        token = make_jwt("tbot-0001", ["Gamer"])
        return httpx.Response(200, json={"IdToken": token, "AccessToken": "a", "ExpiresIn": 3600})


def crowded_bot(server: CrowdedServer) -> Bot:
    client = SpaceInvadersClient("http://crowded.test/v1", token_store=None,
                                 http=httpx.AsyncClient(transport=httpx.MockTransport(server)))
    plan = BotPlan(1, "tbot-0001", "password1", SKILLS["novice"], 1)
    return Bot(plan, client, Arena(Histogram()), RunStats(), asyncio.Semaphore(1))


async def test_sign_ins_wait_out_a_crowded_servers_429s_as_told(monkeypatch):
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    server = CrowdedServer(busy=3, wait="2")
    bot = crowded_bot(server)
    monkeypatch.setattr(bot.client.core, "_sleep", no_sleep)
    await bot.sign_in()
    assert server.paths.count("/auth/signup") + server.paths.count("/auth/signin") == 5
    # Retry-After read by api_client, stretched by up to half so a crowd does not come back together.
    assert len(slept) == 3 and all(2 <= wait <= 3 for wait in slept)
    patient = crowded_bot(CrowdedServer(busy=1, wait="600"))  # a wait past the bots' patience: at once
    with pytest.raises(JoinError, match="TooManyRequests"):
        await patient.sign_in()


def test_bots_keep_their_secret_and_derive_their_passwords(tmp_path):
    directory = BotsDirectory(tmp_path / "bots")
    password = directory.password("bot-x-0001")
    again = BotsDirectory(tmp_path / "bots")
    assert again.password("bot-x-0001") == password == again.password("BOT-x-0001")  # names in any case
    assert again.password("bot-x-0002") != password
    assert BotsDirectory(tmp_path / "other").password("bot-x-0001") != password  # another secret
    assert (tmp_path / "bots" / "secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "bots").stat().st_mode & 0o777 == 0o700
    assert directory.default_prefix() == again.default_prefix() != BotsDirectory(tmp_path / "o").default_prefix()
    assert bot_name("bot-3fa9", 7) == "bot-3fa9-0007"
    with pytest.raises(ValueError):
        check_prefix("no spaces")
    with pytest.raises(ValueError):
        check_prefix("x" * 40)


def test_durations_read_like_locusts():
    assert duration("20") == 20 and duration("90s") == 90 and duration("5m") == 300
    assert duration("1h30m") == 5400 and duration("1.5") == 1.5
    for bad in ("", "0", "ten", "5x"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration(bad)


async def test_the_meter_times_every_attempt_by_endpoint_and_knows_expected_answers():
    import httpx

    from spaceinvaders_bots.metering import NO_ANSWER, Meter, expecting

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/health"):
            raise httpx.ConnectError("refused", request=request)
        status = 409 if request.url.path.endswith("/auth/signup") else 200
        return httpx.Response(status, json={"errorCode": "UsernameExistsException"} if status == 409 else {})

    stats = RunStats()
    meter = Meter(stats, "http://127.0.0.1:1/prod/v1")
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        meter.install(http)
        base = "http://127.0.0.1:1/prod/v1"
        await http.post(f"{base}/auth/signup")  # a 409 nobody expected: a failure
        with expecting(409):
            await http.post(f"{base}/auth/signup")  # an earlier run made the account: part of the plan
        await http.get(f"{base}/scoreboard", params={"sessionId": "S"})

        async def unreachable():
            with pytest.raises(httpx.ConnectError):
                await http.get(f"{base}/health")

        await asyncio.create_task(unreachable())  # no answer, and the task ends: found by the sweep
    meter.sweep()
    signup = stats.endpoints["POST /auth/signup"]
    assert (signup.requests, signup.failures) == (2, 1)
    assert dict(signup.errors) == {"409 UsernameExistsException": 1}
    assert stats.endpoints["GET /scoreboard"].requests == 1 and stats.endpoints["GET /scoreboard"].failures == 0
    assert dict(stats.endpoints["GET /health"].errors) == {NO_ANSWER: 1}
    assert meter.in_flight == 0


async def test_the_swarm_freezes_the_collector_when_its_bots_tell_it_not_by_polling(monkeypatch):
    """Issue 16: no polling between parts of one program. Each bot tells its swarm of a change of state
    (`on_change`); the swarm freezes the garbage collector once all have joined and once all play."""
    freezes: list[int] = []
    monkeypatch.setattr("spaceinvaders_bots.swarm.gc.freeze", lambda: freezes.append(1))
    swarm = Swarm(SwarmConfig(api="http://127.0.0.1:9/v1", count=2))
    bots = [Bot(BotPlan(i, f"b{i}", "pw", SKILLS["novice"], i),
                SpaceInvadersClient("http://127.0.0.1:9/v1", token_store=None), Arena(Histogram()), swarm.stats,
                asyncio.Semaphore(1), on_change=swarm.settled) for i in (1, 2)]
    swarm.stats.joined = 2
    bots[0]._become(BotState.WAITING)
    assert freezes == []  # still spawning: nobody knows how many bots there are
    swarm.expected = 2
    bots[1]._become(BotState.WAITING)
    assert len(freezes) == 1  # all joined
    bots[0]._become(BotState.PLAYING)
    assert len(freezes) == 1
    bots[1]._become(BotState.PLAYING)
    assert len(freezes) == 2  # all play
    # Nothing runs on a timer to find that out, and the states are the one enum's.
    assert [name for name, member in inspect.getmembers(Swarm) if inspect.iscoroutinefunction(member)] == ["run"]
    assert set(swarm.stats.users) <= set(BotState)
    for bot in bots:
        await bot.client.aclose()
