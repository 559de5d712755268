"""`spaceinvaders-bots`: fill a session with headless players, for demos and load tests."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import random
import re
import sys
from pathlib import Path

from rich.console import Console

from api_client import GameType, SpaceInvadersError

from .autopilot import SKILLS
from .host import SessionHost
from .identity import BotsDirectory, check_prefix, default_directory
from .report import failure_threshold
from .runner import RunOptions, run
from .swarm import JOIN_CONCURRENCY, MIX, MIXED, SwarmConfig

MAX_BOTS = 9999  # names keep four digits
PASSWORD_VARIABLE = "SPACEINVADERS_MANAGER_PASSWORD"
EPILOG = f"""\
examples:
  spaceinvaders-bots --api http://127.0.0.1:8080/v1 --count 30 --duration 20
  spaceinvaders-bots --api URL --count 200 --duration 5m --csv results/run --max-failures 0.1%
  {PASSWORD_VARIABLE}=... spaceinvaders-bots --api URL --count 200 --manager boss --synchronized

Bots join the session that is open (waiting for one to open); with --manager they open their own,
start it once all are seated (--synchronized) and close it at the end. Bots keep their passwords'
secret and their tokens in --state-dir, so the next run signs the same players in without hashing.
Several machines can point runs at the same API: each machine's bots have their own names.
Exit status: 0, or 1 when failures exceed --max-failures, 2 for bad options, 130 when aborted."""


def duration(text: str) -> float:
    """Seconds, or a Locust-style duration: 90, 90s, 5m, 1h30m."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 20, 90s, 5m, 1h30m)")
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise argparse.ArgumentTypeError("a duration is more than 0 seconds")
    return total


def _positive(kind: type) -> object:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not more than 0")
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spaceinvaders-bots", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--api", metavar="URL", help="the API's base URL, e.g. http://127.0.0.1:8080/v1 (an https "
                       "URL may pin the server's certificate: ...#sha256=<fingerprint>)")
    where.add_argument("--room", metavar="NAME",
                       help="the room of that name on this network (address and certificate from its announcement)")
    p.add_argument("--fingerprint", metavar="SHA256",
                   help="the server's certificate fingerprint as it printed it; bots cannot be asked, so a "
                        "certificate no authority vouches for is refused without it")
    p.add_argument("-n", "--count", type=_positive(int), default=30, help="bots (default 30)")
    p.add_argument("-r", "--spawn-rate", type=_positive(float), default=50.0, metavar="R",
                   help="bots started per second (default 50)")
    p.add_argument("-t", "--duration", type=duration, metavar="D",
                   help="stop after D (20, 90s, 5m, 1h30m) from the start; default: until Ctrl+C")
    p.add_argument("--skill", choices=[MIXED, *SKILLS], default=MIXED,
                   help="the autopilot's skill; mixed: " + ", ".join(f"{v * 100:.0f}%% {k}" for k, v in MIX.items()))
    p.add_argument("--seed", type=int, help="repeat a run's games (default: a random seed, printed)")
    p.add_argument("--name-prefix", metavar="P", help="bots are P-0001, P-0002... (default: bot-<id of --state-dir>)")
    p.add_argument("--state-dir", type=Path, metavar="DIR",
                   help=f"the bots' secret and tokens (default: {default_directory()})")
    p.add_argument("--processes", type=_positive(int), default=1, metavar="K",
                   help="run the bots in K processes (stats merged) to use more than one core")
    p.add_argument("--csv", metavar="PREFIX", dest="csv_prefix",
                   help="write PREFIX_stats.csv, _stats_history.csv, _failures.csv, _players.csv")
    p.add_argument("--json", action="store_true", dest="json_output", help="print the summary as JSON")
    p.add_argument("--max-failures", default="0", metavar="N|P%",
                   help="exit 1 when more requests fail than N, or than P%% of them (default 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no live view or progress lines")
    p.add_argument("--stop-on-eof", action="store_true",
                   help="stop when standard input closes (for a supervising program)")
    host = p.add_argument_group("a session of their own (needs a manager account)")
    host.add_argument("--manager", metavar="USER",
                      help=f"open a session as this manager (password from ${PASSWORD_VARIABLE}, or asked)")
    host.add_argument("--session-type", choices=[t.value for t in GameType], default=GameType.MULTIPLE_TRIALS)
    host.add_argument("--synchronized", action="store_true", help="start the session once every bot is seated")
    host.add_argument("--seats", type=_positive(int), help="seats in the session (default: the bots, at least 200)")
    host.add_argument("--timeout-minutes", type=int, help="for TIME_CONSTRAINED sessions (1 to 30)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--first-index", type=_positive(int), default=1, help=argparse.SUPPRESS)
    p.add_argument("--join-concurrency", type=_positive(int), default=JOIN_CONCURRENCY, help=argparse.SUPPRESS)
    return p


