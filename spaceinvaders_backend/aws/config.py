"""What a function knows of its stack: resource names from its environment (set by the template), and
one boto3 client per service, shared by the invocations of a warm container."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import boto3
from botocore.config import Config

DEFAULT_IDLE_TIMEOUT_SECONDS = 60.0
# Logs and metrics of every function (set here, not from the environment, so tests see them too).
SERVICE = "spaceinvaders"
METRICS_NAMESPACE = "SpaceInvaders"


@dataclass(frozen=True)
class StackNames:
    env: str
    sessions: str
    seats: str
    scoreboard: str
    connections: str
    dead_letters: str  # the queue's URL
    websocket_endpoint: str  # https://<api>.execute-api.<region>.amazonaws.com/<stage>
    idle_timeout: float

    @property
    def session_parameter(self) -> str:
        return f"/{self.env}/session"

    @classmethod
    def from_environ(cls) -> StackNames:
        env = os.environ
        return cls(
            env=env["ENV"],
            sessions=env["SESSIONS_TABLE"],
            seats=env["SEATS_TABLE"],
            scoreboard=env["SCOREBOARD_TABLE"],
            connections=env.get("CONNECTIONS_TABLE", ""),
            dead_letters=env.get("DEAD_LETTER_QUEUE_URL", ""),
            websocket_endpoint=env.get("WEBSOCKET_ENDPOINT", ""),
            idle_timeout=float(env.get("IDLE_TIMEOUT_SECONDS", DEFAULT_IDLE_TIMEOUT_SECONDS)),
        )


# Throttled calls are retried with backoff by botocore's standard mode; the pool serves the writer threads.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


@functools.cache
def client(service: str, endpoint_url: str | None = None):
    return boto3.client(service, endpoint_url=endpoint_url, config=_CONFIG)
