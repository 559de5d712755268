"""Where the AWS stores work: the stack's resource names and the boto3 clients that reach them.

The functions read the names from their environment (set by the template) and share one client per
service across the invocations of a warm container. The manager's console reads the names from SSM
`/<env>/tables` and brings its own clients (its credentials, its retry mode): both hand a `StackNames` to
the same stores (`session_store`, `seat_store`, `board_store`, `push`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_IDLE_TIMEOUT_SECONDS = 60.0
# Logs and metrics of every function (set here, not from the environment, so tests see them too).
SERVICE = "spaceinvaders"
METRICS_NAMESPACE = "SpaceInvaders"

# Throttled calls are retried with backoff by botocore's standard mode; the pool serves the writer threads.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


@functools.cache
def client(service: str, endpoint_url: str | None = None) -> Any:
    """The functions' shared client of a service."""
    return boto3.client(service, endpoint_url=endpoint_url, config=_CONFIG)


def published_tables(env: str, clients: Callable[..., Any]) -> dict[str, str]:
    """SSM `/<env>/tables`: the names of the resources as the stack publishes them, which the manager's console
    and the deploy check read (the functions have theirs in their environment)."""
    return json.loads(clients("ssm").get_parameter(Name=f"/{env}/tables")["Parameter"]["Value"])


# /<env>/tables names these; the manager cannot work without them.
MANAGER_RESOURCES = ("Sessions", "Seats", "Scoreboard", "Current", "ArchiveBucket", "StartFunction")


@dataclass(frozen=True)
class StackNames:
    env: str
    sessions: str
    seats: str
    scoreboard: str
    current: str  # the table whose one item names the current session (docs/aws.md, "The current session")
    connections: str = ""
    dead_letters: str = ""  # the queue's URL
    websocket_endpoint: str = ""  # https://<api>.execute-api.<region>.amazonaws.com/<stage>
    start_function: str = ""  # the function that pushes a start (the manager asks it)
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT_SECONDS
    # (service, endpoint_url) -> a boto3 client: the manager's own; None for the functions' shared ones.
    clients: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def session_parameter(self) -> str:
        """SSM's copy of the current session document, which `GET /session` answers."""
        return f"/{self.env}/session"

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        make = client if self.clients is None else self.clients
        return make(service, endpoint_url) if endpoint_url else make(service)  # one cache key per client

    def query(self, **request: Any) -> list[dict[str, Any]]:
        """Every item a DynamoDB Query answers, all pages."""
        pages = self.client("dynamodb").get_paginator("query").paginate(**request)
        return [item for page in pages for item in page["Items"]]

    @classmethod
    def from_environ(cls) -> StackNames:
        env = os.environ
        return cls(
            env=env["ENV"],
            sessions=env["SESSIONS_TABLE"],
            seats=env["SEATS_TABLE"],
            scoreboard=env["SCOREBOARD_TABLE"],
            current=env["CURRENT_TABLE"],
            connections=env.get("CONNECTIONS_TABLE", ""),
            dead_letters=env.get("DEAD_LETTER_QUEUE_URL", ""),
            websocket_endpoint=env.get("WEBSOCKET_ENDPOINT", ""),
            idle_timeout=float(env.get("IDLE_TIMEOUT_SECONDS", DEFAULT_IDLE_TIMEOUT_SECONDS)),
        )

    @classmethod
    def from_tables(cls, env: str, tables: Mapping[str, str], clients: Callable[..., Any]) -> StackNames:
        """The names SSM `/<env>/tables` publishes (the manager's view); raises KeyError for a missing one."""
        missing = [name for name in MANAGER_RESOURCES if name not in tables]
        if missing:
            raise KeyError(", ".join(missing))
        return cls(
            env=env,
            sessions=tables["Sessions"],
            seats=tables["Seats"],
            scoreboard=tables["Scoreboard"],
            current=tables["Current"],
            connections=tables.get("Connections", ""),
            start_function=tables["StartFunction"],
            clients=clients,
        )
