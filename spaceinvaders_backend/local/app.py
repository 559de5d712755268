"""The local server's ASGI app: every path of the contract, built from the areas' operations.

`POST /v1/updatestatus` is served by its own bare ASGI endpoint in front of Starlette, because it
carries nearly all of the traffic; everything else goes through Starlette's routing.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, WebSocketRoute

from ..core.errors import ApiError
from . import openapi
from .accounts import Accounts, HashGate
from .api.manager import ManagerPaths
from .api.open_paths import OpenPaths
from .api.player import PlayerPaths
from .api.signin import SignInPaths
from .api.start_socket import PATH as START_PATH
from .api.start_socket import StartSocket
from .api.status import StatusEndpoint
from .backend import LocalBackend
from .http import error_response
from .pushes import StartPushes
from .settings import Settings
from .storage import is_storage_failure, unavailable
from .throttle import SignInThrottle
from .tokens import TokenService

log = logging.getLogger("spaceinvaders.server")
PREFIX = "/v1"
STATUS_PATH = PREFIX + "/updatestatus"


class ServerApp:
    """Status posts go straight to their endpoint; everything else through Starlette's routing."""

    def __init__(self, routes: Starlette, backend: LocalBackend, status: StatusEndpoint) -> None:
        self.routes = routes
        self.backend = backend
        self.status = status

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == STATUS_PATH and scope["method"] == "POST":
            await self.status(scope, receive, send)
        else:
            await self.routes(scope, receive, send)


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> ServerApp:
    pushes = StartPushes()
    backend = LocalBackend(settings, clock, on_session_saved=pushes.session_saved)
    tokens = TokenService(settings.data_dir, settings.id_token_lifetime_seconds, clock=clock)
    gate = HashGate(settings.hash_workers, settings.hash_queue, settings.hash_queue_per_source,
                    settings.hash_workers_per_source)
    throttle = SignInThrottle(settings.signin_free_failures, ceiling_failures=settings.signin_ceiling_failures)
    accounts = Accounts(backend.writer, tokens, throttle, gate, settings.refresh_token_lifetime_seconds, clock)
    status = StatusEndpoint(backend, tokens, settings, clock)
    document: dict[str, Any] = {}  # filled below: /openapi.json is one of the operations it describes
    areas = [OpenPaths(settings, backend, tokens, lambda: document), SignInPaths(accounts, settings, clock),
             PlayerPaths(backend), ManagerPaths(backend, settings)]
    operations = [status.operation(), *(op for area in areas for op in area.operations())]
    document.update(openapi.build(operations))
    routes = [Route(op.path, op.endpoint(tokens, settings), methods=[op.method]) for op in operations
              if op.handler is not None]
    routes.append(Route(operations[0].path, status, methods=["POST"]))  # reached for other methods: a 405
    routes.append(WebSocketRoute(START_PATH, StartSocket(backend, tokens, pushes, settings, clock).serve))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await backend.start()
        try:
            yield
        finally:
            await backend.stop()
            gate.close()

    starlette = Starlette(routes=[Mount(PREFIX, routes=routes)], lifespan=lifespan,
                          exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected})
    return ServerApp(starlette, backend, status)


async def _api_error(request: Request, exc: ApiError) -> Response:
    return error_response(exc)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    codes = {404: "NotFound", 405: "MethodNotAllowed"}
    return error_response(ApiError(exc.status_code, codes.get(exc.status_code, "HttpError"), exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    if is_storage_failure(exc):  # outside the writer thread (an export's read connection): the same answer
        return error_response(unavailable(exc))
    log.exception("unexpected error on %s", request.url.path)
    return error_response(ApiError(500, "InternalError", "The server failed; the error is logged."))
