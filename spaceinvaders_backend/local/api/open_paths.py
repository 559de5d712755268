"""Paths open to anybody: how to sign in, health, this API's document, the token keys."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from ...core.answers import Config, Health, Jwks, Parameter
from ..backend import LocalBackend
from ..http import json_response
from ..settings import Settings
from ..tokens import TokenService
from .operation import Call, Operation
from .start_socket import PATH as START_PATH


def start_socket_url(call: Call) -> str:
    """The start push's address as this request reached the server: its host, and wss:// over TLS."""
    url = call.request.url
    scheme = "wss" if url.scheme == "https" else "ws"
    return f"{scheme}://{url.netloc}{url.path.rsplit('/config', 1)[0]}{START_PATH}"


class OpenPaths:
    def __init__(self, settings: Settings, backend: LocalBackend, tokens: TokenService,
                 document: Callable[[], dict[str, Any]]) -> None:
        self.settings = settings
        self.backend = backend
        self.tokens = tokens
        self.document = document

    async def config(self, call: Call) -> Config:
        env = self.settings.env
        return Config(Parameters=[Parameter(Name=f"/{env}/auth", Value="local"),
                                  Parameter(Name=f"/{env}/issuer", Value=self.tokens.issuer),
                                  Parameter(Name=f"/{env}/websocketurl", Value=start_socket_url(call))])

    async def health(self, call: Call) -> Health | Response:
        failed = self.backend.writer.failed
        if failed is not None:
            return json_response(Health(status="unavailable", reason=str(failed)), 503)
        return Health(status="ok", lastSequenceNumber=self.backend.last_sequence,
                      processedThrough=self.backend.stream.checkpoint, groupCommits=self.backend.writer.commits)

    async def openapi(self, call: Call) -> dict[str, Any]:
        return self.document()

    async def jwks(self, call: Call) -> Jwks:
        return self.tokens.jwks

    def operations(self) -> list[Operation]:
        return [
            Operation("GET", "/config", "How clients sign in (SSM GetParameters shape)", self.config, None, Config),
            Operation("GET", "/health", "200 while the server can take writes", self.health, None, Health,
                      other_answers=((503, Health),)),
            Operation("GET", "/openapi.json", "This document", self.openapi, None, dict[str, Any]),
            Operation("GET", "/auth/jwks.json", "Public keys that sign the tokens", self.jwks, None, Jwks),
        ]
