"""What one bots' process holds against the local server on the same machine.

    .venv/bin/python benchmarks/bots_capacity.py [--bots 200] [--seconds 20] [--rounds 3]
                                                 [--capacity 200,300,400,500,600,700]

Runs `spaceinvaders_bots.swarm.Swarm` (the bots of `spaceinvaders-bots`, on uvloop) in this process
against `spaceinvaders-server serve` in another, each session synchronized as a room's is: the bots
join, the manager starts the session once all are seated, they play.

1. Joining, cold: in each round, on a fresh server with a fresh bots' directory, `--bots` new players
   sign up, sign in and take a seat. Then with saved tokens, in each round: the same players join a
   new session. The time is from the first bot's start to the last one seated. Baseline of the cold
   join, measured after each round: the server's argon2id work alone (`signup_rush.hashing_floor`:
   two hashes per player on as many threads as the server hashes with), which bounds it.
2. Playing, each round: `--seconds` of play after the start. Status posts on time (answered within
   300 ms of their sample, open model), failures, this process's CPU (process_time over the window)
   and the event loop's lag. Baseline, measured in the same run: the same number of games stepped by
   the same arena and autopilots with no network, which is the part of the bots' CPU that is play.
3. Capacity: for each count of `--capacity`, the same measure (`--rounds` rounds); the largest count
   with 99% of the posts on time (median) and no failures. Accounts for it are made beforehand, at most 250 per
   server start (the server limits sign-ups per source address: 300, then one per 5 s).
Medians over rounds. The server's CPU over each window is shown for context (Linux /proc), and the
longest pause of this process's garbage collector, to tell its stalls from the machine's.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import uvloop
from signup_rush import hashing_floor  # benchmarks/, this script's folder

from api_client import SpaceInvadersClient
from spaceinvaders_backend.local.process import ServerProcess
from spaceinvaders_bots.arena import Arena
from spaceinvaders_bots.autopilot import Autopilot
from spaceinvaders_bots.identity import BotsDirectory
from spaceinvaders_bots.stats import Histogram
from spaceinvaders_bots.swarm import Swarm, SwarmConfig, make_plans
from spaceinvaders_engine import Game

MANAGER, PASSWORD = "bench-manager", "bench-manager-password"
COUNTDOWN = 3.0
ON_TIME_TARGET = 0.99
CPU_TARGET = 0.5  # of a core, for one full session
JOIN_TARGETS = {"cold": 15.0, "warm": 3.0}  # seconds for all --bots to sign in and take a seat
ACCOUNT_BATCH = 250


class Server(ServerProcess):
    """The server, on one data directory and port for the whole run (restarted between account batches)."""

    @property
    def api(self) -> str:
        return self.base_url

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class GcPauses:
    """The longest pause of the cyclic garbage collector, to tell its stalls from the machine's."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, (time.perf_counter() - self._started) * 1000)

    def take(self) -> float:
        longest, self.longest = self.longest, 0.0
        return longest


GC = GcPauses()


@dataclass
class Play:
    bots: int
    join_seconds: float
    on_time: float
    posts_per_second: float
    failures: int
    cpu_cores: float
    server_cores: float
    lag_p99_ms: float
    post_p99_ms: float
    gc_max_ms: float


async def manager_call(api: str, action: str, seats: int = 200) -> None:
    async with SpaceInvadersClient(api, token_store=None) as manager:
        await manager.sign_in(MANAGER, PASSWORD)
        if action == "open":
            current = await manager.session()
            if current is not None and not current.is_closed:
                await manager.close_session()
            await manager.open_session("MULTIPLE_TRIALS", synchronized=True, session_name="BENCH",
                                       total_seats=max(seats, 1))
        elif action == "start":
            await manager.start_session(COUNTDOWN)
        else:
            await manager.close_session()


