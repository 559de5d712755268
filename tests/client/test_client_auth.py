"""Local sign-in, the token file, refresh before expiry and the single re-sign-in after a 401."""

from __future__ import annotations

import json
import stat

import httpx
import pytest
from client_support import make_jwt

from api_client import (
    AuthenticationError,
    AuthUnsupportedError,
    ConflictError,
    RateLimitError,
    SpaceInvadersClient,
    Tokens,
    TokenStore,
)
from api_client.models import AuthenticationResult

BASE = "http://local.test/v1"


class FakeLocalAuth:
    """The local server's /config and /auth/* as API.md describes them, plus one guarded path."""

    def __init__(self, expires_in: float = 3600) -> None:
        self.users: dict[str, str] = {}
        self.valid: set[str] = set()
        self.expires_in = expires_in
        self.paths: list[str] = []
        self.failures = 0

    def issue(self, username: str) -> dict[str, object]:
        token = make_jwt(username, ["Managers"] if username == "boss" else ["Gamer"], self.expires_in)
        self.valid.add(token)
        return {
            "IdToken": token,
            "AccessToken": "a",
            "ExpiresIn": int(self.expires_in),
            "TokenType": "Bearer",
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        self.paths.append(path)
        body = json.loads(request.content) if request.content else {}
        if path == "/config":
            return httpx.Response(200, json={"Parameters": [{"Name": "/local/auth", "Value": "local"}]})
        if path == "/auth/signup":
            if body["Username"] in self.users:
                return httpx.Response(409, json={"errorMessage": "taken", "errorCode": "UsernameExists"})
            self.users[body["Username"]] = body["Password"]
            return httpx.Response(201, json={"UserConfirmed": True, "Username": body["Username"]})
        if path == "/auth/signin":
            if self.failures >= 3:
                return httpx.Response(
                    429,
                    headers={"Retry-After": "30"},
                    json={"errorMessage": "slow down", "errorCode": "TooManyAttempts"},
                )
            if self.users.get(body["Username"]) != body["Password"]:
                self.failures += 1
                return httpx.Response(401, json={"errorMessage": "no", "errorCode": "InvalidCredentials"})
            return httpx.Response(
                200, json={**self.issue(body["Username"]), "RefreshToken": f"r-{body['Username']}"}
            )
        if path == "/auth/refresh":
            if not body["RefreshToken"].startswith("r-"):
                return httpx.Response(401, json={"errorMessage": "bad", "errorCode": "InvalidRefreshToken"})
            return httpx.Response(200, json=self.issue(body["RefreshToken"][2:]))
        if request.headers.get("authorization") not in self.valid:
            return httpx.Response(401, json={"errorMessage": "bad token", "errorCode": "InvalidToken"})
        return httpx.Response(200, content=b"null")


@pytest.fixture
def server() -> FakeLocalAuth:
    return FakeLocalAuth()


def make(server: FakeLocalAuth, store: TokenStore | None) -> SpaceInvadersClient:
    return SpaceInvadersClient(
        BASE, http=httpx.AsyncClient(transport=httpx.MockTransport(server)), token_store=store
    )


async def test_local_sign_up_sign_in_and_errors(server, tmp_path):
    client = make(server, None)
    assert (await client.sign_up("alice", "password1")).UserConfirmed
    with pytest.raises(ConflictError):
        await client.sign_up("alice", "password1")
    with pytest.raises(AuthenticationError):
        await client.sign_in("alice", "nope")
    tokens = await client.sign_in("alice", "password1")
    assert tokens.username == "alice" and tokens.refresh_token == "r-alice" and client.groups == {"Gamer"}
    with pytest.raises(AuthUnsupportedError):
        await client.forgot_password("alice")


async def test_throttled_sign_in_is_a_rate_limit_error_with_retry_after(server):
    client = make(server, None)
    await client.sign_up("alice", "password1")
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            await client.sign_in("alice", "wrong")
    with pytest.raises(RateLimitError) as info:
        await client.sign_in("alice", "password1")
    assert info.value.retry_after == 30  # longer than the retry budget: raised at once, not slept


async def test_tokens_kept_between_runs_owner_only(server, tmp_path):
    store = TokenStore(tmp_path / "config")
    first = make(server, store)
    await first.sign_up("alice", "password1")
    await first.sign_in("alice", "password1")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    second = make(server, store)  # a new run
    assert await second.resume()
    assert second.username == "alice"
    assert await second.session() is None  # the kept token works
    assert await make(server, TokenStore(tmp_path / "elsewhere")).resume() is False
    second.sign_out()
    assert await make(server, store).resume() is False


async def test_damaged_token_file_costs_only_a_sign_in(tmp_path):
    store = TokenStore(tmp_path)
    tmp_path.joinpath("tokens.json").write_text("{not json")
    assert store.load(BASE) is None
    store.save(BASE, "bob", Tokens("i", "a", "r", 1.0))
    assert store.load(BASE, "bob") == Tokens("i", "a", "r", 1.0)


async def test_refresh_before_expiry_keeps_the_refresh_token(server, tmp_path):
    server.expires_in = 30  # inside the 60 s margin: every use refreshes
    client = make(server, TokenStore(tmp_path))
    await client.sign_up("alice", "password1")
    await client.sign_in("alice", "password1")
    server.paths.clear()
    await client.session()
    assert server.paths == ["/auth/refresh", "/session"]
    auth = await client.auth()
    assert auth.tokens is not None and auth.tokens.refresh_token == "r-alice"  # refresh omits it


async def test_a_401_tries_one_fresh_sign_in_then_gives_up(server):
    client = make(server, None)
    await client.sign_up("alice", "password1")
    await client.sign_in("alice", "password1")
    server.valid.clear()  # e.g. the server restarted with new keys
    server.paths.clear()
    await client.session()
    assert server.paths == ["/session", "/auth/signin", "/session"]
    server.users["alice"] = "changed"
    server.valid.clear()
    server.paths.clear()
    with pytest.raises(AuthenticationError):
        await client.session()
    assert server.paths == ["/session", "/auth/signin"]


def test_tokens_read_claims_and_normalise_groups():
    token = make_jwt("m", ["Managers", "Players"], 600)
    tokens = Tokens.from_result(AuthenticationResult(IdToken=token, ExpiresIn=600))
    assert tokens.groups == {"Manager", "Gamer"} and tokens.username == "m"
    assert not tokens.needs_refresh() and tokens.needs_refresh(tokens.expires_at - 59)
