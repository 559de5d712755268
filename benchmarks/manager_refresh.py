"""The manager's console on a session of 5,000 players: refresh time, key responsiveness and CPU.

    .venv/bin/python benchmarks/manager_refresh.py [--players 5000] [--seconds 15] [--rounds 3] [--backend both]

Target: every 1.5 s refresh (fetch the whole board, the seats and the session, fold them into the view,
and draw the next screen update) under 200 ms, and the console answering keys meanwhile.

The console (`ManagerApp`, headless at 200 x 60, refresh every 1.5 s) watches the session while a key
("down": the board's cursor) is pressed every 200 ms; each press is timed until Textual has handled it.
CPU is this process's (`time.process_time`, all threads) over the measured window, in cores.

- local: a local server process (benchmarks/harness.py: players minted with the server's key and
  seated; each posts once, so all 5,000 are on the board), and during the measurement a separate
  process keeps posting ~400 rising scores a second so that ranks move. Baseline, same run: the same
  console and load on a 10-player session. Then, under the same load, the server's own side of a
  refresh: `/manager/scoreboard` and `/manager/players` read whole with plain httpx, no parsing.
- aws: the resources of tests/aws_stack.py on moto, in this process, with 5,000 Scoreboard items and
  seats written as docs/aws.md describes them. moto answers in this process and takes seconds to page
  5,000 items (the baseline: the same Query pages read with plain boto3, no console), so the console is
  measured twice: once on moto (one round: moto's time dominates), and with moto's pages recorded once
  and handed back at once, which is the console's own work per refresh (conversion, seats, ranks, drawing).

Medians over rounds of each round's median and p99. The console's garbage collector is set as
`spaceinvaders-manager` sets it (`manager_tui/heap.py`).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "tests" / "manager"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class RefreshTimes(list):
    """(fetch seconds, fetch + apply + next screen update seconds) of each successful refresh."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[tuple[float, float]] = []  # (started, answered) of boards not drawn yet


def time_refreshes(app, backend) -> RefreshTimes:
    """Time each `backend.board` call (the benchmark's wrapper: the console knows nothing of it)."""
    times = RefreshTimes()
    board = backend.board

    async def timed_board(session_id: str):
        started = time.perf_counter()
        answer = await board(session_id)
        times.fetched.append((started, time.perf_counter()))
        return answer

    backend.board = timed_board
    return times


def watch_refreshes(app, times: RefreshTimes) -> None:
    """When the app's `live` changes after a timed fetch, note the total once that update is on the
    terminal (the screens, watching `live` too and registered first, have redrawn by then)."""
    def changed(_live) -> None:
        if times.fetched:
            started, fetched = times.fetched.pop()
            times.fetched.clear()
            app.screen.call_after_refresh(
                lambda: times.append((fetched - started, time.perf_counter() - started)))
    app.screen.watch(app, "live", changed, init=False)


async def measure(backend, session_id: str, seconds: float) -> dict[str, float]:
    from textual import events

    from manager_tui import heap
    from manager_tui.app import ManagerApp
    from manager_tui.widgets.board_view import BoardView

    heap.settle()  # as spaceinvaders-manager does before its console runs
    app = ManagerApp(backend, refresh_seconds=1.5, session_id=session_id)
    keys: list[float] = []
    handled: list[float] = []
    refresh_times = time_refreshes(app, backend)
    async with app.run_test(size=(200, 60)) as pilot:
        while app.live.board is None:
            await pilot.pause(0.05)
        watch_refreshes(app, refresh_times)
        board = app.screen.query_one(BoardView)
        board.focus()
        moved = board.action_cursor
        board.action_cursor = lambda step: (handled.append(time.perf_counter()), moved(step))  # type: ignore
        await pilot.pause(0.2)
        refresh_times.clear()
        cpu, start = time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            if board.cursor >= len(board.rows) - 1:
                board.action_jump(0)
            # The key as the terminal driver delivers it; timed until the board's cursor action runs.
            count, pressed = len(handled), time.perf_counter()
            app.post_message(events.Key("down", None))
            while len(handled) == count:
                await asyncio.sleep(0.001)
            keys.append(handled[-1] - pressed)
            await asyncio.sleep(0.2)
        cpu = (time.process_time() - cpu) / (time.perf_counter() - start)
        players = len(app.live.rows)
        errors = app.live.failures
    if "-v" in sys.argv:
        print("  slowest (fetch, total) ms:", sorted(((round(f * 1e3), round(t * 1e3)) for f, t in refresh_times),
                                                    key=lambda x: -x[1])[:4], flush=True)
    totals = [total for _, total in refresh_times]
    fetches = [fetch for fetch, _ in refresh_times]
    draws = [total - fetch for fetch, total in refresh_times]  # the console's own part
    return {"players": players, "refreshes": len(totals), "refresh_p50": statistics.median(totals),
            "refresh_p99": percentile(totals, 0.99), "fetch_p50": statistics.median(fetches),
            "fetch_p99": percentile(fetches, 0.99), "draw_p50": statistics.median(draws),
            "draw_p99": percentile(draws, 0.99),
            "key_p50": statistics.median(keys), "key_p99": percentile(keys, 0.99), "key_max": max(keys),
            "cpu": cpu, "errors": errors}


