"""The real game process in a pseudo-terminal, as a player runs it: Ctrl+C and a closed terminal (SIGHUP)
free the seat and end the process."""
from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest
from game_app_support import manager, open_session, signed_up, wait_server


class Terminal:
    """`python -m spaceinvaders_tui` on a pty of 80 x 24, its output kept; close() hangs the line up."""

    def __init__(self, *args: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color"}

        def controlling_terminal() -> None:  # the child leads a session whose terminal is this pty
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([sys.executable, "-m", "spaceinvaders_tui", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, start_new_session=True,
                                     preexec_fn=controlling_terminal)  # noqa: PLW1509 - one ioctl, no locks
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    async def shows(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"{text!r} not shown; exit code {self.proc.poll()}")
            await asyncio.sleep(0.05)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def hang_up(self) -> None:
        os.close(self.master)

    async def exit_code(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError("the game did not end")
            await asyncio.sleep(0.05)
        return self.proc.returncode


@pytest.mark.parametrize("how", ["ctrl+c", "hangup"])
async def test_ctrl_c_and_a_closed_terminal_free_the_seat_and_end_the_game(server, tmp_path, how):
    boss = await manager(server.base_url)
    session = await open_session(boss)
    name = await signed_up(server.base_url, tmp_path)
    terminal = Terminal("--api", server.base_url, "--data-dir", str(tmp_path))
    try:
        await terminal.shows("Signed in as")
        await terminal.shows(session.SessionId)
        terminal.type(b"\r")  # join

        async def seated():
            return name in (await boss.players(session.SessionId)).PlayingGamers

        await wait_server(seated, what="the seat taken")
        await terminal.shows("SCORE")
        terminal.type(b" ")
        if how == "ctrl+c":
            terminal.type(b"\x03")
        else:
            terminal.hang_up()

        async def free():
            return name not in (await boss.players(session.SessionId)).PlayingGamers

        await wait_server(free, what="the seat freed")
        assert await terminal.exit_code() == 0
    finally:
        if terminal.proc.poll() is None:
            terminal.proc.send_signal(signal.SIGKILL)
        if how != "hangup":
            terminal.hang_up()
        await boss.aclose()
