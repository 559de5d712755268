"""`POST /updatestatus` as a bare ASGI app: it carries nearly all of the traffic, so no Request object,
no routing, one answer. It decides who may post (token, group, own Nickname, rate), decodes the body,
hands the update to the backend and encodes the receipt."""
from __future__ import annotations

from collections.abc import Callable

from ...core.answers import Receipt
from ...core.errors import ApiError
from ...core.models import STATUS_BODY_LIMIT, StatusUpdate, decode
from ..backend import SHARD_ID, LocalBackend
from ..http import JSON, Body, check_content_type, declared_length, encode, error_body
from ..ratelimit import RateLimiter, retry_after
from ..settings import Settings
from ..tokens import GAMER, TokenService, require
from .operation import Operation

PATH = "/updatestatus"
_JSON_HEADERS = [(b"content-type", JSON.encode())]


class StatusEndpoint:
    def __init__(self, backend: LocalBackend, tokens: TokenService, settings: Settings,
                 clock: Callable[[], float]) -> None:
        self.backend = backend
        self.tokens = tokens
        self.clock = clock
        self.body_timeout = settings.body_timeout_seconds
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)

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
        body = Body(receive, self.body_timeout)
        try:
            ident = self.tokens.identify(authorization)
            require(ident, GAMER)
            check_content_type(ctype)
            declared_length(length, STATUS_BODY_LIMIT)
            update: StatusUpdate = decode(await body.read(STATUS_BODY_LIMIT), StatusUpdate)
            if update.Nickname.lower() != ident.username.lower():
                raise ApiError(403, "Forbidden", "Nickname must be your own username.")
            wait = self.limiter.take(ident.username, self.clock())
            if wait:
                raise ApiError(429, "TooManyRequests",
                               f"Status posts are limited to {self.limiter.rate:g} a second.",
                               headers=retry_after(wait))
            seq = await self.backend.post_status(ident.username, update)
            status, payload = 200, encode(Receipt(SequenceNumber=f"{seq:020d}", ShardId=SHARD_ID))
        except ApiError as err:
            await body.drain()
            status, payload = err.status, error_body(err)
            if err.headers:
                headers = headers + [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
        headers = headers + [(b"content-length", b"%d" % len(payload))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def operation(self) -> Operation:
        return Operation("POST", PATH, "Post your status; a 200 means it is stored durably", None, GAMER, Receipt,
                         body=StatusUpdate, errors=(409, 429, 503), body_limit=STATUS_BODY_LIMIT)