def summary(label: str, rounds: list[dict[str, float]]) -> dict[str, float]:
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"{label:<34} players {median['players']:>5.0f}  refresh p50 {median['refresh_p50'] * 1e3:6.1f} ms  "
          f"p99 {median['refresh_p99'] * 1e3:6.1f} ms  (fetch p50/p99 {median['fetch_p50'] * 1e3:5.1f}/"
          f"{median['fetch_p99'] * 1e3:5.1f} ms, the rest {median['draw_p50'] * 1e3:5.1f}/{median['draw_p99'] * 1e3:5.1f} ms)  "
          f"key p50 {median['key_p50'] * 1e3:5.1f} ms p99 {median['key_p99'] * 1e3:5.1f} ms  "
          f"CPU {median['cpu']:.2f} cores  refreshes/round {median['refreshes']:.0f}  errors {median['errors']:.0f}",
          flush=True)
    return median


# --- local --------------------------------------------------------------------------------------------
def poster_main(argv: list[str]) -> None:
    """A separate process posting rising scores for random players at `rate` a second."""
    base_url, session_id, tokens_file, rate, seconds = argv[0], argv[1], argv[2], float(argv[3]), float(argv[4])
    tokens = json.loads(Path(tokens_file).read_text())
    scores = {name: 100 for name, _ in tokens}

    async def run() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                tick = time.monotonic()
                batch = random.sample(tokens, min(len(tokens), max(1, int(rate / 10))))
                for name, _ in batch:
                    scores[name] += random.randint(1, 400)
                await asyncio.gather(*(post(http, session_id, name, token, scores[name], seated_only=False)
                                       for name, token in batch))
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))

    asyncio.run(run())


