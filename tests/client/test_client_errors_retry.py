"""Error mapping, bounded retries and their backoff, with a fake transport and a fake sleep."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest
from client_support import signed_in_client

from api_client import (
    NO_RETRY,
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    GameStatus,
    MalformedResponseError,
    NoSeatsAvailable,
    RateLimitError,
    RetryPolicy,
    Safety,
    ServerError,
    ServiceUnavailableError,
    SessionClosed,
    SpaceInvadersClient,
    UnprocessableError,
)
from api_client.errors import make_error
from api_client.retry import backoff, retrying

STATUS = GameStatus(Score=1, Shots=1, Level=1, Lives=3)


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"errorMessage": code, "errorCode": code, "errorDetails": None}, headers=headers
    )


class Scripted:
    """A transport answering from a script (responses or exceptions), then 200s; counts requests."""

    def __init__(self, *script: httpx.Response | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        if request.url.path.endswith("/updatestatus"):
            return httpx.Response(200, json={"SequenceNumber": "1", "ShardId": "s"})
        return httpx.Response(200, json={"Scoreboard": []})


async def make_client(
    script: Scripted, policy: RetryPolicy | None = None
) -> tuple[SpaceInvadersClient, list[float]]:
    """A signed-in client over `script` whose sleeps are recorded instead of slept."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    client = await signed_in_client(script, retry=policy or RetryPolicy(), sleep=fake_sleep)
    return client, slept


def test_code_classes_combine_with_status_classes():
    seats = make_error(422, "NoSeatsAvailable", "full")
    assert isinstance(seats, NoSeatsAvailable) and isinstance(seats, UnprocessableError)
    closed_post = make_error(409, "SessionClosed", "closed")
    assert isinstance(closed_post, SessionClosed) and isinstance(closed_post, ConflictError)
    assert not isinstance(closed_post, UnprocessableError)
    assert type(make_error(409, "SessionClosed", "again")) is type(closed_post)  # classes are cached
    assert isinstance(make_error(503, "Busy", "x"), ServiceUnavailableError)
    assert isinstance(make_error(502, "Bad", "x"), ServerError)
    limited = make_error(429, "TooMany", "x", headers={"retry-after": "2.5"})
    assert isinstance(limited, RateLimitError) and limited.retry_after == 2.5


async def test_429_retry_after_is_honoured():
    script = Scripted(error(429, "RateLimited", {"Retry-After": "1.5"}))
    client, slept = await make_client(script)
    await client.scoreboard("S")
    assert slept == [1.5] and len(script.requests) == 2


async def test_retry_after_beyond_budget_gives_up_at_once():
    script = Scripted(error(429, "RateLimited", {"Retry-After": "60"}))
    client, slept = await make_client(script, RetryPolicy(max_elapsed=5))
    with pytest.raises(RateLimitError) as info:
        await client.scoreboard("S")
    assert info.value.retry_after == 60 and slept == [] and len(script.requests) == 1


async def test_a_retrying_block_gives_its_calls_a_longer_patience_with_jittered_retry_after():
    script = Scripted(*[error(429, "TooManyRequests", {"Retry-After": "4"})] * 5)
    client, slept = await make_client(script)  # the client's own policy: 10 s, 4 attempts
    with pytest.raises(RateLimitError):
        await client.scoreboard("S")
    script.script = [error(429, "TooManyRequests", {"Retry-After": "4"})] * 5
    slept.clear()
    with retrying(RetryPolicy(max_attempts=20, max_elapsed=120, retry_after_jitter=0.5)):
        await client.scoreboard("S")  # a crowd's wait, outlived
    assert len(slept) == 5 and all(4 <= wait <= 6 for wait in slept) and len(set(slept)) > 1
    with pytest.raises(RateLimitError):  # outside the block: the client's own policy again
        script.script = [error(429, "TooManyRequests", {"Retry-After": "4"})] * 5
        await client.scoreboard("S")


async def test_5xx_on_a_get_is_retried_with_growing_jittered_backoff_and_bounded():
    random.seed(7)
    script = Scripted(*[error(503, "Overloaded")] * 10)
    client, slept = await make_client(script, RetryPolicy(max_attempts=4, base_delay=0.2, max_delay=3))
    with pytest.raises(ServiceUnavailableError):
        await client.scoreboard("S")
    assert len(script.requests) == 4 and len(slept) == 3
    for attempt, wait in enumerate(slept, start=1):
        ceiling = 0.2 * 2 ** (attempt - 1)
        assert ceiling / 2 <= wait <= ceiling


def test_backoff_doubles_up_to_its_cap_with_equal_jitter():
    rng = random.Random(3)
    for failures, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 3.0), (9, 3.0)]:
        waits = [backoff(failures, 0.2, 3.0, rng) for _ in range(200)]
        assert ceiling / 2 <= min(waits) and max(waits) <= ceiling
        assert max(waits) - min(waits) > ceiling / 3  # spread over the upper half, not one value


async def test_unsafe_calls_are_not_retried_after_a_5xx():
    script = Scripted(error(503, "Overloaded"))
    client, slept = await make_client(script)
    with pytest.raises(ServiceUnavailableError):
        await client.open_session("MULTIPLE_TRIALS")
    assert len(script.requests) == 1 and slept == []


