"""Status-post latency and scoreboard visibility at the pace of one full session, against a do-nothing baseline.

    .venv/bin/python benchmarks/session_latency.py [--players 200] [--interval 0.3] [--seconds 20] [--rounds 3]

The target (one full session: 200 players, one post each every 300 ms, ~670 posts/s): p99 post latency
under 20 ms, and a record shows on the scoreboard within 1 s of its 2xx (p99).

Open-model pacing: every player has a random phase and posts on a fixed schedule over its own keep-alive
connection; a post's latency runs from its *scheduled* send time to the end of its answer, so a send that
went out late (a slow previous answer on that connection, or this process's loop lagging) counts in full
(no coordinated omission). Sends late by more than 5 ms are counted and reported. A post that got no 200
(another status, a connection error, no answer before the phase's deadline) counts as an infinitely slow
post, so it shows in the percentiles when there are enough of them; the error count is printed apart.

Visibility: a poller signed in as the manager asks `GET /v1/manager/scoreboard` (the full board) every
50 ms; a 2xx post's delay is the time of the first poll *answer* showing that player with at least that
score, minus the time of its 2xx. So each delay includes up to 50 ms of polling granularity. A post not
seen within 3 s after the load stops counts as infinitely late.

Each round runs the same load (same players, tokens, body shapes, schedule) first against
`POST /v1/noop` (the server's stack with a handler that does nothing, see noop_server.py), then against
`POST /v1/updatestatus`; the poller runs during both, so both phases see the same extra load. Rounds
repeat that pair; the summary gives medians of the per-round percentiles, and the p99 ratio.

The load generator runs in this process (uvloop when available), one keep-alive connection per player,
each an `api_client` `Http11Connection` (the connection of `Http11Transport`: answers parsed by llhttp
through httptools) fed requests serialized once per player; httpx would cost ~1 ms of CPU per request
and distort the latencies at this rate. The server runs in its own process (see harness.py). Before
round 1 a short unmeasured warm-up of status posts lets the server cache every token's signature check.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from api_client.transport import Http11Connection, open_connection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PASSWORD, BenchServer, make_players

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency of the server, so normally present
    uvloop = None

clock = time.perf_counter
INF = math.inf
LATE = 0.005           # a send this much after its scheduled time is reported as late
POLL_INTERVAL = 0.05   # scoreboard polling period
SEEN_WAIT = 3.0        # how long after the load to keep polling for records not yet seen
PHASE_GRACE = 10.0     # a phase's posts not answered this long after its last scheduled send are failures


# --- one keep-alive connection per player ---------------------------------------------------------------

class Conn:
    """One keep-alive HTTP/1.1 connection: `api_client`'s `Http11Connection`, whose answers llhttp parses
    (through httptools), fed requests serialized once per player, without httpx's objects around them."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection: Http11Connection | None = None

    async def open(self) -> None:
        self.connection = await open_connection(self.host, self.port)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        """Send `head` (request line and headers, without the final blank line) and `body`; answer (status, body).
        Failures raise httpx.TransportError."""
        if self.connection is None or self.connection.closed:
            await self.open()
        assert self.connection is not None
        try:
            status, _, data = await self.connection.send(b"%s\r\nContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
        except BaseException:
            self.close()
            raise
        if not self.connection.keep_alive:
            self.close()
        return status, data


def request_head(method: str, path: str, host: str, extra: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in extra.items())]
    return "\r\n".join(lines).encode()


def iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


