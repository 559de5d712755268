"""Signing in to the AWS deployment's Cognito user pool (moto's), as `spaceinvaders --api https://...` does.

The user pool comes from tests/aws_stack.py; the API in front of it is `FakeOriginal`, whose authorizer
verifies the ID token against moto's key set as API Gateway's Cognito authorizer does. What moto does
not do, this module does by hand: the post-confirmation trigger that puts a new user in `Gamer`
(`confirm`), and groups named like the later original (`Players`, `Managers`). moto does not check SRP
passwords, so a wrong password is not tested here (its error code is mapped like the others).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import socket

import boto3
import httpx
import jwt
import pytest
import requests
from aws_stack import MOTO_CONFIG, AwsStack, create_stack
from botocore.exceptions import EndpointConnectionError
from client_support import FakeOriginal
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse
from pycognito.exceptions import TokenVerificationException

from api_client import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    PermissionDeniedError,
    SpaceInvadersClient,
    TokenStore,
    UnprocessableError,
)
from api_client.cognito import _cognito_factory

BASE = "https://abc.execute-api.us-east-1.amazonaws.com/prod/v1"
PASSWORD = "password1"
MOTO_JWKS = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
CONFIG_NAMES = ("userpoolid", "userpoolurl", "clientid", "identitypoolid", "region", "auth")


@pytest.fixture(scope="module")
def stack():
    with mock_aws(config=MOTO_CONFIG):
        stack = create_stack(env="test")
        idp = boto3.client("cognito-idp", region_name=stack.region)
        for group in ("Players", "Managers"):  # the later original's names, beside the stack's own
            idp.create_group(UserPoolId=stack.user_pool_id, GroupName=group)
        yield stack


@pytest.fixture(autouse=True)
def moto_key_set(monkeypatch):
    """pycognito reads the pool's key set from COGNITO_JWKS instead of fetching it from AWS."""
    monkeypatch.setenv("COGNITO_JWKS", json.dumps(MOTO_JWKS))


class Gateway(FakeOriginal):
    """The API in front of the pool: `/config` from SSM, an authorizer checking tokens with moto's keys."""

    def __init__(self, stack: AwsStack) -> None:
        ssm = boto3.client("ssm", region_name=stack.region)
        names = [f"/{stack.env}/{name}" for name in CONFIG_NAMES]
        answer = ssm.get_parameters(Names=names)["Parameters"]  # what API Gateway's /config integration asks
        super().__init__(self.verify, {p["Name"]: p["Value"] for p in answer})
        self.stack = stack
        self.keys = jwt.PyJWKSet.from_dict(MOTO_JWKS)
        self.refused: set[str] = set()

    def verify(self, token: str) -> bool:
        if token in self.refused:
            return False
        try:
            claims = jwt.decode(
                token,
                self.keys[jwt.get_unverified_header(token)["kid"]].key,
                algorithms=["RS256"],
                audience=self.stack.client_id,
                issuer=f"https://cognito-idp.{self.stack.region}.amazonaws.com/{self.stack.user_pool_id}",
            )
        except (jwt.PyJWTError, KeyError):
            return False
        return claims.get("token_use") == "id"


@pytest.fixture
def gateway(stack) -> Gateway:
    return Gateway(stack)


_numbers = itertools.count()


def new_name() -> str:
    return f"player{next(_numbers)}"


def make_client(gateway: Gateway, store: TokenStore | None = None, **options) -> SpaceInvadersClient:
    http = httpx.AsyncClient(transport=gateway.transport())
    return SpaceInvadersClient(BASE, http=http, token_store=store, **options)


def idp(stack: AwsStack):
    return boto3.client("cognito-idp", region_name=stack.region)


async def confirmed(client: SpaceInvadersClient, stack: AwsStack, *groups: str) -> str:
    """Sign up a new player and confirm them, in `groups` (`Gamer`, as the trigger does, by default)."""
    name = new_name()
    await client.sign_up(name, PASSWORD, email=f"{name}@example.com")
    await client.confirm_sign_up(name, "123456")  # moto takes any code
    for group in groups or ("Gamer",):
        idp(stack).admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=name, GroupName=group)
    return name


async def test_sign_up_confirm_and_srp_sign_in(gateway, stack):
    client = make_client(gateway)
    assert (await client.config()).uses_cognito
    name = new_name()
    signed_up = await client.sign_up(name, PASSWORD, email=f"{name}@example.com")
    assert signed_up.UserConfirmed is False  # a code was sent
    with pytest.raises(PermissionDeniedError) as unconfirmed:
        await client.sign_in(name, PASSWORD)
    assert unconfirmed.value.code == "UserNotConfirmedException"
    await client.confirm_sign_up(name, "123456")
    idp(stack).admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=name, GroupName="Gamer")
    tokens = await client.sign_in(name, PASSWORD)
    assert tokens.username == name and client.groups == {"Gamer"}
    assert await client.session() is None  # the gateway took the token: moto's signature, audience, issuer
    with pytest.raises(ConflictError) as taken:
        await client.sign_up(name, PASSWORD)
    assert taken.value.code == "UsernameExistsException"
    with pytest.raises(UnprocessableError) as short:
        await client.sign_up(new_name(), "abc")  # the pool asks for 6 characters
    assert short.value.code == "InvalidPasswordException"
    with pytest.raises(BadRequestError):
        await client.sign_up("", PASSWORD)  # refused by botocore before sending
    with pytest.raises(AuthenticationError) as unknown:
        await client.sign_in(new_name(), PASSWORD)
    assert unknown.value.code == "UserNotFoundException"


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (("Manager",), {"Manager"}),
        (("Gamer", "Manager"), {"Gamer", "Manager"}),
        (("Players",), {"Gamer"}),
        (("Managers",), {"Manager"}),
    ],
)
async def test_groups_in_the_token(gateway, stack, groups, expected):
    client = make_client(gateway)
    name = await confirmed(client, stack, *groups)
    await client.sign_in(name, PASSWORD)
    assert client.groups == expected


