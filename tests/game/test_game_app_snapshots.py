"""The main screens as pictures (pytest-textual-snapshot), at 80 x 24 and at a size that draws every cell
2 x 2, against a backend answering fixed documents so every run shows the same thing."""
from __future__ import annotations

import httpx
import pytest
from game_app_support import FixedBackend, ManualFrames, lose_last_life, screen_named, static_text, until

from spaceinvaders_tui.app import SpaceInvadersApp
from spaceinvaders_tui.settings import GameSettings

URL = "http://fixed.test/v1"


def app_for(backend: FixedBackend, tmp_path, *, signed_in: bool = True, ascii_only: bool = False,
            offline: bool = False) -> SpaceInvadersApp:
    if signed_in:
        backend.keep_tokens(tmp_path)
    settings = GameSettings(api_url=URL, data_dir=tmp_path, ascii_only=ascii_only, offline=offline)
    return SpaceInvadersApp(settings, http=backend.http(), frames=ManualFrames())


async def into_game(pilot) -> object:
    app = pilot.app
    await until(pilot, lambda: screen_named(app, "LobbyScreen") and "ROOM-A" in static_text(app, "#session"))
    await pilot.press("enter")
    screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen)
    for keys in (("right",), ("space",), ("right", "right"), ("space",)):
        await pilot.press(*keys)
        screen.advance(0.4)
    await until(pilot, lambda: "ada" in static_text(app, "TopTen"))
    return screen


def test_sign_in(snap_compare, tmp_path):
    async def ready(pilot):
        await until(pilot, lambda: screen_named(pilot.app, "SignInScreen")
                    and "accounts" in static_text(pilot.app, "#where"))

    assert snap_compare(app_for(FixedBackend(), tmp_path, signed_in=False), run_before=ready)


def test_no_server(snap_compare, tmp_path):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app = SpaceInvadersApp(GameSettings(api_url=URL, data_dir=tmp_path), frames=ManualFrames(),
                           http=httpx.AsyncClient(transport=httpx.MockTransport(refuse)))

    async def ready(pilot):
        await until(pilot, lambda: "spaceinvaders-server serve" in static_text(pilot.app, "#message"))

    assert snap_compare(app, run_before=ready)


def test_lobby(snap_compare, tmp_path):
    async def ready(pilot):
        await until(pilot, lambda: screen_named(pilot.app, "LobbyScreen")
                    and "ROOM-A" in static_text(pilot.app, "#session"))

    assert snap_compare(app_for(FixedBackend(), tmp_path), run_before=ready)


@pytest.mark.parametrize("size", [(80, 24), (132, 44)], ids=["80x24", "132x44"])
def test_playing(snap_compare, tmp_path, size):
    async def ready(pilot):
        await into_game(pilot)

    assert snap_compare(app_for(FixedBackend(), tmp_path), run_before=ready, terminal_size=size)


def test_game_over(snap_compare, tmp_path):
    async def ready(pilot):
        screen = await into_game(pilot)
        await lose_last_life(pilot, screen)
        await until(pilot, lambda: screen_named(pilot.app, "GameOverScreen")
                    and "RANK #3" in static_text(pilot.app, "#standing"))

    assert snap_compare(app_for(FixedBackend(), tmp_path), run_before=ready)


def test_offline_in_ascii(snap_compare, tmp_path):
    async def ready(pilot):
        await until(pilot, lambda: screen_named(pilot.app, "LobbyScreen"))
        await pilot.press("enter")
        await until(pilot, lambda: screen_named(pilot.app, "PlayScreen"))
        await pilot.press("p")

    assert snap_compare(app_for(FixedBackend(), tmp_path, ascii_only=True, offline=True), run_before=ready)