# --- measurement ------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (sorted or not); inf counts as a value."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def ms(v: float) -> str:
    return "inf" if v == INF else ("n/a" if math.isnan(v) else f"{v * 1e3:.1f}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


class Bench:
    def __init__(self, args: argparse.Namespace, port: int, server_pid: int, session_id: str,
                 players: list[tuple[str, str]]) -> None:
        self.args = args
        self.port = port
        self.server_pid = server_pid
        self.host = f"127.0.0.1:{port}"
        self.session_id = session_id
        self.players = players
        rng = random.Random(args.seed)
        self.phases = [rng.random() * args.interval for _ in players]  # the same schedule in every phase
        self.score = [0] * len(players)                                  # strictly increasing per player
        self.manager_token = ""

    # The players' load -----------------------------------------------------------------------------

    async def load(self, path: str, seconds: float, record_2xx: bool, poller: Poller | None) -> dict:
        args = self.args
        heads = [request_head("POST", path, self.host, {"Authorization": token, "Content-Type": "application/json"})
                 for _, token in self.players]
        conns = [Conn("127.0.0.1", self.port) for _ in self.players]
        await asyncio.gather(*(c.open() for c in conns))
        counts = [sum(1 for k in range(int(seconds / args.interval) + 2) if ph + k * args.interval < seconds)
                  for ph in self.phases]
        latencies = [[INF] * n for n in counts]
        accepted: list[list[tuple[int, float]]] = [[] for _ in self.players]  # (score, time of 2xx)
        statuses: Counter[str] = Counter()
        late = [0]
        sid = self.session_id
        clk = clock

        async def player(i: int, start: float) -> None:
            name = self.players[i][0]
            conn, head, lat, phase = conns[i], heads[i], latencies[i], self.phases[i]
            for k in range(counts[i]):
                scheduled = start + phase + k * args.interval
                delay = scheduled - clk()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.score[i] += 1
                score = self.score[i]
                body = (f'{{"SessionId":"{sid}","Nickname":"{name}","Score":{score},"Shots":{score * 2},'
                        f'"Level":1,"Lives":3,"Timestamp":"{iso_now()}"}}').encode()
                sent = clk()
                if sent - scheduled > LATE:
                    late[0] += 1
                try:
                    status, _ = await conn.request(head, body)
                except httpx.TransportError as exc:
                    statuses[f"error {type(exc).__name__}: {exc}"] += 1
                    continue
                done = clk()
                if status == 200:
                    lat[k] = done - min(scheduled, sent)  # a send a hair early (timer rounding) is timed from the send
                    if record_2xx:
                        accepted[i].append((score, done))
                else:
                    statuses[str(status)] += 1

        gc.collect()
        gc.disable()  # no collector pauses in the generator while measuring
        cpu0, server_cpu0 = time.process_time(), cpu_seconds(self.server_pid)
        start = clock() + 0.2
        last_send = start + seconds
        if poller:
            poller.start(start)
        tasks = [asyncio.ensure_future(player(i, start)) for i in range(len(self.players))]
        _, pending = await asyncio.wait(tasks, timeout=last_send + PHASE_GRACE - clock())
        for t in pending:
            t.cancel()
        wall = clock() - start
        cpu1, server_cpu1 = time.process_time(), cpu_seconds(self.server_pid)
        gc.enable()
        for t in tasks:
            if not t.cancelled() and t.exception() is not None:
                statuses[f"error {type(t.exception()).__name__}"] += 1
        for c in conns:
            c.close()
        sent_total = sum(counts)
        answered = sum(statuses.values()) + sum(1 for lat in latencies for v in lat if v != INF)
        if answered < sent_total:
            statuses["no answer by the deadline"] += sent_total - answered
        flat = [v for lat in latencies for v in lat]
        return {"lat": flat, "posts": sent_total, "late": late[0], "statuses": statuses, "accepted": accepted,
                "client_cpu": (cpu1 - cpu0) / wall, "server_cpu": (server_cpu1 - server_cpu0) / wall}

    # A round: baseline, then status posts with visibility -------------------------------------------

    async def round(self, seconds: float) -> tuple[dict, dict]:
        noop_poller = Poller(self)
        noop_task = asyncio.ensure_future(noop_poller.run(seconds))
        noop = await self.load("/v1/noop", seconds, False, noop_poller)
        noop_poller.stop(None)
        await noop_task

        poller = Poller(self)
        task = asyncio.ensure_future(poller.run(seconds + SEEN_WAIT + PHASE_GRACE))
        status = await self.load("/v1/updatestatus", seconds, True, poller)
        poller.stop(status["accepted"])
        await task
        status["visible"], status["unseen"], status["early"] = poller.delays(status["accepted"])
        status["polls"], status["poll_errors"] = poller.polls, poller.errors
        return noop, status

    async def sign_in_manager(self) -> None:
        conn = Conn("127.0.0.1", self.port)
        body = json.dumps({"Username": "bench-manager", "Password": PASSWORD}).encode()
        status, data = await conn.request(request_head("POST", "/v1/auth/signin", self.host,
                                                       {"Content-Type": "application/json"}), body)
        conn.close()
        if status != 200:
            raise SystemExit(f"manager sign-in answered {status}: {data[:200]!r}")
        self.manager_token = json.loads(data)["IdToken"]


class Poller:
    """Polls the manager's full scoreboard every 50 ms; remembers when each player's score first rose."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.names = {name: i for i, (name, _) in enumerate(bench.players)}
        self.best = [-1] * len(bench.players)
        self.rises: list[list[tuple[int, float]]] = [[] for _ in bench.players]  # (score, time of poll answer)
        self.polls = 0
        self.errors: Counter[str] = Counter()
        self._start = asyncio.get_running_loop().create_future()
        self._stop_at = INF
        self._final: list[int] | None = None

    def start(self, at: float) -> None:
        if not self._start.done():
            self._start.set_result(at)

    def stop(self, accepted: list[list[tuple[int, float]]] | None) -> None:
        """The load is over: poll until every accepted post is seen, at most SEEN_WAIT more (none for the baseline)."""
        if accepted is None:
            self._stop_at = clock()
        else:
            self._final = [a[-1][0] if a else -1 for a in accepted]
            self._stop_at = clock() + SEEN_WAIT

    def _all_seen(self) -> bool:
        return self._final is not None and all(b >= f for b, f in zip(self.best, self._final))

    async def run(self, max_seconds: float) -> None:
        b = self.bench
        head = request_head("GET", f"/v1/manager/scoreboard?sessionId={b.session_id}", b.host,
                            {"Authorization": b.manager_token})
        conn = Conn("127.0.0.1", b.port)
        await conn.open()
        start = await self._start
        for k in range(int(max_seconds / POLL_INTERVAL) + 1):
            if clock() >= self._stop_at or self._all_seen():
                break
            delay = start + k * POLL_INTERVAL - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status, data = await conn.request(head)
            except httpx.TransportError as exc:
                self.errors[type(exc).__name__] += 1
                continue
            answered = clock()
            self.polls += 1
            if status != 200:
                self.errors[str(status)] += 1
                continue
            for entry in json.loads(data)["Scoreboard"]:
                i = self.names.get(entry["Nickname"])
                if i is not None and entry["Score"] > self.best[i]:
                    self.best[i] = entry["Score"]
                    self.rises[i].append((entry["Score"], answered))
        conn.close()

    def delays(self, accepted: list[list[tuple[int, float]]]) -> tuple[list[float], int, int]:
        """Visibility delay of every accepted post (inf when never seen); the unseen count; seen-before-2xx count."""
        out, unseen, early = [], 0, 0
        for i, posts in enumerate(accepted):
            scores = [s for s, _ in self.rises[i]]
            for score, done in posts:
                j = bisect.bisect_left(scores, score)
                if j == len(scores):
                    out.append(INF)
                    unseen += 1
                else:
                    d = self.rises[i][j][1] - done
                    early += d < 0  # the poll's answer came before this post's own answer: visible at once
                    out.append(max(0.0, d))
        return out, unseen, early


def fmt_errors(c: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) if c else "none"


async def run(args: argparse.Namespace, port: int, pid: int, session_id: str,
              players: list[tuple[str, str]]) -> int:
    bench = Bench(args, port, pid, session_id, players)
    await bench.sign_in_manager()
    if args.warmup > 0:
        warm = await bench.load("/v1/updatestatus", args.warmup, False, None)
        print(f"warm-up: {warm['posts']} status posts, errors {fmt_errors(warm['statuses'])}", flush=True)

    rounds: list[tuple[dict, dict]] = []
    for r in range(args.rounds):
        noop, status = await bench.round(args.seconds)
        rounds.append((noop, status))
        v = status["visible"]
        print(f"round {r + 1}: do-nothing p50/p90/p99 {ms(pct(noop['lat'], 50))}/{ms(pct(noop['lat'], 90))}/"
              f"{ms(pct(noop['lat'], 99))} ms (late {noop['late']}, errors {fmt_errors(noop['statuses'])}); "
              f"status {ms(pct(status['lat'], 50))}/{ms(pct(status['lat'], 90))}/{ms(pct(status['lat'], 99))} ms "
              f"(late {status['late']}, errors {fmt_errors(status['statuses'])}); "
              f"visible p50/p99/max {ms(pct(v, 50))}/{ms(pct(v, 99))}/{ms(max(v, default=math.nan))} ms "
              f"(unseen {status['unseen']}, {status['polls']} polls"
              f"{', poll errors ' + fmt_errors(status['poll_errors']) if status['poll_errors'] else ''}); "
              f"CPU this process {noop['client_cpu']:.0%}/{status['client_cpu']:.0%}, "
              f"server {noop['server_cpu']:.0%}/{status['server_cpu']:.0%}", flush=True)

    def med(phase: int, key: str, q: float) -> float:
        return statistics.median(pct(rd[phase][key], q) for rd in rounds)

    noop_p = {q: med(0, "lat", q) for q in (50, 90, 99)}
    status_p = {q: med(1, "lat", q) for q in (50, 90, 99)}
    vis = {q: med(1, "visible", q) for q in (50, 99)}
    vis_max = statistics.median(max(rd[1]["visible"], default=math.nan) for rd in rounds)
    errors_noop = sum((rd[0]["statuses"] for rd in rounds), Counter())
    errors_status = sum((rd[1]["statuses"] for rd in rounds), Counter())
    unseen = sum(rd[1]["unseen"] for rd in rounds)
    early = sum(rd[1]["early"] for rd in rounds)
    posts = rounds[0][1]["posts"]
    ratio = status_p[99] / noop_p[99] if noop_p[99] not in (0, INF) else math.nan

    print()
    print(f"players {args.players}, one post each every {args.interval * 1e3:.0f} ms "
          f"({args.players / args.interval:,.0f} posts/s), {args.seconds:g} s per phase, "
          f"{args.rounds} round(s): medians of per-round values")
    print(f"{'':28}{'p50':>9}{'p90':>9}{'p99':>9}")
    print(f"{'do-nothing POST (ms)':28}{ms(noop_p[50]):>9}{ms(noop_p[90]):>9}{ms(noop_p[99]):>9}")
    print(f"{'status post (ms)':28}{ms(status_p[50]):>9}{ms(status_p[90]):>9}{ms(status_p[99]):>9}")
    print(f"{'ratio status / do-nothing':28}{'':>9}{'':>9}{ratio:>9.2f}")
    print(f"{'visible on scoreboard (ms)':28}{ms(vis[50]):>9}{'':>9}{ms(vis[99]):>9}   max {ms(vis_max)} "
          f"(polled every {POLL_INTERVAL * 1e3:.0f} ms: each delay includes up to that much granularity)")
    print(f"posts per phase {posts:,}; late sends (> {LATE * 1e3:.0f} ms) do-nothing "
          f"{sum(rd[0]['late'] for rd in rounds)}, status {sum(rd[1]['late'] for rd in rounds)}; "
          f"never seen on the board {unseen}; seen before own 2xx {early}")
    print(f"errors: do-nothing {fmt_errors(errors_noop)}; status {fmt_errors(errors_status)}")
    ok = status_p[99] < 0.020 and vis[99] < 1.0
    print("targets (p99 post < 20 ms, p99 visible < 1 s):", "met" if ok else "NOT met")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between a player's posts")
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured status posts before round 1 (seconds)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the players' phases")
    args = parser.parse_args()
    if args.players < 1 or args.rounds < 1 or args.seconds <= 0 or args.interval <= 0:
        parser.error("--players, --rounds, --seconds and --interval must be positive")

    with tempfile.TemporaryDirectory() as tmp, BenchServer(Path(tmp) / "data") as server:
        session_id, players = make_players(server, args.players)
        coro = run(args, server.port, server.proc.pid, session_id, players)
        if uvloop is not None:
            return uvloop.run(coro)
        return asyncio.run(coro)


if __name__ == "__main__":
    sys.exit(main())
