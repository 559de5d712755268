"""The local server with one extra do-nothing endpoint, for baselines measured on the same stack.

`POST /v1/noop` reads the body and answers a fixed JSON of the same size as a status answer, in the
same process, through the same HTTP server (granian, with the same limits) and loop as the real paths.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from spaceinvaders_backend.local import server
from spaceinvaders_backend.local.app import create_app
from spaceinvaders_backend.local.http import Body
from spaceinvaders_backend.local.settings import Settings

NOOP_PATH = "/v1/noop"
NOOP_ANSWER = b'{"SequenceNumber":"00000000000000000000","ShardId":"shardId-000000000000"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(NOOP_ANSWER))]


def with_noop(app):
    async def noop_app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == NOOP_PATH:
            await Body(receive, 10.0).read(1024)
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await send({"type": "http.response.body", "body": NOOP_ANSWER})
        else:
            await app(scope, receive, send)
    return noop_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    server.run(with_noop(create_app(settings)), "127.0.0.1", args.port, settings)


if __name__ == "__main__":
    main()
