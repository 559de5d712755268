"""The game, the manager's console and the bots trust the right server: the game lists the rooms it hears
and pins the one picked, asks once about an unvouched certificate, refuses a changed one; the console asks
too; the bots cannot ask, so they need the fingerprint. Servers here are `serve --tls` on loopback; rooms are
handed to the game's connect screen as `browse` would answer them (real discovery: test_network_room.py)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from network_support import MANAGER
from textual.widgets import OptionList, Static

from api_client import KnownServers, Room
from api_client.trust import readable_halves
from manager_tui.backends import SignInRequired, TrustRequired
from manager_tui.backends.api import ApiBackend
from spaceinvaders_bots import cli as bots_cli
from spaceinvaders_tui.app import SpaceInvadersApp
from spaceinvaders_tui.screens import connect
from spaceinvaders_tui.settings import GameSettings

NOBODY = "http://127.0.0.1:9/v1"  # this machine's default address, with no server behind it


async def until(pilot, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)
    return value


def screen_is(app: SpaceInvadersApp, name: str) -> bool:
    return type(app.screen).__name__ == name


def message(app: SpaceInvadersApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


def room_of(server, name: str = "lab", **changes: Any) -> Room:
    fields = {"name": name, "address": "127.0.0.1", "port": server.port, "fingerprint": server.fingerprint,
              "session": "ROOM-A261202T204456", "players": 3, "seats": 200, **changes}
    return Room(**fields)


def heard(monkeypatch, rooms: list[Room]) -> list[float]:
    """The connect screen hears `rooms` on the network; answers the browse durations asked for."""
    asked: list[float] = []

    async def browse(seconds: float, until=None) -> list[Room]:
        asked.append(seconds)
        return rooms

    monkeypatch.setattr(connect, "browse", browse)
    return asked


async def test_the_game_lists_the_rooms_it_hears_and_pins_the_one_picked(tls_server, tmp_path, monkeypatch):
    asked = heard(monkeypatch, [room_of(tls_server), room_of(tls_server, "kitchen", address="127.0.0.9",
                                                             session="", players=None, seats=None)])
    app = SpaceInvadersApp(GameSettings(api_url=NOBODY, discover=True, data_dir=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        rooms = await until(pilot, lambda: app.screen.query_one(OptionList).option_count == 2 and app.screen.rooms)
        assert "2 rooms found" in message(app) and asked == [connect.BROWSE_SECONDS]
        labels = [str(app.screen.query_one(OptionList).get_option_at_index(i).prompt) for i in range(2)]
        assert labels[0].split() == ["lab", f"127.0.0.1:{tls_server.port}", "ROOM-A261202T204456", "3/200", "players"]
        assert labels[1].split() == ["kitchen", f"127.0.0.9:{tls_server.port}", "no", "session", "open"]
        assert rooms[0].name == "lab"
        await pilot.press("enter")
        await until(pilot, lambda: screen_is(app, "SignInScreen"), what="the sign-in screen")
        assert app.link.base_url == tls_server.base_url
    known = KnownServers(tmp_path).get(f"127.0.0.1:{tls_server.port}")
    assert known is not None and known.fingerprint == tls_server.fingerprint and known.how == "room"


async def test_a_room_whose_certificate_changed_is_refused(tls_server, tmp_path, monkeypatch):
    KnownServers(tmp_path).remember(f"127.0.0.1:{tls_server.port}", "ab" * 32, "room")
    heard(monkeypatch, [room_of(tls_server)])  # the advertisement names the server's (new) certificate
    app = SpaceInvadersApp(GameSettings(api_url=NOBODY, discover=True, room="LAB", data_dir=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "REFUSED" in message(app), what="the refusal")
        text = message(app)
        assert readable_halves(tls_server.fingerprint)[0] in text and readable_halves("ab" * 32)[0] in text
        assert f"spaceinvaders forget-server 127.0.0.1:{tls_server.port}" in text
        assert screen_is(app, "ConnectScreen")


async def test_without_rooms_the_game_says_how_to_start_a_server(tmp_path, monkeypatch):
    heard(monkeypatch, [])
    app = SpaceInvadersApp(GameSettings(api_url=NOBODY, discover=True, data_dir=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "No room answered" in message(app), what="no rooms")
        assert "spaceinvaders-server serve" in message(app)


@pytest.mark.parametrize("answer", ["y", "n"])
async def test_the_game_asks_once_about_an_unvouched_certificate(tls_server, tmp_path, answer):
    app = SpaceInvadersApp(GameSettings(api_url=tls_server.base_url, api_given=True, data_dir=tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        def shown() -> str:
            return " ".join(str(w.render()) for w in app.screen.query(Static))

        first, second = readable_halves(tls_server.fingerprint)
        # The screen is current a moment before its text is composed: wait for the question itself.
        await until(pilot, lambda: screen_is(app, "TrustScreen") and first in shown(), what="the question")
        shown = shown()
        assert first in shown and second in shown and f"127.0.0.1:{tls_server.port}" in shown
        await pilot.press(answer)
        if answer == "y":
            await until(pilot, lambda: screen_is(app, "SignInScreen"), what="the sign-in screen")
        else:
            await until(pilot, lambda: screen_is(app, "ConnectScreen") and "no authority" in message(app))
    remembered = KnownServers(tmp_path).all()
    assert [k.fingerprint for k in remembered] == ([tls_server.fingerprint] if answer == "y" else [])


async def test_the_console_asks_before_signing_in(tls_server, tmp_path):
    from api_client import TokenStore

    backend = ApiBackend(tls_server.base_url, token_store=TokenStore(tmp_path))
    try:
        with pytest.raises(TrustRequired) as asked:
            await backend.connect()
        assert asked.value.fingerprint == tls_server.fingerprint
        backend.trust_certificate(asked.value.fingerprint)  # the manager said yes
        with pytest.raises(SignInRequired):
            await backend.connect()
        await backend.sign_in(*MANAGER)
    finally:
        await backend.aclose()
    again = ApiBackend(tls_server.base_url, token_store=TokenStore(tmp_path))
    try:
        await again.connect()  # remembered: neither asked nor signed in again
    finally:
        await again.aclose()


def test_the_bots_need_the_fingerprint(tls_server, tmp_path, capsys):
    common = ["--count", "1", "--duration", "1", "--state-dir", str(tmp_path / "bots"), "-q"]
    with pytest.raises(SystemExit) as refused:
        bots_cli.main(["--api", tls_server.base_url, *common])
    assert refused.value.code == 1
    assert f"--fingerprint {tls_server.fingerprint}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        bots_cli.main(["--api", tls_server.base_url, "--fingerprint", "ab" * 32, *common])
    assert refused.value.code == 1 and "REFUSED" in capsys.readouterr().err
    assert bots_cli.main(["--api", tls_server.base_url, "--fingerprint", tls_server.fingerprint, *common]) in (0, 1)
    out = capsys.readouterr().out
    assert "1 bot at https://127.0.0.1" in out and "CERTIFICATE" not in out
