"""Test helpers: hand-made JWTs, a fake of the original AWS API, a client signed in to a fake."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

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


ORIGINAL_CONFIG = {
    "/spaceinvaders/clientid": "client123",
    "/spaceinvaders/identitypoolid": "us-east-1:abc",
    "/spaceinvaders/userpoolid": "us-east-1_Pool",
    "/spaceinvaders/userpoolurl": "cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool",
}


class FakeOriginal:
    """Answers exactly like the original deployment (API Gateway + Lambda + direct Kinesis + SSM).

    - `/config`: SSM GetParameters with Cognito's names.
    - `/session`: the SSM parameter passed through: a JSON *string* holding the document, or "null".
    - `/updatestatus`: Kinesis PutRecord's answer; `/deallocate` success body is `null`.
    - The authorizer takes the raw ID token when `authorize(token)` says so, and answers
      `{"message": "Unauthorized"}` otherwise.
    """

    def __init__(self, authorize: Callable[[str], bool]) -> None:
        self.authorize = authorize
        self.session: dict[str, Any] | None = None
        self.requests: list[httpx.Request] = []
        self.records: list[dict[str, Any]] = []
        self.seated: set[str] = set()
        self.total_seats = 150

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def paths(self) -> list[str]:
        return [request.url.path.removeprefix("/prod/v1") for request in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/prod/v1")
        if path == "/config":
            parameters = [
                {"Name": name, "Type": "String", "Value": value, "Version": 1}
                for name, value in ORIGINAL_CONFIG.items()
            ]
            return httpx.Response(200, json={"Parameters": parameters, "InvalidParameters": []})
        token = request.headers.get("authorization")
        if not token or not self.authorize(token):
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


class StaticSignIn:
    """A sign-in backend that hands out a gamer's token at once, and remembers the tokens it issued."""

    def __init__(self) -> None:
        self.issued: set[str] = set()

    async def sign_in(self, username: str, password: str) -> AuthenticationResult:
        token = make_jwt(username, ["Gamer"])
        self.issued.add(token)
        return AuthenticationResult(IdToken=token)


async def signed_in_client(
    handler: Callable[[httpx.Request], Any], base_url: str = "http://s.test/v1", **options: Any
) -> SpaceInvadersClient:
    """A client, signed in as alice, whose requests all go to `handler` (an httpx.MockTransport).

    `options` go to `SpaceInvadersClient` (e.g. `retry`, `sleep`).
    """
    client = SpaceInvadersClient(
        base_url,
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        token_store=None,
        sign_in_backend=StaticSignIn(),  # type: ignore[arg-type]
        **options,
    )
    await client.sign_in("alice", "pw")
    return client
