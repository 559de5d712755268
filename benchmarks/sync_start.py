"""Synchronized start: N players in separate processes waiting on one session start together, by push and by polling.

    .venv/bin/python benchmarks/sync_start.py                    # 10 players, 5 rounds of each
    .venv/bin/python benchmarks/sync_start.py --players 20 --rounds 5 --countdown 3 --wait 2

Each round opens a synchronized session on a local server. Every player is its own process running the
player session the game and the bots use (`spaceinvaders_player.PlayerSession`: join, then `wait_for_start`,
the seat kept meanwhile) in one of two ways:
- push: the start pushed over the server's WebSocket (`/config`'s websocketurl), as the game does;
- polling: the same session told not to use the push, so it polls `/session` as a backend without one.
Once all wait, the manager waits `--wait` seconds more, then starts the session `--countdown` seconds
ahead; each process notes the instant its wait returned (CLOCK_REALTIME: one machine, one clock) and the
`/session` polls its wait cost. The spread is the latest minus the earliest start (target <= 100 ms); the
error is each start minus the session's SynchronizeTime; polls while the push is up: target 0.

Baseline, same run: N processes, started and waiting, told one instant on the local clock `--countdown`
seconds ahead, sleep until it (no server, no estimate): the spread scheduling alone leaves.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from game_support import PASSWORD, Server, fresh_session, manager, sign_up

MODES = ("push", "polling")
TARGET_SPREAD_MS = 100.0


async def player(base_url: str, name: str, mode: str) -> None:
    """One player process: sign in, join, say "waiting", wait for the start, print the instant."""
    from api_client import SpaceInvadersClient
    from spaceinvaders_player import PlayerSession

    client = SpaceInvadersClient(base_url, token_store=None)
    player = PlayerSession(client, push=mode == "push")
    try:
        await client.sign_in(name, PASSWORD)
        session = await player.join()
        print("waiting", flush=True)
        started = await player.wait_for_start(session)
        now = time.time()
        stats = player.start_wait.stats
        print(json.dumps({"start": now, "ok": started is not None, "pushed": stats.pushed, "polls": stats.polls,
                          "uncertainty": player.watcher.clock.uncertainty}), flush=True)
        await player.free_seat()
    finally:
        await player.aclose()


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


def one_round(base_url: str, names: list[str], mode: str, countdown: float, wait: float) -> dict[str, float]:
    asyncio.run(open_synchronized(base_url, len(names)))
    procs = [spawn("--player", base_url, name, mode) for name in names]
    all_waiting(procs)
    time.sleep(wait)  # everyone waits a while for the manager, as in a room
    sync_time = asyncio.run(start_session(base_url, countdown))
    answers = collect(procs)
    if not all(a["ok"] for a in answers):
        raise RuntimeError("a player saw the session end instead of starting")
    if mode == "push" and not all(a["pushed"] for a in answers):
        raise RuntimeError("a player's start was not pushed")
    starts = [a["start"] for a in answers]
    errors = [s - sync_time for s in starts]
    return {"spread_ms": 1000 * (max(starts) - min(starts)), "error_p50_ms": 1000 * statistics.median(errors),
            "error_max_ms": 1000 * max(errors, key=abs),
            "uncertainty_max_ms": 1000 * max(a["uncertainty"] for a in answers),
            "polls_per_player": statistics.mean(a["polls"] for a in answers)}


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
    parser.add_argument("--wait", type=float, default=2.0, help="seconds all wait before the manager starts")
    parser.add_argument("--player", nargs=3, metavar=("URL", "NAME", "MODE"), help=argparse.SUPPRESS)
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
        rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        baselines = []
        for number in range(args.rounds):
            baselines.append(baseline_round(args.players, args.countdown))
            for mode in MODES:
                rounds[mode].append(one_round(server.base_url, names, mode, args.countdown, args.wait))
            print(f"round {number + 1}: spread push {rounds['push'][-1]['spread_ms']:.1f} ms, polling "
                  f"{rounds['polling'][-1]['spread_ms']:.1f} ms (baseline {baselines[-1]['spread_ms']:.1f} ms); "
                  f"/session polls per player: push {rounds['push'][-1]['polls_per_player']:.1f}, polling "
                  f"{rounds['polling'][-1]['polls_per_player']:.1f}", flush=True)
    print(f"\n{args.players} players in separate processes, {args.rounds} rounds, medians (max); load "
          f"{os.getloadavg()[0]:.2f}:")
    results_by_label = (("baseline: sleep to a local instant", baselines),
                        ("player session, push", rounds["push"]), ("player session, polling", rounds["polling"]))
    for label, results in results_by_label:
        cells = []
        for key in results[0]:
            values = [r[key] for r in results]
            cells.append(f"{key} {statistics.median(values):.1f} ({max(values, key=abs):.1f})")
        print(f"  {label:36} " + "   ".join(cells))
    base = statistics.median(r["spread_ms"] for r in baselines)
    for mode in MODES:
        spread = statistics.median(r["spread_ms"] for r in rounds[mode])
        print(f"  {mode}: spread {spread:.1f} ms (target <= {TARGET_SPREAD_MS:.0f}), {spread / base:.1f}x the "
              f"baseline's; /session polls while waiting {max(r['polls_per_player'] for r in rounds[mode]):.1f} "
              f"per player at most" + (" (target 0)" if mode == "push" else ""))


if __name__ == "__main__":
    main()