async def test_many_players_in_one_process_sign_in_at_once(gateway, stack):
    """As the bots do: sign-ins overlap in worker threads, where boto3's sessions are not thread-safe."""
    http = httpx.AsyncClient(transport=gateway.transport())
    players = [SpaceInvadersClient(BASE, http=http, token_store=None) for _ in range(12)]
    names = [await confirmed(player, stack) for player in players]
    await asyncio.gather(*(player.sign_in(name, PASSWORD) for player, name in zip(players, names, strict=True)))
    assert [player.username for player in players] == names
    assert await asyncio.gather(*(player.session() for player in players)) == [None] * len(players)


async def test_token_file_then_refresh_without_the_password(gateway, stack, tmp_path):
    store = TokenStore(tmp_path)
    first = make_client(gateway, store)
    name = await confirmed(first, stack)
    kept = await first.sign_in(name, PASSWORD)
    assert store.load(BASE) == kept  # kept for this API and user (the file's modes: test_client_auth.py)
    store.save(BASE, name, dataclasses.replace(kept, expires_at=0.0))  # as if the ID token had expired

    later = make_client(gateway, store)  # the next run: no password in memory, only the file
    assert await later.resume()
    assert later.username == name and later.groups == {"Gamer"}
    gateway.requests.clear()
    assert await later.session() is None
    refreshed = store.load(BASE, name)
    assert refreshed is not None and refreshed.id_token != kept.id_token and not refreshed.needs_refresh()
    assert refreshed.refresh_token == kept.refresh_token  # Cognito's refresh answer has none: kept
    assert [r.headers["authorization"] for r in gateway.requests] == [refreshed.id_token]


async def test_a_401_signs_in_once_more_then_gives_up(gateway, stack):
    client = make_client(gateway)
    name = await confirmed(client, stack)
    first = await client.sign_in(name, PASSWORD)
    gateway.refused.add(first.id_token)  # e.g. the pool's keys were rotated under this token
    gateway.requests.clear()
    assert await client.session() is None
    second = (await client.auth()).tokens
    assert gateway.paths == ["/session", "/session"] and second.id_token != first.id_token

    idp(stack).admin_disable_user(UserPoolId=stack.user_pool_id, Username=name)
    gateway.refused.add(second.id_token)
    gateway.requests.clear()
    with pytest.raises(AuthenticationError):
        await client.session()
    assert gateway.paths == ["/session"]  # the sign-in was refused: no second try


async def test_forgotten_password(gateway, stack):
    client = make_client(gateway)
    name = await confirmed(client, stack)
    await client.forgot_password(name)
    with pytest.raises(UnprocessableError) as wrong:
        await client.confirm_forgot_password(name, "moto-confirmation-code:000000", "new-password")
    assert wrong.value.code == "ExpiredCodeException"
    await client.confirm_forgot_password(name, "123456", "new-password")
    await client.sign_in(name, "new-password")
    assert client.username == name


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


async def test_unreachable_key_set_is_a_connection_error(gateway, stack, monkeypatch):
    monkeypatch.delenv("COGNITO_JWKS")
    unreachable = f"http://127.0.0.1:{closed_port()}"

    def factory(*args):
        user = _cognito_factory(*args)
        user.pool_domain_url = unreachable  # where pycognito fetches the key set from
        return user

    client = make_client(gateway, cognito_factory=factory)
    name = await confirmed(client, stack)
    with pytest.raises(APIConnectionError) as info:
        await client.sign_in(name, PASSWORD)
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def key_set(kid: str) -> dict:
    """A key set with one RSA key that did not sign moto's tokens."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(other)), "kid": kid, "alg": "RS256"}]}


@pytest.mark.parametrize("kid", ["dummy", "another"], ids=["wrong-key", "unknown-kid"])
async def test_token_failing_verification_is_an_authentication_error(gateway, stack, monkeypatch, kid):
    client = make_client(gateway)
    name = await confirmed(client, stack)
    monkeypatch.setenv("COGNITO_JWKS", json.dumps(key_set(kid)))
    with pytest.raises(AuthenticationError) as info:
        await client.sign_in(name, PASSWORD)
    assert isinstance(info.value.__cause__, TokenVerificationException)
    assert client.username is None  # nothing kept from a sign-in that failed


async def test_unreachable_cognito_is_a_connection_error(gateway, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore would try 3 times, with pauses
    client = make_client(gateway)
    with pytest.raises(APIConnectionError) as info:
        await client.sign_up(new_name(), PASSWORD)
    assert info.value.sent is False and isinstance(info.value.__cause__, EndpointConnectionError)
