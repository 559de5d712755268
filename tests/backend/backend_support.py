"""Helpers for the local server's tests: users signed up and in over HTTP, a manager, sessions, waiting."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from spaceinvaders_backend.core.timeutil import to_iso
from spaceinvaders_backend.local.process import ServerProcess as LocalServer  # noqa: F401 - for the tests

ERROR_KEYS = {"errorMessage", "errorCode", "errorDetails"}
PASSWORD = "correct-horse"


def unique(prefix: str = "u") -> str:
    """A fresh name that fits the Nickname pattern (1 to 32 of [A-Za-z0-9_.-])."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer has `status` and the contract's error body (and `code` when given)."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"], body
    assert isinstance(body["errorCode"], str) and body["errorCode"], body
    if code is not None:
        assert body["errorCode"] == code, body
    return body


def ok(resp: httpx.Response) -> Any:
    """The JSON of a 200 answer."""
    assert resp.status_code == 200, resp.text
    return resp.json()


def status_body(session_id: str, nick: str, score: int, *, shots: int = 0, level: int = 1, lives: int = 3,
                ts: float | None = None, **extra: Any) -> dict[str, Any]:
    return {"SessionId": session_id, "Nickname": nick, "Score": score, "Shots": shots, "Level": level,
            "Lives": lives, "Timestamp": to_iso(time.time() if ts is None else ts), **extra}


def wait_until(fn: Callable[[], Any], timeout: float = 3.0, interval: float = 0.05, what: str = "") -> Any:
    """fn()'s first truthy value within `timeout` seconds, else an assertion error with the last value."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or fn}: last value {value!r}")
        time.sleep(interval)
        value = fn()
    return value


class User:
    """A signed-in user; requests carry the raw ID token, as the existing API takes it."""

    def __init__(self, http: httpx.Client, name: str, password: str, tokens: dict[str, Any]) -> None:
        self.http = http
        self.name = name
        self.password = password
        self.tokens = tokens

    def with_own_client(self, timeout: float = 5.0) -> User:
        """The same user on a client of its own, for a thread (close its `http` after use)."""
        client = httpx.Client(base_url=self.http.base_url, timeout=timeout)
        return type(self)(client, self.name, self.password, self.tokens)

    @property
    def token(self) -> str:
        return self.tokens["IdToken"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": self.token}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    # --- player paths ------------------------------------------------------------------------------
    def allocate(self, username: str | None = None) -> httpx.Response:
        return self.post("/allocate", {"Username": username or self.name})

    def deallocate(self, username: str | None = None) -> httpx.Response:
        return self.post("/deallocate", {"Username": username or self.name})

    def seat(self) -> None:
        r = self.allocate()
        assert r.status_code == 200, r.text

    def status(self, session_id: str, score: int, **kw: Any) -> httpx.Response:
        return self.post("/updatestatus", status_body(session_id, self.name, score, **kw))

    def ok_status(self, session_id: str, score: int, **kw: Any) -> dict[str, Any]:
        return ok(self.status(session_id, score, **kw))

    def scoreboard(self, session_id: str) -> list[dict[str, Any]]:
        return ok(self.get("/scoreboard", params={"sessionId": session_id}))["Scoreboard"]

    def session(self) -> Any:
        return ok(self.get("/session"))


class Manager(User):
    def open_session(self, game_type: str = "MULTIPLE_TRIALS", synchronized: bool = False,
                     name: str | None = None, **kw: Any) -> dict[str, Any]:
        """A new session, after closing whatever is open."""
        r = self.post("/manager/session/close")
        assert r.status_code in (200, 409), r.text
        body = {"SessionName": name or unique("S"), "GameType": game_type, "Synchronized": synchronized, **kw}
        r = self.post("/manager/session", body)
        assert r.status_code == 201, r.text
        return r.json()

    def close_session(self) -> dict[str, Any]:
        return ok(self.post("/manager/session/close"))

    def players(self, session_id: str) -> dict[str, Any]:
        return ok(self.get("/manager/players", params={"sessionId": session_id}))

    def board(self, session_id: str) -> list[dict[str, Any]]:
        return ok(self.get("/manager/scoreboard", params={"sessionId": session_id}))["Scoreboard"]

    def export(self, session_id: str, fmt: str = "jsonl") -> httpx.Response:
        r = self.get("/manager/export", params={"sessionId": session_id, "format": fmt})
        assert r.status_code == 200, r.text
        return r

    def wait_finished(self, session_id: str, name: str, timeout: float = 3.0) -> dict[str, Any]:
        return wait_until(lambda: p if name in (p := self.players(session_id))["FinishedGamers"] else None,
                          timeout, what=f"{name} in FinishedGamers")

    def wait_entry(self, session_id: str, name: str, timeout: float = 3.0, **expected: Any) -> dict[str, Any]:
        """Wait until the board shows `name` with the expected fields (e.g. Score=100)."""
        def entry():
            for e in self.board(session_id):
                if e["Nickname"] == name and all(e[k] == v for k, v in expected.items()):
                    return e
            return None
        return wait_until(entry, timeout, what=f"{name} {expected} on the board")


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=15)

    def signup(self, name: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return self.http.post("/auth/signup", json={"Username": name, "Password": password, **extra})

    def signin(self, name: str, password: str = PASSWORD) -> httpx.Response:
        return self.http.post("/auth/signin", json={"Username": name, "Password": password})

    def gamer(self, name: str | None = None, password: str = PASSWORD) -> User:
        name = name or unique("g")
        r = self.signup(name, password)
        assert r.status_code == 201, r.text
        r = self.signin(name, password)
        assert r.status_code == 200, r.text
        return User(self.http, name, password, r.json())

    def gamers(self, n: int, prefix: str = "g") -> list[User]:
        return [self.gamer(unique(prefix)) for _ in range(n)]

    def manager(self, server, name: str | None = None, password: str = PASSWORD) -> Manager:
        name = name or unique("m")
        server.create_manager(name, password)
        r = self.signin(name, password)
        assert r.status_code == 200, r.text
        return Manager(self.http, name, password, r.json())

    def close(self) -> None:
        self.http.close()


def minted_gamers(server, count: int, prefix: str = "t") -> list[tuple[str, str]]:
    """(name, ID token) of `count` Gamers, tokens signed with the running server's key: no sign-up nor
    password hash (the seat paths check the token only)."""
    from spaceinvaders_backend.local.settings import Settings
    from spaceinvaders_backend.local.tokens import GAMER, TokenService

    settings = Settings(data_dir=server.data_dir)
    minter = TokenService(settings.data_dir, settings.id_token_lifetime_seconds)
    names = [f"{prefix}{i:05d}" for i in range(count)]
    return [(name, minter.issue(name, f"sub-{name}", [GAMER]).IdToken) for name in names]