async def post(http: httpx.AsyncClient, session_id: str, name: str, token: str, score: int,
               seated_only: bool = True) -> None:
    body = {"SessionId": session_id, "Nickname": name, "Score": score, "Shots": score // 50 + 1, "Level": 1,
            "Lives": 3, "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    answer = await http.post("/updatestatus", json=body, headers={"Authorization": token})
    # While measuring, a player the server found idle for 60 s has lost the seat (409): that is fine.
    if answer.status_code not in (200, 429) and (seated_only or answer.status_code != 409):
        raise RuntimeError(f"post refused: {answer.status_code} {answer.text}")


async def fill(base_url: str, session_id: str, tokens: list[tuple[str, str]]) -> None:
    limit = asyncio.Semaphore(64)

    async def one(name: str, token: str) -> None:
        async with limit:
            await post(http, session_id, name, token, random.randint(0, 100_000))

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await asyncio.gather(*(one(name, token) for name, token in tokens))


def server_answers(base_url: str, session_id: str, token: str, samples: int) -> None:
    """The server's side of a refresh: each manager path read whole, one after the other, no parsing."""
    times: dict[str, list[float]] = {"/manager/scoreboard": [], "/manager/players": []}
    sizes: dict[str, int] = {}
    with httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": token}) as http:
        for _ in range(samples):
            for path, taken in times.items():
                started = time.perf_counter()
                answer = http.get(path, params={"sessionId": session_id})
                taken.append(time.perf_counter() - started)
                answer.raise_for_status()
                sizes[path] = len(answer.content)
            time.sleep(0.1)
    for path, taken in times.items():
        print(f"  server answer {path:<20} p50 {statistics.median(taken) * 1e3:6.1f} ms  "
              f"p99 {percentile(taken, 0.99) * 1e3:6.1f} ms  ({sizes[path] / 1e3:,.0f} kB, {samples} reads)", flush=True)


def local_round_set(players: int, seconds: float, rounds: int, work: Path) -> dict[str, float]:
    from harness import PASSWORD, BenchServer, make_players

    from api_client import TokenStore
    from manager_tui.backends.api import ApiBackend

    with BenchServer(work / f"data-{players}") as server:
        session_id, tokens = make_players(server, players, session_name=f"BENCH{players}")
        asyncio.run(fill(server.base_url, session_id, tokens))
        tokens_file = work / f"tokens-{players}.json"
        tokens_file.write_text(json.dumps(tokens))
        results = []
        for _ in range(rounds):
            poster = subprocess.Popen([sys.executable, __file__, "--poster", server.base_url, session_id,
                                       str(tokens_file), "400", str(seconds + 8)])
            try:
                async def one_round() -> dict[str, float]:
                    backend = ApiBackend(server.base_url, token_store=TokenStore(work / "tokens"))
                    await backend.sign_in("bench-manager", PASSWORD)
                    return await measure(backend, session_id, seconds)
                results.append(asyncio.run(one_round()))
            finally:
                poster.terminate()
                poster.wait(10)
        median = summary(f"local, {players} players", results)
        poster = subprocess.Popen([sys.executable, __file__, "--poster", server.base_url, session_id,
                                   str(tokens_file), "400", str(seconds + 8)])
        try:
            token = httpx.post(f"{server.base_url}/auth/signin",
                               json={"Username": "bench-manager", "Password": PASSWORD}).json()["IdToken"]
            time.sleep(1)
            server_answers(server.base_url, session_id, token, samples=max(10, int(seconds * 4)))
        finally:
            poster.terminate()
            poster.wait(10)
        return median


# --- AWS on moto ----------------------------------------------------------------------------------------
class RecordedDynamoDB:
    """A DynamoDB client that answers the board's reads (the Ranking and Seats queries, the session's item)
    from answers recorded once from a real one."""

    def __init__(self, real, tables: dict[str, str]) -> None:
        self.real = real
        self.tables = tables
        self.answers: dict[str, object] = {}

    @staticmethod
    def _key(operation: str, kwargs: dict) -> str:
        return operation + json.dumps(kwargs, sort_keys=True, default=str)

    def record(self, session_id: str) -> None:
        from spaceinvaders_backend.aws import board_store, seat_store, session_store
        from spaceinvaders_backend.aws.config import StackNames

        names = StackNames.from_tables("bench", self.tables, lambda service, endpoint=None: self)
        board_store.ranking(names, session_id)
        seat_store.seats(names, session_id)
        session_store.read(names, session_id)

    def get_item(self, **kwargs):
        key = self._key("get_item", kwargs)
        if key not in self.answers:
            self.answers[key] = self.real.get_item(**kwargs)
        return self.answers[key]

    def get_paginator(self, operation: str):
        recorded = self

        class Pages:
            def paginate(self, **kwargs):
                key = recorded._key(operation, kwargs)
                if key not in recorded.answers:
                    recorded.answers[key] = list(recorded.real.get_paginator(operation).paginate(**kwargs))
                return recorded.answers[key]

        return Pages()


def aws_round_set(players: int, seconds: float, rounds: int) -> tuple[dict[str, float], float]:
    import boto3
    from aws_stack import MOTO_CONFIG, REGION, create_stack
    from manager_support import rank_key
    from moto import mock_aws

    from api_client import GameType
    from manager_tui.backends import OpenRequest
    from manager_tui.backends.aws import AwsBackend
    from spaceinvaders_backend.aws.items import attrs

    with mock_aws(config=MOTO_CONFIG):
        stack = create_stack(env="bench")
        backend = AwsBackend("bench", boto3.Session(region_name=REGION))
        asyncio.run(backend.connect())
        session = asyncio.run(backend.open_session(OpenRequest("BENCH", GameType.MULTIPLE_TRIALS, False, players)))
        sid = session.SessionId
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        now = time.time()
        items = []
        for i in range(players):
            name, score, shots, lives = f"player{i:05d}", random.randint(0, 100_000), random.randint(1, 999), 3
            items.append(("Scoreboard", {"SessionId": sid, "Nickname": name, "Score": score, "Shots": shots,
                                         "Level": 1, "Lives": lives, "RankKey": rank_key(score, lives, shots, name),
                                         "Timestamp": "2026-11-26T22:15:00.000Z", "LastSequenceNumber": f"{i:020d}",
                                         "ArrivedAt": now - 0.5, "UpdatedAt": now}))
            items.append(("Seats", {"SessionId": sid, "Username": name, "State": "PLAYING", "Played": True,
                                    "AllocatedAt": now, "LastSeen": now}))
        for start in range(0, len(items), 25):
            batch: dict[str, list] = {}
            for table, item in items[start:start + 25]:
                batch.setdefault(stack.tables[table], []).append({"PutRequest": {"Item": attrs(item)}})
            dynamodb.batch_write_item(RequestItems=batch)
        dynamodb.update_item(TableName=stack.tables["Sessions"], Key={"SessionId": {"S": sid}},
                             UpdateExpression="SET OccupiedSeats = :n, RecordCount = :n",
                             ExpressionAttributeValues={":n": {"N": str(players)}})

        recorded = RecordedDynamoDB(backend._client("dynamodb"), stack.tables)
        raw = []
        for _ in range(3):  # the baseline: moto answering the same pages to plain boto3
            recorded.answers.clear()
            started = time.perf_counter()
            recorded.record(sid)
            raw.append(time.perf_counter() - started)
        print(f"{'  baseline: plain boto3 Query pages':<34} {statistics.median(raw) * 1e3:6.1f} ms", flush=True)
        with_moto = [asyncio.run(measure(AwsBackend("bench", boto3.Session(region_name=REGION)), sid,
                                         max(seconds, 20.0)))]
        summary(f"AWS on moto, {players} players", with_moto)
        time.sleep(10)  # a refresh left running in a worker thread when that console quit finishes meanwhile
        # moto's in-memory tables live in this process; a console on AWS has none. Freezing them keeps the
        # garbage collector's full passes over moto's objects out of the console's figures.
        gc.collect()
        gc.freeze()

        class Replayed(AwsBackend):
            """moto's answers, recorded once and handed back at once: the console's own work per refresh
            (the stores' decoding included)."""

            def _client(self, service: str):
                return recorded if service == "dynamodb" else super()._client(service)

        results = [asyncio.run(measure(Replayed("bench", boto3.Session(region_name=REGION)), sid, seconds))
                   for _ in range(rounds)]
        for result in results + with_moto:  # the console saw every player
            assert result["players"] == players, result
        median = summary(f"AWS, moto's pages replayed, {players}", results)
        return median, statistics.median(raw)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--poster":
        poster_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("local", "aws", "both"), default="both")
    parser.add_argument("-v", action="store_true", help="print each round's slowest refreshes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.backend in ("local", "both"):
            base = local_round_set(10, args.seconds, args.rounds, work)
            big = local_round_set(args.players, args.seconds, args.rounds, work)
            print(f"local: refresh p50 ratio {big['refresh_p50'] / base['refresh_p50']:.1f}x the 10-player "
                  f"baseline; p99 {big['refresh_p99'] * 1e3:.0f} ms (target < 200 ms)")
        if args.backend in ("aws", "both"):
            big, raw = aws_round_set(args.players, args.seconds, args.rounds)
            print(f"AWS: the console's own refresh p50 {big['refresh_p50'] * 1e3:.0f} ms, p99 "
                  f"{big['refresh_p99'] * 1e3:.0f} ms (target < 200 ms); moto alone takes {raw * 1e3:.0f} ms "
                  "to answer the pages")


if __name__ == "__main__":
    main()
