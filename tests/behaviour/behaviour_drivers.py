"""Two ways to play the same game, for the behaviour suite: over HTTP against the local server, and against
the AWS handlers on moto (the REST API of the template, the stream pumped into the scoreboard function, the
manager's operations through the stores its console runs). Each answers as the contract does: status codes and JSON.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.sync.client import ClientConnection, connect

from spaceinvaders_backend.core.timeutil import to_iso

PASSWORD = "correct-horse"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Player:
    name: str
    token: str


def status(session_id: str, nickname: str, score: int, lives: int, shots: int, level: int, ts: float) -> dict:
    return {
        "SessionId": session_id,
        "Nickname": nickname,
        "Score": score,
        "Shots": shots,
        "Level": level,
        "Lives": lives,
        "Timestamp": to_iso(ts),
    }


def push_socket(websocket_url: str, token: str | None, session_id: str | None) -> ClientConnection:
    """A waiting player's push connection, as the team's protocol has it: `?sessionId=`, the raw ID token
    in `Authorization`. A refused upgrade raises `websockets.exceptions.InvalidStatus`."""
    host = urlsplit(websocket_url).hostname
    # Test traffic stays on loopback: a URL naming anything else is a broken emulation, not a host to try.
    assert host is not None and ipaddress.ip_address(host).is_loopback, f"not a loopback URL: {websocket_url}"
    headers = {} if token is None else {"Authorization": token}
    query = f"?sessionId={session_id}" if session_id else ""
    return connect(f"{websocket_url}{query}", additional_headers=headers, open_timeout=10)


def next_message(socket: ClientConnection, action: str, timeout: float = 5.0) -> dict:
    """The next message of this action; others (and the bare text `start`) are skipped, as clients do."""
    deadline = time.monotonic() + timeout
    while True:
        text = socket.recv(timeout=max(0.01, deadline - time.monotonic()))
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("action") == action:
            return message


class LocalDriver:
    name = "local"

    def __init__(self, server) -> None:
        self.http = httpx.Client(base_url=server.base_url, timeout=15)
        manager = unique("m")
        server.create_manager(manager, PASSWORD)
        self.manager = Player(manager, self._sign_in(manager))

    def close_http(self) -> None:
        self.http.close()

    def _sign_in(self, name: str) -> str:
        answer = self.http.post("/auth/signin", json={"Username": name, "Password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return answer.json()["IdToken"]

    def _call(self, method: str, path: str, token: str, **kw) -> tuple[int, Any]:
        answer = self.http.request(method, path, headers={"Authorization": token}, **kw)
        return answer.status_code, answer.json()

    def player(self) -> Player:
        name = unique("p")
        answer = self.http.post("/auth/signup", json={"Username": name, "Password": PASSWORD})
        assert answer.status_code == 201, answer.text
        return Player(name, self._sign_in(name))

    def open(self, game_type: str, seats: int = 200, synchronized: bool = False) -> str:
        self._call("POST", "/manager/session/close", self.manager.token)
        code, body = self._call(
            "POST",
            "/manager/session",
            self.manager.token,
            json={
                "SessionName": unique("S"),
                "GameType": game_type,
                "TotalSeats": seats,
                "Synchronized": synchronized,
            },
        )
        assert code == 201, body
        return body["SessionId"]

    def start(self, countdown: float) -> None:
        code, body = self._call(
            "POST", "/manager/session/start", self.manager.token, json={"CountdownSeconds": countdown}
        )
        assert code == 200, body

    def close(self) -> None:
        code, body = self._call("POST", "/manager/session/close", self.manager.token)
        assert code == 200, body

    def start_as(self, p: Player, countdown: float) -> bool:
        """Whether the server started the session for this user."""
        code, _ = self._call("POST", "/manager/session/start", p.token, json={"CountdownSeconds": countdown})
        return code == 200

    def websocket_url(self) -> str:
        answer = self.http.get("/config")
        return {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in answer.json()["Parameters"]}["websocketurl"]

    def session(self, p: Player) -> dict:
        code, body = self._call("GET", "/session", p.token)
        assert code == 200, body
        return body

    def allocate(self, p: Player, username: str | None = None) -> tuple[int, Any]:
        return self._call("POST", "/allocate", p.token, json={"Username": username or p.name})

    def deallocate(self, p: Player) -> tuple[int, Any]:
        return self._call("POST", "/deallocate", p.token, json={"Username": p.name})

    def post(self, p: Player, body: dict) -> int:
        return self._call("POST", "/updatestatus", p.token, json=body)[0]

    def settle(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            health = self.http.get("/health").json()
            if health["processedThrough"] >= health["lastSequenceNumber"]:
                return
            time.sleep(0.05)
        raise AssertionError("the stream processor did not catch up")

    def top(self, p: Player, session_id: str) -> list[dict]:
        code, body = self._call("GET", "/scoreboard", p.token, params={"sessionId": session_id})
        assert code == 200, body
        return body["Scoreboard"]

    def board(self, session_id: str) -> list[dict]:
        code, body = self._call(
            "GET", "/manager/scoreboard", self.manager.token, params={"sessionId": session_id}
        )
        assert code == 200, body
        return body["Scoreboard"]

    def seats(self, session_id: str) -> dict:
        code, body = self._call(
            "GET", "/manager/players", self.manager.token, params={"sessionId": session_id}
        )
        assert code == 200, body
        return {
            "playing": set(body["PlayingGamers"]),
            "finished": set(body["FinishedGamers"]),
            "occupied": body["OccupiedSeats"],
        }


class AwsDriver:
    name = "aws"

    def __init__(self, world) -> None:
        from aws_manager import StoreManager  # tests/ support, imported with moto only when needed

        self.world = world
        self.manager = StoreManager(world.stack)

    def player(self) -> Player:
        return Player(*self.world.user())

    def open(self, game_type: str, seats: int = 200, synchronized: bool = False) -> str:
        return self.manager.reopen(unique("S"), game_type, total_seats=seats, synchronized=synchronized)[
            "SessionId"
        ]

    def start(self, countdown: float) -> None:
        self.manager.start(countdown)

    def close(self) -> None:
        self.manager.close()

    def start_as(self, p: Player, countdown: float) -> bool:
        """A user's start over the WebSocket API's `start` route (the manager's console starts with boto3)."""
        with push_socket(self.websocket_url(), p.token, None) as socket:
            socket.send(json.dumps({"action": "start", "CountdownSeconds": countdown}))
            return json.loads(socket.recv(timeout=10)).get("action") == "started"

    def websocket_url(self) -> str:
        self.world.websocket()  # served on 127.0.0.1 from the first use; /config names it from then on
        answer = self.world.api.get("/v1/config", None)
        return {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in answer.json()["Parameters"]}["websocketurl"]

    def session(self, p: Player) -> dict:
        answer = self.world.api.get("/v1/session", p.token)
        assert answer.status == 200, answer.body
        return answer.json()

    def allocate(self, p: Player, username: str | None = None) -> tuple[int, Any]:
        answer = self.world.api.post("/v1/allocate", {"Username": username or p.name}, p.token)
        return answer.status, answer.json()

    def deallocate(self, p: Player) -> tuple[int, Any]:
        answer = self.world.api.post("/v1/deallocate", {"Username": p.name}, p.token)
        return answer.status, answer.json()

    def post(self, p: Player, body: dict) -> int:
        return self.world.api.post("/v1/updatestatus", body, p.token).status

    def settle(self) -> None:
        self.world.pump.pump()

    def top(self, p: Player, session_id: str) -> list[dict]:
        answer = self.world.api.get("/v1/scoreboard", p.token, {"sessionId": session_id})
        assert answer.status == 200, answer.body
        return answer.json()["Scoreboard"]

    def board(self, session_id: str) -> list[dict]:
        return self.manager.board(session_id)

    def seats(self, session_id: str) -> dict:
        return self.manager.seats(session_id)


class Game:
    """A driver plus the bookkeeping every test needs: increasing timestamps per player."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self._clock = time.time() - 100  # a little in the past: no server refuses it as "ahead"

    def tick(self) -> float:
        self._clock += 0.01
        return self._clock

    def play(
        self,
        p: Player,
        session_id: str,
        score: int,
        lives: int = 3,
        shots: int = 0,
        level: int = 1,
        nickname: str | None = None,
        ts: float | None = None,
    ) -> int:
        body = status(
            session_id, nickname or p.name, score, lives, shots, level, self.tick() if ts is None else ts
        )
        return self.driver.post(p, body)

    def seated(self, n: int) -> list[Player]:
        players = [self.driver.player() for _ in range(n)]
        for p in players:
            code, body = self.driver.allocate(p)
            assert code == 200, body
        return players


def drivers(request, kind: str):
    """The driver of one backend for the requesting test module (a generator: set up, yield, tear down)."""
    if kind == "local":
        local = LocalDriver(request.getfixturevalue("local_server_module"))
        yield local
        local.close_http()
        return
    from aws_world import MotoWorld  # moto is imported only for this half

    env = "b" + re.sub(r"[^a-z0-9]", "", request.module.__name__.rsplit(".", 1)[-1].lower())[-19:]
    with MotoWorld(env) as world:
        yield AwsDriver(world)
