"""`export_stream`: the chunks as they come, and the record count the server tells before them."""
from __future__ import annotations

import httpx
import pytest
from client_support import signed_in_client


@pytest.mark.parametrize(("header", "told"), [("3", 3), (None, None), ("three", None), ("²".encode("latin-1"), None)])
async def test_export_stream_tells_the_record_count_before_the_first_chunk(header, told):
    body = b'{"Score": 1}\n{"Score": 2}\n{"Score": 3}\n'

    def server(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/manager/export" and request.url.params["format"] == "jsonl"
        return httpx.Response(200, content=body, headers={"X-Record-Count": header} if header else {})

    client = await signed_in_client(server)
    events: list = []
    async for chunk in client.export_stream("S1", on_count=lambda n: events.append(("count", n))):
        events.append(("chunk", chunk))
    assert events[0] == ("count", told)
    assert b"".join(c for kind, c in events[1:] if kind == "chunk") == body
    assert [c async for c in client.export_stream("S1")] != []  # on_count stays optional
    await client.aclose()