async def test_status_post_retried_only_when_surely_not_processed():
    # 502 may have been processed: not retried. A refused connection: nothing was sent, retried.
    script = Scripted(error(502, "BadGateway"))
    client, _ = await make_client(script)
    with pytest.raises(ServerError):
        await client.update_status("S", STATUS)
    assert len(script.requests) == 1
    script = Scripted(httpx.ConnectError("refused"), error(503, "Busy"))
    client, slept = await make_client(script)
    receipt = await client.update_status("S", STATUS)
    assert receipt.SequenceNumber == "1" and len(script.requests) == 3 and len(slept) == 2
    script = Scripted(httpx.ReadTimeout("slow"))
    client, _ = await make_client(script)
    with pytest.raises(APITimeoutError) as info:
        await client.update_status("S", STATUS)
    assert info.value.sent and isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(script.requests) == 1


async def test_dropped_connection_and_malformed_bodies_are_typed():
    script = Scripted(*[httpx.RemoteProtocolError("Server disconnected")] * 2)
    client, _ = await make_client(script, RetryPolicy(max_attempts=2))
    with pytest.raises(APIConnectionError):
        await client.scoreboard("S")
    assert len(script.requests) == 2  # a GET is retried after a drop, within the bound
    for bad in (
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"Scoreboard": 3}),
    ):
        client, _ = await make_client(Scripted(bad))
        with pytest.raises(MalformedResponseError) as info:
            await client.scoreboard("S")
        assert info.value.status == 200
    client, _ = await make_client(Scripted(httpx.Response(200, json="{not json")))
    with pytest.raises(MalformedResponseError):
        await client.session()
    client, _ = await make_client(Scripted(httpx.Response(500, text="Internal Server Error")))
    with pytest.raises(ServerError) as server:
        await client.open_session("SINGLE_TRIAL")
    assert server.value.status == 500 and server.value.message == "Internal Server Error"


async def test_policy_never_retries_without_budget():
    assert RetryPolicy().should_retry(make_error(503, "x", "y"), Safety.IDEMPOTENT)
    assert not RetryPolicy().should_retry(make_error(503, "x", "y"), Safety.UNSAFE)
    script = Scripted(error(503, "Busy"))
    client, _ = await make_client(script)
    with pytest.raises(ServiceUnavailableError):
        await client.update_status("S", STATUS, retry=NO_RETRY)
    assert len(script.requests) == 1


async def hang_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    await asyncio.sleep(30)


@pytest.mark.parametrize("lean", [False, True])
async def test_a_server_that_never_answers_is_a_timeout_not_a_hang(lean):
    from api_client import lean_http_client

    server = await asyncio.start_server(hang_forever, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timeout = httpx.Timeout(0.3, connect=1.0)
    http = lean_http_client(timeout) if lean else httpx.AsyncClient(timeout=timeout)
    client = SpaceInvadersClient(
        f"http://127.0.0.1:{port}/v1",
        http=http,
        token_store=None,
        timeout=timeout,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(APITimeoutError):
        await client.config()
    assert loop.time() - started < 1.5  # two bounded attempts
    await http.aclose()
    server.close()


# --- a full disk: 503 with Retry-After, and calls that must land before the program exits ----------

def full_disk() -> httpx.Response:
    return error(503, "StorageUnavailable", {"Retry-After": "0.01"})


# One answer that fits every call below (extra fields are kept, not refused).
LANDED = {"successMessage": "ok", "SessionId": "S", "GameType": "MULTIPLE_TRIALS", "Synchronized": False,
          "OpeningTime": "2026-11-27T10:00:00Z", "SequenceNumber": "1", "ShardId": "s"}


async def test_a_503_with_retry_after_is_retried_after_it_for_every_kind_of_call():
    for call in ("deallocate", "allocate", "close_session", "update_status"):
        script = Scripted(full_disk(), httpx.Response(200, json=LANDED))
        client, slept = await make_client(script)
        args = ("S", STATUS) if call == "update_status" else ()
        await getattr(client, call)(*args)
        assert slept == [0.01] and len(script.requests) == 2, call
    # A bare 503 may come from a proxy that did pass the call on: an unsafe call is not sent again.
    script = Scripted(error(503, "Busy"))
    client, slept = await make_client(script)
    with pytest.raises(ServiceUnavailableError):
        await client.close_session()
    assert len(script.requests) == 1 and slept == []


async def test_deallocate_until_a_deadline_retries_past_max_attempts_until_it_lands():
    script = Scripted(*[full_disk()] * 9, httpx.Response(200, json={"successMessage": "Seat freed."}))
    client = await signed_in_client(script)  # real sleeps of 10 ms
    policy = RetryPolicy.until(time.monotonic() + 10)
    assert await client.deallocate(retry=policy) == "Seat freed."
    assert len(script.requests) == 10  # the default policy gives up after 4


async def test_a_deadline_ends_the_retries_and_bounds_the_last_attempt():
    script = Scripted(*[error(503, "StorageUnavailable", {"Retry-After": "0.05"})] * 100)
    client = await signed_in_client(script)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError):
        await client.deallocate(retry=RetryPolicy.until(started + 0.3))
    took = time.monotonic() - started
    assert took < 0.3 and 3 <= len(script.requests) <= 7, (took, len(script.requests))
    # Each attempt's timeouts are cut to the time left before the deadline.
    script = Scripted()
    client = await signed_in_client(script, timeout=httpx.Timeout(10.0, connect=5.0))
    await client.deallocate(retry=RetryPolicy.until(time.monotonic() + 1.0))
    timeouts = script.requests[-1].extensions["timeout"]
    assert all(0.1 <= timeouts[phase] <= 1.0 for phase in ("connect", "read", "write", "pool")), timeouts
