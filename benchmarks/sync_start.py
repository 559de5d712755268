"""Synchronized start: N players in separate processes waiting on one session start together.

    .venv/bin/python benchmarks/sync_start.py                    # 10 players, 5 rounds
    .venv/bin/python benchmarks/sync_start.py --players 20 --rounds 5 --countdown 3

Each round opens a synchronized session on a local server. Every player is its own process running the
game's own waiting code (`spaceinvaders_tui.screens.countdown.wait_for_start`: the SessionWatcher's
server-clock estimate, the seat kept meanwhile) after joining; once all wait, the manager starts the
session `--countdown` seconds ahead and each process notes the instant its wait returned
(CLOCK_REALTIME: one machine, one clock). The spread is the latest minus the earliest start; the error
is each start minus the session's SynchronizeTime.

Baseline, same run: N processes, started and waiting, told one instant on the local clock `--countdown`
seconds ahead, sleep until it (no server, no estimate): the spread scheduling alone leaves.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from game_support import PASSWORD, Server, fresh_session, manager, sign_up


async def player(base_url: str, name: str) -> None:
    """One player process: sign in, join, say "waiting", wait for the start, print the instant."""
    from spaceinvaders_tui.link import Link
    from spaceinvaders_tui.screens.countdown import wait_for_start

    link = Link(base_url, token_store=None)
    try:
        await link.sign_in(name, PASSWORD)
        session = await link.join()
        print("waiting", flush=True)
        started = await wait_for_start(link, session.SessionId)
        now = time.time()
        print(json.dumps({"start": now, "ok": started is not None,
                          "uncertainty": link.watcher.clock.uncertainty}), flush=True)
        await link.free_seat()
    finally:
        await link.aclose()


async def sleeper() -> None:
    """One baseline process: say "waiting", read the instant, sleep until it on the local clock."""
    print("waiting", flush=True)
    instant = float(await asyncio.to_thread(sys.stdin.readline))
    await asyncio.sleep(max(0.0, instant - time.time()))
    print(json.dumps({"start": time.time()}), flush=True)


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def all_waiting(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "waiting":
            raise RuntimeError(f"a process did not get to wait: {line!r}")


def collect(procs: list[subprocess.Popen]) -> list[dict]:
    answers = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


async def start_session(base_url: str, countdown: float) -> float:
    boss = await manager(base_url)
    try:
        return (await boss.start_session(countdown)).SynchronizeTime.timestamp()
    finally:
        await boss.aclose()


async def open_synchronized(base_url: str, players: int) -> None:
    boss = await manager(base_url)
    try:
        await fresh_session(boss, synchronized=True, total_seats=max(players, 1))
    finally:
        await boss.aclose()


def one_round(base_url: str, names: list[str], countdown: float) -> dict[str, float]:
    asyncio.run(open_synchronized(base_url, len(names)))
    procs = [spawn("--player", base_url, name) for name in names]
    all_waiting(procs)
    sync_time = asyncio.run(start_session(base_url, countdown))
    answers = collect(procs)
    if not all(a["ok"] for a in answers):
        raise RuntimeError("a player saw the session end instead of starting")
    starts = [a["start"] for a in answers]
    errors = [s - sync_time for s in starts]
    return {"spread_ms": 1000 * (max(starts) - min(starts)), "error_p50_ms": 1000 * statistics.median(errors),
            "error_max_ms": 1000 * max(errors, key=abs),
            "uncertainty_max_ms": 1000 * max(a["uncertainty"] for a in answers)}


def baseline_round(players: int, countdown: float) -> dict[str, float]:
    procs = [spawn("--sleeper") for _ in range(players)]
    all_waiting(procs)
    instant = time.time() + countdown
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{instant!r}\n")
        proc.stdin.flush()
    starts = [a["start"] for a in collect(procs)]
    return {"spread_ms": 1000 * (max(starts) - min(starts)),
            "error_p50_ms": 1000 * statistics.median(s - instant for s in starts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--countdown", type=float, default=3.0)
    parser.add_argument("--player", nargs=2, metavar=("URL", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--sleeper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.player:
        asyncio.run(player(*args.player))
        return
    if args.sleeper:
        asyncio.run(sleeper())
        return
    with tempfile.TemporaryDirectory(prefix="sync-start-") as tmp, Server(Path(tmp) / "data") as server:
        names = [f"sync{i:03d}" for i in range(args.players)]
        for name in names:
            asyncio.run(sign_up(server.base_url, name))
        rounds, baselines = [], []
        for number in range(args.rounds):
            baselines.append(baseline_round(args.players, args.countdown))
            rounds.append(one_round(server.base_url, names, args.countdown))
            print(f"round {number + 1}: spread {rounds[-1]['spread_ms']:.1f} ms "
                  f"(baseline {baselines[-1]['spread_ms']:.1f} ms)", flush=True)
    print(f"\n{args.players} players in separate processes, {args.rounds} rounds, medians (max):")
    for label, results in (("baseline: sleep to a local instant", baselines), ("game: wait_for_start", rounds)):
        cells = []
        for key in results[0]:
            values = [r[key] for r in results]
            cells.append(f"{key} {statistics.median(values):.1f} ({max(values, key=abs):.1f})")
        print(f"  {label:36} " + "   ".join(cells))


if __name__ == "__main__":
    main()
