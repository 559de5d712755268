"""The live view while the bots run: rich on a terminal, one line every few seconds in a log."""
from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .report import RunInfo, Window, format_ms
from .stats import USER_STATES, RunStats


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:02d}:{seconds:02d}"


def headline(stats: RunStats, info: RunInfo) -> str:
    running = stats.bots - stats.users.get("left", 0)
    until = f" / {_clock(info.duration)}" if info.duration else ""
    return (f"{_clock(info.elapsed)}{until}  users {running}/{info.count}  joined {stats.joined}  "
            f"games {stats.games}")


def log_line(stats: RunStats, window: Window, info: RunInfo) -> str:
    return (f"{headline(stats, info)}  req/s {window.requests_per_second:.1f}  failures {stats.failures}  "
            f"posts/s {window.posts_per_second:.1f}  on time {stats.on_time_share * 100:.2f}%  "
            f"post p99 {format_ms(window.post_latency.percentile(0.99))} ms")


def render(stats: RunStats, window: Window, info: RunInfo, in_flight: int) -> RenderableType:
    title = Text.assemble(("spaceinvaders-bots ", "bold"), (info.api, "cyan"),
                          f"  seed {info.seed}  skill {info.skill}  ×{info.processes} process")
    states = "  ".join(f"{state} {stats.users.get(state, 0)}" for state in USER_STATES)
    failures_style = "bold red" if stats.failures else "green"
    overview = Table.grid(padding=(0, 3))
    overview.add_row(headline(stats, info), states)
    overview.add_row(
        Text.assemble(f"req/s {window.requests_per_second:7.1f}   failures ",
                      (f"{stats.failures}", failures_style), f" ({window.failures_per_second:.1f}/s)",
                      f"   in flight {in_flight}"),
        Text.assemble(f"posts/s {window.posts_per_second:6.1f}   on time ",
                      (f"{stats.on_time_share * 100:.2f}%", "green" if stats.on_time_share >= 0.99 else "yellow"),
                      f"   late {stats.posts_late}"),
    )
    overview.add_row(
        "latency now (all): " + "  ".join(f"p{q * 100:g} {format_ms(window.latency.percentile(q))}"
                                          for q in (0.5, 0.9, 0.95, 0.99)) + " ms",
        f"event loop lag p99 {format_ms(stats.loop_lag.percentile(0.99))} ms",
    )
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("endpoint", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for name, e in sorted(stats.endpoints.items()):
        latency = e.latency
        table.add_row(name, str(e.requests), Text(str(e.failures), style="red" if e.failures else ""),
                      format_ms(latency.percentile(0.5)), format_ms(latency.percentile(0.95)), format_ms(latency.percentile(0.99)),
                      format_ms(latency.max))
    return Group(title, overview, Text(""), table, Text("Ctrl+C: stop (the bots free their seats)", style="dim"))
