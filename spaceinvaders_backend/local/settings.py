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
    # Consecutive failed sign-ins for a username from one source address before each further try from there
    # must wait (doubling each time); and the ceiling of failures for a username from every source.
    signin_free_failures: int = 5
    signin_ceiling_failures: int = 100
    # Password hashes (argon2id, ~30 ms of a core each): `hash_workers_per_source` for a source address
    # alone (a room's rush from one NAT address), one each while several have calls, `hash_workers` at most
    # (a third thread, so another source's call starts at once). Waiting: sources take turns, each with at
    # most `hash_queue_per_source` calls; past that: 429.
    hash_workers: int = 3
    hash_workers_per_source: int = 2
    hash_queue: int = 2048
    hash_queue_per_source: int = 256
    # Sign-ups and sign-ins per source address: a burst that fills a room from one machine, then a slow pace.
    signup_burst_per_source: float = 300.0
    signup_rate_per_source: float = 1.0
    signin_burst_per_source: float = 300.0
    signin_rate_per_source: float = 2.0
    # A sign-in or sign-up refused for its pace (429) is answered after this pause: a flood that ignores
    # Retry-After is slowed to one try per connection this often instead of spinning (1,000 connections
    # then cost the server 200 cheap answers a second).
    refusal_pause_seconds: float = 5.0
    # The HTTP layer's limits against hostile clients (see server.py and docs/api.md).
    head_timeout_seconds: float = 5.0  # a request head must arrive whole within this; idle keep-alive too
    body_timeout_seconds: float = 10.0  # a body (at most 16 KiB) must arrive whole within this
    max_head_bytes: int = 16 * 1024
    max_connections: int = 10_000
    max_connections_per_source: int = 2_500  # a room's players and bots behind one address fit
    # A start-push socket with no message from its client for this long is closed (API Gateway: 10 minutes).
    start_socket_idle_seconds: float = 600.0

    @property
    def database_path(self) -> Path:
        return self.data_dir / "spaceinvaders.db"
