"""The local server with one extra do-nothing endpoint, for baselines measured on the same stack.

`POST /v1/noop` reads the body and answers a fixed JSON of the same size as a status answer, in the
same process, through the same uvicorn/httptools/uvloop stack as the real paths.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from spaceinvaders_backend.local.app import create_app
from spaceinvaders_backend.local.http import read_body
from spaceinvaders_backend.local.settings import Settings

NOOP_PATH = "/v1/noop"
NOOP_ANSWER = b'{"SequenceNumber":"00000000000000000000","ShardId":"shardId-000000000000"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(NOOP_ANSWER))]


def with_noop(app):
    async def noop_app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == NOOP_PATH:
            await read_body(receive, 1024)
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
    app = with_noop(create_app(Settings(data_dir=args.data_dir)))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                loop="auto", http="auto", lifespan="on", proxy_headers=False)


if __name__ == "__main__":
    main()
