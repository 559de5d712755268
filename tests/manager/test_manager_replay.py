"""The replay on the local server (issue 17): sessions the bots play and sessions made record by record;
the replay's last frame equals the stored final board exactly, ranked by the same rules; the console's
keys drive the playback."""
from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time

import pytest
from manager_support import MANAGER, PASSWORD, unique
from test_manager_console import until

from api_client import ApiError, GameStatus, GameType, SpaceInvadersClient, TokenStore
from manager_tui.app import ManagerApp
from manager_tui.backends import OpenRequest
from manager_tui.backends.api import ApiBackend
from manager_tui.replay import DEFAULT_SPEED, SEEK_SECONDS
from manager_tui.screens.replay import ReplayScreen
from manager_tui.widgets.board_view import BoardView
from manager_tui.widgets.wall_view import WallView
from spaceinvaders_backend.core.replay import FrameView

BOTS = 6


@pytest.fixture(scope="module")
def server(local_server_module):
    local_server_module.create_manager(MANAGER, PASSWORD)
    return local_server_module


@pytest.fixture(scope="module")
def bots_state(tmp_path_factory):
    return tmp_path_factory.mktemp("replay-bots")


def play_bots(server, state_dir, *args: str) -> None:
    """A session the bots open as the manager, play for a few seconds and close."""
    env = {**os.environ, "SPACEINVADERS_MANAGER_PASSWORD": PASSWORD}
    done = subprocess.run(
        [sys.executable, "-m", "spaceinvaders_bots", "--api", server.base_url, "--count", str(BOTS),
         "--state-dir", str(state_dir), "--name-prefix", "rbot", "--seed", "5", "--json", "--quiet",
         "--manager", MANAGER, "--duration", "5", *args],
        check=False, capture_output=True, text=True, env=env, timeout=90)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passed"]


async def signed_in(server, tmp_path) -> ApiBackend:
    backend = ApiBackend(server.base_url, token_store=TokenStore(tmp_path / "tokens"))
    await backend.sign_in(MANAGER, PASSWORD)
    return backend


async def last_frame(backend, session_id: str, timeout: float = 30.0):
    """The replay at its end, once the whole session is indexed."""
    source = await backend.replay(session_id)
    deadline = time.monotonic() + timeout
    frame = await source.frame(None)
    while not frame.Complete or frame.At < frame.End:
        assert time.monotonic() < deadline, "the replay never reached the end"
        await asyncio.sleep(0.05)
        frame = await source.frame(frame.End if frame.Complete else 1e12)
    return frame


def board_of(frame) -> list[tuple]:
    return [tuple(row) for row in frame.Board]


async def stored_board(backend, session_id: str) -> list[tuple]:
    board = await backend.board(session_id)
    return [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in board.entries]


async def counted_records(backend, session_id: str) -> int:
    return (await backend.board(session_id)).records


@pytest.mark.parametrize("game", [[], ["--session-type", "SINGLE_TRIAL", "--synchronized"],
                                  ["--session-type", "TIME_CONSTRAINED", "--timeout-minutes", "1"]],
                         ids=["multiple-trials", "single-trial-synchronized", "time-constrained"])
async def test_the_last_frame_of_a_bots_session_is_its_stored_board(server, bots_state, tmp_path, game):
    play_bots(server, bots_state, *game)
    backend = await signed_in(server, tmp_path)
    try:
        session = (await backend.sessions())[0]
        assert session.ClosingTime is not None
        frame = await last_frame(backend, session.SessionId)  # complete: the stored board is final
        stored = await stored_board(backend, session.SessionId)
        assert len(stored) == BOTS and frame.Records > BOTS
        assert board_of(frame) == stored
        assert frame.Records == await counted_records(backend, session.SessionId)  # the same records counted
        first = await (await backend.replay(session.SessionId)).frame(None)
        assert first.At == first.Start and first.Start <= frame.End  # it starts at the session's start
    finally:
        await backend.aclose()


async def player(server, name: str) -> SpaceInvadersClient:
    client = SpaceInvadersClient(server.base_url, token_store=None)
    await client.sign_up(name, "player-pass")
    await client.sign_in(name, "player-pass")
    await client.allocate()
    return client