async def play(server: Server, state: Path, bots: int, seconds: float, seed: int = 1) -> Play:
    """A synchronized session for `bots`: join (timed), start, `seconds` of play measured, leave."""
    await manager_call(server.api, "open", bots)
    swarm = Swarm(SwarmConfig(server.api, bots, spawn_rate=10_000, seed=seed, prefix="cap", directory=state))
    stop = asyncio.Event()
    task = asyncio.create_task(swarm.run(stop))
    began = time.monotonic()
    while swarm.stats.joined < bots:
        if task.done():
            task.result()
            raise RuntimeError("the swarm ended before everyone joined")
        if time.monotonic() - began > 300:
            raise RuntimeError(f"only {swarm.stats.joined} of {bots} joined in 300 s")
        await asyncio.sleep(0.05)
    join_seconds = time.monotonic() - began
    if not seconds:  # joining only
        stop.set()
        await task
        await manager_call(server.api, "close")
        return Play(bots, join_seconds, 0.0, 0.0, swarm.stats.failures + swarm.stats.join_failures, 0.0, 0.0,
                    swarm.stats.loop_lag.percentile(0.99), 0.0, GC.take())
    await manager_call(server.api, "start")
    await asyncio.sleep(COUNTDOWN + 1.0)  # the start, and every publisher's first tick
    before, cpu, server_cpu, at = swarm.snapshot(), time.process_time(), server.cpu_seconds(), time.monotonic()
    GC.take()
    await asyncio.sleep(seconds)
    after, cpu, server_cpu, at = (swarm.snapshot(), time.process_time() - cpu, server.cpu_seconds() - server_cpu,
                                  time.monotonic() - at)
    stop.set()
    await task
    await manager_call(server.api, "close")
    due = after.posts_sent - before.posts_sent + after.superseded - before.superseded
    posts = after.endpoint("POST /updatestatus").latency.since(before.endpoint("POST /updatestatus").latency)
    return Play(bots, join_seconds, (after.posts_on_time - before.posts_on_time) / due if due else 0.0,
                (after.posts_sent - before.posts_sent) / at, after.failures + after.join_failures,
                cpu / at, server_cpu / at, after.loop_lag.since(before.loop_lag).percentile(0.99),
                posts.percentile(0.99), GC.take())


async def games_only(bots: int, seconds: float, state: Path, api: str, seed: int = 1) -> tuple[float, float]:
    """Baseline: the same bots' games and autopilots stepped by the arena, no network. CPU cores, lag p99."""
    lag = Histogram()
    arena = Arena(lag)
    plans = make_plans(SwarmConfig(api, bots, seed=seed, prefix="cap", directory=state), BotsDirectory(state))
    for plan in plans:
        arena.play(Game(plan.seed), Autopilot(plan.skill, plan.seed))
    await asyncio.sleep(1.0)
    cpu, at = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, at = time.process_time() - cpu, time.monotonic() - at
    await arena.aclose()
    return cpu / at, lag.percentile(0.99)


async def make_accounts(server: Server, state: Path, count: int) -> None:
    """Sign up bots 1..count (those not yet made), at most ACCOUNT_BATCH per server start."""
    made = sum(1 for _ in (state / "tokens").iterdir()) if (state / "tokens").exists() else 0
    while made < count:
        batch = min(ACCOUNT_BATCH, count - made)
        server.stop()
        server.start()
        await manager_call(server.api, "open", count)
        swarm = Swarm(SwarmConfig(server.api, batch, spawn_rate=10_000, seed=1, prefix="cap",
                                  first_index=made + 1, directory=state))
        stop = asyncio.Event()
        task = asyncio.create_task(swarm.run(stop))
        while swarm.stats.joined + swarm.stats.join_failures < batch:
            await asyncio.sleep(0.2)
        stop.set()
        await task
        await manager_call(server.api, "close")
        made += batch


def row(label: str, p: Play) -> str:
    joined = f"{label:<12} {p.bots:>5} {p.join_seconds:>8.1f} s"
    if not p.posts_per_second:  # joining only
        return f"{joined} {'':>10} {'':>8} {p.failures:>8}"
    return (f"{joined} {p.on_time * 100:>9.2f}% {p.posts_per_second:>8.0f} {p.failures:>8} {p.cpu_cores:>9.2f} "
            f"{p.server_cores:>9.2f} {p.lag_p99_ms:>9.1f} {p.post_p99_ms:>9.1f} {p.gc_max_ms:>8.1f}")


HEADER = (f"{'':<12} {'bots':>5} {'joined in':>10} {'on time':>10} {'posts/s':>8} {'failures':>8} "
          f"{'bots CPU':>9} {'srv CPU':>9} {'lag p99':>9} {'post p99':>9} {'GC max':>8}")


