"""The sign-in throttle: failed sign-ins make further tries wait, per username *and* source address, under a
ceiling per username; failures are forgotten with time."""
from __future__ import annotations

import math
from collections.abc import Hashable

from ..core.errors import ApiError
from .ratelimit import retry_after

# Keys tracked at most; past it the oldest is dropped (a flood of made-up names cannot grow it forever).
THROTTLE_LIMIT = 100_000
MAX_WAIT_SECONDS = 300.0


class FailureCount:
    """Failures by key: past `free_failures`, each try waits 1, 2, 4 ... 300 s after the last failure; one
    failure is forgotten every `forget_seconds`, steadily (so a pace slower than that never adds up)."""

    def __init__(self, free_failures: int, forget_seconds: float, limit: int = THROTTLE_LIMIT) -> None:
        self.free_failures = free_failures
        self.forget_seconds = forget_seconds
        self.limit = limit
        self._failures: dict[Hashable, tuple[float, float]] = {}  # key -> (failures then, the last one's time)

    def counted(self, key: Hashable, now: float) -> tuple[int, float]:
        """The failures not forgotten by `now` (a part of one counts as one) and when the last one began."""
        failures, last = self._failures.get(key, (0.0, now))
        return max(0, math.ceil(failures - (now - last) / self.forget_seconds)), last

    def wait(self, failures: int) -> float:
        """Seconds a try must wait after the last of `failures` failures."""
        if failures < self.free_failures:
            return 0.0
        return min(2.0 ** (failures - self.free_failures), MAX_WAIT_SECONDS)

    def until(self, key: Hashable, now: float) -> float:
        """The instant from which a try for `key` may go ahead."""
        failures, last = self.counted(key, now)
        return last + self.wait(failures)

    def add(self, key: Hashable, now: float) -> None:
        failures, last = self._failures.get(key, (0.0, now))
        if key not in self._failures and len(self._failures) >= self.limit:
            self._failures.pop(next(iter(self._failures)))
        self._failures.pop(key, None)  # re-inserted last: the oldest entries are the quiet ones
        self._failures[key] = (max(0.0, failures - (now - last) / self.forget_seconds) + 1, now)

    def clear(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def forgive(self, key: Hashable) -> None:
        """Undo one failure counted by `add`."""
        failures, last = self._failures.get(key, (0.0, 0.0))
        if failures > 1:
            self._failures[key] = (failures - 1, last)
        else:
            self._failures.pop(key, None)


class SignInThrottle:
    """Failures count per username and source address: past `free_failures` from one source, that source's
    tries for that name wait 1, 2, 4 ... 300 s, while the owner signing in from elsewhere goes ahead. A
    slow attacker polling from one source takes its own slots, not the owner's.

    Failures also count per username from every source, with a ceiling far above what one source reaches
    (`ceiling_failures`, forgotten one per `ceiling_forget_seconds`): a guesser spread over many
    sources meets it, and then every try for that name waits, except from a source that signed in to that
    name before (the owner's usual address, remembered like a device cookie); the owner at a new address
    waits too, the price of a distributed attack.

    A try counts as failed as soon as it begins (`begin`), before its password is checked, so tries sent at
    once are counted one by one; a success forgives its source's failures (`succeeded`).
    """

    def __init__(self, free_failures: int, forget_seconds: float = 60.0, ceiling_failures: int = 100,
                 ceiling_forget_seconds: float = 30.0, limit: int = THROTTLE_LIMIT) -> None:
        self.by_source = FailureCount(free_failures, forget_seconds, limit)
        self.by_name = FailureCount(ceiling_failures, ceiling_forget_seconds, limit)
        self.limit = limit
        self._signed_in: dict[tuple[str, str], None] = {}  # (username, source) that signed in, oldest first

    def begin(self, username: str, source: str, now: float) -> None:
        """A sign-in try begins: 429 while it must wait, else it is counted as a failure until it succeeds."""
        until = self.by_source.until((username, source), now)
        if (username, source) not in self._signed_in:
            until = max(until, self.by_name.until(username, now))
        if now < until:
            raise ApiError(429, "TooManyFailedSignIns", "Too many failed sign-ins; wait before trying again.",
                           headers=retry_after(until - now))
        self.by_source.add((username, source), now)
        self.by_name.add(username, now)

    def succeeded(self, username: str, source: str) -> None:
        key = (username, source)
        self.by_source.clear(key)
        self.by_name.forgive(username)  # this try was no failure; the others' keep counting
        self._signed_in.pop(key, None)
        if len(self._signed_in) >= self.limit:
            self._signed_in.pop(next(iter(self._signed_in)))
        self._signed_in[key] = None

    def forgive(self, username: str, source: str) -> None:
        """Undo the failure counted by `begin` for a try that was never checked."""
        self.by_source.forgive((username, source))
        self.by_name.forgive(username)
