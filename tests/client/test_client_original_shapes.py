"""The client against a fake that answers exactly like the original AWS deployment's HTTP API.

Signing in to Cognito itself is tested against moto in test_client_cognito.py.
"""

from __future__ import annotations

import json

import httpx
import pytest
from client_support import ORIGINAL_SESSION, FakeOriginal, signed_in_client

from api_client import (
    AuthenticationError,
    GameStatus,
    NoSeatsAvailable,
    NoSessionAvailable,
    SessionClosed,
    SpaceInvadersClient,
    UnprocessableError,
)

BASE = "https://abc.execute-api.us-east-1.amazonaws.com/prod/v1"


@pytest.fixture
def original() -> FakeOriginal:
    return FakeOriginal(authorize=lambda token: True)


@pytest.fixture
async def client(original):
    client = await signed_in_client(original.handle, base_url=BASE)
    yield client
    await client.aclose()


async def test_config_picks_cognito_and_its_region_from_the_pool_id(original):
    http = httpx.AsyncClient(transport=original.transport())
    async with SpaceInvadersClient(BASE, http=http, token_store=None) as client:
        config = await client.config()
    assert config.uses_cognito and config.get("clientid") == "client123"
    assert config.region == "us-east-1"  # the original's /config has no region parameter
    await http.aclose()


async def test_session_as_json_string_or_null(client, original):
    assert await client.session() is None  # the string "null"
    original.session = dict(ORIGINAL_SESSION)
    session = await client.session()
    assert session is not None and session.SessionId == "TEST261126T221500"
    assert session.OpeningTime.tzinfo is not None and session.OpeningTime.microsecond == 123000
    assert session.TotalSeats == 150 and session.ServerTime is None


async def test_raw_token_without_bearer(client, original):
    await client.session()
    sent = original.requests[-1].headers["authorization"]
    assert sent == (await client.auth()).tokens.id_token and not sent.startswith("Bearer")


async def test_updatestatus_answers_putrecord(client, original):
    original.session = dict(ORIGINAL_SESSION)
    receipt = await client.update_status("TEST261126T221500", GameStatus(Score=50, Shots=7, Level=2, Lives=3))
    assert receipt.ShardId == "shardId-000000000000" and receipt.SequenceNumber.startswith("4961")
    body = original.records[-1]
    assert set(body) == {"SessionId", "Nickname", "Score", "Shots", "Level", "Lives", "Timestamp"}
    assert body["Nickname"] == "alice" and body["Timestamp"].endswith("Z") and len(body["Timestamp"]) == 24
    board = await client.scoreboard("TEST261126T221500")
    assert [(e.Nickname, e.Score) for e in board] == [("alice", 50)]


async def test_allocate_errors_and_null_deallocate(client, original):
    with pytest.raises(NoSessionAvailable) as none:
        await client.allocate()
    assert isinstance(none.value, UnprocessableError) and none.value.status == 422
    original.session = dict(ORIGINAL_SESSION)
    assert await client.allocate() == "Welcome, alice."
    assert await client.allocate() == "Keep playing."
    assert await client.deallocate() is None  # the original answers `null`
    original.total_seats = 0
    with pytest.raises(NoSeatsAvailable):
        await client.allocate()
    original.session = {**ORIGINAL_SESSION, "ClosingTime": "2026-11-26T23:00:00.000Z"}
    with pytest.raises(SessionClosed):
        await client.allocate()
    assert json.loads(original.requests[-1].content) == {"Username": "alice"}


async def test_api_gateway_401_body_has_no_error_code(client, original):
    original.authorize = lambda token: False  # every token refused, also the one from a fresh sign-in
    with pytest.raises(AuthenticationError) as info:
        await client.session()
    assert info.value.message == "Unauthorized" and info.value.code == "Unauthorized"
    assert original.paths == ["/session", "/session"]  # one fresh sign-in, one more try, no more
