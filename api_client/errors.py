"""One exception hierarchy for everything the client raises.

Status classes (`UnprocessableError`, `ConflictError`, ...) and errorCode classes (`SessionClosed`,
`NoSeatsAvailable`, ...) are both bases of the raised error, because one code can come with several
statuses (`SessionClosed` is a 422 from /allocate and a 409 from /updatestatus): `except SessionClosed`
and `except UnprocessableError` both catch a 422 `SessionClosed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SpaceInvadersError(Exception):
    """Base of every error raised by `api_client`."""


class TransportError(SpaceInvadersError):
    """The request did not get an HTTP answer; the httpx error is the `__cause__`."""

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        # False when the request surely never reached the server, so any call may be retried.
        self.sent = sent


class PushUnavailable(TransportError):
    """The start push cannot be used: the backend offers none, the socket was refused (`status`: the
    upgrade's HTTP status) or could not be opened, or it dropped. Polling `/session` still works."""

    def __init__(self, message: str, *, sent: bool = True, status: int | None = None, offered: bool = True) -> None:
        super().__init__(message, sent=sent)
        self.status = status
        self.offered = offered  # False: the backend has no start push at all (nothing to try again)


class APIConnectionError(TransportError):
    """Connecting, sending or reading failed (refused, reset, dropped)."""


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class MalformedResponseError(SpaceInvadersError):
    """A 2xx answer whose body is not the JSON shape the contract promises."""

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:500]


class AuthUnsupportedError(SpaceInvadersError):
    """The sign-in backend has no such operation (e.g. forgotten password on the local server)."""


class ApiError(SpaceInvadersError):
    """An error answer of the contract: `{"errorMessage", "errorCode", "errorDetails"}`."""

    status: int = 0

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait, from `Retry-After` (seconds form only): a 429, or a 503
        whose server stored nothing (a full disk, an overload)."""
        value = next((v for k, v in self.headers.items() if k.lower() == "retry-after"), None)
        return parse_retry_after(value)


class BadRequestError(ApiError):
    status = 400


class AuthenticationError(ApiError):
    status = 401


class PermissionDeniedError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class PayloadTooLargeError(ApiError):
    status = 413


class UnsupportedMediaTypeError(ApiError):
    status = 415


class UnprocessableError(ApiError):
    status = 422


class RateLimitError(ApiError):
    status = 429


class ServerError(ApiError):
    """Any 5xx."""

    status = 500


class ServiceUnavailableError(ServerError):
    status = 503


# errorCode classes. Raised errors derive from one of these *and* from their status class.
class NoSessionAvailable(ApiError):
    pass


class SessionClosed(ApiError):
    pass


class NoSeatsAvailable(ApiError):
    pass


class GamerCannotPlay(ApiError):
    pass


class SessionNotStarted(ApiError):
    pass


class SessionMismatch(ApiError):
    pass


class NotSeated(ApiError):
    pass


class SessionAlreadyOpen(ApiError):
    pass


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        UnprocessableError,
        RateLimitError,
        ServiceUnavailableError,
    )
}
CODE_CLASSES: dict[str, type[ApiError]] = {
    cls.__name__: cls
    for cls in (
        NoSessionAvailable,
        SessionClosed,
        NoSeatsAvailable,
        GamerCannotPlay,
        SessionNotStarted,
        SessionMismatch,
        NotSeated,
        SessionAlreadyOpen,
    )
}
_combined: dict[tuple[type[ApiError], type[ApiError]], type[ApiError]] = {}


def status_class(status: int) -> type[ApiError]:
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ServerError
    return ApiError


def error_class(status: int, code: str) -> type[ApiError]:
    """The class to raise for a status and errorCode; code classes are combined with status classes."""
    by_status = status_class(status)
    by_code = CODE_CLASSES.get(code)
    if by_code is None:
        return by_status
    key = (by_code, by_status)
    if key not in _combined:
        _combined[key] = type(by_code.__name__, key, {"__module__": __name__})
    return _combined[key]


def make_error(
    status: int, code: str, message: str, details: Any = None, headers: Mapping[str, str] | None = None
) -> ApiError:
    return error_class(status, code)(status, code, message, details, headers)


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # the HTTP-date form: no server of the contract sends it
    return max(0.0, seconds)
