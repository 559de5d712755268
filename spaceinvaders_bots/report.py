"""The run's results in the conventions of Locust and k6: a summary table per endpoint with the
percentiles, the status posts' punctuality, the players; `--csv` files (stats, history, failures,
players) and a JSON document for scripts.
"""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import PERCENTILES, BotState, EndpointStats, Histogram, RunStats

SUMMARY_PERCENTILES = (0.50, 0.90, 0.95, 0.99)


@dataclass
class RunInfo:
    api: str
    count: int
    seed: int
    skill: str
    duration: float | None
    processes: int = 1
    elapsed: float = 0.0  # seconds since the run began
    max_failures: str = "0"
    started_at: float = field(default_factory=time.time)


def _pct(q: float) -> str:
    return f"{q * 100:g}%"


def endpoint_figures(stats: EndpointStats, elapsed: float) -> dict[str, Any]:
    latency = stats.latency
    figures = {
        "requests": stats.requests, "failures": stats.failures,
        "requests_per_second": stats.requests / elapsed if elapsed else 0.0,
        "failures_per_second": stats.failures / elapsed if elapsed else 0.0,
        "min_ms": latency.min if latency.count else 0.0, "avg_ms": latency.mean,
        "median_ms": latency.percentile(0.5), "max_ms": latency.max,
    }
    figures.update({f"p{q * 100:g}_ms": latency.percentile(q) for q in PERCENTILES[:-1]})
    return figures


def failure_threshold(text: str) -> tuple[float, bool]:
    """`--max-failures`: "5" (requests) or "1%" (of requests); answers (value, is_share)."""
    share = text.endswith("%")
    value = float(text[:-1] if share else text)
    if value < 0 or (share and value > 100):
        raise ValueError("--max-failures is a count (5) or a share of the requests (1%)")
    return value, share


def passed(stats: RunStats, max_failures: str) -> bool:
    value, share = failure_threshold(max_failures)
    failures = stats.failures + stats.join_failures
    if share:
        return failures <= stats.requests * value / 100
    return failures <= value


def summary_json(stats: RunStats, info: RunInfo, players: list[dict[str, Any]]) -> dict[str, Any]:
    elapsed = info.elapsed
    delay = stats.post_delay
    return {
        "api": info.api, "bots": info.count, "seed": info.seed, "skill": info.skill,
        "duration_s": info.duration, "elapsed_s": round(elapsed, 3), "processes": info.processes,
        "endpoints": {name: endpoint_figures(e, elapsed) for name, e in sorted(stats.endpoints.items())},
        "aggregated": endpoint_figures(stats.total(), elapsed),
        "failures": [{"endpoint": name, "error": error, "occurrences": n}
                     for name, e in sorted(stats.endpoints.items()) for error, n in e.errors.most_common()],
        "status_posts": {
            "sent": stats.posts_sent, "on_time": stats.posts_on_time, "late": stats.posts_late,
            "superseded": stats.superseded, "on_time_share": stats.on_time_share,
            "on_time_ms": stats.interval * 1000,
            "sample_to_answer_ms": {_pct(q): delay.percentile(q) for q in (*SUMMARY_PERCENTILES, 1.0)},
        },
        "players": {
            "started": stats.bots, "joined": stats.joined, "join_failures": stats.join_failures,
            "join_ms": {_pct(q): stats.join_seconds.percentile(q) for q in (0.5, 1.0)},
            "games_finished": stats.games, "states": dict(stats.users),
            "seats_held_at_end": sum(1 for p in players if p["seated"]),
        },
        "loop_lag_ms": {_pct(q): stats.loop_lag.percentile(q) for q in (0.5, 0.99, 1.0)},
        "max_failures": info.max_failures,
        "passed": passed(stats, info.max_failures),
        "bots_detail": players,
    }


def format_ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _split(name: str) -> tuple[str, str]:
    method, _, path = name.partition(" ")
    return method, path


