"""Client CPU per status post against the local server, next to raw httpx and a do-nothing baseline.

    .venv/bin/python benchmarks/client_cpu.py [--players 200] [--seconds 10] [--rounds 3] [--uvloop] [--tls]

Starts `spaceinvaders-server serve` on a free port with a throw-away data directory, signs up the
players, opens a session and seats them, then runs each shape for `--seconds` with every player posting
every 300 ms (the game's pace), and prints the CPU this process spent per post and as a fraction of one
core. The server runs in its own process, so its CPU is not counted. Every round runs every shape in
the same order; the summary gives the medians over rounds and CPU per post as a ratio to
publisher-default (httpx's default transport under our client), measured in the same run.

Shapes:
- baseline: the same paced loops doing everything but the request (the harness's own cost);
- httpx-per-player: raw httpx, one `AsyncClient` per player (the best default-httpx shape);
- httpx-shared: raw httpx, one `AsyncClient` with a pool as large as the players;
- publisher-default: our `StatusPublisher`s, one `SpaceInvadersClient` (default transport) per player;
- publisher-pool: our `StatusPublisher`s over `ClientPool` (one shared client on `Http11Transport`);
- publisher-aiohttp: the same over httpx-aiohttp's `AiohttpTransport`, when httpx-aiohttp is installed.

--tls: the room's HTTPS instead. A second server runs `serve --tls` (its self-signed certificate, as a room's
server off loopback), the players are made on both, and each round runs baseline, publisher-pool over plain
HTTP, publisher-pool-tls (the same over HTTPS, pinned to the certificate's fingerprint, as the bots are) and
publisher-default-tls (one pinned client per player, as a game is). Each TLS row also counts the TLS
handshakes its clients made against the posts: connections are kept alive, so a handshake per connection,
not per post. Target: 200 players over TLS under half a core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from api_client import ClientPool, GameStatus, SpaceInvadersClient, StatusPublisher, TokenStore
from spaceinvaders_backend.local.process import ServerProcess

INTERVAL = 0.3
ROUNDS = 3  # --rounds
PASSWORD = "bench-password"


def start_server(data_dir: Path, tls: bool = False) -> tuple[ServerProcess, str]:
    server = ServerProcess(data_dir, serve_args=["--tls"] if tls else []).start()
    server.create_manager("boss", PASSWORD)
    return server, server.pinned_url


async def prepare(base: str, store: TokenStore, players: int) -> tuple[str, list[tuple[str, str]]]:
    """Sign up and seat the players (tokens kept in `store`); returns the session id and (name, token) pairs."""
    async with ClientPool(base, token_store=store) as pool:
        manager = pool.client()
        await manager.sign_in("boss", PASSWORD)
        session = await manager.open_session("MULTIPLE_TRIALS", total_seats=players)
        gate = asyncio.Semaphore(8)  # the server hashes passwords: don't queue 200 at once

        async def one(i: int) -> tuple[str, str]:
            async with gate:
                client = pool.client()
                name = f"bench{i}"
                await client.sign_up(name, PASSWORD)
                tokens = await client.sign_in(name, PASSWORD)
                await client.allocate()
                return name, tokens.id_token

        pairs = await asyncio.gather(*(one(i) for i in range(players)))
    return session.SessionId, list(pairs)


async def paced(players: int, seconds: float, post: Callable[[int, int], Awaitable[None]]) -> int:
    """Every player calls `post(player, n)` every INTERVAL for `seconds`; returns the number of calls."""
    count = 0

    async def loop(i: int) -> None:
        nonlocal count
        await asyncio.sleep(random.random() * INTERVAL)  # spread players over the interval
        next_at = time.monotonic()
        end = next_at + seconds
        n = 0
        while next_at < end:
            n += 1
            await post(i, n)
            count += 1
            next_at += INTERVAL
            # A late loop skips the missed ticks, as the publisher does: a burst would hit the rate limit.
            next_at = max(next_at, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    await asyncio.gather(*(loop(i) for i in range(players)))
    return count


def body(session_id: str, name: str, n: int) -> bytes:
    return json.dumps(
        {
            "SessionId": session_id,
            "Nickname": name,
            "Score": n,
            "Shots": n,
            "Level": 1,
            "Lives": 3,
            "Timestamp": "2026-11-26T22:15:00.000Z",
        }
    ).encode()


async def measure(label: str, run: Awaitable[int], results: list[dict[str, object]],
                  handshakes: Callable[[], int] | None = None) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    posts = await run
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    shook = handshakes() if handshakes else None
    row = {
        "shape": label,
        "posts": posts,
        "posts_per_s": round(posts / wall),
        "cpu_ms_per_post": round(cpu / max(posts, 1) * 1000, 3),
        "cores": round(cpu / wall, 3),
    }
    if shook is not None:
        row["handshakes"] = shook
    results.append(row)
    print(
        f"{label:>21}: {row['cpu_ms_per_post']:6.3f} ms CPU/post  {row['cores']:5.2f} cores  "
        f"{row['posts_per_s']:5d} posts/s  ({posts} posts"
        + (f", {shook} TLS handshakes" if shook is not None else "") + ")",
        flush=True,
    )


def summary(results: list[dict[str, object]]) -> list[dict[str, object]]:
    """Per shape, the medians over rounds, and CPU per post as a ratio to httpx's default transport."""
    shapes = list(dict.fromkeys(str(row["shape"]) for row in results))
    medians = []
    for shape in shapes:
        rows = [row for row in results if row["shape"] == shape]
        row = {"shape": shape, "rounds": len(rows)}
        for key in ("cpu_ms_per_post", "cores", "posts_per_s", "handshakes"):
            if key in rows[0]:
                row[key] = statistics.median(float(r[key]) for r in rows)  # type: ignore[arg-type]
        medians.append(row)
    base = "publisher-default" if any(m["shape"] == "publisher-default" for m in medians) else "publisher-pool"
    default = next((m["cpu_ms_per_post"] for m in medians if m["shape"] == base), None)
    print(f"\nmedians over {medians[0]['rounds'] if medians else 0} round(s):")
    for m in medians:
        ratio = f"{m['cpu_ms_per_post'] / default:5.2f} of {base}" if default else ""
        shook = f"  {m['handshakes']:.0f} handshakes" if "handshakes" in m else ""
        print(
            f"{m['shape']:>21}: {m['cpu_ms_per_post']:6.3f} ms CPU/post  {m['cores']:5.2f} cores  "
            f"{m['posts_per_s']:5.0f} posts/s  {ratio}{shook}"
        )
    return medians


