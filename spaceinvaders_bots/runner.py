"""A run: the bots (in this process, or in K worker processes whose stats are merged), the live view,
the optional manager's session, the stop (duration, Ctrl+C, or stdin closing), and the results."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.console import Console
from rich.live import Live

from .host import SessionHost
from .live import log_line, render
from .report import CsvReport, RunInfo, Window, passed, summary_json, summary_text
from .stats import RunStats
from .swarm import Swarm, SwarmConfig

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
LOG_LINE_SECONDS = 5.0
WORKER_EXIT_TIMEOUT = 30.0


@dataclass
class RunOptions:
    swarm: SwarmConfig
    duration: float | None = None
    processes: int = 1
    csv_prefix: str | None = None
    json_output: bool = False
    quiet: bool = False
    max_failures: str = "0"
    worker: bool = False  # stream stats as JSON lines to stdout for a coordinating process
    stop_on_eof: bool = False  # stop when standard input closes (the supervising process is gone)
    host: SessionHost | None = None
    worker_args: list[str] = field(default_factory=list)  # the options every worker is given


class Source(Protocol):
    def snapshot(self) -> RunStats: ...
    def players(self) -> list[dict[str, Any]]: ...
    @property
    def in_flight(self) -> int: ...
    def stop(self) -> None: ...
    async def wait(self) -> None: ...


class LocalSource:
    """The bots in this process."""

    def __init__(self, config: SwarmConfig) -> None:
        self.swarm = Swarm(config)
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self.swarm.run(self.stopping), name="swarm")

    def snapshot(self) -> RunStats:
        return self.swarm.snapshot()

    def players(self) -> list[dict[str, Any]]:
        return self.swarm.players()

    @property
    def in_flight(self) -> int:
        return self.swarm.in_flight

    def stop(self) -> None:
        self.stopping.set()

    async def wait(self) -> None:
        await self.task


class WorkerSource:
    """K worker processes (`--worker`), each running its share of the bots; their stats are merged."""

    def __init__(self, options: RunOptions) -> None:
        self.latest: dict[int, dict[str, Any]] = {}
        self.procs: list[asyncio.subprocess.Process] = []
        self.readers: list[asyncio.Task[None]] = []
        self.options = options
        self.stopped = False

    async def start(self) -> None:
        config, k = self.options.swarm, self.options.processes
        first = config.first_index
        for worker in range(k):
            count = config.count // k + (worker < config.count % k)
            # The processes share the spawn rate and the sign-ins in flight (the server hashes a few at once).
            args = [*self.options.worker_args, "--worker", "--count", str(count), "--first-index", str(first),
                    "--spawn-rate", str(config.spawn_rate / k),
                    "--join-concurrency", str(max(2, config.join_concurrency // k))]
            first += count
            # Their own session: the terminal's Ctrl+C reaches this process alone, which stops them once.
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "spaceinvaders_bots", *args, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, start_new_session=True, limit=2**24)
            self.procs.append(proc)
            self.readers.append(asyncio.create_task(self._read(worker, proc)))

    async def _read(self, worker: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            try:
                self.latest[worker] = json.loads(line)
            except ValueError:
                log.warning("worker %d: %s", worker, line[:200])

    def snapshot(self) -> RunStats:
        merged = RunStats()
        for report in self.latest.values():
            merged.merge(RunStats.from_dict(report["stats"]))
        return merged

    def players(self) -> list[dict[str, Any]]:
        return [player for report in self.latest.values() for player in report.get("players", [])]

    @property
    def in_flight(self) -> int:
        return sum(report.get("in_flight", 0) for report in self.latest.values())

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
        asyncio.get_running_loop().call_later(WORKER_EXIT_TIMEOUT, self.kill)

    def kill(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                log.error("worker %d did not stop in time: killed", proc.pid)
                proc.kill()

    async def wait(self) -> None:
        await asyncio.gather(*(proc.wait() for proc in self.procs), *self.readers)


def _install_stop(loop: asyncio.AbstractEventLoop, stop: Callable[[], None], abort: Callable[[], None]) -> None:
    """First SIGINT or SIGTERM: stop cleanly; a second one: abort."""
    count = 0

    def handler() -> None:
        nonlocal count
        count += 1
        (stop if count == 1 else abort)()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, handler)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C arrives as KeyboardInterrupt instead
            pass


async def _watch_stdin(stop: Callable[[], None]) -> None:
    """Stop when standard input closes: the supervising process has gone, whatever way it went."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
    stop()


async def run(options: RunOptions, console: Console) -> int:
    """Run the bots until the duration passes or they are stopped; print the results; the exit status."""
    loop = asyncio.get_running_loop()
    config = options.swarm
    shown = config.api.partition("#")[0]  # the certificate's pin is no news in a summary
    info = RunInfo(shown, config.count, config.seed, config.skill, options.duration, options.processes,
                   max_failures=options.max_failures)
    started = time.monotonic()
    if options.host is not None:
        await options.host.open()
    source: LocalSource | WorkerSource
    if options.processes > 1:
        source = WorkerSource(options)
        await source.start()
    else:
        source = LocalSource(config)
    main = asyncio.current_task()
    assert main is not None
    _install_stop(loop, source.stop, main.cancel)
    watchers = []
    if options.stop_on_eof or options.worker:
        watchers.append(asyncio.create_task(_watch_stdin(source.stop)))
    if options.duration:
        loop.call_later(options.duration, source.stop)
    csv_report = CsvReport(options.csv_prefix) if options.csv_prefix else None
    show_live = not (options.quiet or options.worker) and console.is_terminal
    previous, previous_at, last_line = RunStats(), started, started
    finished = asyncio.create_task(source.wait())
    try:
        with Live(console=console, refresh_per_second=2, transient=True) if show_live else nullcontext() as live:
            while not finished.done():
                await asyncio.wait([finished], timeout=REFRESH_SECONDS)
                now = time.monotonic()
                stats = source.snapshot()
                info.elapsed = now - started
                window = Window.between(previous, stats, now - previous_at)
                previous, previous_at = stats, now
                if options.worker:
                    _emit({"stats": stats.to_dict(), "in_flight": source.in_flight})
                elif live is not None:
                    live.update(render(stats, window, info, source.in_flight))
                elif not options.quiet and now - last_line >= LOG_LINE_SECONDS:
                    console.print(log_line(stats, window, info), highlight=False, soft_wrap=True)
                    last_line = now
                if csv_report is not None:
                    csv_report.history_row(stats, window)
                if options.host is not None and not finished.done():
                    await options.host.start_when_seated(stats.joined, config.count)
            await finished
    finally:
        for watcher in watchers:
            watcher.cancel()
        if options.host is not None:
            await options.host.close()
    info.elapsed = time.monotonic() - started
    stats, players = source.snapshot(), source.players()
    if options.worker:
        _emit({"stats": stats.to_dict(), "players": players, "in_flight": 0, "final": True})
        return 0
    if csv_report is not None:
        csv_report.finish(stats, info, players)
    if options.json_output:
        print(json.dumps(summary_json(stats, info, players), indent=2))
    else:
        console.print(summary_text(stats, info, players), highlight=False, soft_wrap=True)
    return 0 if passed(stats, options.max_failures) else 1


def _emit(report: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(report, separators=(",", ":")) + "\n")
    sys.stdout.flush()