def _options(args: argparse.Namespace, p: argparse.ArgumentParser) -> RunOptions:
    if args.count > MAX_BOTS or args.first_index + args.count - 1 > MAX_BOTS:
        p.error(f"at most {MAX_BOTS} bots")
    if args.processes > args.count:
        p.error("--processes is at most --count")
    try:
        failure_threshold(args.max_failures)
    except ValueError:
        p.error("--max-failures is a count (5) or a share of the requests (1%)")
    directory = BotsDirectory(args.state_dir)
    try:
        prefix = check_prefix(args.name_prefix) if args.name_prefix else directory.default_prefix()
    except (ValueError, OSError) as error:
        p.error(str(error))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    api = _server(args, p)
    host = None
    if args.manager and not args.worker:
        password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(f"Password for manager {args.manager}: ")
        host = SessionHost(api, args.manager, password, game_type=args.session_type,
                           synchronized=args.synchronized, seats=args.seats or max(args.count, 200),
                           timeout_minutes=args.timeout_minutes)
    config = SwarmConfig(api, args.count, args.spawn_rate, args.skill, seed, prefix, args.first_index,
                         directory.path, args.join_concurrency)
    worker_args = ["--api", api, "--skill", args.skill, "--seed", str(seed), "--name-prefix", prefix,
                   "--state-dir", str(directory.path), "--quiet"]
    if args.duration:
        worker_args += ["--duration", str(args.duration)]
    return RunOptions(config, args.duration, args.processes, args.csv_prefix, args.json_output, args.quiet,
                      args.max_failures, args.worker, args.stop_on_eof, host, worker_args)


def _server(args: argparse.Namespace, p: argparse.ArgumentParser) -> str:
    """The API's URL, pinned to the server's certificate when a fingerprint is known (--fingerprint, the URL's
    #sha256=, the room's announcement); refused, before any bot starts, when the server cannot be trusted."""
    from api_client import RoomNotFound, ServerTrust, ServerTrustError, find_room, with_fingerprint

    if args.room:
        if args.fingerprint:
            p.error("--room finds the fingerprint itself: --fingerprint goes with --api")
        try:
            api = asyncio.run(find_room(args.room)).url
        except (RoomNotFound, OSError) as error:
            p.exit(1, f"spaceinvaders-bots: {error}\n")
    else:
        if not re.match(r"https?://", args.api):
            p.error("--api is an http:// or https:// URL")
        try:
            api = with_fingerprint(args.api.rstrip("/"), args.fingerprint)
        except ValueError as error:
            p.error(str(error))
    if args.worker:
        return api  # the coordinating process checked it
    try:
        asyncio.run(ServerTrust(api, known=None).check())
    except ServerTrustError as error:
        p.exit(1, f"spaceinvaders-bots: {error}\n")
    except SpaceInvadersError:
        pass  # unreachable for now: the bots retry as they join
    return api


def _loop_factory():
    try:
        import uvloop  # lower CPU per request for many players in one process (not on Windows)
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    options = _options(args, p)
    logging.basicConfig(level=logging.ERROR if args.worker else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The summary goes to stdout; with --json the live view goes to stderr so stdout stays JSON.
    console = Console(stderr=args.json_output or args.worker, highlight=False)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(run(options, console))
    except SpaceInvadersError as error:
        console.print(f"spaceinvaders-bots: {error}", style="red")
        return 1
    except (asyncio.CancelledError, KeyboardInterrupt):
        console.print("spaceinvaders-bots: aborted", style="red")
        os._exit(130)  # a second Ctrl+C: do not wait for the bots to leave


if __name__ == "__main__":
    sys.exit(main())
