"""`spaceinvaders demo --no-game` (`python -m spaceinvaders_tui demo`): it starts the server, a manager's session and the bots, serves, and a
Ctrl+C (SIGINT to its whole process group, as a terminal sends it) stops everything, leaving nothing."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api_client import SpaceInvadersClient
from spaceinvaders_tui.demo import create_manager_arguments

BOTS = 3


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in time:\n{seen}"
        line = proc.stdout.readline()
        assert line or proc.poll() is None, f"the demo exited:\n{seen}"
        seen += line
    return seen


async def occupied_seats(api: str, password: str) -> int:
    async with SpaceInvadersClient(api, token_store=None) as manager:
        await manager.sign_in("demo-manager", password)
        session = await manager.session()
        return (await manager.players(session.SessionId)).OccupiedSeats


@pytest.mark.parametrize("then", [None, signal.SIGHUP], ids=["ctrl-c", "ctrl-c-then-terminal-closed"])
def test_the_demo_serves_and_stops_cleanly_on_ctrl_c(then):
    proc = subprocess.Popen([sys.executable, "-m", "spaceinvaders_tui", "demo", "--no-game", "--bots", str(BOTS)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        banner = read_until(proc, "Ctrl+C stops everything", 60)
        api = re.search(r"server\s+(http://127\.0\.0\.1:\d+/v1)", banner).group(1)
        password = re.search(r"password: (\S+)", banner).group(1)
        data_dir = Path(re.search(r"data\s+(\S+) \(temporary", banner).group(1))
        assert f"spaceinvaders-manager --api {api}" in banner
        deadline = time.monotonic() + 30
        while asyncio.run(occupied_seats(api, password)) < BOTS:  # the bots are playing
            assert time.monotonic() < deadline
            time.sleep(0.3)
        started = children(proc.pid)
        assert len(started) == 2  # the server and the bots' process

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C in its terminal
        if then is not None:  # the terminal closed while the demo stops: the server must still be stopped
            read_until(proc, "Stopping", 10)
            os.kill(proc.pid, then)
        out, _ = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "Stopped" in out
    assert not any(alive(pid) for pid in started)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(api.rsplit(":", 1)[1].split("/")[0]))) != 0  # nobody listens
    assert not data_dir.exists()  # the temporary directory is gone


def test_bad_options_are_refused_with_a_message():
    proc = subprocess.run([sys.executable, "-m", "spaceinvaders_tui", "demo", "--bots", "-1"],
                          check=False, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--bots" in proc.stderr


def test_the_banner_names_commands_a_new_terminal_can_run(monkeypatch):
    from spaceinvaders_tui.demo import command

    scripts = Path(sys.executable).parent
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a fresh .venv is not on the PATH
    assert command("spaceinvaders-manager") == str(scripts / "spaceinvaders-manager")
    monkeypatch.setenv("PATH", f"{scripts}:/usr/bin:/bin")
    assert command("spaceinvaders-manager") == "spaceinvaders-manager"


def test_the_demo_makes_its_manager_whatever_its_password_begins_with(tmp_path):
    # token_urlsafe's passwords begin with "-" about once in 64: argparse took that for an option.
    for password in ("-Ab3_xYz9-Qw1", "plainPassw0rd"):
        made = subprocess.run([sys.executable, "-m", "spaceinvaders_backend.local.cli",
                               *create_manager_arguments(password), "--data-dir", str(tmp_path / password)],
                              check=False, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
