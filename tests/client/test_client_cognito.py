"""Signing in to the AWS deployment on moto, as `spaceinvaders --api https://...` and the bots do.

The deployment is tests/aws_world.py's: the resources of tests/aws_stack.py on moto, and the template's
REST API as tests/aws_gateway.py plays it (its Cognito authorizer checks ID tokens against moto's key
set), reached through httpx at the stack's https base URL. What moto does not do is done here by hand:
running the post-confirmation trigger (the template's handler, called as Cognito would call it), and
groups named like the later original's (`Players`, `Managers`). moto checks neither SRP passwords nor
sign-up codes, so those refusals are not tested here (their Cognito codes map like the others).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import socket

import httpx
import jwt
import pytest
import requests
from aws_gateway import LambdaContext, gateway_response
from aws_world import MotoWorld
from botocore.exceptions import EndpointConnectionError
from cryptography.hazmat.primitives.asymmetric import rsa
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
from spaceinvaders_backend.aws.handlers import cognito_triggers

ENV = "clientcognito"
BASE = f"https://abc123.execute-api.us-east-1.amazonaws.com/{ENV}/v1"  # the stack's ApiUrl output
PASSWORD = "password1"
MOTO_JWKS = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)


@pytest.fixture(scope="module")
def world():
    with MotoWorld(ENV) as world:
        for group in ("Players", "Managers"):  # the later original's names, beside the stack's own
            world.idp.create_group(UserPoolId=world.stack.user_pool_id, GroupName=group)
        yield world


@pytest.fixture(autouse=True)
def moto_key_set(monkeypatch):
    """pycognito reads the pool's key set from COGNITO_JWKS instead of fetching it from AWS."""
    monkeypatch.setenv("COGNITO_JWKS", json.dumps(MOTO_JWKS))


class Gateway:
    """The deployed API as httpx reaches it. Tokens in `refused` get API Gateway's 401, as they would
    after the pool's keys were rotated."""

    def __init__(self, world: MotoWorld) -> None:
        self.api = world.api
        self.requests: list[httpx.Request] = []
        self.refused: set[str] = set()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def paths(self) -> list[str]:
        return [request.url.path.removeprefix(f"/{ENV}/v1") for request in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        token = request.headers.get("authorization")
        if token in self.refused:
            answer = gateway_response("UNAUTHORIZED", "Unauthorized")
        else:
            answer = self.api.call(
                request.method,
                request.url.path.removeprefix(f"/{ENV}"),
                token,
                body=request.content.decode(),
                query=dict(request.url.params),
                content_type=request.headers.get("content-type", "application/json"),
            )
        return httpx.Response(answer.status, content=answer.body.encode(), headers=answer.headers)


@pytest.fixture
def gateway(world) -> Gateway:
    return Gateway(world)


_numbers = itertools.count()


def new_name() -> str:
    return f"player{next(_numbers)}"


def make_client(gateway: Gateway, store: TokenStore | None = None, **options) -> SpaceInvadersClient:
    http = httpx.AsyncClient(transport=gateway.transport())
    return SpaceInvadersClient(BASE, http=http, token_store=store, **options)


def post_confirmation(world: MotoWorld, name: str) -> None:
    """Cognito's post-confirmation trigger, which moto does not run: the template's handler."""
    event = {
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "userPoolId": world.stack.user_pool_id,
        "userName": name,
        "request": {},
        "response": {},
    }
    cognito_triggers.handler(event, LambdaContext())


async def confirmed(client: SpaceInvadersClient, world: MotoWorld) -> str:
    """A new player, signed up and confirmed (so in `Gamer`)."""
    name = new_name()
    await client.sign_up(name, PASSWORD, email=f"{name}@example.com")
    await client.confirm_sign_up(name, "123456")  # moto takes any code
    post_confirmation(world, name)
    return name


async def test_sign_up_confirm_and_srp_sign_in(gateway, world):
    client = make_client(gateway)
    assert (await client.config()).uses_cognito
    name = new_name()
    signed_up = await client.sign_up(name, PASSWORD, email=f"{name}@example.com")
    assert signed_up.UserConfirmed is False  # a code was sent
    with pytest.raises(PermissionDeniedError) as unconfirmed:
        await client.sign_in(name, PASSWORD)
    assert unconfirmed.value.code == "UserNotConfirmedException"
    await client.confirm_sign_up(name, "123456")
    post_confirmation(world, name)
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
        (("Gamer",), {"Gamer"}),
        (("Manager",), {"Manager"}),
        (("Gamer", "Manager"), {"Gamer", "Manager"}),
        (("Players",), {"Gamer"}),
        (("Managers",), {"Manager"}),
    ],
)
async def test_groups_in_the_token(gateway, world, groups, expected):
    client = make_client(gateway)
    name = await confirmed(client, world)
    pool = world.stack.user_pool_id
    for group in groups:
        world.idp.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName=group)
    if "Gamer" not in groups:
        world.idp.admin_remove_user_from_group(UserPoolId=pool, Username=name, GroupName="Gamer")
    await client.sign_in(name, PASSWORD)
    assert client.groups == expected


async def test_many_players_in_one_process_sign_in_at_once(gateway, world):
    """As the bots do: sign-ins overlap in worker threads, where boto3's sessions are not thread-safe."""
    http = httpx.AsyncClient(transport=gateway.transport())
    players = [SpaceInvadersClient(BASE, http=http, token_store=None) for _ in range(12)]
    names = [await confirmed(player, world) for player in players]
    await asyncio.gather(*(player.sign_in(name, PASSWORD) for player, name in zip(players, names, strict=True)))
    assert [player.username for player in players] == names
    assert await asyncio.gather(*(player.session() for player in players)) == [None] * len(players)