async def main(players: int, seconds: float, tls: bool = False) -> list[dict[str, object]]:
    if tls:
        return await main_tls(players, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp) / "data")
        try:
            print(f"preparing {players} players on {base} ...", flush=True)
            store = TokenStore(Path(tmp) / "tokens")
            session_id, pairs = await prepare(base, store, players)
            return await run_shapes(base, store, session_id, pairs, seconds)
        finally:
            proc.stop()


async def run_shapes(
    base: str, store: TokenStore, session_id: str, pairs: list[tuple[str, str]], seconds: float
) -> list[dict[str, object]]:
    """Every shape once per round, in the same order each round; ROUNDS rounds."""
    players = len(pairs)
    results: list[dict[str, object]] = []
    url = base + "/updatestatus"

    async def nothing(i: int, n: int) -> None:
        body(session_id, pairs[i][0], n)
        await asyncio.sleep(0)

    async def raw(clients: list[httpx.AsyncClient]) -> int:
        async def post(i: int, n: int) -> None:
            name, token = pairs[i]
            response = await clients[i].post(
                url,
                content=body(session_id, name, n),
                headers={"Authorization": token, "Content-Type": "application/json"},
            )
            response.raise_for_status()

        try:
            return await paced(players, seconds, post)
        finally:
            for client in set(clients):
                await client.aclose()

    async def signed_in(clients: list[SpaceInvadersClient]) -> list[SpaceInvadersClient]:
        # Tokens come from the store `prepare` filled: no sign-in (argon2 on the server) inside the timing.
        for client, (name, _) in zip(clients, pairs, strict=True):
            assert await client.resume(name)
        return clients

    async def over(http: httpx.AsyncClient) -> int:
        async with http:
            clients = [SpaceInvadersClient(base, http=http, token_store=store) for _ in pairs]
            return await publishers(await signed_in(clients), session_id, seconds)

    for round_number in range(1, ROUNDS + 1):
        print(f"round {round_number} of {ROUNDS}", flush=True)
        await measure("baseline", paced(players, seconds, nothing), results)
        per_player = [httpx.AsyncClient() for _ in pairs]  # made before timing: each builds an SSL context
        await measure("httpx-per-player", raw(per_player), results)
        limits = httpx.Limits(max_connections=players, max_keepalive_connections=players)
        shared = httpx.AsyncClient(limits=limits)
        await measure("httpx-shared", raw([shared] * players), results)
        default_clients = await signed_in([SpaceInvadersClient(base, token_store=store) for _ in pairs])
        await measure("publisher-default", publishers(default_clients, session_id, seconds), results)
        async with ClientPool(base, token_store=store) as pool:
            pooled = await signed_in([pool.client() for _ in pairs])
            await measure("publisher-pool", publishers(pooled, session_id, seconds), results)
        for label, transport in other_transports():
            await measure(label, over(httpx.AsyncClient(transport=transport, trust_env=False)), results)
    return results


