"""A full disk under the real server process (its data directory on a small tmpfs that the test fills).

Every path that writes answers `503 StorageUnavailable` with `Retry-After` (nothing was stored), reads go on,
the manager still closes the session (the space reserve), and once space returns everything works again,
with nothing acknowledged lost. A deallocate retried until a deadline lands as soon as space returns.
"""
from __future__ import annotations

import asyncio
import time

from backend_support import PASSWORD, LocalServer, assert_error, ok, unique, wait_until
from disk_support import small_disk

from api_client import RetryPolicy, SpaceInvadersClient
from spaceinvaders_backend.local.storage import RESERVE_FILE, RETRY_AFTER_SECONDS


def _unavailable(r) -> None:
    assert_error(r, 503, "StorageUnavailable")
    assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_every_write_is_a_503_on_a_full_disk_and_reads_go_on(tmp_path, api_for):
    with small_disk(tmp_path / "disk") as disk:
        server = LocalServer(disk.path / "data", log_path=tmp_path / "server.log").start()
        try:
            api = api_for(server)
            boss = api.manager(server)
            sid = boss.open_session()["SessionId"]
            alice, bob = api.gamer(), api.gamer()
            alice.seat()
            acked = alice.ok_status(sid, 10)["SequenceNumber"]
            boss.wait_entry(sid, alice.name, Score=10)
            refresh = {"RefreshToken": bob.tokens["RefreshToken"]}

            disk.fill()
            for answer in (api.signin(bob.name), api.signup(unique("new")), bob.allocate(), alice.deallocate(),
                           boss.post("/manager/deallocate", {"Username": alice.name}), alice.status(sid, 20)):
                _unavailable(answer)
            # Reads go on, and show that nothing changed.
            assert alice.session()["SessionId"] == sid
            assert [e["Score"] for e in alice.scoreboard(sid)] == [10]
            assert boss.players(sid)["PlayingGamers"] == [alice.name]
            assert [s["SessionId"] for s in ok(boss.get("/manager/sessions"))["Sessions"]] == [sid]
            assert [line for line in boss.export(sid).text.splitlines() if acked in line]
            assert ok(api.http.post("/auth/refresh", json=refresh))["IdToken"]  # reads the stored token only
            assert api.http.get("/health").status_code == 503

            # The manager, signed in already, closes the session: the space reserve is given up for it.
            assert boss.close_session()["ClosingTime"]
            disk.fill()  # what the reserve gave back is taken too: the next session change has none left
            _unavailable(boss.post("/manager/session", {"SessionName": "NEXT", "GameType": "SINGLE_TRIAL",
                                                        "Synchronized": False}))

            disk.free()
            assert ok(alice.deallocate())["successMessage"] == "Seat freed."
            assert api.signin(bob.name).status_code == 200
            assert api.signup(unique("new")).status_code == 201
            wait_until(lambda: api.http.get("/health").status_code == 200, what="health back to 200")
            wait_until((server.data_dir / RESERVE_FILE).exists, what="the space reserve made again")

            server.kill()
            server.start()
            session = alice.session()
            assert session["SessionId"] == sid and session["ClosingTime"]  # the close was durable
            records = [line for line in boss.export(sid).text.splitlines()]
            assert len(records) == 1 and acked in records[0]  # the refused post was not stored
            assert boss.players(sid)["PlayingGamers"] == []
        finally:
            server.stop()


async def test_a_deallocate_until_a_deadline_lands_once_space_returns(tmp_path, api_for):
    with small_disk(tmp_path / "disk") as disk:
        server = LocalServer(disk.path / "data", log_path=tmp_path / "server.log").start()
        try:
            boss = api_for(server).manager(server)
            sid = boss.open_session()["SessionId"]
            name = unique("p")
            async with SpaceInvadersClient(server.base_url, token_store=None) as client:
                await client.sign_up(name, PASSWORD)
                await client.sign_in(name, PASSWORD)
                await client.allocate()
                disk.fill()
                leaving = asyncio.create_task(client.deallocate(retry=RetryPolicy.until(time.monotonic() + 20)))
                await asyncio.sleep(RETRY_AFTER_SECONDS + 1)
                assert not leaving.done()  # refused at least twice, and retried
                disk.free()
                assert await asyncio.wait_for(leaving, RETRY_AFTER_SECONDS + 3) == "Seat freed."
            assert boss.players(sid)["PlayingGamers"] == []
        finally:
            server.stop()