async def test_token_file_then_refresh_without_the_password(gateway, world, tmp_path):
    store = TokenStore(tmp_path)
    first = make_client(gateway, store)
    name = await confirmed(first, world)
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


async def test_a_401_signs_in_once_more_then_gives_up(gateway, world):
    client = make_client(gateway)
    name = await confirmed(client, world)
    first = await client.sign_in(name, PASSWORD)
    gateway.refused.add(first.id_token)  # e.g. the pool's keys were rotated under this token
    gateway.requests.clear()
    assert await client.session() is None
    second = (await client.auth()).tokens
    assert gateway.paths == ["/session", "/session"] and second.id_token != first.id_token

    world.idp.admin_disable_user(UserPoolId=world.stack.user_pool_id, Username=name)
    gateway.refused.add(second.id_token)
    gateway.requests.clear()
    with pytest.raises(AuthenticationError):
        await client.session()
    assert gateway.paths == ["/session"]  # the sign-in was refused: no second try


async def test_forgotten_password(gateway, world):
    client = make_client(gateway)
    name = await confirmed(client, world)
    await client.forgot_password(name)
    with pytest.raises(UnprocessableError) as wrong:
        await client.confirm_forgot_password(name, "moto-confirmation-code:000000", "new-password")
    assert wrong.value.code == "ExpiredCodeException"
    await client.confirm_forgot_password(name, "123456", "new-password")
    await client.sign_in(name, "new-password")
    assert client.username == name


async def test_a_forgotten_password_needs_a_verified_address(gateway, world):
    """Cognito refuses the reset without a verified e-mail address or phone number (InvalidParameterException,
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgotPassword.html);
    the address given at sign-up is verified by the confirmation above, none here."""
    client = make_client(gateway)
    name = new_name()
    await client.sign_up(name, PASSWORD)
    await client.confirm_sign_up(name, "123456")
    with pytest.raises(BadRequestError) as refused:
        await client.forgot_password(name)
    assert refused.value.code == "InvalidParameterException"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


async def test_unreachable_key_set_is_a_connection_error(gateway, world, monkeypatch):
    monkeypatch.delenv("COGNITO_JWKS")
    unreachable = f"http://127.0.0.1:{closed_port()}"

    def factory(*args):
        user = _cognito_factory(*args)
        user.pool_domain_url = unreachable  # where pycognito fetches the key set from
        return user

    client = make_client(gateway, cognito_factory=factory)
    name = await confirmed(client, world)
    with pytest.raises(APIConnectionError) as info:
        await client.sign_in(name, PASSWORD)
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def key_set(kid: str) -> dict:
    """A key set with one RSA key that did not sign moto's tokens."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(other)), "kid": kid, "alg": "RS256"}]}


@pytest.mark.parametrize("kid", ["dummy", "another"], ids=["wrong-key", "unknown-kid"])
async def test_token_failing_verification_is_an_authentication_error(gateway, world, monkeypatch, kid):
    client = make_client(gateway)
    name = await confirmed(client, world)
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


@pytest.fixture
def case_insensitive_pools(monkeypatch):
    """moto's pools match usernames exactly, whatever their UsernameConfiguration. AWS documents that with
    `CaseSensitive: false` (our template's) "users can sign in using username, USERNAME, or UserName" and
    "Amazon Cognito treats any variation in case as the same user"
    (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UsernameConfigurationType.html),
    and the tokens name the account as it was created. Played here, for such pools only."""
    from moto.cognitoidp.models import CognitoIdpUserPool

    find, sign = CognitoIdpUserPool._get_user, CognitoIdpUserPool.create_jwt

    def insensitive(pool) -> bool:
        return (pool.extended_config.get("UsernameConfiguration") or {}).get("CaseSensitive") is False

    def get_user(pool, username):
        user = find(pool, username)
        if user is None and insensitive(pool):
            user = next((u for name, u in pool.users.items() if name.casefold() == username.casefold()), None)
        return user

    def create_jwt(pool, client_id, username, *args, **kwargs):
        user = get_user(pool, username)
        return sign(pool, client_id, user.username if user is not None else username, *args, **kwargs)

    monkeypatch.setattr(CognitoIdpUserPool, "_get_user", get_user)
    monkeypatch.setattr(CognitoIdpUserPool, "create_jwt", create_jwt)


def test_only_pools_made_case_insensitive_match_names_in_any_case(world, case_insensitive_pools):
    strict = world.idp.create_user_pool(PoolName="strict", UsernameConfiguration={"CaseSensitive": True})
    pool_id = strict["UserPool"]["Id"]
    world.idp.admin_create_user(UserPoolId=pool_id, Username="Dave")
    with pytest.raises(world.idp.exceptions.UserNotFoundException):
        world.idp.admin_get_user(UserPoolId=pool_id, Username="dave")


async def test_the_players_name_is_the_tokens_cognito_username_not_what_was_typed(gateway, world,
                                                                                  case_insensitive_pools):
    """Signing in as `carol` to the account `Carol` posts as `Carol`: the mapping template and the handlers
    compare the bodies' names with the token's."""
    client = make_client(gateway)
    account = new_name().capitalize()
    await client.sign_up(account, PASSWORD, email=f"{account}@example.com")
    await client.confirm_sign_up(account, "123456")
    post_confirmation(world, account)
    tokens = await client.sign_in(account.lower(), PASSWORD)
    assert tokens.username == account and client.username == account
    await client.deallocate()
    assert json.loads(gateway.requests[-1].content) == {"Username": account}
