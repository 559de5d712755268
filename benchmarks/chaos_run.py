"""200 bots through kill -9s and full disks: is anything acknowledged lost?

    sudo .venv/bin/python benchmarks/chaos_run.py [--bots 200] [--seconds 150] [--witnesses 20]

The server (`spaceinvaders-server serve`, default limits) keeps its data on a tmpfs of its own (256 MB,
mounted by this script: it needs root; without root the full-disk steps are left out and said so).
`spaceinvaders-bots` plays `--bots` bots in a multiple-trial session for `--seconds`, and `--witnesses`
players of this script post a status every 200 ms each, keeping the SequenceNumber of every 2xx. Meanwhile,
at fixed times:

- 20 % of the run: kill -9, start again at once;
- 35 %: the disk filled up for 15 s, then freed;
- 55 %: the disk filled up, kill -9 while it is full, freed, started again;
- 75 %: kill -9, start again at once.

Then, from the server's export of the session (the CLI, after a clean stop): every witness's 2xx is stored
under the SequenceNumber its answer gave, no record is stored twice, and each bot has at least as many
records stored as the 2xx its publisher counted (the bots' `--json` summary). Reported: the posts
acknowledged, the records stored, those lost (the target is 0), the answers by status, and the seats still
held at the end. Every wait is bounded; the whole run takes about `--seconds` plus a minute.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from api_client import NO_RETRY, ClientPool, GameStatus
from api_client.errors import ApiError, SpaceInvadersError
from spaceinvaders_backend.local.process import ServerProcess

PASSWORD = "chaos-password"
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "backend"))


class Disk:
    """The server's disk: a tmpfs this script mounts (root only), to fill up and free."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False

    def mount(self) -> bool:
        if os.geteuid() != 0:
            return False
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", str(self.path)],
                              check=False, capture_output=True)
        self.mounted = done.returncode == 0
        return self.mounted

    def fill(self) -> None:
        from disk_support import SmallDisk
        SmallDisk(self.path).fill()

    def free(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / "filler").unlink()

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)


class Witness:
    """A player of this script: a status every 200 ms, ever higher scores, each 2xx's SequenceNumber kept."""

    def __init__(self, client, name: str) -> None:
        self.client, self.name = client, name
        self.acked: dict[int, str] = {}
        self.answers: Counter = Counter()

    async def play(self, session_id: str, until: float) -> None:
        score = 0
        while time.monotonic() < until:
            score += 1
            try:
                if score % 50 == 1:  # take the seat again (kept across restarts; a 200 either way)
                    await self.client.allocate(retry=NO_RETRY)
                receipt = await self.client.update_status(
                    session_id, GameStatus(Score=score, Shots=score, Level=1, Lives=3), retry=NO_RETRY, timeout=5)
            except ApiError as error:
                self.answers[error.status] += 1
            except SpaceInvadersError as error:
                self.answers[type(error).__name__] += 1
            else:
                self.answers[200] += 1
                self.acked[score] = receipt.SequenceNumber
            await asyncio.sleep(0.2)


async def chaos(server: ServerProcess, disk: Disk | None, seconds: float, log) -> None:
    """The faults, at fixed shares of the run."""
    loop = asyncio.get_running_loop()

    async def at(share: float) -> None:
        await asyncio.sleep(max(0.0, start + share * seconds - time.monotonic()))

    async def restart(note: str) -> None:
        await loop.run_in_executor(None, server.kill)
        log(f"{note}: killed (-9)")
        await loop.run_in_executor(None, server.start)
        log("started again")

    start = time.monotonic()
    await at(0.20)
    await restart("20%")
    if disk is not None:
        await at(0.35)
        await loop.run_in_executor(None, disk.fill)
        log("35%: the disk is full")
        await asyncio.sleep(15)
        disk.free()
        log("the disk has room again")
        await at(0.55)
        await loop.run_in_executor(None, disk.fill)
        log("55%: the disk is full")
        await asyncio.sleep(5)
        await loop.run_in_executor(None, server.kill)
        log("killed (-9) while the disk is full")
        disk.free()
        await loop.run_in_executor(None, server.start)
        log("the disk has room again; started again")
    await at(0.75)
    await restart("75%")


