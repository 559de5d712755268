"""A room filling up: N players sign up and sign in at once from one machine, through `api_client`.

    python benchmarks/signup_rush.py [--players 200] [--rounds 3]

Each round starts `spaceinvaders-server serve` (default limits) on a free port with fresh data, seats a
probe player who posts a status every 100 ms, then lets every player sign up and sign in at once over one
`ClientPool` (127.0.0.1 is the one source address of them all). The client's own retry policy handles
the server's 429s and their Retry-After. Reported, as medians over rounds:

- the time until every player is signed in (target: 200 within 15 s);
- the baseline measured in the same run: the argon2id work alone (2 hashes per player) on as many
  threads as the server hashes with, in this process, and the ratio of the two;
- the 429s the clients met (and retried);
- the probe's status post latency during the rush against the same probe on the idle server (p50, p99).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from api_client import ClientPool
from spaceinvaders_backend.core.timeutil import to_iso
from spaceinvaders_backend.local.accounts import hash_password
from spaceinvaders_backend.local.process import ServerProcess
from spaceinvaders_backend.local.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import percentile

PASSWORD = "rush-password"


def hashing_floor(players: int) -> float:
    """Seconds for the server's argon2id work alone: a sign-up hash and a sign-in check per player."""
    workers = Settings(data_dir=Path(".")).hash_workers
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(hash_password, [PASSWORD] * (2 * players)))
    return time.perf_counter() - started


async def probe(base: str, token: str, name: str, session_id: str, stop: asyncio.Event) -> list[float]:
    """A seated player posting every 100 ms; answers each post's latency in ms."""
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": token}, timeout=10) as http:
        score = 0
        while not stop.is_set():
            score += 1
            body = {"SessionId": session_id, "Nickname": name, "Score": score, "Shots": 0, "Level": 1,
                    "Lives": 3, "Timestamp": to_iso(time.time())}
            started = time.perf_counter()
            r = await http.post("/updatestatus", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"probe post refused: {r.status_code} {r.text}")
            await asyncio.sleep(0.1)
    return latencies



async def one_round(server: ServerProcess, players: int) -> dict[str, float]:
    server.create_manager("boss", PASSWORD)
    async with ClientPool(server.base_url) as pool:
        statuses: dict[int, int] = {}

        async def count(response: httpx.Response) -> None:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        pool.http.event_hooks["response"].append(count)
        boss = pool.client()
        await boss.sign_in("boss", PASSWORD)
        session = await boss.open_session("MULTIPLE_TRIALS", total_seats=players + 1)
        prober = pool.client()
        await prober.sign_up("probe", PASSWORD)
        tokens = await prober.sign_in("probe", PASSWORD)
        await prober.allocate()

        stop = asyncio.Event()
        idle_task = asyncio.create_task(probe(server.base_url, tokens.id_token, "probe", session.SessionId, stop))
        await asyncio.sleep(2.0)
        stop.set()
        idle = await idle_task

        async def join(i: int) -> None:
            client = pool.client()
            await client.sign_up(f"bot{i:04d}", PASSWORD)
            await client.sign_in(f"bot{i:04d}", PASSWORD)

        stop = asyncio.Event()
        busy_task = asyncio.create_task(probe(server.base_url, tokens.id_token, "probe", session.SessionId, stop))
        statuses.clear()
        started = time.perf_counter()
        await asyncio.gather(*(join(i) for i in range(players)))
        took = time.perf_counter() - started
        stop.set()
        busy = await busy_task
    return {"seconds": took, "429s": statuses.get(429, 0), "idle_p50": percentile(idle, 50),
            "idle_p99": percentile(idle, 99), "busy_p50": percentile(busy, 50), "busy_p99": percentile(busy, 99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds, floors = [], []
    for r in range(args.rounds):
        floors.append(hashing_floor(args.players))
        with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "data") as server:
            rounds.append(asyncio.run(one_round(server, args.players)))
        res = rounds[-1]
        print(f"round {r + 1}: {args.players} signed up and in {res['seconds']:.2f} s "
              f"(hashing alone {floors[-1]:.2f} s), 429s {res['429s']:.0f}; status post p50/p99 "
              f"{res['idle_p50']:.1f}/{res['idle_p99']:.1f} ms idle, {res['busy_p50']:.1f}/{res['busy_p99']:.1f} "
              f"ms during the rush", flush=True)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    took, floor = med("seconds"), statistics.median(floors)
    print()
    print(f"players                         {args.players} (one source address)")
    print(f"all signed up and in (median)   {took:.2f} s   (target <= 15 s)")
    print(f"argon2id work alone (median)    {floor:.2f} s   ratio {took / floor:.2f}")
    print(f"429s met and retried (median)   {med('429s'):.0f}")
    print(f"status post p50 / p99, idle     {med('idle_p50'):.1f} / {med('idle_p99'):.1f} ms")
    print(f"status post p50 / p99, rush     {med('busy_p50'):.1f} / {med('busy_p99'):.1f} ms")
    ok = took <= 15.0
    print("target (every player signed in within 15 s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
