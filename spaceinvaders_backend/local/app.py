"""The local server's ASGI app: every path of the contract.

`POST /v1/updatestatus` is served by a thin ASGI handler in front of Starlette, because it carries
nearly all of the traffic; everything else goes through Starlette's routing.
"""
from __future__ import annotations

import contextlib
import logging
import time

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route

from ..core import models
from ..core.errors import ApiError
from ..core.models import OTHER_BODY_LIMIT, STATUS_BODY_LIMIT
from . import export, openapi
from .auth import GAMER, MANAGER, Identity, LocalAuth
from .backend import LocalBackend
from .http import (
    JSON,
    check_content_type,
    declared_length,
    error_response,
    json_response,
    read_body,
    request_body,
)
from .settings import Settings

log = logging.getLogger("spaceinvaders.server")
ISSUER = "urn:spaceinvaders:local"
STATUS_PATH = "/v1/updatestatus"
_JSON_HEADERS = [(b"content-type", JSON.encode())]

def create_app(settings: Settings) -> SpaceInvadersApp:
    backend = LocalBackend(settings)
    auth = LocalAuth(settings, backend.writer, ISSUER)
    status = StatusEndpoint(backend, auth)
    return SpaceInvadersApp(_routes_app(settings, backend, auth, status), backend, auth, status)


