"""`spaceinvaders-server serve` in a child process on a free loopback port, as tests, benchmarks and demos
start it: wait until it answers, stop it cleanly, kill it (-9) and start it again on the same data."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Self

CLI = [sys.executable, "-m", "spaceinvaders_backend.local.cli"]


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """One server: `program` (default: the CLI's `serve`) given `--port` and `--data-dir`, then `serve_args`.

    Its output goes to `log_path` (default: beside the data directory)."""

    def __init__(self, data_dir: Path, port: int | None = None, serve_args: Sequence[str] = (),
                 program: Sequence[str] = (*CLI, "serve"), log_path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.serve_args = list(serve_args)
        self.program = list(program)
        # `--tls` or `--tls-cert`: HTTPS on loopback, with the data directory's certificate or the operator's.
        self.tls = "--tls" in self.serve_args or "--tls-cert" in self.serve_args
        self.base_url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/v1"
        self.log_path = log_path or data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [*self.program, "--port", str(self.port), "--data-dir", str(self.data_dir), *self.serve_args],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            if self.healthy():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not start in time: {self.log_path.read_text()[-2000:]}")

    @property
    def cert_path(self) -> Path:
        """The certificate the server presents (its own, made in the data directory, unless given one)."""
        args = self.serve_args
        if "--tls-cert" in args:
            return Path(args[args.index("--tls-cert") + 1])
        return self.data_dir / "tls-certificate.pem"

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, as the server prints it and clients pin it."""
        der = ssl.PEM_cert_to_DER_cert(self.cert_path.read_text())
        return hashlib.sha256(der).hexdigest()

    @property
    def pinned_url(self) -> str:
        """The join URL: the base URL pinned to the certificate (`#sha256=...`)."""
        return f"{self.base_url}#sha256={self.fingerprint}" if self.tls else self.base_url

    def healthy(self) -> bool:
        context = None
        if self.tls:  # /health carries nothing secret: any certificate will do for asking it
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=0.5, context=context) as answer:
                return answer.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        """SIGINT, as Ctrl-C: the server finishes its work and exits (killed after 10 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """kill -9: no shutdown, no flush."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def create_manager(self, username: str, password: str) -> None:
        subprocess.run([*CLI, "create-manager", "--username", username, "--password", password,
                        "--data-dir", str(self.data_dir)], check=True, capture_output=True)

    def export(self, session_id: str, fmt: str = "jsonl") -> str:
        return subprocess.run([*CLI, "export", "--session", session_id, "--format", fmt,
                               "--data-dir", str(self.data_dir)], check=True, capture_output=True, text=True).stdout
