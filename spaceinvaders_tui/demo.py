"""`spaceinvaders demo`: the whole system on one machine with one command.

Starts the local server (a temporary data directory unless given one), makes a manager with a
generated password, opens a session as that manager, starts a few dozen bots in a process of their
own, prints how to open the manager's wall in another terminal, and opens the game for the person at
the keyboard. Ctrl+C (or closing the terminal) stops it all in order: the bots free their seats, the
session is closed, the server stops; nothing is left running.

The server and the bots run in sessions of their own, so a Ctrl+C reaches this process only and they
are stopped in that order instead of all at once; the bots also stop if this process disappears
(their standard input closes). The server is started as a program, never imported: the game's package
talks to servers only through `api_client`.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from api_client import GameType, SpaceInvadersClient

MANAGER = "demo-manager"
SESSION_NAME = "DEMO"
START_TIMEOUT = 30.0  # seconds for the server to answer /health
BOTS_STOP_TIMEOUT = 20.0  # the bots send their last status and free their seats
SERVER_STOP_TIMEOUT = 10.0
GAME_STOP_TIMEOUT = 5.0
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def command(name: str) -> str:
    """How to type one of this installation's commands in another terminal: its bare name when the shell
    finds this very one, else its path (a fresh `.venv` is not on the PATH)."""
    here = Path(sys.executable).parent / name
    found = shutil.which(name)
    if found is not None and (not here.exists() or Path(found).resolve() == here.resolve()):
        return name
    return str(here) if here.exists() else name


class DemoError(Exception):
    pass


class Interrupted(Exception):
    """Ctrl+C, SIGTERM or the terminal going away."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (__doc__ or "").split("\n\n")[1].replace("\n", " ")
    parser.add_argument("--bots", type=int, default=30, metavar="N", help="bots playing beside you (default 30)")
    parser.add_argument("--skill", default="mixed", choices=("mixed", "novice", "casual", "expert"),
                        help="the bots' skill (default: mixed)")
    parser.add_argument("--port", type=int, help="the server's port (default: a free one)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="keep the server's data, the bots' and your tokens, and the logs in DIR "
                             "(default: a temporary directory, deleted at the end)")
    parser.add_argument("--no-game", action="store_true",
                        help="run the server and the bots without the game, until Ctrl+C (for a screen "
                             "that shows only the manager's wall, or for tests)")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.bots <= 1000:
        print("spaceinvaders demo: --bots is 0 to 1000", file=sys.stderr)
        return 2
    with _stop_signals():
        demo = Demo(args)
        try:
            demo.start()
            demo.print_banner()
            if args.no_game:
                demo.serve_until_stopped()
            else:
                demo.play()
        except DemoError as error:
            print(f"spaceinvaders demo: {error}", file=sys.stderr)
            return 1
        except (Interrupted, KeyboardInterrupt):
            _ignore_stop_signals()  # before saying so: a signal after "Stopping" must not cut the stop short
            print("\nStopping...", flush=True)
        finally:
            demo.stop()
    return 0


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the demo as Ctrl+C does."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        _ignore_stop_signals()  # the first one stops the demo; the next ones would interrupt the stop
        raise Interrupted(signal.Signals(signum).name)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            sig = getattr(signal, name)
            previous[sig] = signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def create_manager_arguments(password: str) -> list[str]:
    """The server command's arguments that make the demo's manager. `--password=` in one word: a generated
    password may begin with "-", which argparse would take for an option (about one run in 64)."""
    return ["create-manager", "--username", MANAGER, f"--password={password}"]


