"""When a failed call may be sent again, and how long to wait before it.

Three kinds of call (`Safety`), decided per path in `client.py`:
- IDEMPOTENT: GETs, /allocate and /deallocate (the contract makes both idempotent). Retried on
  transport errors, 429, 502, 503 and 504.
- SNAPSHOT: /updatestatus. A status is a snapshot, so sending it twice is harmless for the scoreboard,
  but it would store a duplicate record for the export; so only answers that mean "not processed"
  are retried: transport errors before sending, 429 and 503.
- UNSAFE: everything else (opening or closing a session, sign-in). Only transport errors before
  sending, 429, and 503 with a `Retry-After` are retried, since then the server surely did nothing (a
  server of the contract sends that 503 when it stored nothing: a full disk, an overload).
Every retry is bounded by `max_attempts` and by `max_elapsed` seconds, or by a `deadline` instead
(`RetryPolicy.until`: as many attempts as fit, for a call that must land before the program exits), and a
`Retry-After` longer than the time left ends the retries at once instead of sleeping past the budget.

`with retrying(policy):` gives the calls made inside it (by this task and what it awaits) a policy of
their own, where the call names none: a bot's sign-up that may wait out a crowded server for two minutes.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum

from .errors import ApiError, SpaceInvadersError, TransportError


class Safety(Enum):
    IDEMPOTENT = "idempotent"
    SNAPSHOT = "snapshot"
    UNSAFE = "unsafe"


_RETRY_STATUSES = {
    Safety.IDEMPOTENT: frozenset({429, 502, 503, 504}),
    Safety.SNAPSHOT: frozenset({429, 503}),
    Safety.UNSAFE: frozenset({429}),
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    max_elapsed: float = 10.0
    base_delay: float = 0.2
    max_delay: float = 3.0
    # A Retry-After is waited out stretched by up to this share, drawn at random: many clients told the same
    # wait (a crowd refused together) then do not all come back on the same instant.
    retry_after_jitter: float = 0.0
    # An instant on `time.monotonic()`'s clock: retry until then whatever `max_attempts` and `max_elapsed`
    # say, each attempt's timeout cut to the time left. Made by `until`.
    deadline: float | None = None

    @classmethod
    def until(cls, deadline: float, *, base_delay: float = 0.2, max_delay: float = 3.0) -> RetryPolicy:
        """Retry what is safe to retry until `deadline` (a `time.monotonic()` instant), e.g. a player's
        seat freed at the end of a game: `await client.deallocate(retry=RetryPolicy.until(exit_by))`."""
        return cls(max_attempts=2**62, max_elapsed=math.inf, base_delay=base_delay, max_delay=max_delay,
                   deadline=deadline)

    def give_up_at(self, now: float) -> float:
        """The instant (on `now`'s clock, monotonic) past which no attempt starts."""
        if self.deadline is not None:
            return self.deadline - time.monotonic() + now
        return now + self.max_elapsed

    def should_retry(self, error: SpaceInvadersError, safety: Safety) -> bool:
        if isinstance(error, TransportError):
            return safety is Safety.IDEMPOTENT or not error.sent
        if isinstance(error, ApiError):
            if error.status == 503 and error.retry_after is not None:
                return True  # nothing was done, and the server says when to come back
            return error.status in _RETRY_STATUSES[safety]
        return False

    def delay(self, attempt: int, error: SpaceInvadersError, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        if isinstance(error, ApiError) and error.retry_after is not None:
            return error.retry_after * (rng or random).uniform(1.0, 1.0 + self.retry_after_jitter)
        return backoff(attempt, self.base_delay, self.max_delay, rng)


def backoff(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after `failures` failures in a row (from 1): exponential, capped, with equal jitter.

    The ceiling doubles from `base` up to `cap`; the wait is drawn from its upper half ("equal jitter").
    Clients that failed together spread over half the window, so they do not come back together, and
    every wait is at least half the ceiling, so a bounded number of attempts still spans a growing time
    (full jitter, drawing from zero, can spend them all within milliseconds of a server restarting).
    """
    ceiling = min(cap, base * 2 ** (failures - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1, max_elapsed=0.0)
DEFAULT_RETRY = RetryPolicy()


_SCOPED: ContextVar[RetryPolicy | None] = ContextVar("retry_policy", default=None)


@contextlib.contextmanager
def retrying(policy: RetryPolicy) -> Iterator[None]:
    """Calls made in this block that name no policy of their own use `policy` (the client's otherwise)."""
    token = _SCOPED.set(policy)
    try:
        yield
    finally:
        _SCOPED.reset(token)


def scoped_policy() -> RetryPolicy | None:
    """The policy of the innermost `retrying` block around the caller, if any."""
    return _SCOPED.get()
