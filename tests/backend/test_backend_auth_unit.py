"""Unit tests of local sign-in: the failed sign-in throttle, password hashes, key file and data dir modes."""
from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.local import database
from spaceinvaders_backend.local.auth import (
    KEY_FILE,
    SignInThrottle,
    hash_password,
    load_or_create_key,
    verify_password,
)
from spaceinvaders_backend.local.settings import Settings

T = 1_000.0


def _wait(throttle: SignInThrottle, user: str, now: float) -> int | None:
    """The Retry-After a try at `now` gets, or None when it may go ahead."""
    try:
        throttle.check(user, now)
    except ApiError as e:
        assert (e.status, e.code) == (429, "TooManyFailedSignIns")
        assert set(e.body()) == {"errorMessage", "errorCode", "errorDetails"}
        return int(e.headers["Retry-After"])
    return None


class TestSignInThrottle:
    def test_free_failures_then_each_try_waits(self):
        th = SignInThrottle(free_failures=5)
        for i in range(4):
            th.failed("bob", T)
            assert _wait(th, "bob", T) is None, f"failure {i + 1} is free"
        th.failed("bob", T)  # the 5th failure: every further try must wait, 1 s first
        assert _wait(th, "bob", T) == 1
        assert _wait(th, "bob", T + 0.5) == 1
        assert _wait(th, "bob", T + 1) is None

    def test_waits_double_up_to_five_minutes(self):
        th = SignInThrottle(free_failures=5)
        now = T
        for _ in range(5):
            th.failed("bob", now)
        waits = []
        for _ in range(12):
            # The try right away is refused; Retry-After says how long, and that is enough.
            retry = _wait(th, "bob", now)
            waits.append(retry)
            now += retry
            assert _wait(th, "bob", now) is None
            th.failed("bob", now)
        assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]

    def test_retry_after_rounds_up(self):
        th = SignInThrottle(free_failures=1)
        th.failed("bob", T)  # first wait 1 s
        th.failed("bob", T + 1)  # then 2 s, from T+1 to T+3
        assert _wait(th, "bob", T + 1.5) == 2
        assert _wait(th, "bob", T + 2.01) == 1

    def test_success_resets_and_users_are_independent(self):
        th = SignInThrottle(free_failures=2)
        for _ in range(6):
            th.failed("bob", T)
        assert _wait(th, "bob", T) is not None
        assert _wait(th, "ann", T) is None
        th.succeeded("bob")
        assert _wait(th, "bob", T) is None
        th.failed("bob", T)
        assert _wait(th, "bob", T) is None  # the count started over: one failure is free again
        th.succeeded("nobody")  # harmless

    def test_made_up_names_cannot_grow_it_forever(self, monkeypatch):
        monkeypatch.setattr("spaceinvaders_backend.local.auth.THROTTLE_LIMIT", 3)
        th = SignInThrottle(free_failures=1)  # the first failure already makes the next try wait 1 s
        for name in ("a", "b", "c", "d", "e"):
            th.failed(name, T)
        assert _wait(th, "a", T) is None and _wait(th, "b", T) is None  # the oldest made room
        assert all(_wait(th, name, T) == 1 for name in ("c", "d", "e"))


class TestPasswords:
    def test_hash_and_verify(self):
        h = hash_password("s3cret-pass")
        assert h.startswith("$argon2id$") and "s3cret-pass" not in h
        assert verify_password(h, "s3cret-pass")
        assert not verify_password(h, "s3cret-pasS")
        assert not verify_password(h, "")
        assert hash_password("s3cret-pass") != h  # salted

    @pytest.mark.parametrize("bad_hash", ["", "plain", "$argon2id$v=19$m=1,t=1,p=1$bad$bad"])
    def test_bad_stored_hash_is_a_refusal_not_a_crash(self, bad_hash):
        assert verify_password(bad_hash, "whatever") is False


class TestFiles:
    def test_data_dir_is_private(self, tmp_path):
        d = tmp_path / "new" / "data"
        database.prepare_data_dir(d)
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
        existing = tmp_path / "open"
        existing.mkdir(mode=0o755)
        os.chmod(existing, 0o755)
        database.prepare_data_dir(existing)
        assert stat.S_IMODE(existing.stat().st_mode) == 0o700

    def test_key_is_created_owner_only_and_reused(self, tmp_path):
        key = load_or_create_key(tmp_path)
        path = tmp_path / KEY_FILE
        assert isinstance(key, Ed25519PrivateKey)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        os.chmod(path, 0o644)  # loosened by hand: tightened again on load
        again = load_or_create_key(tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = lambda k: k.public_key().public_bytes_raw()
        assert raw(again) == raw(key)

    def test_settings_paths(self, tmp_path):
        s = Settings(data_dir=tmp_path)
        assert s.database_path.parent == tmp_path
        assert s.signin_free_failures == 5 and s.rate_limit_burst >= 10
