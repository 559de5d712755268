"""The emulated REST API (`aws_gateway.RestApi`) served over HTTP on 127.0.0.1, as a deployed stage is
reached: `http://127.0.0.1:<port>/<stage>/v1/...`, the raw ID token in `Authorization`.

    with HttpStage(lambda: world.api, stage=world.env) as stage:
        stage.base_url   # what the stack's ApiUrl output would be

`api` is called per request, so a test may swap the API (a planted fault) while it is served. A path
outside the stage is API Gateway's 403 `{"message": "Forbidden"}`; everything else is `RestApi.call`.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from aws_gateway import RestApi


class HttpStage:
    def __init__(self, api: Callable[[], RestApi], stage: str) -> None:
        self.api = api
        self.stage = stage
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) served
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/{self.stage}/v1"

    def __enter__(self) -> Self:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="http-stage", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        stage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                prefix = f"/{stage.stage}"
                if not url.path.startswith(prefix + "/"):
                    status, payload, headers = 403, json.dumps({"message": "Forbidden"}), {}
                else:
                    answer = stage.api().call(
                        self.command, url.path[len(prefix):], self.headers.get("Authorization"), body=body,
                        query=dict(parse_qsl(url.query)),
                        content_type=(self.headers.get("Content-Type") or "application/json").split(";")[0],
                    )
                    status, payload, headers = answer.status, answer.body, answer.headers
                stage.requests.append((self.command, url.path, status))
                data = payload.encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler
