"""An operation of the API: its path, who may call it, its body and answer types, and its handler.

The same table builds the routes (`app.py`) and the OpenAPI document (`openapi.py`), so the two cannot
drift apart. A handler gets the decoded call and returns a typed answer (or a Response of its own).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...core import models
from ...core.errors import ApiError
from ...core.models import OTHER_BODY_LIMIT
from ..http import JSON, Body, check_content_type, declared_length, encode, error_response
from ..settings import Settings
from ..tokens import Identity, TokenService, require


@dataclass(frozen=True)
class Query:
    name: str
    required: bool = True
    enum: tuple[str, ...] = ()
    type: str = "string"  # its JSON Schema type in the document ("number": the handler parses it)
    minimum: float | None = None  # a number's bounds, as the handler checks them
    maximum: float | None = None


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it: who called (None on open paths) and the decoded body."""

    request: Request
    ident: Identity | None
    body: Any

    @property
    def username(self) -> str:
        assert self.ident is not None
        return self.ident.username

    def query(self, name: str) -> str:
        value = self.request.query_params.get(name)
        if not value:
            raise ApiError(400, "MissingParameter", f"The query parameter {name} is required.")
        return value

    @property
    def source(self) -> str:
        """The address the request came from."""
        client = self.request.client
        return client.host if client else "unknown"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # under /v1
    summary: str
    handler: Callable[[Call], Awaitable[Any]] | None  # None: served by an ASGI app of its own
    group: str | None  # the group a caller needs; None for an open path
    answer: Any = None  # the answer's type; None when it is not JSON
    body: type | None = None
    body_required: bool = True
    status: int = 200
    errors: tuple[int, ...] = ()  # besides those that follow from the group and the body
    other_answers: tuple[tuple[int, Any], ...] = ()  # (status, type) of answers other than errors
    query: tuple[Query, ...] = ()
    media: tuple[str, ...] = ()  # the answer's media types when it is not JSON
    headers: tuple[tuple[str, str], ...] = ()  # (name, description) of integer headers of the answer
    body_limit: int = OTHER_BODY_LIMIT

    def endpoint(self, tokens: TokenService, settings: Settings) -> Callable[[Request], Awaitable[Response]]:
        """The Starlette endpoint: identify, decode, call the handler, encode; errors in the contract's shape."""
        handler = self.handler
        assert handler is not None

        async def serve(request: Request) -> Response:
            body = Body(request.receive, settings.body_timeout_seconds)
            try:
                ident = None
                if self.group is not None:
                    ident = tokens.identify(request.headers.get("authorization"))
                    require(ident, self.group)
                decoded = None
                if self.body is not None:
                    check_content_type(request.headers.get("content-type"))
                    declared_length(request.headers.get("content-length"), self.body_limit)
                    raw = await body.read(self.body_limit)
                    decoded = models.decode(raw, self.body) if raw.strip() or self.body_required else self.body()
                answer = await handler(Call(request, ident, decoded))
            except ApiError as err:
                await body.drain()
                return error_response(err)
            await body.drain()
            if isinstance(answer, Response):
                return answer
            return Response(encode(answer), status_code=self.status, media_type=JSON)

        return serve
