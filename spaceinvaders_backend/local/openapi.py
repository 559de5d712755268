"""The OpenAPI 3 description of the contract as the local server serves it."""
from __future__ import annotations

from typing import Any

import msgspec

from ..core import models

_BODIES = {
    "StatusUpdate": models.StatusUpdate, "UsernameBody": models.UsernameBody, "OpenSession": models.OpenSession,
    "StartSession": models.StartSession, "SignUp": models.SignUp, "SignIn": models.SignIn,
    "Refresh": models.Refresh,
}
_schemas, _components = msgspec.json.schema_components(list(_BODIES.values()),
                                                       ref_template="#/components/schemas/{name}")

_OBJ = {"type": "object"}
_STR = {"type": "string"}
_INT = {"type": "integer"}
_ENTRY = {"type": "object", "properties": {k: _INT for k in ("Score", "Shots", "Level", "Lives")}
          | {"Nickname": _STR}}
_SESSION = {
    "type": "object",
    "properties": {"SessionId": _STR, "GameType": {"enum": list(models.GAME_TYPES)}, "Synchronized": {"type": "boolean"},
                   "TimeoutInMinutes": _INT, "TotalSeats": _INT, "OpeningTime": _STR, "SynchronizeTime": _STR,
                   "ClosingTime": _STR, "ServerTime": _STR},
    "required": ["SessionId", "GameType", "Synchronized", "OpeningTime"],
}
_ERROR = {"type": "object", "properties": {"errorMessage": _STR, "errorCode": _STR, "errorDetails": {}},
          "required": ["errorMessage", "errorCode"]}
_TOKENS = {"type": "object", "properties": {k: _STR for k in ("IdToken", "AccessToken", "RefreshToken", "TokenType")}
           | {"ExpiresIn": _INT}}
_SCOREBOARD = {"type": "object", "properties": {
    "Scoreboard": {"type": "array", "items": _ENTRY},
    # Additions: the caller's own rank (/scoreboard), and processing figures (/manager/scoreboard).
    "Caller": {**_ENTRY, "properties": {**_ENTRY["properties"], "Rank": _INT}},
    "Stats": {"type": "object", "properties": {"Records": _INT, "Delay": {"type": "number", "nullable": True}}},
}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: dict[str, Any] | None, *, body: str | None = None, auth: str | None = "Gamer",
        errors: tuple[int, ...] = (), status: str = "200", query: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {status: {"description": "Success", **_json(ok or _OBJ)}}}
    if body:
        op["requestBody"] = {"required": True, **_json({"$ref": f"#/components/schemas/{body}"})}
    if auth:
        op["security"] = [{"idToken": []}]
        op["description"] = f"Needs the {auth} group."
        errors = (401, 403, *errors)
    if body:
        errors = (400, 413, 415, 422, *errors)
    for code in sorted(set(errors)):
        op["responses"][str(code)] = {"description": "Error", **_json({"$ref": "#/components/schemas/Error"})}
    if query:
        op["parameters"] = [{"name": q, "in": "query", "required": q == "sessionId", "schema": _STR} for q in query]
    return op


_MESSAGE = {"type": "object", "properties": {"successMessage": _STR}}
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Space Invaders API", "version": "1"},
    "servers": [{"url": "/v1"}],
    "paths": {
        "/config": {"get": _op("How clients sign in (SSM GetParameters shape)", None, auth=None)},
        "/health": {"get": _op("200 while the server can take writes", None, auth=None, errors=(503,))},
        "/openapi.json": {"get": _op("This document", None, auth=None)},
        "/session": {"get": _op("The current session, or null", {**_SESSION, "nullable": True})},
        "/allocate": {"post": _op("Take a seat in the current session", _MESSAGE, body="UsernameBody")},
        "/deallocate": {"post": _op("Free your seat", _MESSAGE, body="UsernameBody")},
        "/updatestatus": {"post": _op(
            "Post your status; a 200 means it is stored durably",
            {"type": "object", "properties": {"SequenceNumber": _STR, "ShardId": _STR}},
            body="StatusUpdate", errors=(409, 429, 503))},
        "/scoreboard": {"get": _op("The top 10 of a session", _SCOREBOARD, query=("sessionId",), errors=(400, 404))},
        "/manager/session": {"post": _op("Open a session", _SESSION, body="OpenSession", auth="Manager",
                                         errors=(409,), status="201")},
        "/manager/session/start": {"post": _op("Synchronized start, CountdownSeconds ahead", _SESSION,
                                               body="StartSession", auth="Manager", errors=(409,))},
        "/manager/session/close": {"post": _op("Close the open session", _SESSION, auth="Manager", errors=(409,))},
        "/manager/sessions": {"get": _op("Every session, newest first", {
            "type": "object", "properties": {"Sessions": {"type": "array", "items": _SESSION}}}, auth="Manager")},
        "/manager/scoreboard": {"get": _op("The full scoreboard", _SCOREBOARD, auth="Manager",
                                           query=("sessionId",), errors=(400, 404))},
        "/manager/players": {"get": _op("Seats of a session (live for the current one)", {
            "type": "object", "properties": {"TotalSeats": _INT, "OccupiedSeats": _INT,
                                             "PlayingGamers": {"type": "array", "items": _STR},
                                             "FinishedGamers": {"type": "array", "items": _STR}}},
            auth="Manager", query=("sessionId",), errors=(400, 404))},
        "/manager/deallocate": {"post": _op("Free a player's seat", _MESSAGE, body="UsernameBody", auth="Manager")},
        "/manager/export": {"get": {
            **_op("Every stored status record of a session, in arrival order", None, auth="Manager",
                  query=("sessionId", "format"), errors=(400, 404, 422)),
            "responses": {"200": {"description": "JSON lines or CSV",
                                  "content": {"application/x-ndjson": {}, "text/csv": {}}}}}},
        "/auth/signup": {"post": _op("Sign up (joins Gamer)", None, body="SignUp", auth=None, errors=(409,),
                                     status="201")},
        "/auth/signin": {"post": _op("Sign in", _TOKENS, body="SignIn", auth=None, errors=(401, 429))},
        "/auth/refresh": {"post": _op("New tokens from a refresh token", _TOKENS, body="Refresh", auth=None,
                                      errors=(401,))},
        "/auth/jwks.json": {"get": _op("Public keys that sign the tokens", None, auth=None)},
    },
    "components": {
        "schemas": {**_components, "Error": _ERROR, "Session": _SESSION},
        "securitySchemes": {"idToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                                        "description": "The ID token, raw or after `Bearer `."}},
    },
}
