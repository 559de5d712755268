"""Shared fixtures: a real local server in a subprocess, on a free loopback port, with its own data."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """`spaceinvaders-server serve` as a user runs it; can be stopped, killed and started again."""

    def __init__(self, data_dir: Path, port: int | None = None, idle_timeout: float = 60.0) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.idle_timeout = idle_timeout
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "spaceinvaders_backend.local.cli", *args]

    def start(self, timeout: float = 20.0) -> LocalServer:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                self._cli("serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                          "--idle-timeout", str(self.idle_timeout)),
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """kill -9: no shutdown, no flush."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def create_manager(self, username: str, password: str) -> None:
        subprocess.run(self._cli("create-manager", "--username", username, "--password", password,
                                 "--data-dir", str(self.data_dir)), check=True, capture_output=True)

    def export(self, session_id: str, fmt: str = "jsonl") -> str:
        return subprocess.run(self._cli("export", "--session", session_id, "--format", fmt,
                                        "--data-dir", str(self.data_dir)),
                              check=True, capture_output=True, text=True).stdout


@pytest.fixture
def local_server(tmp_path):
    server = LocalServer(tmp_path / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def local_server_module(tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("server") / "data").start()
    yield server
    server.stop()
