"""Shared set-up for the server benchmarks: a server process with a do-nothing endpoint, and players."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

from spaceinvaders_backend.local import auth, database
from spaceinvaders_backend.local.app import ISSUER
from spaceinvaders_backend.local.settings import Settings

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        database.prepare_data_dir(self.data_dir)
        self.proc = subprocess.Popen([sys.executable, str(HERE / "noop_server.py"), "--port", str(self.port),
                                      "--data-dir", str(self.data_dir)])
        for _ in range(200):
            try:
                if httpx.get(f"{self.base_url}/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def make_players(server: BenchServer, count: int, session_name: str = "BENCH") -> tuple[str, list[tuple[str, str]]]:
    """Open a session with a seat for each of `count` new players; answers (SessionId, [(name, id token)])."""
    settings = Settings(data_dir=server.data_dir)
    conn = database.connect(settings.database_path)
    shared_hash = auth.hash_password(PASSWORD)  # one hash for all: account creation is not measured
    names = [f"player{i:05d}" for i in range(count)]
    with database.transaction(conn):
        auth.create_manager(conn, "bench-manager", PASSWORD)
        subs = {}
        for name in names:
            sub = f"sub-{name}"
            database.insert_user(conn, name, sub, shared_hash, None, auth.GAMER, time.time())
            subs[name] = sub
    conn.close()
    minter = auth.LocalAuth(settings, writer=None, issuer=ISSUER)  # type: ignore[arg-type]
    tokens = [(n, str(minter.issue_tokens(n, subs[n], [auth.GAMER])["IdToken"])) for n in names]

    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        manager = http.post("/auth/signin", json={"Username": "bench-manager", "Password": PASSWORD}).json()
        opened = http.post("/manager/session", headers={"Authorization": manager["IdToken"]},
                           json={"SessionName": session_name, "GameType": "MULTIPLE_TRIALS",
                                 "Synchronized": False, "TotalSeats": max(count, 1)})
        opened.raise_for_status()
        for name, token in tokens:
            http.post("/allocate", headers={"Authorization": token}, json={"Username": name}).raise_for_status()
    return opened.json()["SessionId"], tokens
