"""The local server with one extra do-nothing endpoint, for baselines measured on the same stack.

`POST /v1/noop` reads the body and answers a fixed JSON of the same size as a status answer, in the
same process, through the same HTTP server (granian, with the same limits) and loop as the real paths.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from spaceinvaders_backend.local import database, server, tls
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
    parser.add_argument("--tls", action="store_true", help="HTTPS with the data directory's certificate")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    certificate = None
    if args.tls:
        database.prepare_data_dir(args.data_dir)
        certificate = tls.server_certificate(args.data_dir, "127.0.0.1")
    server.run(with_noop(create_app(settings)), "127.0.0.1", args.port, settings, tls=certificate)


if __name__ == "__main__":
    main()
