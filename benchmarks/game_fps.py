"""Frames per second and CPU of the real game in a real terminal (tmux), while it posts to a local server.

    .venv/bin/python benchmarks/game_fps.py                       # 80 x 24, 2 rounds of 60 s each way
    .venv/bin/python benchmarks/game_fps.py --size 200x60 --seconds 60 --rounds 2

For each round the game runs in a tmux pane of the given size, as `spaceinvaders` runs it (through
`frame_log.py`, which logs its frames), signed
in to a local server (a MULTIPLE_TRIALS session; game over is followed by another game). A scripted
player sends a key every 150 ms with `tmux send-keys` (moves both ways, fire). The same run measures the
baseline: the same game and keys offline (no posts, no board), so the cost of the session talk shows as
the difference.

How it counts:
- frames: `frame_log.py` logs each frame timer step (`t <time> <lines changed> <game>`),
  each time Textual draws the field's lines of a newer changed frame (`p <time>`) and each garbage
  collection (`g`). Frame rate = steps a second while a game's screen is up (the switch from a game over
  to the next game is left out); "painted" = the share of changed frames drawn before the next step;
  intervals between steps give the jitter.
- CPU: utime + stime of the game's process from /proc/<pid>/stat over the measured window (the terminal
  and tmux are not counted), as a share of one core.
- posts: the publisher's records stored by the server during the window (from the server's export).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from game_support import Server, fresh_session, manager, sign_up

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEYS = ["Right", "Right", "Space", "Left", "Space", "Right", "Space", "Left", "Left", "Space"]
KEY_EVERY = 0.15
WARM_UP = 3.0  # seconds of play before the window opens


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_text(pane: str, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in tmux("capture-pane", "-t", pane, "-p"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{text!r} not shown:\n" + tmux("capture-pane", "-t", pane, "-p"))
        time.sleep(0.1)


def frame_figures(log: Path, start: float, end: float) -> dict[str, float]:
    steps: dict[str, list[tuple[float, int]]] = {}  # by game: a new game after game over is a new screen
    paints: list[float] = []
    collections: list[tuple[float, float]] = []  # (end, ms)
    for line in log.read_text().splitlines():
        kind, stamp, *rest = line.split()
        t = float(stamp)
        if not start <= t <= end:
            continue
        if kind == "t":
            steps.setdefault(rest[1], []).append((t, int(rest[0])))
        elif kind == "p":
            paints.append(t)
        elif kind == "g":
            collections.append((t, float(rest[1])))
    # Frame rates and gaps within each game: the switch from one game to the next (the game-over screen's
    # choice, a seat taken again, a new screen built) is not a frame.
    gaps = sorted(b[0] - a[0] for game in steps.values() for a, b in itertools.pairwise(game))
    playing = sum(game[-1][0] - game[0][0] for game in steps.values())
    all_steps = sorted(step for game in steps.values() for step in game)
    changed = [t for t, n in all_steps if n]
    next_step = {a[0]: b[0] for a, b in itertools.pairwise(all_steps)}
    painted = 0
    delays = []
    paint_iter = iter(paints)
    paint = next(paint_iter, None)
    for t in changed:  # a changed frame counts as painted when a paint follows it before the next step
        while paint is not None and paint < t:
            paint = next(paint_iter, None)
        if paint is not None and paint <= next_step.get(t, end):
            painted += 1
            delays.append(paint - t)
    return {
        "games": len(steps),
        "fps": len(gaps) / playing,
        "changed_fps": len(changed) / playing,
        "painted_share": painted / len(changed) if changed else 1.0,
        "gap_p50_ms": 1000 * gaps[len(gaps) // 2],
        "gap_p99_ms": 1000 * gaps[int(len(gaps) * 0.99)],
        "gap_max_ms": 1000 * gaps[-1],
        "paint_delay_p50_ms": 1000 * statistics.median(delays) if delays else 0.0,
        # during play (the app collects once, on purpose, as each game's screen opens)
        "gc_max_ms": max((ms for t, ms in collections
                          if any(game[0][0] < t < game[-1][0] for game in steps.values())), default=0.0),
    }


def play_round(args: argparse.Namespace, work: Path, base_url: str | None, name: str) -> dict[str, float]:
    log = work / f"frames-{time.monotonic_ns()}.log"
    width, height = args.size
    where = ["--offline"] if base_url is None else ["--api", base_url]
    command = (f"exec {shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'frame_log.py'))} {shlex.quote(str(log))} "
               f"{' '.join(where)} --data-dir {shlex.quote(str(work / name))}")
    pane = f"si-fps-{os.getpid()}"
    tmux("new-session", "-d", "-s", pane, "-x", str(width), "-y", str(height), "-c", str(ROOT), command)
    try:
        pid = int(tmux("display-message", "-p", "-t", pane, "#{pane_pid}").strip())
        wait_for_text(pane, "Play offline" if base_url is None else "Signed in as")
        tmux("send-keys", "-t", pane, "Enter")
        wait_for_text(pane, "SCORE")
        keys = itertools.cycle(KEYS)
        window_start = time.monotonic() + WARM_UP
        window_end = window_start + args.seconds
        cpu_start = wall_start = None
        n = 0
        while time.monotonic() < window_end:
            if cpu_start is None and time.monotonic() >= window_start:
                cpu_start, wall_start = cpu_seconds(pid), time.monotonic()
                wall_clock_start = time.time()
            n += 1
            tmux("send-keys", "-t", pane, "Enter" if n % 40 == 0 else next(keys))  # Enter: another game
            time.sleep(KEY_EVERY)
        cpu = cpu_seconds(pid) - cpu_start
        wall = time.monotonic() - wall_start
        wall_clock_end = time.time()
    finally:
        tmux("kill-session", "-t", pane)  # a hang-up: the game frees its seat, flushes its log and ends
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    figures = frame_figures(log, wall_start, wall_start + wall)
    figures["cpu_share"] = cpu / wall
    figures["window"] = (wall_clock_start, wall_clock_end)
    figures["load_1min"] = os.getloadavg()[0]  # the machine is shared: how busy it was
    return figures


async def posts_between(base_url: str, boss_session: str, name: str, start: float, end: float) -> int:
    boss = await manager(base_url)
    try:
        text = await boss.export(boss_session, format="jsonl")
    finally:
        await boss.aclose()
    from api_client.models import parse_instant

    count = 0
    for line in text.splitlines():
        record = json.loads(line)
        if record.get("Nickname") == name and start <= parse_instant(record["Timestamp"]).timestamp() <= end:
            count += 1
    return count


async def open_session(base_url: str) -> str:
    boss = await manager(base_url)
    try:
        return (await fresh_session(boss)).SessionId
    finally:
        await boss.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="80x24", type=lambda s: tuple(int(v) for v in s.split("x")))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="game-fps-") as tmp:
        work = Path(tmp)
        (work / "server").mkdir()
        with Server(work / "server" / "data") as server:
            session = asyncio.run(open_session(server.base_url))
            results: dict[str, list[dict]] = {"offline (baseline)": [], "online, posting": []}
            for round_no in range(args.rounds):
                name = f"bench{round_no}"
                asyncio.run(sign_up(server.base_url, name, work / name))
                results["offline (baseline)"].append(play_round(args, work, None, f"offline{round_no}"))
                online = play_round(args, work, server.base_url, name)
                online["posts_per_s"] = asyncio.run(posts_between(server.base_url, session, name, *online["window"]))
                online["posts_per_s"] /= online["window"][1] - online["window"][0]
                results["online, posting"].append(online)
                print(f"round {round_no + 1}: offline {results['offline (baseline)'][-1]['cpu_share']:.3f} core, "
                      f"online {online['cpu_share']:.3f} core, {online['fps']:.1f} fps", flush=True)
    print(f"\n{args.size[0]} x {args.size[1]}, {args.rounds} rounds of {args.seconds:.0f} s; medians:")
    keys = ["games", "fps", "changed_fps", "painted_share", "gap_p50_ms", "gap_p99_ms", "gap_max_ms", "paint_delay_p50_ms",
            "gc_max_ms", "cpu_share", "posts_per_s", "load_1min"]
    print(f"{'':22}" + "".join(f"{k:>19}" for k in keys))
    for label, rounds in results.items():
        row = [statistics.median(r[k] for r in rounds) if k in rounds[0] else float("nan") for k in keys]
        print(f"{label:22}" + "".join(f"{v:19.3f}" for v in row))
    offline = statistics.median(r["cpu_share"] for r in results["offline (baseline)"])
    online = statistics.median(r["cpu_share"] for r in results["online, posting"])
    print(f"\nCPU online / offline: {online / offline:.2f}")


if __name__ == "__main__":
    main()
