"""Idle players lose their seat: a real server started with `--idle-timeout 1`."""
from __future__ import annotations

import threading
import time

import pytest
from backend_support import Api, LocalServer, assert_error, wait_until


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("idle") / "data", serve_args=["--idle-timeout", "1"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idle_api(idle_server):
    api = Api(idle_server.base_url)
    yield api
    api.close()


def _keep_posting(player, sid: str, stop: threading.Event, refusals: list) -> None:
    score = 0
    player = player.with_own_client()
    while not stop.is_set():
        score += 1
        r = player.status(sid, score)
        if r.status_code != 200:
            refusals.append(r.text)
        stop.wait(0.3)
    player.http.close()


@pytest.mark.parametrize("game_type", ["MULTIPLE_TRIALS", "SINGLE_TRIAL"])
def test_idle_players_lose_their_seat(idle_server, idle_api, game_type):
    boss = idle_api.manager(idle_server)
    sid = boss.open_session(game_type)["SessionId"]
    quiet, played, busy = idle_api.gamers(3)
    for p in (quiet, played, busy):
        p.seat()
    played.ok_status(sid, 5)
    stop, refusals = threading.Event(), []
    poster = threading.Thread(target=_keep_posting, args=(busy, sid, stop, refusals))
    poster.start()
    try:
        start = time.monotonic()
        players = wait_until(lambda: p if (p := boss.players(sid))["PlayingGamers"] == [busy.name] else None,
                             timeout=4.0, interval=0.1, what="the idle seats freed")
        assert time.monotonic() - start < 3.5
        assert players["OccupiedSeats"] == 1
        if game_type == "SINGLE_TRIAL":
            assert players["FinishedGamers"] == [played.name]  # having played, the one go is used
            assert_error(played.allocate(), 422, "GamerCannotPlay")
        else:
            assert players["FinishedGamers"] == []
            played.seat()
        assert_error(quiet.status(sid, 1), 409, "NotSeated")
        quiet.seat()  # never played: may sit down again
        assert quiet.name in boss.players(sid)["PlayingGamers"]
        assert busy.name in boss.players(sid)["PlayingGamers"]  # posting keeps the seat
    finally:
        stop.set()
        poster.join()
    assert refusals == []
