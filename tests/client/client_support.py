"""Test helpers: hand-made JWTs, a fake of the original AWS API, and a fake pycognito user."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from botocore.exceptions import ClientError

from api_client import SpaceInvadersClient
from api_client.models import AuthenticationResult


def make_jwt(username: str, groups: list[str], expires_in: float = 3600, **extra: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = time.time()
    claims = {
        "sub": f"sub-{username}",
        "cognito:username": username,
        "cognito:groups": groups,
        "token_use": "id",
        "iat": int(now),
        "exp": int(now + expires_in),
        **extra,
    }
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


ORIGINAL_SESSION = {
    "SessionId": "TEST261126T221500",
    "GameType": "MULTIPLE_TRIALS",
    "Synchronized": False,
    "TimeoutInMinutes": 5,
    "TotalSeats": 150,
    "OpeningTime": "2026-11-26T22:15:00.123Z",
}


class FakeOriginal:
    """Answers exactly like the original deployment (API Gateway + Lambda + direct Kinesis + SSM).

    - `/config`: SSM GetParameters with Cognito names.
    - `/session`: the SSM parameter passed through: a JSON *string* holding the document, or "null".
    - `/updatestatus`: Kinesis PutRecord's answer; `/deallocate` success body is `null`.
    - The authorizer takes the raw ID token and answers `{"message": "Unauthorized"}` otherwise.
    """

    def __init__(self, valid_tokens: set[str]) -> None:
        self.valid_tokens = valid_tokens
        self.session: dict[str, Any] | None = None
        self.requests: list[httpx.Request] = []
        self.records: list[dict[str, Any]] = []
        self.seated: set[str] = set()
        self.total_seats = 150

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/prod/v1")
        if path == "/config":
            return httpx.Response(
                200,
                json={
                    "Parameters": [
                        {
                            "Name": "/spaceinvaders/clientid",
                            "Type": "String",
                            "Value": "client123",
                            "Version": 1,
                        },
                        {"Name": "/spaceinvaders/identitypoolid", "Type": "String", "Value": "us-east-1:abc"},
                        {"Name": "/spaceinvaders/userpoolid", "Type": "String", "Value": "us-east-1_Pool"},
                        {
                            "Name": "/spaceinvaders/userpoolurl",
                            "Type": "String",
                            "Value": "cognito-idp.us-east-1...",
                        },
                    ],
                    "InvalidParameters": [],
                },
            )
        if request.headers.get("authorization") not in self.valid_tokens:
            return httpx.Response(401, json={"message": "Unauthorized"})
        body = json.loads(request.content) if request.content else None
        if path == "/session":
            return httpx.Response(200, json=json.dumps(self.session) if self.session else "null")
        if path == "/updatestatus":
            self.records.append(body)
            return httpx.Response(
                200,
                json={"SequenceNumber": f"4961{len(self.records):040d}", "ShardId": "shardId-000000000000"},
            )
        if path == "/allocate":
            return self._allocate(body["Username"])
        if path == "/deallocate":
            self.seated.discard(body["Username"])
            return httpx.Response(200, content=b"null", headers={"content-type": "application/json"})
        if path == "/scoreboard":
            best: dict[str, dict[str, Any]] = {}
            for record in self.records:
                best[record["Nickname"]] = record
            ranked = sorted(
                best.values(), key=lambda r: (-r["Score"], -r["Lives"], r["Shots"], r["Nickname"])
            )
            return httpx.Response(
                200,
                json={
                    "Scoreboard": [
                        {k: r[k] for k in ("Score", "Level", "Shots", "Nickname", "Lives")}
                        for r in ranked[:10]
                    ]
                },
            )
        return httpx.Response(403, json={"message": "Missing Authentication Token"})

    def _allocate(self, username: str) -> httpx.Response:
        def error(code: str, message: str) -> httpx.Response:
            return httpx.Response(
                422, json={"errorMessage": message, "errorCode": code, "errorDetails": None}
            )

        if self.session is None:
            return error("NoSessionAvailable", "No session available.")
        if "ClosingTime" in self.session:
            return error("SessionClosed", "Session closed.")
        if username in self.seated:
            return httpx.Response(200, json={"successMessage": "Keep playing."})
        if len(self.seated) >= self.total_seats:
            return error("NoSeatsAvailable", "No seats available.")
        self.seated.add(username)
        return httpx.Response(200, json={"successMessage": f"Welcome, {username}."})


def client_error(code: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Operation",
    )


class FakeCognitoPool:
    """A user pool in memory, and a factory of pycognito-like user objects over it."""

    def __init__(self, groups: list[str] | None = None) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.groups = groups or ["Players"]
        self.calls: list[str] = []
        self.issued: set[str] = set()

    def factory(
        self, pool_id: str, client_id: str, region: str | None, username: str | None
    ) -> FakeCognitoUser:
        assert (pool_id, client_id, region) == ("us-east-1_Pool", "client123", "us-east-1")
        return FakeCognitoUser(self, username)

    def issue(self, username: str, expires_in: float = 3600) -> str:
        token = make_jwt(username, self.groups, expires_in)
        self.issued.add(token)
        return token


class FakeCognitoUser:
    """The methods of `pycognito.Cognito` the client uses, with Cognito's error codes."""

    def __init__(self, pool: FakeCognitoPool, username: str | None) -> None:
        self.pool, self.username = pool, username
        self.id_token = self.access_token = self.refresh_token = self.token_type = None
        self.base_attributes: dict[str, Any] = {}

    def _record(self, name: str) -> None:
        self.pool.calls.append(name)

    def set_base_attributes(self, **kwargs: Any) -> None:
        self.base_attributes = kwargs

    def register(self, username: str, password: str) -> dict[str, Any]:
        self._record("register")
        if username in self.pool.users:
            raise client_error("UsernameExistsException", "User already exists")
        self.pool.users[username] = {
            "password": password,
            "confirmed": False,
            "code": "123456",
            "email": self.base_attributes.get("email"),
        }
        return {
            "UserConfirmed": False,
            "UserSub": "sub",
            "CodeDeliveryDetails": {"Destination": "a***@b.c", "DeliveryMedium": "EMAIL"},
        }

    def confirm_sign_up(self, code: str, username: str | None = None) -> None:
        self._record("confirm_sign_up")
        user = self.pool.users[username or self.username]
        if code != user["code"]:
            raise client_error("CodeMismatchException", "Invalid code")
        user["confirmed"] = True

    def authenticate(self, password: str) -> None:
        self._record("authenticate")
        user = self.pool.users.get(self.username)
        if user is None or user["password"] != password:
            raise client_error("NotAuthorizedException", "Incorrect username or password.")
        if not user["confirmed"]:
            raise client_error("UserNotConfirmedException", "User is not confirmed.")
        self._tokens(refresh=True)

    def renew_access_token(self) -> None:
        self._record("renew_access_token")
        if self.refresh_token != f"refresh-{self.username}":
            raise client_error("NotAuthorizedException", "Invalid Refresh Token")
        self._tokens(refresh=False)

    def _tokens(self, refresh: bool) -> None:
        self.id_token = self.pool.issue(self.username)
        self.access_token = "access"
        if refresh:
            self.refresh_token = f"refresh-{self.username}"
        self.token_type = "Bearer"

    def initiate_forgot_password(self) -> None:
        self._record("initiate_forgot_password")
        self.pool.users[self.username]["code"] = "654321"

    def confirm_forgot_password(self, code: str, password: str) -> None:
        self._record("confirm_forgot_password")
        user = self.pool.users[self.username]
        if code != user["code"]:
            raise client_error("CodeMismatchException", "Invalid verification code provided")
        user["password"] = password


Handler = Callable[[httpx.Request], httpx.Response]


class StaticSignIn:
    """A sign-in backend that hands out a gamer's token at once."""

    async def sign_in(self, username: str, password: str) -> AuthenticationResult:
        return AuthenticationResult(IdToken=make_jwt(username, ["Gamer"]))


async def signed_in_client(handler: Callable[[httpx.Request], Any]) -> SpaceInvadersClient:
    """A client, signed in as alice, whose requests all go to `handler` (an httpx.MockTransport)."""
    client = SpaceInvadersClient(
        "http://s.test/v1",
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        token_store=None,
        sign_in_backend=StaticSignIn(),
    )  # type: ignore[arg-type]
    await client.sign_in("alice", "pw")
    return client