def summary_text(stats: RunStats, info: RunInfo, players: list[dict[str, Any]]) -> str:
    elapsed = info.elapsed
    lines = [(f"spaceinvaders-bots: {info.count} bot{'s' * (info.count != 1)} at {info.api}, {elapsed:.1f} s "
             f"(seed {info.seed}, skill {info.skill}, {info.processes} process{'es' * (info.processes > 1)})"), ""]
    header = (f"{'Type':<6} {'Name':<16} {'# reqs':>8} {'# fails':>14} | {'Avg':>6} {'Min':>6} {'Max':>6} "
              f"{'Med':>6} | {'req/s':>7} {'fails/s':>7}")
    lines += [header, "-" * len(header)]
    rows = [*sorted(stats.endpoints.items()), ("Aggregated", stats.total())]
    for name, e in rows:
        f = endpoint_figures(e, elapsed)
        method, path = _split(name) if name != "Aggregated" else ("", name)
        share = f"{e.failures}({e.failures / e.requests * 100 if e.requests else 0:.2f}%)"
        if name == "Aggregated":
            lines.append("-" * len(header))
        lines.append(f"{method:<6} {path:<16} {e.requests:>8} {share:>14} | {format_ms(f['avg_ms']):>6} "
                     f"{format_ms(f['min_ms']):>6} {format_ms(f['max_ms']):>6} {format_ms(f['median_ms']):>6} | "
                     f"{f['requests_per_second']:>7.2f} {f['failures_per_second']:>7.2f}")
    lines += ["", "Response time percentiles, ms (approximated)"]
    header = f"{'Type':<6} {'Name':<16} " + " ".join(f"{_pct(q):>5}" for q in PERCENTILES) + f" {'# reqs':>8}"
    lines += [header, "-" * len(header)]
    for name, e in rows:
        method, path = _split(name) if name != "Aggregated" else ("", name)
        if name == "Aggregated":
            lines.append("-" * len(header))
        cells = " ".join(f"{format_ms(e.latency.percentile(q)):>5}" for q in PERCENTILES)
        lines.append(f"{method:<6} {path:<16} {cells} {e.requests:>8}")

    failures = [(name, error, n) for name, e in sorted(stats.endpoints.items()) for error, n in e.errors.items()]
    if failures:
        lines += ["", "Failures", f"{'# occurrences':>13}  {'Endpoint':<28} Error"]
        lines += [f"{n:>13}  {name:<28} {error}" for name, error, n in sorted(failures, key=lambda f: -f[2])]

    delay = stats.post_delay
    held = sum(1 for p in players if p["seated"])
    lines += [
        "",
        f"Status posts, from each {stats.interval * 1000:.0f} ms sample to its 2xx (open model): {stats.posts_sent} sent",
        (f"  on time {stats.on_time_share * 100:.2f}%; late {stats.posts_late} "
        f"(answered after {stats.interval * 1000:.0f} ms, or {stats.superseded} superseded before sending)"),
        "  sample to answer: " + ", ".join(f"p{q * 100:g} {format_ms(delay.percentile(q))} ms"
                                             for q in SUMMARY_PERCENTILES) + f", max {format_ms(delay.max)} ms",
        (f"Players: {stats.joined} of {stats.bots} joined, {stats.join_failures} could not; "
        f"{stats.games} games finished; seats held at the end: {held}"),
        (f"  joining (start to seat): p50 {stats.join_seconds.percentile(0.5) / 1000:.1f} s, "
        f"last {stats.join_seconds.max / 1000:.1f} s"),
        (f"Event loop lag: p50 {format_ms(stats.loop_lag.percentile(0.5))} ms, "
        f"p99 {format_ms(stats.loop_lag.percentile(0.99))} ms, max {format_ms(stats.loop_lag.max)} ms"),
    ]
    best = sorted(players, key=lambda p: -p["best_score"])[:3]
    if best:
        lines += ["Best bots: " + ", ".join(f"{p['name']} {p['best_score']:,}" for p in best)]
    verdict = "passed" if passed(stats, info.max_failures) else "FAILED"
    failures_total = stats.failures + stats.join_failures
    lines += ["", (f"{'✓' if verdict == 'passed' else '✗'} failures {failures_total} "
                  f"(threshold {info.max_failures}): {verdict}")]
    return "\n".join(lines)


