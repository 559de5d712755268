"""Helpers of the game app's tests: the app with a hand-driven frame clock, players and a manager of a
local server, waiting for what the screen shows, and a fixed fake backend for snapshots."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from api_client import SpaceInvadersClient, SpaceInvadersError, TokenStore
from spaceinvaders_engine.geometry import CANNON_ROW
from spaceinvaders_tui.app import SpaceInvadersApp
from spaceinvaders_tui.frames import Frames
from spaceinvaders_tui.settings import GameSettings

PASSWORD = "testpassword1"
MANAGER = ("boss", "bosspassword1")


def new_name(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


class ManualFrames(Frames):
    """No frame timer: a test steps the game by hand (`PlayScreen.advance`), and a key press is timed on the
    frames so stepped."""

    def __init__(self) -> None:
        self.screen = None

    def start(self, screen, step):
        self.screen = screen

    def now(self) -> float:
        return self.screen.clock if self.screen is not None else 0.0


def make_app(base_url: str | None, data_dir: Path, *, http: httpx.AsyncClient | None = None,
             ascii_only: bool = False) -> SpaceInvadersApp:
    settings = GameSettings(api_url=base_url or "http://127.0.0.1:9/v1", offline=base_url is None,
                            data_dir=data_dir, ascii_only=ascii_only)
    return SpaceInvadersApp(settings, http=http, frames=ManualFrames())


async def signed_up(base_url: str, data_dir: Path, name: str | None = None) -> str:
    """A new player whose tokens are kept in `data_dir`, so the app starts in the lobby."""
    name = name or new_name()
    async with SpaceInvadersClient(base_url, token_store=TokenStore(data_dir)) as client:
        await client.sign_up(name, PASSWORD)
        await client.sign_in(name, PASSWORD)
    return name


async def manager(base_url: str) -> SpaceInvadersClient:
    client = SpaceInvadersClient(base_url, token_store=None)
    await client.sign_in(*MANAGER)
    return client


async def open_session(boss: SpaceInvadersClient, game_type: str = "MULTIPLE_TRIALS", **kwargs: Any):
    """Close whatever is open, open a new session."""
    try:
        await boss.close_session()
    except SpaceInvadersError:
        pass
    return await boss.open_session(game_type, session_name=new_name("S"), **kwargs)  # names unique: one a second


async def player_in_session(base_url: str, data_dir: Path, game_type: str = "MULTIPLE_TRIALS", **kwargs: Any):
    """A manager who opened a session, a signed-up player, and the game app for them:
    (manager client, session, player name, app)."""
    boss = await manager(base_url)
    session = await open_session(boss, game_type, **kwargs)
    name = await signed_up(base_url, data_dir)
    return boss, session, name, make_app(base_url, data_dir)


async def until(pilot, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Let the app run until `predicate()` is truthy; answers its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


def screen_named(app: SpaceInvadersApp, name: str) -> bool:
    return type(app.screen).__name__ == name


async def screens_of_a_new_run(base_url: str, data_dir: Path, until_screen: str) -> list[str]:
    """The screens a new run of the app shows, in order, until `until_screen` (a kept sign-in resumed or not)."""
    app = make_app(base_url, data_dir)
    seen: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: seen.append(type(app.screen).__name__) or screen_named(app, until_screen))
    return seen


def shown(widget) -> str:
    """The text a widget shows on the screen now, line by line."""
    from textual.geometry import Region

    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size)))


def static_text(app: SpaceInvadersApp, selector: str) -> str:
    """The text shown by the current screen's widget `selector` ("" while the screen is being built)."""
    from textual.css.query import NoMatches

    try:
        return shown(app.screen.query_one(selector))
    except NoMatches:
        return ""


async def joined(pilot, app: SpaceInvadersApp):
    """From the lobby, once it shows a session (or offline), join it: answers the game's screen."""
    await until(pilot, lambda: screen_named(app, "LobbyScreen") and (app.link is None or app.screen.session),
                what="the lobby with a session")
    await pilot.press("enter")
    # The game's screen once mounted (its playfield set), not merely pushed.
    return await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen.field is not None and app.screen,
                       what="the game")


async def play_to_game_over(pilot, app: SpaceInvadersApp):
    """Join, fire a shot, lose the last life: answers (the game's screen, the game-over screen)."""
    screen = await joined(pilot, app)
    await pilot.press("space")
    screen.advance(0.5)
    await lose_last_life(pilot, screen)
    return screen, await until(pilot, lambda: screen_named(app, "GameOverScreen") and app.screen,
                               what="game over")


async def lose_last_life(pilot, screen) -> None:
    """Bring the game to its end quickly: one life left, a bomb falling onto the cannon."""
    from spaceinvaders_engine import Bomb, BombKind

    game = screen.game
    game.lives = 1
    game.bombs = [Bomb(BombKind.PLUNGER, game.cannon.muzzle, CANNON_ROW - 1.0, 0.5)]
    screen.advance(0.2)
    await pilot.pause()


async def players(boss: SpaceInvadersClient, session_id: str):
    return await boss.players(session_id)


async def wait_server(predicate, timeout: float = 10.0, what: str = "") -> Any:
    """Poll an async predicate (a server-side condition) until truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


class FixedBackend:
    """A backend answering fixed documents in memory (for snapshots: the same screen on every run)."""

    def __init__(self, username: str = "alice") -> None:
        from client.client_support import make_jwt  # tests/ is on sys.path (rootdir conftest)

        self.username = username
        self.token = make_jwt(username, ["Gamer"], expires_in=24 * 3600)
        self.session: dict[str, Any] | None = {
            "SessionId": "ROOM-A261127T101500", "GameType": "MULTIPLE_TRIALS", "Synchronized": False,
            "TotalSeats": 200, "OpeningTime": "2026-11-27T10:15:00.000Z",
        }
        names = ["ada", "bob", username, "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]
        self.board = [{"Nickname": n, "Score": 2000 - 170 * i, "Shots": 40 + i, "Level": 3, "Lives": 2}
                      for i, n in enumerate(names)]
        self.posts: list[dict[str, Any]] = []

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/config":
            return httpx.Response(200, json={"Parameters": [{"Name": "/local/auth", "Value": "local"}]})
        if path == "/auth/signin":
            return httpx.Response(200, json={"IdToken": self.token, "AccessToken": "a", "RefreshToken": "r",
                                             "ExpiresIn": 86400, "TokenType": "Bearer"})
        if path == "/session":
            body = None if self.session is None else {**self.session, "ServerTime": _now_iso()}
            return httpx.Response(200, json=body)
        if path in ("/allocate", "/deallocate"):
            return httpx.Response(200, json={"successMessage": "ok"})
        if path == "/updatestatus":
            self.posts.append(json.loads(request.content))
            return httpx.Response(200, json={"SequenceNumber": str(len(self.posts)), "ShardId": "shardId-0"})
        if path == "/scoreboard":
            return httpx.Response(200, json={"Scoreboard": self.board})
        return httpx.Response(404, json={"errorMessage": "no such path", "errorCode": "NotFound"})

    def keep_tokens(self, data_dir: Path) -> None:
        """Tokens on disk as an earlier sign-in leaves them, so the app resumes into the lobby."""
        from api_client.tokens import Tokens

        TokenStore(data_dir).save("http://fixed.test/v1", self.username,
                                  Tokens(self.token, "a", "r", time.time() + 86400))


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
