"""The local server's settings, with the defaults a room needs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("spaceinvaders", appauthor=False))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    env: str = "local"
    # Players with no status for this long lose their seat (the original never freed them).
    idle_timeout_seconds: float = 60.0
    # Status posts per second a player may make, and the burst allowed above that pace.
    rate_limit_per_second: float = 10.0
    rate_limit_burst: float = 10.0
    # How often the stream processor reads new records, and the housekeeping interval.
    stream_interval_seconds: float = 0.25
    housekeeping_interval_seconds: float = 1.0
    # Records waiting for a commit beyond which posts are refused with 503 (the server is overloaded).
    max_pending_records: int = 50_000
    id_token_lifetime_seconds: int = 3600
    refresh_token_lifetime_seconds: int = 30 * 24 * 3600
    # Consecutive failed sign-ins for a username before each further try must wait (doubling each time).
    signin_free_failures: int = 5
    # Password hashes (argon2id, ~30 ms of a core each) running at once, and waiting; past both: 429.
    hash_workers: int = 2
    hash_queue: int = 256
    # Sign-ups per source address: a burst that fills a room from one machine, then a slow pace.
    signup_burst_per_source: float = 300.0
    signup_rate_per_source: float = 1.0
    # The HTTP layer's limits against hostile clients (see server.py and docs/api.md).
    head_timeout_seconds: float = 5.0  # a request head must arrive whole within this; idle keep-alive too
    body_timeout_seconds: float = 10.0  # a body (at most 16 KiB) must arrive whole within this
    max_head_bytes: int = 16 * 1024
    max_connections: int = 10_000
    # A start-push socket with no message from its client for this long is closed (API Gateway: 10 minutes).
    start_socket_idle_seconds: float = 600.0

    @property
    def database_path(self) -> Path:
        return self.data_dir / "spaceinvaders.db"
