"""Sign-in against attackers and floods: failures count per username and source address, sign-ins have a
pace per source, hashing takes turns between sources, and an unknown name costs a hash like a known one."""
from __future__ import annotations

import asyncio
import threading
import time

import argon2
import httpx
import pytest
from backend_support import PASSWORD, assert_error, unique

from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.local import accounts
from spaceinvaders_backend.local.accounts import HashGate
from spaceinvaders_backend.local.app import create_app
from spaceinvaders_backend.local.settings import Settings

WRONG = "wrong-password"


def _from(server, address: str) -> httpx.Client:
    """A client whose connections leave from `address` (127.0.0.x: every one is loopback, each a source)."""
    return httpx.Client(base_url=server.base_url, timeout=10,
                        transport=httpx.HTTPTransport(local_address=address))


def test_an_attacker_at_one_address_does_not_lock_the_owner_out(local_server_module, api):
    server = local_server_module
    owner = unique("boss")
    server.create_manager(owner, PASSWORD)
    with _from(server, "127.0.0.2") as attacker, _from(server, "127.0.0.3") as elsewhere:
        for _ in range(5):
            assert_error(attacker.post("/auth/signin", json={"Username": owner, "Password": WRONG}), 401)
        r = attacker.post("/auth/signin", json={"Username": owner, "Password": WRONG})
        assert_error(r, 429, "TooManyFailedSignIns")
        # The owner, from 127.0.0.1, gets in at the first try; the attacker's address still waits.
        signed_in = api.signin(owner)
        assert signed_in.status_code == 200, signed_in.text
        assert_error(attacker.post("/auth/signin", json={"Username": owner, "Password": PASSWORD}), 429)
        # A third address has its own count (a wrong password is checked, not refused unchecked).
        assert_error(elsewhere.post("/auth/signin", json={"Username": owner, "Password": WRONG}), 401)


class _App:
    """The app in-process; `client(address)` talks to it as if from that address."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self._clients: list[httpx.AsyncClient] = []

    def client(self, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        self._clients.append(httpx.AsyncClient(transport=transport, base_url="http://t/v1"))
        return self._clients[-1]

    async def __aenter__(self) -> _App:  # noqa: PYI034
        await self.app.backend.start()
        return self

    async def __aexit__(self, *exc) -> None:
        for c in self._clients:
            await c.aclose()
        await self.app.backend.stop()


def _settings(tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", stream_interval_seconds=3600, housekeeping_interval_seconds=3600,
                    **kw)


async def test_sign_ins_have_a_pace_per_source_and_refusals_are_answered_after_a_pause(tmp_path):
    settings = _settings(tmp_path, signin_burst_per_source=3, signin_rate_per_source=0.01, refusal_pause_seconds=0.3)
    async with _App(settings) as t:
        flood, room = t.client("10.0.0.66"), t.client("10.0.0.7")
        assert (await room.post("/auth/signup", json={"Username": "ann", "Password": PASSWORD})).status_code == 201
        for i in range(3):
            r = await flood.post("/auth/signin", json={"Username": f"x{i}", "Password": WRONG})
            assert_error(r, 401)
        started = time.monotonic()
        r = await flood.post("/auth/signin", json={"Username": "x9", "Password": WRONG})
        assert_error(r, 429, "TooManyRequests")
        assert int(r.headers["Retry-After"]) >= 1 and time.monotonic() - started >= 0.15  # half the pause at least
        assert (await room.post("/auth/signin", json={"Username": "ann", "Password": PASSWORD})).status_code == 200
        # An IPv6 source counts by its /64: another address of the same network shares the pace.
        v6a, v6b = t.client("2001:db8::1"), t.client("2001:db8::beef")
        for _ in range(3):
            assert_error(await v6a.post("/auth/signin", json={"Username": "y", "Password": WRONG}), 401)
        assert_error(await v6b.post("/auth/signin", json={"Username": "z", "Password": WRONG}), 429,
                     "TooManyRequests")


async def test_hashing_takes_turns_between_sources():
    gate = HashGate(workers=1, queue=100, per_source=50)
    done: list[str] = []

    def work(tag: str) -> None:
        time.sleep(0.01)
        done.append(tag)

    flood = [asyncio.ensure_future(gate.run("flood", work, f"f{i}")) for i in range(60)]
    await asyncio.sleep(0)
    other = asyncio.ensure_future(gate.run("room", work, "room"))
    outcomes = await asyncio.gather(*flood, other, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, ApiError)]
    # One running and 50 waiting from the flood; the other 9 refused, while the room still found room.
    assert len(refused) == 9 and all(e.status == 429 for e in refused)
    assert done.index("room") <= 2, done[:5]  # served next but one, not after the flood's 50
    gate.close()


async def test_a_call_that_goes_away_while_waiting_gives_up_its_turn():
    gate = HashGate(workers=1, queue=10)
    first = asyncio.ensure_future(gate.run("a", time.sleep, 0.05))
    await asyncio.sleep(0)
    gone = asyncio.ensure_future(gate.run("a", time.sleep, 0.05))
    after = asyncio.ensure_future(gate.run("b", time.sleep, 0))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(first, after)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await gate.run("c", lambda: "free") == "free"  # nothing was left holding a thread
    gate.close()


async def test_an_unknown_name_costs_a_hash_like_a_known_one(tmp_path, monkeypatch):
    checked: list[str] = []
    real = accounts.verify_password

    def verify(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", verify)
    async with _App(_settings(tmp_path)) as t:
        c = t.client("10.0.0.1")
        assert (await c.post("/auth/signup", json={"Username": "ann", "Password": PASSWORD})).status_code == 201
        assert_error(await c.post("/auth/signin", json={"Username": "ann", "Password": WRONG}), 401)
        assert_error(await c.post("/auth/signin", json={"Username": "nobody", "Password": WRONG}), 401)
    assert len(checked) == 2 and checked[1] == accounts.DUMMY_HASH
    assert argon2.extract_parameters(checked[0]) == argon2.extract_parameters(checked[1])


async def test_a_source_alone_takes_every_thread_and_one_while_others_have_calls():
    gate = HashGate(workers=3, queue=100, per_source_running=2)
    lock = threading.Lock()
    at_once = {"now": 0, "most": 0}

    def flood_hash() -> None:
        with lock:
            at_once["now"] += 1
            at_once["most"] = max(at_once["most"], at_once["now"])
        time.sleep(0.1)
        with lock:
            at_once["now"] -= 1

    flood = [asyncio.ensure_future(gate.run("flood", flood_hash)) for _ in range(8)]
    await asyncio.sleep(0.02)
    assert at_once["now"] == 2  # alone, the flood has two threads, not three
    started = time.monotonic()
    room = asyncio.ensure_future(gate.run("room", time.sleep, 0.2))
    await asyncio.sleep(0.15)  # the flood's first two hashes are done; the room's is not
    assert at_once["now"] == 1  # while another source has a call, the flood has one thread
    await room
    assert time.monotonic() - started < 0.3  # a thread was free: no wait for the flood's hashes
    await asyncio.gather(*flood)
    assert at_once["most"] == 2
    gate.close()