class CsvReport:
    """Locust's `--csv PREFIX` files: PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_players.csv at the
    end, PREFIX_stats_history.csv a row per interval as the run goes."""

    HISTORY = ("Timestamp", "User Count", "Playing", "Requests/s", "Failures/s", "Posts/s", "Posts on time %",
               "50%", "90%", "95%", "99%", "Total Request Count", "Total Failure Count")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        Path(prefix).parent.mkdir(parents=True, exist_ok=True)
        self._history = open(f"{prefix}_stats_history.csv", "w", newline="")  # noqa: SIM115 - open for the run
        self._writer = csv.writer(self._history)
        self._writer.writerow(self.HISTORY)

    def history_row(self, stats: RunStats, window: Window) -> None:
        latency = window.latency
        self._writer.writerow([
            int(time.time()), stats.bots - stats.users.get(BotState.LEFT, 0), stats.users.get(BotState.PLAYING, 0),
            f"{window.requests_per_second:.2f}", f"{window.failures_per_second:.2f}",
            f"{window.posts_per_second:.2f}", f"{window.on_time_share * 100:.2f}",
            *(format_ms(latency.percentile(q)) for q in SUMMARY_PERCENTILES), stats.requests, stats.failures,
        ])
        self._history.flush()

    def finish(self, stats: RunStats, info: RunInfo, players: list[dict[str, Any]]) -> None:
        self._history.close()
        with open(f"{self.prefix}_stats.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Type", "Name", "Request Count", "Failure Count", "Median Response Time",
                             "Average Response Time", "Min Response Time", "Max Response Time", "Requests/s",
                             "Failures/s", *(_pct(q) for q in PERCENTILES)])
            for name, e in [*sorted(stats.endpoints.items()), ("Aggregated", stats.total())]:
                f = endpoint_figures(e, info.elapsed)
                method, path = _split(name) if name != "Aggregated" else ("", name)
                writer.writerow([method, path, e.requests, e.failures, format_ms(f["median_ms"]), format_ms(f["avg_ms"]),
                                 format_ms(f["min_ms"]), format_ms(f["max_ms"]), f"{f['requests_per_second']:.2f}",
                                 f"{f['failures_per_second']:.2f}",
                                 *(format_ms(e.latency.percentile(q)) for q in PERCENTILES)])
        with open(f"{self.prefix}_failures.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Method", "Name", "Error", "Occurrences"])
            for name, e in sorted(stats.endpoints.items()):
                method, path = _split(name)
                for error, n in e.errors.most_common():
                    writer.writerow([method, path, error, n])
        with open(f"{self.prefix}_players.csv", "w", newline="") as handle:
            fields = ["name", "skill", "state", "games", "best_score", "level", "best_rank", "posts", "seated",
                      "error"]
            writer = csv.DictWriter(handle, fields)
            writer.writeheader()
            writer.writerows(players)


@dataclass
class Window:
    """Figures over the last interval, from two snapshots of the cumulative stats."""

    seconds: float
    requests_per_second: float
    failures_per_second: float
    posts_per_second: float
    on_time_share: float
    latency: Histogram  # every request's, in the window
    post_latency: Histogram  # status posts', in the window

    @classmethod
    def between(cls, earlier: RunStats, later: RunStats, seconds: float) -> Window:
        seconds = max(seconds, 1e-9)
        posts = later.posts_sent - earlier.posts_sent
        on_time = later.posts_on_time - earlier.posts_on_time
        due = posts + later.superseded - earlier.superseded
        post_name = "POST /updatestatus"
        empty = Histogram()
        return cls(
            seconds,
            (later.requests - earlier.requests) / seconds,
            (later.failures - earlier.failures) / seconds,
            posts / seconds,
            on_time / due if due > 0 else 1.0,
            later.total().latency.since(earlier.total().latency),
            later.endpoints[post_name].latency.since(
                earlier.endpoints[post_name].latency if post_name in earlier.endpoints else empty)
            if post_name in later.endpoints else empty,
        )
