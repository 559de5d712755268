"""Shared set-up for the server benchmarks: a server process with a do-nothing endpoint, and players."""
from __future__ import annotations

import ssl
import sys
import time
from pathlib import Path

import httpx

from spaceinvaders_backend.local import accounts, database
from spaceinvaders_backend.local.process import ServerProcess
from spaceinvaders_backend.local.settings import Settings
from spaceinvaders_backend.local.tokens import GAMER, TokenService

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-password"


def percentile(values: list[float], p: float) -> float:
    """The value below which `p` percent of `values` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class BenchServer(ServerProcess):
    """The server with a do-nothing endpoint (noop_server.py), on a free port: `with BenchServer(dir) as s`."""

    def __init__(self, data_dir: Path, tls: bool = False) -> None:
        super().__init__(data_dir, program=[sys.executable, str(HERE / "noop_server.py")],
                         serve_args=["--tls"] if tls else [])



def verify_for(server: ServerProcess) -> ssl.SSLContext | bool:
    """What a plain httpx client needs to talk to `server`: for --tls, its own certificate as the only authority."""
    return ssl.create_default_context(cafile=str(server.cert_path)) if server.tls else True


def make_players(server: ServerProcess, count: int, session_name: str = "BENCH") -> tuple[str, list[tuple[str, str]]]:
    """Open a session with a seat for each of `count` new players; answers (SessionId, [(name, id token)])."""
    settings = Settings(data_dir=server.data_dir)
    conn = database.connect(settings.database_path)
    shared_hash = accounts.hash_password(PASSWORD)  # one hash for all: account creation is not measured
    names = [f"player{i:05d}" for i in range(count)]
    with database.transaction(conn):
        accounts.create_manager(conn, "bench-manager", PASSWORD)
        subs = {}
        for name in names:
            sub = f"sub-{name}"
            database.insert_user(conn, name, sub, shared_hash, None, GAMER, time.time())
            subs[name] = sub
    conn.close()
    minter = TokenService(settings.data_dir, settings.id_token_lifetime_seconds)
    tokens = [(n, minter.issue(n, subs[n], [GAMER]).IdToken) for n in names]

    with httpx.Client(base_url=server.base_url, timeout=10, verify=verify_for(server)) as http:
        manager = http.post("/auth/signin", json={"Username": "bench-manager", "Password": PASSWORD}).json()
        opened = http.post("/manager/session", headers={"Authorization": manager["IdToken"]},
                           json={"SessionName": session_name, "GameType": "MULTIPLE_TRIALS",
                                 "Synchronized": False, "TotalSeats": max(count, 1)})
        opened.raise_for_status()
        for name, token in tokens:
            http.post("/allocate", headers={"Authorization": token}, json={"Username": name}).raise_for_status()
    return opened.json()["SessionId"], tokens