async def cold_joins(args: argparse.Namespace, tmp: Path) -> tuple[list[Play], list[float]]:
    """Each round on a fresh server and bots' directory: everyone signs up, signs in and takes a seat;
    then the baseline, the server's argon2id work alone (a hash per sign-up and per sign-in)."""
    joins, floors = [], []
    for n in range(args.rounds):
        server = Server(tmp / f"cold-{n}" / "server", log_path=tmp / f"cold-{n}.log")
        server.create_manager(MANAGER, PASSWORD)
        server.start()
        try:
            joins.append(await play(server, tmp / f"cold-{n}" / "bots", args.bots, 0.0))
        finally:
            server.stop()
        floors.append(await asyncio.to_thread(hashing_floor, args.bots))
        print(f"{row(f'cold join {n + 1}', joins[-1])}   (argon2id work alone: {floors[-1]:.1f} s)", flush=True)
    return joins, floors


async def measure(args: argparse.Namespace, tmp: Path) -> None:
    print(HEADER)
    cold, floors = await cold_joins(args, tmp)
    server, state = Server(tmp / "server", log_path=tmp / "server.log"), tmp / "bots"
    server.create_manager(MANAGER, PASSWORD)
    server.start()
    try:
        await play(server, state, args.bots, 0.0)  # the accounts, and their tokens saved
        rounds = []
        for n in range(args.rounds):
            rounds.append(await play(server, state, args.bots, args.seconds))
            print(row(f"round {n + 1}", rounds[-1]), flush=True)
        baselines = [await games_only(args.bots, args.seconds, state, server.api) for _ in range(args.rounds)]
        base_cpu = statistics.median(b[0] for b in baselines)
        print(f"{'games only':<12} {args.bots:>5} {'':>10} {'':>10} {'':>8} {'':>8} {base_cpu:>9.2f} {'':>9} "
              f"{statistics.median(b[1] for b in baselines):>9.1f}  (baseline: arena, no network)")

        def median(field: str) -> float:
            return statistics.median(getattr(p, field) for p in rounds)

        print(f"\n{args.bots} bots, medians of {args.rounds} rounds of {args.seconds:.0f} s:")
        print(f"  posts on time {median('on_time') * 100:.2f}% (target {ON_TIME_TARGET:.0%}), "
              f"failures {sum(p.failures for p in [*cold, *rounds])} (target 0)")
        print(f"  bots' process {median('cpu_cores'):.2f} of a core (target < {CPU_TARGET}); the games alone "
              f"{base_cpu:.2f}, so the network part {median('cpu_cores') - base_cpu:.2f}; "
              f"server {median('server_cores'):.2f}")
        cold_median, floor = statistics.median(p.join_seconds for p in cold), statistics.median(floors)
        print(f"  joining all: cold {cold_median:.1f} s (target {JOIN_TARGETS['cold']:.0f}; rounds "
              + ", ".join(f"{p.join_seconds:.1f}" for p in cold)
              + f"; the argon2id work alone {floor:.1f} s, ratio {cold_median / floor:.2f}), "
              f"with saved tokens {median('join_seconds'):.2f} s (target {JOIN_TARGETS['warm']:.0f})")

        counts = [int(c) for c in args.capacity.split(",") if c.strip()]
        if counts:
            await capacity(args, server, state, counts)
    finally:
        server.stop()


async def capacity(args: argparse.Namespace, server: Server, state: Path, counts: list[int]) -> None:
    await make_accounts(server, state, max(counts))
    print(f"\ncapacity ({args.seconds:.0f} s each)\n{HEADER}")
    held = 0
    for count in counts:
        results = []
        for _ in range(args.rounds):
            results.append(await play(server, state, count, args.seconds))
            print(row("capacity", results[-1]), flush=True)
        on_time = statistics.median(p.on_time for p in results)
        print(f"{'':<12} {count:>5} median on time {on_time * 100:.2f}%", flush=True)
        if on_time < ON_TIME_TARGET or any(p.failures for p in results):
            break
        held = count
    print(f"largest count held at {ON_TIME_TARGET:.0%} on time (median of {args.rounds}) by one process: {held}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--capacity", default="300,400,500,600,700",
                        help="counts to try, comma-separated ('' to skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bots-capacity-") as tmp:
        uvloop.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    main()
