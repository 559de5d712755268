"""Token buckets by key: status posts per player, sign-ups per source address."""
from __future__ import annotations

import math

# Buckets kept at most; past it the oldest is dropped (a flood of made-up keys cannot grow it forever).
BUCKET_LIMIT = 100_000


class RateLimiter:
    """`rate` tokens a second per key, holding at most `burst`; a key starts full."""

    def __init__(self, rate: float, burst: float, limit: int = BUCKET_LIMIT) -> None:
        self.rate = rate
        self.burst = burst
        self.limit = limit
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, when last counted]

    def take(self, key: str, now: float) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there will be (nothing taken)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.limit:
                self._buckets.pop(next(iter(self._buckets)))
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return (1.0 - tokens) / self.rate
        bucket[0] = tokens - 1.0
        return 0.0


def retry_after(seconds: float) -> dict[str, str]:
    """The Retry-After header for a wait, in whole seconds (at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