async def test_the_replay_ranks_by_the_live_rules_and_ends_on_the_stored_board(server, tmp_path):
    """Ties broken in the contract's order, the best trial kept in MULTIPLE_TRIALS, a finished player
    staying finished; the moments in between show the board as it stood."""
    backend = await signed_in(server, tmp_path)
    current = await backend.current_session()
    if current is not None and current.ClosingTime is None:
        await backend.close_session()
    session = await backend.open_session(OpenRequest("RULES", GameType.MULTIPLE_TRIALS, False))
    sid = session.SessionId
    names = [unique(p) for p in ("ann", "bob", "cid", "dee")]
    clients = {n: await player(server, n) for n in names}
    ann, bob, cid, dee = names

    async def post(name, score, shots=1, lives=3):
        await clients[name].update_status(sid, GameStatus(Score=score, Shots=shots, Level=1, Lives=lives))

    await post(ann, 100, shots=5)
    await post(bob, 100, shots=5, lives=2)  # same score, fewer lives: behind ann
    await post(cid, 100, shots=4)  # same score and lives, fewer shots: ahead of ann
    await post(dee, 100, shots=5)  # all equal to ann: by name
    await asyncio.sleep(0.3)
    middle = time.time()
    await asyncio.sleep(0.3)
    await post(ann, 900, shots=9, lives=0)  # ann's best trial ends
    await clients[ann].allocate()  # and she plays again, worse
    await post(ann, 50, shots=1)
    await post(bob, 400, lives=0)  # bob finishes
    await backend.close_session()
    for client in clients.values():
        await client.aclose()
    await until_stored(backend, sid, ann, 900)
    await until_stored(backend, sid, bob, 400)

    stored = await stored_board(backend, sid)
    assert [row[0] for row in stored][:2] == [ann, bob]
    frame = await last_frame(backend, sid)
    assert board_of(frame) == stored
    assert set(frame.Finished) == {bob}  # ann started another trial; bob stays finished
    source = await backend.replay(sid)
    before = await source.frame(middle)
    expected = sorted([ann, dee], key=str)  # ann and dee tie on everything but the name
    assert [row[0] for row in before.Board] == [cid, *expected, bob]
    await backend.aclose()


async def until_stored(backend, sid, name, score, timeout=5.0):
    deadline = time.monotonic() + timeout
    while (name, score) not in [(e.Nickname, e.Score) for e in (await backend.board(sid)).entries]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_the_console_replays_from_the_session_list_with_its_keys(server, bots_state, tmp_path):
    play_bots(server, bots_state)
    backend = await signed_in(server, tmp_path)
    app = ManagerApp(backend, refresh_seconds=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected and app.live.board is not None)
        await pilot.press("l")
        await until(pilot, lambda: app.screen.query("DataTable") and app.screen.query_one("DataTable").row_count)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen.player.frame is not None)
        screen = app.screen
        player = screen.player
        assert player.speed == DEFAULT_SPEED
        await pilot.press(*["minus"] * 6, "home")  # 1x: the bots' few seconds take a few seconds
        assert player.speed == 1
        assert player.target - player.start < 3.0  # back at the start (a second's ticks at most since)
        shown = player.at
        await until(pilot, lambda: player.at is not None and player.at > shown + 0.5)  # it plays
        await pilot.press("space")
        await pilot.pause(0.2)  # a frame asked for before the pause may still arrive
        paused_at = player.at
        await pilot.pause(0.4)
        assert player.paused and player.at == paused_at
        await pilot.press(*["plus"] * 8)
        assert player.speed == 120
        await pilot.press("minus")
        assert player.speed == 60
        await pilot.press("home")  # paused: the moment moves by the keys alone
        await until(pilot, lambda: player.at == player.start)
        await pilot.press("right")
        await until(pilot, lambda: player.at == pytest.approx(player.start + SEEK_SECONDS, abs=0.01)
                    or player.at == player.frame.End)
        await pilot.press("end")
        await until(pilot, lambda: player.at_end)
        await until(pilot, lambda: "Final podium" in str(screen.query_one("#podium").render()))
        rows = screen.query_one(BoardView).rows
        assert [(r.nickname, r.score) for r in rows] == [(e[0], e[1]) for e in player.frame.Board]
        await pilot.press("w")
        await until(pilot, lambda: "REPLAY" in str(screen.query_one(WallView).query_one("#wall-title").render()))
        await pilot.press("q")
        await until(pilot, lambda: not isinstance(app.screen, ReplayScreen))
        assert app.is_running


async def test_the_server_sends_the_rows_asked_for_with_their_ranks_before_and_refuses_bad_parameters(
        server, bots_state, tmp_path):
    backend = await signed_in(server, tmp_path)
    try:
        sessions = [s for s in await backend.sessions() if s.ClosingTime is not None]
        if not sessions:
            play_bots(server, bots_state)
            sessions = [s for s in await backend.sessions() if s.ClosingTime is not None]
        sid = sessions[0].SessionId
        whole = await last_frame(backend, sid)
        source = await backend.replay(sid)
        middle = (whole.Start + whole.End) / 2
        before = await source.frame(middle - 1.0)
        part = await source.frame(middle, FrameView(first=2, count=3, since=before.At, tolerance=0.0))
        full = await source.frame(middle)
        assert part.At == full.At == middle
        assert (part.First, part.Players, part.FinishedCount) == (2, len(full.Board), len(full.Finished))
        assert part.Board == full.Board[2:5] and part.Top == full.Board[:10]
        ranks = {row[0]: rank for rank, row in enumerate(before.Board, 1)}
        assert part.Before == [ranks.get(row[0], 0) for row in part.Board]
        near = await source.frame(middle, FrameView(count=3, tolerance=5.0))  # a keyframe's moment, near
        assert middle - 5.0 <= near.At <= middle
        for bad in ({"first": -1}, {"count": 0}, {"since": math.inf}, {"tolerance": -1.0}):
            with pytest.raises(ApiError) as refused:
                await backend.client.replay_frame(sid, middle, **bad)
            assert refused.value.status == 422
    finally:
        await backend.aclose()
