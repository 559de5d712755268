"""HTTP plumbing shared by the endpoints: typed JSON answers, the contract's error body, bounded body reads."""
from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.responses import Response

from ..core.answers import ErrorBody
from ..core.errors import ApiError

_encoder = msgspec.json.Encoder()
JSON = "application/json"
# A refused body is still read (and dropped) up to this size before the answer, so that closing the
# connection with unread data does not reset it before the client reads the answer.
DRAIN_LIMIT = 1024 * 1024


def encode(answer: Any) -> bytes:
    return _encoder.encode(answer)


def json_response(answer: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(answer), status_code=status, media_type=JSON, headers=headers)


def error_body(err: ApiError) -> bytes:
    return _encoder.encode(ErrorBody(errorMessage=err.message, errorCode=err.code, errorDetails=err.details))


def error_response(err: ApiError) -> Response:
    return Response(error_body(err), status_code=err.status, media_type=JSON, headers=err.headers)


def check_content_type(value: str | None) -> None:
    """415 for a body that says it is something other than JSON (a missing type is taken as JSON)."""
    if value and value != JSON and "json" not in value.split(";", 1)[0].lower():
        raise ApiError(415, "UnsupportedMediaType", "The body must be JSON (Content-Type: application/json).")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"The body is larger than {limit} bytes.")


def declared_length(value: str | bytes | None, limit: int) -> None:
    """400 for a Content-Length that is not a number; 413 at once for one past what is ever drained."""
    if value is None:
        return
    try:
        length = int(value)
    except ValueError:
        raise ApiError(400, "BadRequest", "Content-Length is not a number.") from None
    if length > max(limit, DRAIN_LIMIT):
        raise too_large(limit)


class Body:
    """The request body from ASGI messages: at most `limit` bytes kept, all of it within `timeout` seconds."""

    def __init__(self, receive, timeout: float) -> None:
        self._receive = receive
        self.timeout = timeout
        self.done = False  # the last message of the body was received

    async def read(self, limit: int) -> bytes:
        """The whole body; 413 past `limit` (the rest is drained first), 408 when it takes too long."""
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while not self.done:
                    message = await self._receive()
                    if message["type"] == "http.disconnect":
                        raise ApiError(400, "ClientDisconnected", "The client went away.")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    self.done = not message.get("more_body", False)
                    if size <= limit:
                        chunks.append(chunk)
                    elif size > DRAIN_LIMIT:
                        break
        except TimeoutError:
            raise ApiError(408, "RequestTimeout", f"The body did not arrive within {self.timeout:g} s.") from None
        if size > limit:
            raise too_large(limit)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def drain(self) -> None:
        """Read and drop what is left of the body (bounded as `read`), before an early answer."""
        if not self.done:
            try:
                await self.read(0)
            except ApiError:
                pass
