"""The sign-in throttle: failed sign-ins per username make further tries wait, and are forgotten with time."""
from __future__ import annotations

from ..core.errors import ApiError
from .ratelimit import retry_after

# Usernames tracked at most; past it the oldest is dropped (a flood of made-up names cannot grow it forever).
THROTTLE_LIMIT = 100_000
MAX_WAIT_SECONDS = 300.0


class SignInThrottle:
    """Past `free_failures` failures in a row, each try waits 1, 2, 4 ... 300 s after the last failure.

    A try counts as failed as soon as it begins (`begin`), before its password is checked, and a success
    forgives them all (`succeeded`): tries sent at once are counted one by one, so they cannot all slip
    in before the first failure is known. One failure is forgotten for every `forget_seconds` without
    one, so an attacker's rare tries cannot keep the real user out for good.
    """

    def __init__(self, free_failures: int, forget_seconds: float = 60.0, limit: int = THROTTLE_LIMIT) -> None:
        self.free_failures = free_failures
        self.forget_seconds = forget_seconds
        self.limit = limit
        self._failures: dict[str, tuple[int, float]] = {}  # username -> (failures, when the last one began)

    def _counted(self, username: str, now: float) -> tuple[int, float]:
        failures, last = self._failures.get(username, (0, now))
        return max(0, failures - int((now - last) // self.forget_seconds)), last

    def wait(self, failures: int) -> float:
        """Seconds a try must wait after the last of `failures` failures."""
        if failures < self.free_failures:
            return 0.0
        return min(2.0 ** (failures - self.free_failures), MAX_WAIT_SECONDS)

    def begin(self, username: str, now: float) -> None:
        """A sign-in try begins: 429 while it must wait, else it is counted as a failure until it succeeds."""
        failures, last = self._counted(username, now)
        until = last + self.wait(failures)
        if now < until:
            raise ApiError(429, "TooManyFailedSignIns", "Too many failed sign-ins; wait before trying again.",
                           headers=retry_after(until - now))
        if username not in self._failures and len(self._failures) >= self.limit:
            self._failures.pop(next(iter(self._failures)))
        self._failures.pop(username, None)  # re-inserted last: the oldest entries are the quiet ones
        self._failures[username] = (failures + 1, now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    def forgive(self, username: str) -> None:
        """Undo the failure counted by `begin` for a try that was never checked."""
        failures, last = self._failures.get(username, (0, 0.0))
        if failures > 1:
            self._failures[username] = (failures - 1, last)
        else:
            self._failures.pop(username, None)
