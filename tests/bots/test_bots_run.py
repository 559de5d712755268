"""`spaceinvaders-bots` as a user runs it, against a local server started by the test: every bot joins,
posts, shows on the scoreboard and frees its seat; the summary's counts agree with the server's records;
a second run signs the same players in with their kept tokens; Ctrl+C stops a run cleanly."""
from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from api_client import SpaceInvadersClient

BOTS = 5
MANAGER, PASSWORD = "bots-boss", "bots-boss-password"


def bots(api: str, state_dir, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "SPACEINVADERS_MANAGER_PASSWORD": PASSWORD}
    return subprocess.Popen(
        [sys.executable, "-m", "spaceinvaders_bots", "--api", api, "--count", str(BOTS), "--state-dir",
         str(state_dir), "--name-prefix", "tbot", "--seed", "11", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


async def manager(api: str) -> SpaceInvadersClient:
    client = SpaceInvadersClient(api, token_store=None)
    await client.sign_in(MANAGER, PASSWORD)
    return client


@pytest.fixture(scope="module")
def server(local_server_module):
    local_server_module.create_manager(MANAGER, PASSWORD)
    return local_server_module


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bots-state")


@pytest.fixture(scope="module")
def first_run(server, state_dir, tmp_path_factory):
    """Cold: the bots sign up, open their own synchronized session as the manager, play, leave."""
    prefix = tmp_path_factory.mktemp("csv") / "run"
    proc = bots(server.base_url, state_dir, "--duration", "10", "--manager", MANAGER, "--synchronized",
                "--csv", str(prefix))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out), prefix


def test_every_bot_joins_posts_shows_on_the_board_and_frees_its_seat(server, first_run):
    summary, _ = first_run
    players = summary["bots_detail"]
    names = {p["name"] for p in players}
    assert names == {f"tbot-{i:04d}" for i in range(1, BOTS + 1)}
    assert summary["players"]["joined"] == BOTS and summary["players"]["join_failures"] == 0
    assert all(p["posts"] > 0 and p["error"] is None for p in players)
    assert all(p["best_rank"] is not None for p in players)  # each saw itself on the top 10
    assert summary["players"]["seats_held_at_end"] == 0
    assert summary["passed"] and summary["aggregated"]["failures"] == 0

    async def server_view():
        client = await manager(server.base_url)
        async with client:
            session = (await client.sessions())[0]  # the session the bots' manager opened (and closed)
            return (session, await client.players(session.SessionId),
                    await client.full_scoreboard(session.SessionId))

    session, seats, board = asyncio.run(server_view())
    assert session.is_closed and session.SynchronizeTime is not None
    assert seats.OccupiedSeats == 0 and not seats.PlayingGamers
    assert names <= {entry.Nickname for entry in board}
    stored = server.export(session.SessionId).splitlines()
    posts = summary["endpoints"]["POST /updatestatus"]
    assert len(stored) == summary["status_posts"]["sent"] == posts["requests"] - posts["failures"]
    assert {json.loads(line)["Nickname"] for line in stored} == names


def test_the_csv_files_hold_the_stats_history_failures_and_players(first_run):
    summary, prefix = first_run
    with open(f"{prefix}_stats.csv") as handle:
        rows = {f"{r['Type']} {r['Name']}".strip(): r for r in csv.DictReader(handle)}
    assert int(rows["POST /updatestatus"]["Request Count"]) == summary["endpoints"]["POST /updatestatus"]["requests"]
    assert "Aggregated" in rows and "99%" in next(iter(rows.values()))
    with open(f"{prefix}_stats_history.csv") as handle:
        history = list(csv.DictReader(handle))
    assert len(history) >= 5 and int(history[-1]["Total Request Count"]) > 0
    with open(f"{prefix}_players.csv") as handle:
        assert len(list(csv.DictReader(handle))) == BOTS
    with open(f"{prefix}_failures.csv") as handle:
        assert next(csv.reader(handle)) == ["Method", "Name", "Error", "Occurrences"]


def test_a_second_run_uses_the_kept_tokens_and_stops_cleanly_on_ctrl_c(server, state_dir, first_run):
    async def open_session():
        async with await manager(server.base_url) as client:
            return await client.open_session("MULTIPLE_TRIALS", synchronized=False, session_name="WARM")

    async def seats(session_id):
        async with await manager(server.base_url) as client:
            return await client.players(session_id)

    session = asyncio.run(open_session())
    proc = bots(server.base_url, state_dir, "--processes", "2")
    try:
        deadline = time.monotonic() + 30
        while asyncio.run(seats(session.SessionId)).OccupiedSeats < BOTS:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.2)
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        out, err = proc.communicate(timeout=40)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["processes"] == 2
    assert not {"POST /auth/signup", "POST /auth/signin"} & set(summary["endpoints"])  # no password needed
    assert summary["players"]["joined"] == BOTS and summary["players"]["seats_held_at_end"] == 0
    assert summary["status_posts"]["sent"] > 0
    after = asyncio.run(seats(session.SessionId))
    assert after.OccupiedSeats == 0 and not after.PlayingGamers