class SpaceInvadersApp:
    """Status posts go straight to their endpoint; everything else through Starlette's routing."""

    def __init__(self, app: Starlette, backend: LocalBackend, auth: LocalAuth, status: StatusEndpoint) -> None:
        self.app = app
        self.backend = backend
        self.auth = auth
        self.status = status

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == STATUS_PATH and scope["method"] == "POST":
            await self.status(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class StatusEndpoint:
    """`POST /updatestatus` as a bare ASGI app: no Request object, no routing, one answer."""

    def __init__(self, backend: LocalBackend, auth: LocalAuth) -> None:
        self.backend = backend
        self.auth = auth

    async def __call__(self, scope, receive, send) -> None:
        authorization = length = ctype = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == b"content-length":
                length = value
            elif key == b"content-type":
                ctype = value.decode("latin-1")
        headers = _JSON_HEADERS
        try:
            ident = self.auth.identify(authorization)
            _require(ident, GAMER)
            check_content_type(ctype)
            declared_length(length, STATUS_BODY_LIMIT)
            body = await read_body(receive, STATUS_BODY_LIMIT)
            payload = await self.backend.post_status(ident, body)
            status = 200
        except ApiError as err:
            status, payload = err.status, msgspec.json.encode(err.body())
            if err.headers:
                headers = headers + [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
        headers = headers + [(b"content-length", b"%d" % len(payload))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _require(ident: Identity, group: str) -> None:
    if group not in ident.groups:
        raise ApiError(403, "Forbidden", f"This path needs the {group} group.")


def _routes_app(
    settings: Settings, backend: LocalBackend, auth: LocalAuth, status: StatusEndpoint
) -> Starlette:
    def who(request: Request, group: str) -> Identity:
        ident = auth.identify(request.headers.get("authorization"))
        _require(ident, group)
        return ident

    async def body(request: Request, model):
        return models.decode(await request_body(request, OTHER_BODY_LIMIT), model)

    def session_id(request: Request) -> str:
        value = request.query_params.get("sessionId")
        if not value:
            raise ApiError(400, "MissingParameter", "The query parameter sessionId is required.")
        return value

    # --- open paths --------------------------------------------------------------------------------
    async def config(request: Request) -> Response:
        return json_response({"Parameters": [{"Name": f"/{settings.env}/auth", "Value": "local"},
                                             {"Name": f"/{settings.env}/issuer", "Value": ISSUER}]})

    async def health(request: Request) -> Response:
        failed = backend.writer.failed
        if failed is not None:
            return json_response({"status": "unavailable", "reason": str(failed)}, 503)
        return json_response({"status": "ok", "lastSequenceNumber": backend.last_sequence,
                              "processedThrough": backend.stream.checkpoint, "groupCommits": backend.writer.commits})

    async def openapi_json(request: Request) -> Response:
        return json_response(openapi.SPEC)

    async def jwks(request: Request) -> Response:
        return json_response(auth.jwks)

    async def signup(request: Request) -> Response:
        b = await body(request, models.SignUp)
        return json_response(await auth.sign_up(b.Username, b.Password, b.Email), 201)

    async def signin(request: Request) -> Response:
        b = await body(request, models.SignIn)
        return json_response(await auth.sign_in(b.Username, b.Password))

    async def refresh(request: Request) -> Response:
        b = await body(request, models.Refresh)
        return json_response(await auth.refresh(b.RefreshToken))

    # --- player paths ------------------------------------------------------------------------------
    async def session(request: Request) -> Response:
        who(request, GAMER)
        s = backend.session
        return json_response(None if s is None else s.document(server_time=time.time()))

    async def allocate(request: Request) -> Response:
        ident = who(request, GAMER)
        b = await body(request, models.UsernameBody)
        _own(ident, b.Username)
        return json_response({"successMessage": await backend.allocate(b.Username)})

    async def deallocate(request: Request) -> Response:
        ident = who(request, GAMER)
        b = await body(request, models.UsernameBody)
        _own(ident, b.Username)
        return json_response({"successMessage": await backend.deallocate(b.Username)})

    async def scoreboard(request: Request) -> Response:
        ident = who(request, GAMER)
        sid = session_id(request)
        await backend.load_scoreboard(sid)
        answer: dict[str, object] = {"Scoreboard": [e.as_dict() for e in backend.scoreboard(sid, 10)]}
        mine = backend.rank(sid, ident.username)
        if mine is not None:  # an addition to the contract: where the caller stands, in or out of the top 10
            answer["Caller"] = {"Rank": mine[0], **mine[1].as_dict()}
        return json_response(answer)

    # --- manager paths -----------------------------------------------------------------------------
    async def open_session(request: Request) -> Response:
        who(request, MANAGER)
        b = await body(request, models.OpenSession)
        s = await backend.open_session(b.SessionName, b.GameType, b.Synchronized, b.TimeoutInMinutes,
                                       b.TotalSeats)
        return json_response(s.document(), 201)

    async def start_session(request: Request) -> Response:
        who(request, MANAGER)
        raw = await request_body(request, OTHER_BODY_LIMIT)
        b = models.decode(raw, models.StartSession) if raw.strip() else models.StartSession()
        return json_response((await backend.start_session(b.CountdownSeconds)).document())

    async def close_session(request: Request) -> Response:
        who(request, MANAGER)
        return json_response((await backend.close_session()).document())

    async def sessions(request: Request) -> Response:
        who(request, MANAGER)
        return json_response({"Sessions": [s.document() for s in backend.session_list()]})

    async def manager_scoreboard(request: Request) -> Response:
        who(request, MANAGER)
        sid = session_id(request)
        await backend.load_scoreboard(sid)
        return json_response({"SessionId": sid, "Scoreboard": [e.as_dict() for e in backend.scoreboard(sid, None)],
                              "Stats": backend.board_stats(sid)})

    async def players(request: Request) -> Response:
        who(request, MANAGER)
        return json_response(await backend.players(session_id(request)))

    async def manager_deallocate(request: Request) -> Response:
        who(request, MANAGER)
        b = await body(request, models.UsernameBody)
        return json_response({"successMessage": await backend.deallocate(b.Username)})

    async def export_records(request: Request) -> Response:
        who(request, MANAGER)
        sid = session_id(request)
        backend.get_session(sid)
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in export.FORMATS:
            raise ApiError(422, "ValidationError", f"format must be one of {', '.join(export.FORMATS)}.")
        media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        return StreamingResponse(export.export_lines(settings.database_path, sid, fmt), media_type=media)

    routes = [
        Route("/config", config), Route("/health", health), Route("/openapi.json", openapi_json),
        Route("/auth/jwks.json", jwks), Route("/auth/signup", signup, methods=["POST"]),
        Route("/auth/signin", signin, methods=["POST"]), Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/session", session), Route("/allocate", allocate, methods=["POST"]),
        Route("/deallocate", deallocate, methods=["POST"]), Route("/scoreboard", scoreboard),
        Route("/updatestatus", status, methods=["POST"]),  # reached for other methods only: a 405
        Route("/manager/session", open_session, methods=["POST"]),
        Route("/manager/session/start", start_session, methods=["POST"]),
        Route("/manager/session/close", close_session, methods=["POST"]),
        Route("/manager/sessions", sessions), Route("/manager/scoreboard", manager_scoreboard),
        Route("/manager/players", players), Route("/manager/deallocate", manager_deallocate, methods=["POST"]),
        Route("/manager/export", export_records),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await backend.start()
        try:
            yield
        finally:
            await backend.stop()

    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        codes = {404: "NotFound", 405: "MethodNotAllowed"}
        return error_response(ApiError(exc.status_code, codes.get(exc.status_code, "HttpError"), exc.detail))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(ApiError(500, "InternalError", "The server failed; the error is logged."))

    return Starlette(
        routes=[Mount("/v1", routes=routes)],
        lifespan=lifespan,
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: unexpected},
    )


def _own(ident: Identity, username: str) -> None:
    if username != ident.username:
        raise ApiError(403, "Forbidden", "Username must be your own.")