async def run(args: argparse.Namespace, tmp: Path, disk: Disk | None, bots_log) -> int:
    data = (disk.path if disk else tmp) / "data"
    server = ServerProcess(data, log_path=tmp / "server.log").start()
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"{time.monotonic() - started:6.1f} s  {text}", flush=True)

    try:
        server.create_manager("chaos-boss", PASSWORD)
        async with ClientPool(server.base_url) as pool:
            boss = pool.client()
            await boss.sign_in("chaos-boss", PASSWORD)
            session = await boss.open_session("MULTIPLE_TRIALS", session_name="CHAOS",
                                              total_seats=args.bots + args.witnesses + 10)
            witnesses = []
            for i in range(args.witnesses):
                client = pool.client()
                name = f"witness{i:03d}"
                await client.sign_up(name, PASSWORD)
                await client.sign_in(name, PASSWORD)
                witnesses.append(Witness(client, name))
            bots = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "spaceinvaders_bots", "--api", server.base_url, "--count", str(args.bots),
                "--duration", f"{args.seconds:g}s", "--json", "--quiet", "--max-failures", "100%",
                "--state-dir", str(tmp / "bots"), "--name-prefix", "chaos", "--seed", "19",
                stdout=subprocess.PIPE, stderr=bots_log)
            log(f"{args.bots} bots and {args.witnesses} witnesses in {session.SessionId}")
            until = time.monotonic() + args.seconds - 5
            await asyncio.gather(chaos(server, disk, args.seconds, log),
                                 *(w.play(session.SessionId, until) for w in witnesses))
            out, _ = await asyncio.wait_for(bots.communicate(), args.seconds + 120)
            log("the bots are done")
        summary = json.loads(out.decode()[out.decode().index("{"):])
        server.stop()
        records = [json.loads(line) for line in server.export(session.SessionId).splitlines()]
    finally:
        server.stop()

    seqs = [r["SequenceNumber"] for r in records]
    stored: dict[str, dict[int, str]] = {}
    per_name: Counter = Counter()
    for r in records:
        stored.setdefault(r["Nickname"], {})[r["Score"]] = r["SequenceNumber"]
        per_name[r["Nickname"]] += 1
    witness_acked = sum(len(w.acked) for w in witnesses)
    witness_lost = sum(1 for w in witnesses for score, seq in w.acked.items()
                       if stored.get(w.name, {}).get(score) != seq)
    bot_posts = {p["name"]: p["posts"] for p in summary["bots_detail"]}
    bot_short = {name: (posts, per_name[name]) for name, posts in bot_posts.items() if per_name[name] < posts}
    answers = sum((w.answers for w in witnesses), Counter())
    print()
    print(f"records stored in the session     {len(records):,} ({len(set(seqs)):,} distinct SequenceNumbers)")
    print(f"witnesses: 2xx / lost             {witness_acked:,} / {witness_lost}   answers {dict(answers)}")
    print(f"bots: 2xx counted / stored        {sum(bot_posts.values()):,} / {sum(per_name[n] for n in bot_posts):,}"
          f"   bots with fewer stored than acknowledged: {len(bot_short)}")
    totals = summary["aggregated"]
    print(f"bots' requests / failures         {totals['requests']:,} / {totals['failures']:,}")
    print(f"seats held by bots at the end     {summary['players']['seats_held_at_end']}")
    for failure in summary.get("failures", [])[:8]:
        print(f"  {failure['endpoint']}: {failure['error']} x{failure['occurrences']}")
    ok = witness_lost == 0 and not bot_short and len(set(seqs)) == len(seqs)
    print("nothing acknowledged lost:", "yes" if ok else f"NO ({witness_lost} witness posts, bots {bot_short})")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--witnesses", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=150.0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        disk = Disk(tmp / "disk")
        if not disk.mount():
            print("not root (or no tmpfs): the full-disk steps are left out", flush=True)
            disk = None
        try:
            with open(tmp / "bots.log", "wb") as bots_log:
                return asyncio.run(run(args, tmp, disk, bots_log))
        finally:
            if disk is not None:
                disk.unmount()


if __name__ == "__main__":
    sys.exit(main())
