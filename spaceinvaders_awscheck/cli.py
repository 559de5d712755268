"""`spaceinvaders-aws-check --api URL --env NAME`: check a deployed stack end to end (docs/aws.md,
"Check a deploy"). Exit status 0 only when every step passed, 1 when one failed, 2 for a wrong command,
130 when interrupted (after removing what it made)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .check import ARCHIVE_WITHIN_SECONDS, Options, run
from .report import Report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spaceinvaders-aws-check",
        description="Run an event's path against a deployed stack: /config, a throwaway player's sign-up and SRP "
        "sign-in, a session opened as the manager, a seat, a post on the board, the start pushed over the "
        "WebSocket, the session closed and archived, the player's account removed. Refuses to run while a "
        "session is open (a live event is never touched).",
    )
    p.add_argument("--api", required=True, metavar="URL", help="the stack's ApiUrl output (https://.../<env>/v1)")
    p.add_argument("--env", required=True, metavar="NAME", help="the stack's Env parameter (SSM prefix /<env>/)")
    p.add_argument("--region", help="the stack's region (default: the one /config names)")
    p.add_argument("--profile", help="the AWS profile whose credentials act as the manager (default: boto3's chain)")
    p.add_argument("--board-within", type=_seconds, default=2.0, metavar="SECONDS",
                   help="how soon the post must be on /scoreboard (default 2)")
    p.add_argument("--push-within", type=_seconds, default=5.0, metavar="SECONDS",
                   help="how soon the start must be pushed (default 5)")
    p.add_argument("--wait-archive", type=_seconds, default=0.0, metavar="SECONDS",
                   help=f"wait up to this long for the post in the archive (Firehose buffers: {ARCHIVE_WITHIN_SECONDS} "
                        "is enough); default 0: print where and when to look")
    return p


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 900:
        raise argparse.ArgumentTypeError("between 0 and 900 seconds")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = Options(api_url=args.api, env=args.env, region=args.region, profile=args.profile,
                      board_within=args.board_within, push_within=args.push_within, wait_archive=args.wait_archive)
    print(f"Checking {args.api} (env {args.env}) as a throwaway player and as the manager", flush=True)
    try:
        return run(options, Report(sys.stdout))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
