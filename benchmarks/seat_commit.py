"""Seats taken and freed at once on a slow disk: allocation rate and latency with a 20 ms fsync, against the
same load on this machine's own disk in the same run.

    .venv/bin/python benchmarks/seat_commit.py [--concurrency 128] [--seconds 5] [--rounds 3] [--fsync-ms 20]

Target (issue 19): with a 20 ms fsync, at least 500 allocations a second at concurrency 128, p99 at most 1 s.

Each round starts `spaceinvaders-server serve` twice with fresh data: once as it is (the baseline: this
machine's disk), once with every fsync and fdatasync 20 ms longer (`tests/slow_fsync.py`: an LD_PRELOAD
library compiled with the C compiler into a temporary directory; a laptop's disk, macOS's full fsync or a
network disk). A manager opens a session of 100,000 seats; the players' ID tokens are signed with the
server's own key (no sign-ups: the seat paths check the token only). Then `--concurrency` workers, each
on its own keep-alive connection (`api_client`'s `Http11Connection`, answers parsed by llhttp; httpx's
pool tops out near 300 requests/s here), each with players of its own, loop for `--seconds`: allocate a
player's seat, free it, next player. Every allocation and every deallocation is a seat change the server
commits before its 200. Reported per disk, medians over rounds: allocations/s (deallocations run as
many), allocation latency p50/p99, and the group commits per seat change (from /health).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from api_client.transport import open_connection
from spaceinvaders_backend.local.process import CLI, ServerProcess

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "tests" / "backend"))
from backend_support import PASSWORD, Api, minted_gamers
from harness import percentile
from slow_fsync import slow_fsync_env

PLAYERS_PER_WORKER = 8



def request(path: str, token: str, name: str, port: int) -> bytes:
    body = json.dumps({"Username": name}).encode()
    return (b"POST /v1%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), port, token.encode(), len(body), body))


async def load(port: int, gamers: list[tuple[str, str]], concurrency: int, seconds: float) -> dict[str, float]:
    """`concurrency` workers allocating and freeing their players' seats for `seconds` (after one unmeasured
    pass over every player: connections open, tokens verified)."""
    shares = [gamers[i::concurrency] for i in range(concurrency)]
    latencies: list[float] = []
    counted = {"allocations": 0}

    async def worker(players: list[tuple[str, str]], until: float, measured: bool) -> None:
        connection = await open_connection("127.0.0.1", port, timeout=10)
        requests = [(request("/allocate", t, n, port), request("/deallocate", t, n, port)) for n, t in players]
        try:
            i = 0
            while time.perf_counter() < until or (not measured and i < len(requests)):
                take, free = requests[i % len(requests)]
                started = time.perf_counter()
                status, _, data = await connection.send(take)
                if status != 200:
                    raise SystemExit(f"allocate answered {status}: {data[:200]!r}")
                if measured:
                    latencies.append(time.perf_counter() - started)
                    counted["allocations"] += 1
                status, _, data = await connection.send(free)
                if status != 200:
                    raise SystemExit(f"deallocate answered {status}: {data[:200]!r}")
                i += 1
        finally:
            connection.close()

    await asyncio.gather(*(worker(s, 0.0, False) for s in shares))
    started = time.perf_counter()
    await asyncio.gather(*(worker(s, started + seconds, True) for s in shares))
    elapsed = time.perf_counter() - started
    return {"rate": counted["allocations"] / elapsed, "p50": percentile(latencies, 50) * 1000,
            "p99": percentile(latencies, 99) * 1000, "changes": 2 * counted["allocations"]}


def one_run(tmp: Path, env: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    server = ServerProcess(tmp / "data", program=["env", *env, *CLI, "serve"], log_path=tmp / "server.log")
    with server:
        api = Api(server.base_url)
        boss = api.manager(server, "boss", PASSWORD)
        boss.open_session("MULTIPLE_TRIALS", name="SEATS", TotalSeats=100_000)
        gamers = minted_gamers(server, concurrency * PLAYERS_PER_WORKER)
        before = api.http.get("/health").json()["groupCommits"]
        result = asyncio.run(load(server.port, gamers, concurrency, seconds))
        commits = api.http.get("/health").json()["groupCommits"] - before
        api.close()
    # The warm-up pass made 2 changes per player too.
    result["changes_per_commit"] = (result["changes"] + 2 * len(gamers)) / max(1, commits)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fsync-ms", type=float, default=20.0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; concurrency {args.concurrency}, {args.seconds:g} s a run", flush=True)
    runs: dict[str, list[dict[str, float]]] = {"this disk": [], f"fsync +{args.fsync_ms:g} ms": []}
    with tempfile.TemporaryDirectory() as shim_dir:
        slow = slow_fsync_env(Path(shim_dir), args.fsync_ms)
        if slow is None:
            print("no C compiler (cc, gcc or clang): the slow disk cannot be simulated")
            return 2
        for r in range(args.rounds):
            for disk, env in zip(runs, ([], slow), strict=True):
                with tempfile.TemporaryDirectory() as tmp:
                    res = one_run(Path(tmp), env, args.concurrency, args.seconds)
                runs[disk].append(res)
                print(f"round {r + 1}, {disk:>14}: {res['rate']:7.0f} allocations/s, p50 {res['p50']:6.1f} ms, "
                      f"p99 {res['p99']:6.1f} ms, {res['changes_per_commit']:5.1f} seat changes a commit", flush=True)

    def med(disk: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[disk])

    fast, slow_disk = runs
    print()
    print(f"{'disk':>16} {'alloc/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'changes/commit':>15}   (medians of {args.rounds})")
    for disk in runs:
        print(f"{disk:>16} {med(disk, 'rate'):9.0f} {med(disk, 'p50'):8.1f} {med(disk, 'p99'):8.1f} "
              f"{med(disk, 'changes_per_commit'):15.1f}")
    ratio = med(slow_disk, "rate") / med(fast, "rate")
    print(f"slow disk / this disk: {ratio:.2f} of the rate")
    ok = med(slow_disk, "rate") >= 500 and med(slow_disk, "p99") <= 1000
    print(f"target (>= 500 allocations/s and p99 <= 1 s with the slow fsync): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
