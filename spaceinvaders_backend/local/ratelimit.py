"""Token buckets by key: status posts per player, sign-ups and sign-ins per source address."""
from __future__ import annotations

import functools
import ipaddress
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


@functools.lru_cache(maxsize=4096)
def source_key(host: str) -> str:
    """The source a limit counts by: an IPv4 address as it is, an IPv6 address by its /64 (what one
    machine or home is given: it may take any address in it), an IPv4 address written in IPv6 as IPv4."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host
