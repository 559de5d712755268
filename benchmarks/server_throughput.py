"""Status posts per second on one server process, against a do-nothing endpoint on the same stack.

    python benchmarks/server_throughput.py [--players 3000] [--seconds 10] [--rounds 3] [--tls]

Needs `wrk` (Debian: apt-get install wrk). Players are real accounts with real signed ID tokens; the
tokens are minted with the server's key rather than by 3,000 sign-ins (argon2 makes those ~75 s, and
sign-in is not what this measures). Rounds alternate baseline and status posts; medians are reported.

--tls: the room's cost of HTTPS instead. Two servers on the same stack, one plain and one `--tls` (granian's
TLS 1.3, the self-signed P-256 certificate a room's server makes), the same players on each; rounds alternate
status posts over plain HTTP and over TLS, and the ratio is TLS / plain, per round against the plain run just
before it (the pairs share the machine's load of the moment), median over rounds (target >= 0.6). wrk keeps its
connections alive: the TCP connections opened during the TLS runs (the kernel's PassiveOpens, counted for
the whole machine, so an upper bound) against the posts show that handshakes are per connection, not per post.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BenchServer, make_players, verify_for

HERE = Path(__file__).resolve().parent


def wrk(url: str, lua_args: list[str], seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(HERE / "status_post.lua"), url,
         "--", *lua_args],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {"rps": rps, "total": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "", "p99_ms": float(p99.group(1)) * scale[p99.group(2)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--tls", action="store_true", help="status posts over TLS against plain HTTP")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    if args.tls:
        return tls_mode(args)

    with tempfile.TemporaryDirectory() as tmp, BenchServer(Path(tmp) / "data") as server:
        session_id, players = make_players(server, args.players)
        players_file = Path(tmp) / "players.txt"
        players_file.write_text("".join(f"{name} {token}\n" for name, token in players))
        base = f"http://127.0.0.1:{server.port}"
        lua = [str(players_file), "/v1/updatestatus", session_id]
        noop_lua = [str(players_file), "/v1/noop", session_id]

        # Warm-up: each token's signature is checked once, then served from the server's cache.
        wrk(base, lua, 3, args.connections)
        runs: dict[str, list[dict[str, float]]] = {"noop": [], "status": []}
        accepted = 0
        warm = sqlite3.connect(server.data_dir / "spaceinvaders.db").execute("SELECT COUNT(*) FROM status").fetchone()[0]
        for r in range(args.rounds):
            runs["noop"].append(wrk(base, noop_lua, args.seconds, args.connections))
            res = wrk(base, lua, args.seconds, args.connections)
            runs["status"].append(res)
            accepted += res["total"] - res["non2xx"]
            print(f"round {r + 1}: noop {runs['noop'][-1]['rps']:.0f}/s, status {res['rps']:.0f}/s "
                  f"(non-2xx {res['non2xx']}, p99 {res['p99_ms']:.1f} ms {res['socket_errors']})", flush=True)

        time.sleep(1.0)
        db = sqlite3.connect(server.data_dir / "spaceinvaders.db")
        stored = db.execute("SELECT COUNT(*) FROM status").fetchone()[0] - warm
        checkpoint = db.execute("SELECT seq FROM checkpoints WHERE name='scoreboard'").fetchone()[0]
        top = httpx.get(f"{server.base_url}/scoreboard", params={"sessionId": session_id}, verify=verify_for(server),
                        headers={"Authorization": players[0][1]}).json()["Scoreboard"]

    noop = statistics.median(r["rps"] for r in runs["noop"])
    status = statistics.median(r["rps"] for r in runs["status"])
    print()
    print(f"players                     {args.players}")
    print(f"do-nothing POST (median)    {noop:,.0f} req/s")
    print(f"status posts (median)       {status:,.0f} req/s  (p99 {statistics.median(r['p99_ms'] for r in runs['status']):.1f} ms)")
    print(f"ratio status / do-nothing   {status / noop:.2f}")
    print(f"2xx answered {accepted:,}, stored {stored:,}, processed through seq {checkpoint:,}; top score {top[0]['Score'] if top else None}")
    ok = status >= 10_000 and status / noop >= 0.40 and stored >= accepted
    print("targets (>= 10,000/s, >= 40% of do-nothing, every 2xx stored):", "met" if ok else "NOT met")
    return 0 if ok else 1


def passive_opens() -> int:
    """TCP connections this machine accepted so far (/proc/net/snmp, Tcp: PassiveOpens)."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Tcp:")]
    return int(lines[1][lines[0].index("PassiveOpens")])


def tls_mode(args) -> int:
    with tempfile.TemporaryDirectory() as tmp, BenchServer(Path(tmp) / "plain") as plain, \
            BenchServer(Path(tmp) / "tls", tls=True) as secure:
        targets = {}
        for label, server in (("plain", plain), ("tls", secure)):
            session_id, players = make_players(server, args.players)
            players_file = Path(tmp) / f"players-{label}.txt"
            players_file.write_text("".join(f"{name} {token}\n" for name, token in players))
            base = f"{'https' if server.tls else 'http'}://127.0.0.1:{server.port}"
            targets[label] = (base, [str(players_file), "/v1/updatestatus", session_id])
            wrk(*targets[label], 3, args.connections)  # warm-up: each token's signature checked once
        runs: dict[str, list[dict[str, float]]] = {"plain": [], "tls": []}
        opened = posts = 0
        for r in range(args.rounds):
            runs["plain"].append(wrk(*targets["plain"], args.seconds, args.connections))
            before = passive_opens()
            res = wrk(*targets["tls"], args.seconds, args.connections)
            opened += passive_opens() - before
            posts += res["total"]
            runs["tls"].append(res)
            print(f"round {r + 1}: plain {runs['plain'][-1]['rps']:.0f}/s, TLS {res['rps']:.0f}/s "
                  f"(non-2xx {runs['plain'][-1]['non2xx']} / {res['non2xx']}, p99 {runs['plain'][-1]['p99_ms']:.1f} / "
                  f"{res['p99_ms']:.1f} ms)", flush=True)
    plain_rps = statistics.median(r["rps"] for r in runs["plain"])
    tls_rps = statistics.median(r["rps"] for r in runs["tls"])
    print()
    print(f"players                     {args.players} on each server, {args.connections} connections")
    print(f"status posts, plain HTTP    {plain_rps:,.0f} req/s (median; p99 "
          f"{statistics.median(r['p99_ms'] for r in runs['plain']):.1f} ms)")
    print(f"status posts, TLS           {tls_rps:,.0f} req/s (median; p99 "
          f"{statistics.median(r['p99_ms'] for r in runs['tls']):.1f} ms)")
    paired = [t["rps"] / p["rps"] for p, t in zip(runs["plain"], runs["tls"], strict=True)]
    print(f"ratio TLS / plain           {tls_rps / plain_rps:.2f} (of the medians); each round against the plain "
          f"run just before it: {', '.join(f'{r:.2f}' for r in paired)}, median {statistics.median(paired):.2f}")
    print(f"TCP connections accepted during the TLS runs: {opened:,} (whole machine) for {posts:,} posts")
    ok = statistics.median(paired) >= 0.6 and opened < posts / 100
    print("targets (TLS >= 0.6 of plain; under one handshake per 100 posts):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
