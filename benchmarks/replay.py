"""The replay of a long session (issue 17): time to the first frame, seeks, frames a second and CPU.

    .venv/bin/python benchmarks/replay.py [--players 200] [--minutes 60] [--backend both] [--seconds 10] [--speed 120]

The session: `--players` posting every 300 ms for `--minutes` (200 x 60: 2.4 million records; about 360 MB
of JSON lines), scores rising, a last life now and then (MULTIPLE_TRIALS: the player plays again).

- local: the records are written into a server's database before it starts (it processes them into its
  stored board at start-up, as after a crash); the console asks `GET /manager/replay`. Baseline, same
  run: reading the session's rows alone from the log (SQLite, read-only, nothing else done with them).
  (`GET /manager/export` streams a row per chunk: about 8,000 records a second here, far slower.)
- aws: the same records as Firehose's objects (JSON lines, one object a minute) in moto's S3, in this
  process; the console reads and indexes them itself. Baseline: reading the archive's objects alone
  (list and get, nothing decoded).

Measured: the first frame (from asking for the replay, the index cold); the whole index (until a frame
says Complete); a seek to the end asked at once after the first frame (it waits for the index to get
there); then 20 seeks to random moments (the index built). Local: the server made the replay as it
counted the records (at its start here), so "cold" is a replay never asked for since. AWS: cold is the
first replay (the console reads the archive), warm the second (its cache of replays on disk); "AWS
indexed, cold": the stack's replay index function indexes the objects as they are delivered (in moto), and
a console that never replayed the session reads that index; the replay playing at 120x in the console
(headless at 200 x 60, `spaceinvaders-manager --replay ID --speed 120`): frames a second and this
process's CPU (all threads) over `--seconds` (local: and the server's, which makes the frames), against the
live console watching the same session over the same time (its refresh every 1.5 s). The last frame is checked against the stored board (local).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from harness import PASSWORD

from spaceinvaders_backend.core.timeutil import to_iso

POST_SECONDS = 0.3
FIREHOSE_BUFFER_BYTES = 64 << 20  # the archive's delivery: an object a minute, or each 64 MB (template.yaml)


def records(players: int, minutes: float, start: float, seed: int = 7):
    """(name, score, shots, level, lives, ts, received_at) in arrival order."""
    rng = random.Random(seed)
    names = [f"player{i:05d}" for i in range(players)]
    offsets = sorted(rng.uniform(0, POST_SECONDS) for _ in range(players))
    score, shots, lives = [0] * players, [0] * players, [3] * players
    for tick in range(int(minutes * 60 / POST_SECONDS)):
        base = start + tick * POST_SECONDS
        for p in range(players):
            score[p] += rng.choice((0, 0, 10, 20, 30))
            shots[p] += rng.randint(0, 2)
            if rng.random() < 0.0005:
                lives[p] -= 1
            at = base + offsets[p]
            yield names[p], score[p], shots[p], 1 + score[p] // 5000, lives[p], at - 0.02, at
            if lives[p] == 0:  # a new trial
                score[p], shots[p], lives[p] = 0, 0, 3


def summary_line(label: str, seconds: float, baseline: float | None = None, name: str = "") -> str:
    ratio = f"  ({seconds / baseline:.2f}x {name})" if baseline else ""
    return f"  {label:<44} {seconds * 1e3:9.0f} ms{ratio}"


# --- the replay's own figures, through its source ---------------------------------------------------
async def source_figures(source, label: str, baseline: float, baseline_name: str) -> dict:
    asked = time.perf_counter()
    first = await source.frame(None)
    while first.Start is None:  # a frame with nothing indexed yet is no frame of the race
        await asyncio.sleep(0.005)
        first = await source.frame(None)
    first_frame = time.perf_counter() - asked
    asked = time.perf_counter()
    end = None
    frame = first
    while True:  # a seek to the end, asked right after the first frame
        frame = await source.frame(1e12)
        if frame.Complete:
            end = frame.End
            break
        await asyncio.sleep(0.02)
    cold_end = time.perf_counter() - asked
    rng = random.Random(3)
    seeks = []
    for _ in range(20):
        at = rng.uniform(frame.Start, end)
        asked = time.perf_counter()
        shown = await source.frame(at)
        seeks.append(time.perf_counter() - asked)
        assert abs(shown.At - at) < 1e-6, (shown.At, at)
    last = await source.frame(end)
    print(f"{label}: {frame.Records:,} records, {len(last.Board):,} players", flush=True)
    print(summary_line("first frame (index cold)", first_frame, baseline, baseline_name), flush=True)
    print(summary_line("seek to the end at once (waits for the index)", cold_end, baseline, baseline_name))
    print(summary_line("seek anywhere, index built: median", statistics.median(seeks), baseline, baseline_name))
    print(summary_line("seek anywhere, index built: max", max(seeks), baseline, baseline_name), flush=True)
    return {"first": first_frame, "cold_end": cold_end, "seek_p50": statistics.median(seeks),
            "seek_max": max(seeks), "last": last}


def process_cpu(pid: int | None) -> float:
    """CPU seconds another process has used so far (Linux /proc; 0 where it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def console_figures(backend, session_id: str, seconds: float, replay: bool,
                          speed: float = 120, server_pid: int | None = None) -> tuple[float, float, float]:
    """(frames a second, CPU in cores, the server's CPU in cores over the same time) of the console
    replaying at `speed`, or watching live (replay=False: its refreshes a second)."""
    from manager_tui import heap
    from manager_tui.app import ManagerApp
    from manager_tui.screens.replay import ReplayScreen

    heap.settle()
    app = ManagerApp(backend, session_id=session_id, replay=session_id if replay else None, replay_speed=speed)
    async with app.run_test(size=(200, 60)) as pilot:
        if replay:
            while not (isinstance(app.screen, ReplayScreen) and app.screen.player.frame is not None
                       and app.screen.player.frame.Complete):
                await pilot.pause(0.1)
            screen = app.screen
            await pilot.press("home")
            await pilot.pause(0.5)
            count = lambda: screen.frames
        else:
            while app.live.board is None:
                await pilot.pause(0.1)
            refreshes = []
            app.screen.watch(app, "live", lambda _live: refreshes.append(1), init=False)
            count = lambda: len(refreshes)
        frames, cpu, started = count(), time.process_time(), time.perf_counter()
        served = process_cpu(server_pid)
        while time.perf_counter() - started < seconds:
            await asyncio.sleep(0.1)
            if replay and screen.player.at_end:  # a session shorter than the measure: again from the start
                await pilot.press("home")
        elapsed = time.perf_counter() - started
        return ((count() - frames) / elapsed, (time.process_time() - cpu) / elapsed,
                (process_cpu(server_pid) - served) / elapsed)


def console_line(label: str, fps: float, cpu: float, server: float, base_fps: float, base_cpu: float,
                 base_server: float) -> None:
    print(f"  {label:<44} {fps:6.1f} frames/s  CPU {cpu:.2f} cores, the server {server:.2f}  (live console: "
          f"{base_fps:.2f} refreshes/s, CPU {base_cpu:.2f} cores, the server {base_server:.2f})", flush=True)


# --- local ----------------------------------------------------------------------------------------------
def local_run(players: int, minutes: float, seconds: float, work: Path, speed: float) -> None:
    from api_client import TokenStore
    from manager_tui.backends.api import ApiBackend
    from spaceinvaders_backend.core.sessions import Session
    from spaceinvaders_backend.local import accounts, database
    from spaceinvaders_backend.local.process import ServerProcess
    from spaceinvaders_backend.local.settings import Settings

    data = work / f"local-{players}"
    settings = Settings(data_dir=data)
    database.prepare_data_dir(data)
    conn = database.connect(settings.database_path)
    start = time.time() - minutes * 60 - 120
    sid = f"REPLAY{players}"
    made = time.perf_counter()
    with database.transaction(conn):
        accounts.create_manager(conn, "bench-manager", PASSWORD)
        database.save_session(conn, Session(sid, "MULTIPLE_TRIALS", False, players, start, None, None,
                                            start + minutes * 60 + 1))
        batch, seq = [], 0
        for name, score, shots, level, lives, ts, at in records(players, minutes, start):
            seq += 1
            batch.append((seq, sid, name, score, shots, level, lives, to_iso(ts), ts, at))
            if len(batch) == 10_000:
                conn.executemany(f"INSERT INTO status ({database.STATUS_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
                batch = []
        conn.executemany(f"INSERT INTO status ({database.STATUS_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
    conn.close()
    print(f"local: {seq:,} records written in {time.perf_counter() - made:.0f} s; the server processes them "
          "at start", flush=True)
    server = ServerProcess(data).start(timeout=600)  # it processes the records it finds before it serves
    try:
        token = httpx.post(f"{server.base_url}/auth/signin",
                           json={"Username": "bench-manager", "Password": PASSWORD}).json()["IdToken"]
        del token
        started = time.perf_counter()
        reader = database.connect(settings.database_path, readonly=True)
        rows = sum(1 for _ in database.iter_session_status(reader, sid))
        reader.close()
        export = time.perf_counter() - started
        print(summary_line(f"baseline: reading the log's {rows:,} rows alone (SQLite)", export), flush=True)

        async def signed_in() -> ApiBackend:  # one each: a console closes its backend when it ends
            backend = ApiBackend(server.base_url, token_store=TokenStore(work / "tokens"))
            await backend.sign_in("bench-manager", PASSWORD)
            return backend

        async def run() -> None:
            backend = await signed_in()
            source = await backend.replay(sid)
            figures = await source_figures(source, f"local, {players} players, {minutes:g} min", export,
                                           "reading the log")
            stored = await backend.board(sid)
            last = [tuple(row) for row in figures["last"].Board]
            assert last == [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in stored.entries]
            print("  the last frame equals the stored board", flush=True)
            await backend.aclose()
            pid = server.proc.pid if server.proc is not None else None
            base = await console_figures(await signed_in(), sid, seconds, replay=False, server_pid=pid)
            figures = await console_figures(await signed_in(), sid, seconds, replay=True, speed=speed, server_pid=pid)
            console_line(f"console at {speed:g}x", *figures, *base)

        asyncio.run(run())
    finally:
        server.stop()


# --- AWS on moto ----------------------------------------------------------------------------------------
def aws_run(players: int, minutes: float, seconds: float, speed: float) -> None:
    import boto3
    from aws_stack import MOTO_CONFIG, REGION, create_stack
    from moto import mock_aws

    from api_client import GameType
    from manager_tui.backends import OpenRequest
    from manager_tui.backends.aws import AwsBackend

    encode = msgspec.json.encode
    with mock_aws(config=MOTO_CONFIG):
        stack = create_stack(env="bench")
        backend = AwsBackend("bench", boto3.Session(region_name=REGION))
        asyncio.run(backend.connect())
        session = asyncio.run(backend.open_session(OpenRequest("REPLAY", GameType.MULTIPLE_TRIALS, False, players)))
        sid = session.SessionId
        start = time.time() - minutes * 60 - 60
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.update_item(TableName=stack.tables["Sessions"], Key={"SessionId": {"S": sid}},  # opened before
                             UpdateExpression="SET OpeningTime = :t",
                             ExpressionAttributeValues={":t": {"S": to_iso(start - 1)}})
        s3 = boto3.client("s3", region_name=REGION)
        bucket = stack.tables["ArchiveBucket"]
        made = time.perf_counter()
        lines: list[bytes] = []
        minute, count, part, size = 0, 0, 0, 0
        for name, score, shots, level, lives, ts, at in records(players, minutes, start):
            if at >= start + (minute + 1) * 60 or size >= FIREHOSE_BUFFER_BYTES:  # the template's buffering hints
                s3.put_object(Bucket=bucket, Key=f"sessions/{sid}/archive-{minute:04d}-{part:02d}", Body=b"".join(lines))
                part = part + 1 if size >= FIREHOSE_BUFFER_BYTES else 0
                minute = minute if size >= FIREHOSE_BUFFER_BYTES else minute + 1
                lines, size = [], 0
            lines.append(encode({"SessionId": sid, "Nickname": name, "Score": score, "Shots": shots,
                                 "Level": level, "Lives": lives, "Timestamp": to_iso(ts),
                                 "ReceivedAtEpochMs": int(at * 1000)}) + b"\n")
            size += len(lines[-1])
            count += 1
        s3.put_object(Bucket=bucket, Key=f"sessions/{sid}/archive-{minute:04d}-{part:02d}", Body=b"".join(lines))
        asyncio.run(backend.close_session())
        objects = sum(1 for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="sessions/")
                      for _ in page.get("Contents", []))
        print(f"aws: {count:,} records in {objects} objects written in {time.perf_counter() - made:.0f} s",
              flush=True)
        started = time.perf_counter()
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"sessions/{sid}/")
        size = sum(len(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
                   for page in pages for o in page.get("Contents", []))
        alone = time.perf_counter() - started
        print(summary_line(f"baseline: the archive's objects alone ({size / 1e6:,.0f} MB)", alone), flush=True)

        async def run() -> None:
            source = await backend.replay(sid)
            await source_figures(source, f"AWS (moto S3), {players} players, {minutes:g} min, cold (read the "
                                 "archive)", alone, "the objects alone")
            await source.aclose()
            source = await backend.replay(sid)  # the same session again: from the console's cache of replays
            await source_figures(source, "  warm (the console's cache of replays)", alone, "the objects alone")
            assert source.cached
            await source.aclose()
            fps, cpu, _ = await console_figures(AwsBackend("bench", boto3.Session(region_name=REGION)), sid,
                                                seconds, replay=True, speed=speed)
            print(f"  {f'console at {speed:g}x':<44} {fps:6.1f} frames/s  CPU {cpu:.2f} cores (index built)", flush=True)

        asyncio.run(run())
        aws_indexed_run(stack, sid, alone)


def aws_indexed_run(stack, sid: str, alone: float) -> None:
    """AWS indexed, cold: the replay index function's runs as Firehose delivers each object (the listing
    of that moment), then its run once the session is closed long enough; then a console that never
    replayed the session (an empty cache of replays) reads the stored index."""
    import boto3
    from aws_stack import REGION

    from manager_tui.backends.aws import AwsBackend
    from manager_tui.backends.replay_cache import ReplayCache
    from spaceinvaders_backend.aws import replay_indexer, session_store
    from spaceinvaders_backend.aws.config import StackNames

    s3, bucket = boto3.client("s3", region_name=REGION), stack.tables["ArchiveBucket"]
    names = StackNames.from_tables(stack.env, stack.tables, lambda service: boto3.client(service, region_name=REGION))
    listing = replay_indexer.list_objects(s3, bucket, sid)
    closed = session_store.read(names, sid).session.closing_time
    # This archive was written here, not counted by a scoreboard function: the Scoreboard table holds no
    # board to check the index's last one against (a Query of the Ranking index; the tests check it).
    real = replay_indexer._ends_on_stored_board, replay_indexer.list_objects
    replay_indexer._ends_on_stored_board = lambda *_args: True
    runs = []
    try:
        for delivered in range(1, len(listing) + 2):
            replay_indexer.list_objects = lambda *_args, k=delivered: listing[:k]  # what S3 lists at that moment
            now = closed + replay_indexer.FINAL_AFTER_SECONDS + 1 if delivered > len(listing) else closed
            started = time.perf_counter()
            outcome = replay_indexer.index_session(names, s3, bucket, sid, now)
            runs.append(time.perf_counter() - started)
    finally:
        replay_indexer._ends_on_stored_board, replay_indexer.list_objects = real
    assert outcome.complete, outcome
    print(f"  the replay index function: {len(runs)} runs (one per object, then the last), "
          f"{sum(runs):.0f} s in all, a run's median {statistics.median(runs) * 1e3:.0f} ms, "
          f"max {max(runs) * 1e3:.0f} ms", flush=True)

    async def run() -> None:
        with tempfile.TemporaryDirectory() as empty:
            backend = AwsBackend("bench", boto3.Session(region_name=REGION),
                                 replay_cache=ReplayCache(Path(empty) / "replays.sqlite3"))
            await backend.connect()
            reads: list[str] = []
            backend._client("s3").meta.events.register("provide-client-params.s3.GetObject",
                                                        lambda params, **_kw: reads.append(params["Key"]))
            source = await backend.replay(sid)
            await source_figures(source, "  AWS indexed, cold (the function's index; a console that never "
                                 "replayed it)", alone, "the objects alone")
            assert source.indexed
            archive = sum(key.startswith("sessions/") for key in reads)
            print(f"  {len(reads)} GETs under replays/ and {archive} of the archive's objects", flush=True)
            await source.aclose()
            await backend.aclose()

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=10.0, help="playback measured this long")
    parser.add_argument("--backend", choices=("local", "aws", "both"), default="both")
    parser.add_argument("--speed", type=float, default=120, help="the console's replay speed (default 120)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SPACEINVADERS_REPLAY_CACHE"] = str(Path(tmp) / "replays.sqlite3")  # never the user's
        if args.backend in ("local", "both"):
            local_run(args.players, args.minutes, args.seconds, Path(tmp), args.speed)
        if args.backend in ("aws", "both"):
            aws_run(args.players, args.minutes, args.seconds, args.speed)


if __name__ == "__main__":
    main()
