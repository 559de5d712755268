"""What a run measures, in shapes that add up across processes: per-endpoint requests, failures and
latency histograms, the status posts' punctuality, the event loop's lag, and the players' progress.

Latencies go into histograms of two significant digits (1.2 ms, 35 ms, 270 ms), as Locust rounds them:
a long run keeps a few hundred buckets instead of every sample, percentiles stay within 5%, and the
histograms of several processes merge by adding counts.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PERCENTILES = (0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 1.0)


def bucket(ms: float) -> float:
    """`ms` to two significant digits (the histogram's bucket)."""
    if ms <= 0:
        return 0.0
    return round(ms, 1 - math.floor(math.log10(ms)))


@dataclass
class Histogram:
    counts: Counter[float] = field(default_factory=Counter)
    count: int = 0
    total: float = 0.0
    min: float = math.inf
    max: float = 0.0

    def add(self, ms: float) -> None:
        self.counts[bucket(ms)] += 1
        self.count += 1
        self.total += ms
        self.min = min(self.min, ms)
        self.max = max(self.max, ms)

    def merge(self, other: Histogram) -> None:
        self.counts.update(other.counts)
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def percentile(self, q: float) -> float:
        """The smallest bucket holding at least the share `q` of the samples (the max for q = 1)."""
        if not self.count:
            return 0.0
        if q >= 1.0:
            return self.max
        rank, seen = math.ceil(q * self.count), 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return min(value, self.max)
        return self.max

    def share_at_most(self, ms: float) -> float:
        """Share of samples in buckets up to `ms`."""
        if not self.count:
            return 1.0
        return sum(n for value, n in self.counts.items() if value <= ms) / self.count

    def since(self, earlier: Histogram) -> Histogram:
        """The samples added after `earlier` was copied from this histogram (min and max are this one's)."""
        counts = self.counts.copy()
        counts.subtract(earlier.counts)
        counts = +counts  # drop the emptied buckets
        return Histogram(counts, self.count - earlier.count, self.total - earlier.total,
                         min(counts, default=math.inf), max(counts, default=0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"counts": [[value, n] for value, n in sorted(self.counts.items())], "count": self.count,
                "total": self.total, "min": self.min if self.count else 0.0, "max": self.max}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls(Counter({float(value): int(n) for value, n in data["counts"]}), int(data["count"]),
                        float(data["total"]), float(data["min"]), float(data["max"]))
        if not histogram.count:
            histogram.min = math.inf
        return histogram


@dataclass
class EndpointStats:
    """One endpoint ("POST /updatestatus"): every attempt, its latency, and why the failed ones failed."""

    requests: int = 0
    failures: int = 0
    latency: Histogram = field(default_factory=Histogram)
    errors: Counter[str] = field(default_factory=Counter)  # "429 TooManyRequests" -> occurrences

    def record(self, ms: float | None, error: str | None) -> None:
        """One attempt: its latency (None when no answer came) and its failure, if it failed."""
        self.requests += 1
        if ms is not None:
            self.latency.add(ms)
        if error is not None:
            self.failures += 1
            self.errors[error] += 1

    def merge(self, other: EndpointStats) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.latency.merge(other.latency)
        self.errors.update(other.errors)

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "failures": self.failures, "latency": self.latency.to_dict(),
                "errors": dict(self.errors)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointStats:
        return cls(data["requests"], data["failures"], Histogram.from_dict(data["latency"]),
                   Counter(data["errors"]))


class BotState(StrEnum):
    """Where a bot is in its life; the run counts the bots in each (`RunStats.users`)."""

    JOINING = "joining"
    WAITING = "waiting"
    PLAYING = "playing"
    RESTING = "resting"
    LEFT = "left"


@dataclass
class RunStats:
    """Everything one run (or the merge of several processes' runs) measured so far."""

    interval: float = 0.3  # the status posts' pace: a post is on time when answered within it
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)
    # Status posts, from the instant their sample was taken to their 2xx (open model: queueing counts).
    post_delay: Histogram = field(default_factory=Histogram)
    posts_on_time: int = 0  # answered within `interval` of their sample (exact, not by bucket)
    superseded: int = 0  # samples replaced by a newer one before they could be sent (late by definition)
    loop_lag: Histogram = field(default_factory=Histogram)  # how late the bots' frames ran (ms)
    users: Counter[str] = field(default_factory=Counter)  # bots by state (`BotState`)
    bots: int = 0  # bots started
    joined: int = 0  # bots that signed in and took a seat at least once
    join_failures: int = 0
    games: int = 0  # games finished (Lives 0)
    join_seconds: Histogram = field(default_factory=Histogram)  # from a bot's start to its first seat (ms)

    def endpoint(self, name: str) -> EndpointStats:
        stats = self.endpoints.get(name)
        if stats is None:
            stats = self.endpoints[name] = EndpointStats()
        return stats

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints.values())

    @property
    def failures(self) -> int:
        return sum(e.failures for e in self.endpoints.values())

    @property
    def posts_sent(self) -> int:
        return self.post_delay.count

    def record_post(self, delay_ms: float) -> None:
        self.post_delay.add(delay_ms)
        if delay_ms <= self.interval * 1000:
            self.posts_on_time += 1

    @property
    def posts_late(self) -> int:
        """Posts answered after the next sample was due, plus samples that never went out on their own."""
        return self.posts_sent - self.posts_on_time + self.superseded

    @property
    def on_time_share(self) -> float:
        due = self.posts_sent + self.superseded
        return self.posts_on_time / due if due else 1.0

    def total(self) -> EndpointStats:
        """Every endpoint together (Locust's "Aggregated" row)."""
        total = EndpointStats()
        for stats in self.endpoints.values():
            total.merge(stats)
        return total

    def merge(self, other: RunStats) -> None:
        for name, stats in other.endpoints.items():
            self.endpoint(name).merge(stats)
        self.post_delay.merge(other.post_delay)
        self.posts_on_time += other.posts_on_time
        self.superseded += other.superseded
        self.loop_lag.merge(other.loop_lag)
        self.users.update(other.users)
        self.bots += other.bots
        self.joined += other.joined
        self.join_failures += other.join_failures
        self.games += other.games
        self.join_seconds.merge(other.join_seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "endpoints": {name: stats.to_dict() for name, stats in sorted(self.endpoints.items())},
            "post_delay": self.post_delay.to_dict(), "posts_on_time": self.posts_on_time,
            "superseded": self.superseded,
            "loop_lag": self.loop_lag.to_dict(), "users": dict(self.users), "bots": self.bots,
            "joined": self.joined, "join_failures": self.join_failures, "games": self.games,
            "join_seconds": self.join_seconds.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStats:
        return cls(
            interval=data["interval"],
            endpoints={name: EndpointStats.from_dict(e) for name, e in data["endpoints"].items()},
            post_delay=Histogram.from_dict(data["post_delay"]), posts_on_time=data["posts_on_time"],
            superseded=data["superseded"],
            loop_lag=Histogram.from_dict(data["loop_lag"]), users=Counter(data["users"]), bots=data["bots"],
            joined=data["joined"], join_failures=data["join_failures"], games=data["games"],
            join_seconds=Histogram.from_dict(data["join_seconds"]),
        )