async def main_tls(players: int, seconds: float) -> list[dict[str, object]]:
    """Plain HTTP and TLS in the same run: two servers, the same players on each."""
    with tempfile.TemporaryDirectory() as tmp:
        plain_proc, plain = start_server(Path(tmp) / "plain")
        tls_proc, secure = start_server(Path(tmp) / "tls", tls=True)
        try:
            print(f"preparing {players} players on {plain} and on {secure} ...", flush=True)
            plain_store, tls_store = TokenStore(Path(tmp) / "plain-tokens"), TokenStore(Path(tmp) / "tls-tokens")
            plain_session, plain_pairs = await prepare(plain, plain_store, players)
            tls_session, tls_pairs = await prepare(secure, tls_store, players)
            results: list[dict[str, object]] = []

            async def nothing(i: int, n: int) -> None:
                body(plain_session, plain_pairs[i][0], n)
                await asyncio.sleep(0)

            async def signed_in(clients: list[SpaceInvadersClient], pairs) -> list[SpaceInvadersClient]:
                for client, (name, _) in zip(clients, pairs, strict=True):
                    assert await client.resume(name)
                # Seated again: a server left idle while the other one is measured frees seats after 60 s.
                gate = asyncio.Semaphore(20)

                async def seat(client: SpaceInvadersClient) -> None:
                    async with gate:
                        await client.allocate()

                await asyncio.gather(*(seat(client) for client in clients))
                return clients

            for round_number in range(1, ROUNDS + 1):
                print(f"round {round_number} of {ROUNDS}", flush=True)
                await measure("baseline", paced(players, seconds, nothing), results)
                async with ClientPool(plain, token_store=plain_store) as pool:
                    pooled = await signed_in([pool.client() for _ in plain_pairs], plain_pairs)
                    await measure("publisher-pool", publishers(pooled, plain_session, seconds), results)
                async with ClientPool(secure, token_store=tls_store) as pool:
                    pooled = await signed_in([pool.client() for _ in tls_pairs], tls_pairs)
                    context = pool.trust.context
                    start = context.handshakes
                    await measure("publisher-pool-tls", publishers(pooled, tls_session, seconds), results,
                                  lambda context=context, start=start: context.handshakes - start)
                own = await signed_in([SpaceInvadersClient(secure, token_store=tls_store) for _ in tls_pairs],
                                      tls_pairs)
                contexts = [client.trust.context for client in own]
                await measure("publisher-default-tls", publishers(own, tls_session, seconds), results,
                              lambda contexts=contexts: sum(c.handshakes for c in contexts))
            return results
        finally:
            tls_proc.stop()
            plain_proc.stop()


def other_transports() -> list[tuple[str, httpx.AsyncBaseTransport]]:
    """Transports compared with `ClientPool`'s, shared the same way; each only when installed."""
    found: list[tuple[str, httpx.AsyncBaseTransport]] = []
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        print("(publisher-aiohttp skipped: pip install httpx-aiohttp)")
    else:
        found.append(("publisher-aiohttp", AiohttpTransport(limits=httpx.Limits(max_connections=None))))
    return found


async def publishers(clients: list[SpaceInvadersClient], session_id: str, seconds: float) -> int:
    """Run one signed-in publisher per player for `seconds`, the state changing on every sample."""
    players = len(clients)
    scores = [0] * players

    def state(i: int) -> Callable[[], GameStatus]:
        def current() -> GameStatus:
            scores[i] += 1
            return GameStatus(Score=scores[i], Shots=scores[i], Level=1, Lives=3)

        return current

    pubs = [StatusPublisher(c, session_id, state(i)) for i, c in enumerate(clients)]
    for pub in pubs:
        pub.start()
        await asyncio.sleep(INTERVAL / players)  # spread players over the interval
    await asyncio.sleep(seconds)
    await asyncio.gather(*(pub.stop() for pub in pubs))
    refused = sum(p.stats.failed + p.stats.rejected for p in pubs)
    if refused:
        print(f"    ({refused} posts failed or refused)")
    for client in clients:
        await client.aclose()
    return sum(p.stats.sent + p.stats.failed + p.stats.rejected for p in pubs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of every shape; medians reported")
    parser.add_argument("--uvloop", action="store_true", help="run this process on uvloop")
    parser.add_argument("--json", type=Path, help="also write every round and the medians here")
    parser.add_argument("--tls", action="store_true", help="the room's HTTPS against plain HTTP (see above)")
    args = parser.parse_args()
    ROUNDS = args.rounds
    if args.uvloop:
        import uvloop

        uvloop.install()
    rows = asyncio.run(main(args.players, args.seconds, args.tls))
    medians = summary(rows)
    if args.json:
        args.json.write_text(json.dumps({"rounds": rows, "medians": medians}, indent=2))
