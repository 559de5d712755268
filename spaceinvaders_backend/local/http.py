"""HTTP plumbing shared by the routes: JSON answers, the contract's error body, bounded body reads."""
from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import ApiError

_encoder = msgspec.json.Encoder()
JSON = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(data), status_code=status, media_type=JSON, headers=headers)


def error_response(err: ApiError) -> Response:
    return json_response(err.body(), err.status, err.headers)


def check_content_type(value: str | None) -> None:
    """415 for a body that says it is something other than JSON (a missing type is taken as JSON)."""
    if value and value != JSON and "json" not in value.split(";", 1)[0].lower():
        raise ApiError(415, "UnsupportedMediaType", "The body must be JSON (Content-Type: application/json).")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"The body is larger than {limit} bytes.")


def declared_length(value: str | bytes | None, limit: int) -> None:
    if value is None:
        return
    try:
        length = int(value)
    except ValueError:
        raise ApiError(400, "BadRequest", "Content-Length is not a number.") from None
    if length > limit:
        raise too_large(limit)


async def read_body(receive, limit: int) -> bytes:
    """The request body from ASGI messages, refused with 413 as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "ClientDisconnected", "The client went away.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def request_body(request: Request, limit: int) -> bytes:
    check_content_type(request.headers.get("content-type"))
    declared_length(request.headers.get("content-length"), limit)
    return await read_body(request.receive, limit)