def _ignore_stop_signals() -> dict[int, Any]:
    """Ignore Ctrl+C, SIGTERM and SIGHUP; returns the handlers they had."""
    return {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.temporary = args.data_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="spaceinvaders-demo-")) if self.temporary else args.data_dir
        self.port = args.port or _free_port()
        self.api = f"http://127.0.0.1:{self.port}/v1"
        self.password = secrets.token_urlsafe(12)
        self.session_id: str | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.bots: subprocess.Popen[bytes] | None = None

    # -- starting ----------------------------------------------------------------------------------

    def _server_cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "spaceinvaders_backend.local.cli", *args, "--data-dir", str(self.dir / "server")]

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)  # it holds the signing key, the accounts and the tokens
        made = subprocess.run(self._server_cli(*create_manager_arguments(self.password)),
                              check=False, capture_output=True, text=True)
        if made.returncode != 0:
            raise DemoError(f"could not make the manager: {made.stderr.strip() or made.stdout.strip()}")
        print(f"Starting the server on {self.api} ...", flush=True)
        with open(self.dir / "server.log", "ab") as log:
            self.server = subprocess.Popen(self._server_cli("serve", "--port", str(self.port)), stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_for_server()
        self.session_id = asyncio.run(self._open_session())
        if self.args.bots:
            with open(self.dir / "bots.log", "ab") as log:
                self.bots = subprocess.Popen(
                    [sys.executable, "-m", "spaceinvaders_bots", "--api", self.api, "--count", str(self.args.bots),
                     "--skill", self.args.skill, "--state-dir", str(self.dir / "bots"), "--max-failures", "1%",
                     "--stop-on-eof"],
                    stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_for_server(self) -> None:
        assert self.server is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise DemoError(f"the server stopped (port {self.port} taken?):\n{self._log_tail('server.log')}")
            try:
                if httpx.get(f"{self.api}/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise DemoError(f"the server did not answer within {START_TIMEOUT:.0f} s:\n{self._log_tail('server.log')}")

    def _log_tail(self, name: str) -> str:
        try:
            return (self.dir / name).read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    async def _open_session(self) -> str:
        async with SpaceInvadersClient(self.api, token_store=None) as manager:
            await manager.sign_in(MANAGER, self.password)
            session = await manager.session()
            if session is None or session.is_closed:  # a kept data directory may have one open already
                session = await manager.open_session(GameType.MULTIPLE_TRIALS, synchronized=False,
                                                     session_name=SESSION_NAME, total_seats=max(200, self.args.bots + 50))
            return session.SessionId

    def print_banner(self) -> None:
        kept = "temporary: deleted at the end" if self.temporary else "kept"
        print(f"""
Space Invaders demo
  server    {self.api}
  data      {self.dir} ({kept}; logs there)
  session   {self.session_id}, {self.args.bots} bots playing
  the wall  in another terminal:
              {command("spaceinvaders-manager")} --api {self.api} --username {MANAGER} --wall
            password: {self.password}
  players   on this machine: {command("spaceinvaders")} --api {self.api}
""", flush=True)

    # -- running -----------------------------------------------------------------------------------

    def serve_until_stopped(self) -> None:
        print("Serving; Ctrl+C stops everything.", flush=True)
        while True:
            self._check_children()
            time.sleep(0.5)

    def play(self) -> None:
        if sys.stdin.isatty():  # the game takes the screen: let the lines above be read (and copied) first
            try:
                input("Enter: play.  Ctrl+C: stop everything.  ")
            except EOFError:
                return
        while True:
            self._check_children()
            status = self._run_game()
            ended = "has ended" if status == 0 else f"stopped with exit status {status}"
            print(f"\nThe game {ended}; the bots play on and the wall stays live.")
            try:
                input("Enter: play again.  Ctrl+C: stop everything.  ")
            except EOFError:
                return

    def _run_game(self) -> int:
        game = subprocess.Popen([sys.executable, "-m", "spaceinvaders_tui", "--api", self.api,
                                 "--data-dir", str(self.dir / "player")])
        try:
            return game.wait()
        except KeyboardInterrupt:
            # The same Ctrl+C reached the game (one process group): let it free its seat and give the
            # terminal back by itself before making it stop.
            try:
                game.wait(GAME_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _stop(game, signal.SIGTERM, GAME_STOP_TIMEOUT)
            raise
        except BaseException:  # SIGTERM or SIGHUP reached this process only: pass it on
            _stop(game, signal.SIGTERM, GAME_STOP_TIMEOUT)
            raise

    def _check_children(self) -> None:
        if self.server is not None and self.server.poll() is not None:
            raise DemoError(f"the server stopped:\n{self._log_tail('server.log')}")
        if self.bots is not None and self.bots.poll() is not None:
            print(f"The bots stopped (exit status {self.bots.returncode}); see {self.dir / 'bots.log'}", flush=True)
            self.bots = None

    # -- stopping ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Bots first (they free their seats), then the session, then the server; each has a time limit.
        A Ctrl+C, SIGTERM or SIGHUP meanwhile is ignored: stopping is already under way, and bounded (a
        terminal closed during it must not leave the server running on a deleted data directory)."""
        previous = _ignore_stop_signals()
        try:
            if self.bots is not None:
                if self.bots.stdin is not None:
                    self.bots.stdin.close()
                _stop(self.bots, signal.SIGINT, BOTS_STOP_TIMEOUT)
            if self.server is not None and self.server.poll() is None and self.session_id is not None:
                with contextlib.suppress(Exception):
                    asyncio.run(asyncio.wait_for(self._close_session(), 5.0))
            if self.server is not None:
                _stop(self.server, signal.SIGINT, SERVER_STOP_TIMEOUT)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.temporary:
                shutil.rmtree(self.dir, ignore_errors=True)
        print("Stopped: the bots, the session and the server.", flush=True)

    async def _close_session(self) -> None:
        async with SpaceInvadersClient(self.api, token_store=None) as manager:
            await manager.sign_in(MANAGER, self.password)
            await manager.close_session()


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Ask `proc` to stop with `sig`, kill it after `timeout` seconds; wait until it is gone."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
