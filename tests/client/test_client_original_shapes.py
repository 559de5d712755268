"""The client against a fake that answers exactly like the original AWS deployment, Cognito sign-in included."""

from __future__ import annotations

import json

import httpx
import pytest
from client_support import ORIGINAL_SESSION, FakeCognitoPool, FakeOriginal

from api_client import (
    AuthenticationError,
    ConflictError,
    GameStatus,
    NoSeatsAvailable,
    NoSessionAvailable,
    PermissionDeniedError,
    SessionClosed,
    SpaceInvadersClient,
    TokenStore,
    UnprocessableError,
)

BASE = "https://abc.execute-api.us-east-1.amazonaws.com/prod/v1"


@pytest.fixture
def pool() -> FakeCognitoPool:
    return FakeCognitoPool(groups=["Players"])


@pytest.fixture
def original(pool) -> FakeOriginal:
    return FakeOriginal(pool.issued)


@pytest.fixture
async def client(original, pool, tmp_path):
    http = httpx.AsyncClient(transport=original.transport())
    c = SpaceInvadersClient(BASE, http=http, token_store=TokenStore(tmp_path), cognito_factory=pool.factory)
    yield c
    await c.aclose()
    await http.aclose()


async def signed_up(client: SpaceInvadersClient, pool: FakeCognitoPool, name: str = "alice") -> None:
    result = await client.sign_up(name, "password1", email="alice@example.com")
    assert result.UserConfirmed is False and result.CodeDeliveryDetails["DeliveryMedium"] == "EMAIL"
    await client.confirm_sign_up(name, "123456")
    await client.sign_in(name, "password1")


async def test_config_picks_cognito_and_sign_up_flow(client, pool):
    config = await client.config()
    assert config.uses_cognito and config.region == "us-east-1"
    await client.sign_up("bob", "password1")
    with pytest.raises(PermissionDeniedError) as info:  # the e-mailed code was not entered yet
        await client.sign_in("bob", "password1")
    assert info.value.code == "UserNotConfirmedException"
    await signed_up(client, pool)
    assert pool.users["alice"]["email"] == "alice@example.com"
    assert client.username == "alice"
    assert client.groups == {"Gamer"}  # the original's "Players" normalised


async def test_cognito_errors_map_to_the_hierarchy(client, pool):
    await signed_up(client, pool)
    with pytest.raises(ConflictError) as taken:
        await client.sign_up("alice", "password2")
    assert taken.value.code == "UsernameExistsException"
    with pytest.raises(AuthenticationError):
        await client.sign_in("alice", "wrong-password")
    with pytest.raises(UnprocessableError) as wrong_code:
        await client.confirm_sign_up("alice", "000000")
    assert wrong_code.value.code == "CodeMismatchException"


async def test_forgotten_password(client, pool):
    await signed_up(client, pool)
    await client.forgot_password("alice")
    await client.confirm_forgot_password("alice", "654321", "new-password")
    await client.sign_in("alice", "new-password")
    assert pool.calls[-3:] == ["initiate_forgot_password", "confirm_forgot_password", "authenticate"]


async def test_session_as_json_string_or_null(client, pool, original):
    await signed_up(client, pool)
    assert await client.session() is None  # the string "null"
    original.session = dict(ORIGINAL_SESSION)
    session = await client.session()
    assert session is not None and session.SessionId == "TEST261126T221500"
    assert session.OpeningTime.tzinfo is not None and session.OpeningTime.microsecond == 123000
    assert session.TotalSeats == 150 and session.ServerTime is None


async def test_raw_token_without_bearer(client, pool, original):
    await signed_up(client, pool)
    await client.session()
    sent = original.requests[-1].headers["authorization"]
    assert sent in pool.issued and not sent.startswith("Bearer")


async def test_updatestatus_answers_putrecord(client, pool, original):
    await signed_up(client, pool)
    original.session = dict(ORIGINAL_SESSION)
    receipt = await client.update_status("TEST261126T221500", GameStatus(Score=50, Shots=7, Level=2, Lives=3))
    assert receipt.ShardId == "shardId-000000000000" and receipt.SequenceNumber.startswith("4961")
    body = original.records[-1]
    assert set(body) == {"SessionId", "Nickname", "Score", "Shots", "Level", "Lives", "Timestamp"}
    assert body["Nickname"] == "alice" and body["Timestamp"].endswith("Z") and len(body["Timestamp"]) == 24
    board = await client.scoreboard("TEST261126T221500")
    assert [(e.Nickname, e.Score) for e in board] == [("alice", 50)]


async def test_allocate_errors_and_null_deallocate(client, pool, original):
    await signed_up(client, pool)
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


async def test_api_gateway_401_then_one_fresh_sign_in(client, pool, original):
    await signed_up(client, pool)
    original.session = dict(ORIGINAL_SESSION)
    pool.issued.clear()  # every token the authorizer knew is now refused
    assert (await client.session()).SessionId == "TEST261126T221500"
    assert pool.calls[-1] == "authenticate"  # re-signed with the remembered password, once
    pool.issued.clear()
    pool.users["alice"]["password"] = "changed-elsewhere"
    with pytest.raises(AuthenticationError) as info:
        await client.session()
    assert info.value.message == "Unauthorized"  # API Gateway's body has no errorCode


async def test_expiring_token_is_refreshed_before_use(client, pool, original):
    await signed_up(client, pool)
    auth = await client.auth()
    auth.tokens = type(auth.tokens)(
        pool.issue("alice", expires_in=30), "access", "refresh-alice", auth.tokens.expires_at - 3600 + 30
    )
    await client.session()
    assert pool.calls[-1] == "renew_access_token"
    assert not auth.tokens.needs_refresh()
