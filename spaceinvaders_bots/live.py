"""The live view while the bots run: rich on a terminal, one line every few seconds in a log."""
from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .report import RunInfo, Window, format_ms
from .stats import BotState, RunStats


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:02d}:{seconds:02d}"


def headline(stats: RunStats, info: RunInfo) -> str:
    running = stats.bots - stats.users.get(BotState.LEFT, 0)
    until = f" / {_clock(info.duration)}" if info.duration else ""
    return (f"{_clock(info.elapsed)}{until}  users {running}/{info.count}  joined {stats.joined}  "
            f"games {stats.games}")


def log_line(stats: RunStats, window: Window, info: RunInfo) -> str:
    return (f"{headline(stats, info)}  req/s {window.requests_per_second:.1f}  failures {stats.failures}  "
            f"posts/s {window.posts_per_second:.1f}  on time {stats.on_time_share * 100:.2f}%  "
            f"post p99 {format_ms(window.post_latency.percentile(0.99))} ms")


def render(stats: RunStats, window: Window, info: RunInfo, in_flight: int) -> RenderableType:
    processes = f"{info.processes} process{'es' * (info.processes > 1)}"
    title = Text.assemble(("spaceinvaders-bots ", "bold"), (info.api, "cyan"),
                          f"  seed {info.seed}  skill {info.skill}  {processes}")
    states = "  ".join(f"{state} {stats.users.get(state, 0)}" for state in BotState)
    on_time_style = "green" if stats.on_time_share >= 0.99 else "bold yellow"
    lines = [
        Text(f"{headline(stats, info)}   {states}"),
        Text.assemble(f"requests {window.requests_per_second:.1f}/s   failures ",
                      (str(stats.failures), "bold red" if stats.failures else "green"),
                      f" ({window.failures_per_second:.1f}/s)   in flight {in_flight}"),
        Text.assemble(f"status posts {window.posts_per_second:.1f}/s   on time ",
                      (f"{stats.on_time_share * 100:.2f}%", on_time_style), f"   late {stats.posts_late}   now: "
                      + "  ".join(f"p{q * 100:g} {format_ms(window.post_latency.percentile(q))}"
                                  for q in (0.5, 0.99)) + " ms"),
        Text("all requests now: " + "  ".join(f"p{q * 100:g} {format_ms(window.latency.percentile(q))}"
                                               for q in (0.5, 0.9, 0.95, 0.99))
             + f" ms   event loop lag p99 {format_ms(stats.loop_lag.percentile(0.99))} ms"),
    ]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("endpoint", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for name, e in sorted(stats.endpoints.items()):
        latency = e.latency
        table.add_row(name, str(e.requests), Text(str(e.failures), style="red" if e.failures else ""),
                      format_ms(latency.percentile(0.5)), format_ms(latency.percentile(0.95)),
                      format_ms(latency.percentile(0.99)), format_ms(latency.max))
    return Group(title, *lines, Text(""), table, Text("Ctrl+C: stop (the bots free their seats)", style="dim"))
