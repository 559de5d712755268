"""Unit tests of local sign-in: the failed sign-in throttle, password hashes, key file and data dir modes."""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.local import database
from spaceinvaders_backend.local.accounts import hash_password, verify_password
from spaceinvaders_backend.local.process import CLI, free_port
from spaceinvaders_backend.local.settings import Settings
from spaceinvaders_backend.local.throttle import SignInThrottle
from spaceinvaders_backend.local.tokens import KEY_FILE, load_or_create_key

T = 1_000.0


ATTACKER, OWNER = "203.0.113.7", "192.0.2.10"


def _wait(throttle: SignInThrottle, user: str, now: float, source: str = ATTACKER) -> int | None:
    """The Retry-After a try at `now` gets, or None when it may go ahead (it then counts as a failure)."""
    try:
        throttle.begin(user, source, now)
    except ApiError as e:
        assert (e.status, e.code) == (429, "TooManyFailedSignIns")
        assert set(e.body()) == {"errorMessage", "errorCode", "errorDetails"}
        return int(e.headers["Retry-After"])
    return None


NEVER = 10.0**9  # forget_seconds for tests of the waits alone


class TestSignInThrottle:
    def test_free_failures_then_each_try_waits(self):
        th = SignInThrottle(free_failures=5, forget_seconds=NEVER)
        for i in range(5):
            assert _wait(th, "bob", T) is None, f"try {i + 1} is free"
        assert _wait(th, "bob", T) == 1  # the 5th failure: every further try must wait, 1 s first
        assert _wait(th, "bob", T + 0.5) == 1
        assert _wait(th, "bob", T + 1) is None

    def test_tries_at_once_are_counted_one_by_one(self):
        """60 tries begun before any answer: only the free ones go ahead."""
        th = SignInThrottle(free_failures=5, forget_seconds=NEVER)
        answers = [_wait(th, "bob", T) for _ in range(60)]
        assert answers.count(None) == 5 and all(a == 1 for a in answers[5:])

    def test_waits_double_up_to_five_minutes(self):
        th = SignInThrottle(free_failures=5, forget_seconds=NEVER)
        now = T
        for _ in range(5):
            th.begin("bob", ATTACKER, now)
        waits = []
        for _ in range(12):
            # The try right away is refused; Retry-After says how long, and that is enough.
            retry = _wait(th, "bob", now)
            waits.append(retry)
            now += retry
            assert _wait(th, "bob", now) is None
        assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]

    def test_retry_after_rounds_up(self):
        th = SignInThrottle(free_failures=1, forget_seconds=NEVER)
        th.begin("bob", ATTACKER, T)  # then a wait of 1 s
        th.begin("bob", ATTACKER, T + 1)  # then 2 s, from T+1 to T+3
        assert _wait(th, "bob", T + 1.5) == 2
        assert _wait(th, "bob", T + 2.01) == 1

    def test_failures_are_forgotten_with_time(self):
        th = SignInThrottle(free_failures=5, forget_seconds=60)
        for _ in range(5):
            th.begin("bob", ATTACKER, T)
        assert _wait(th, "bob", T + 0.5) == 1
        # Five quiet minutes forget the five failures: tries are free again.
        for i in range(4):
            assert _wait(th, "bob", T + 300 + i) is None

    def test_rare_tries_never_lock_the_user_out(self):
        """An attacker's wrong password every 5 minutes, for a day: the real user never has to wait."""
        th = SignInThrottle(free_failures=5, forget_seconds=60)
        now = T
        for _ in range(288):
            assert _wait(th, "bob", now) is None  # the attacker's try, failed
            assert _wait(th, "bob", now + 150) is None  # the real user's, a little later
            th.succeeded("bob", ATTACKER)
            now += 300

    def test_a_lockout_ends_when_the_attacker_stops(self):
        th = SignInThrottle(free_failures=5, forget_seconds=60)
        now = T
        for _ in range(80):  # an attacker at the fastest pace allowed: each try as soon as Retry-After says
            now += _wait(th, "bob", now) or 0
        while (retry := _wait(th, "bob", now)) is not None:  # up to the attacker's last try
            now += retry
        assert _wait(th, "bob", now) is not None  # the real user right after it must wait
        assert _wait(th, "bob", now + 30 * 60) is None  # half an hour later the real user is let in

    def test_success_resets_and_users_are_independent(self):
        th = SignInThrottle(free_failures=2, forget_seconds=NEVER)
        for _ in range(2):
            th.begin("bob", ATTACKER, T)
        assert _wait(th, "bob", T) is not None
        assert _wait(th, "ann", T) is None
        th.succeeded("bob", ATTACKER)
        assert _wait(th, "bob", T) is None
        assert _wait(th, "bob", T) is None  # the count started over: two free tries again
        assert _wait(th, "bob", T) is not None
        th.succeeded("nobody", ATTACKER)  # harmless

    def test_a_try_turned_away_unchecked_is_forgiven(self):
        th = SignInThrottle(free_failures=2, forget_seconds=NEVER)
        th.begin("bob", ATTACKER, T)
        th.begin("bob", ATTACKER, T)
        th.forgive("bob", ATTACKER)  # e.g. the server was too busy to check the second one
        assert _wait(th, "bob", T) is None
        assert _wait(th, "bob", T) == 1

    def test_made_up_names_cannot_grow_it_forever(self):
        th = SignInThrottle(free_failures=1, forget_seconds=NEVER, limit=3)
        for name in ("a", "b", "c", "d", "e"):
            th.begin(name, ATTACKER, T)  # one failure each: the next try of that name waits 1 s
        assert _wait(th, "a", T) is None and _wait(th, "b", T) is None  # the oldest made room
        assert _wait(th, "e", T) == 1



def _defaults() -> SignInThrottle:
    """The throttle as the server makes it (app.py), from the default settings."""
    settings = Settings(data_dir=Path("."))
    return SignInThrottle(settings.signin_free_failures, ceiling_failures=settings.signin_ceiling_failures)


class TestAttackers:
    def test_a_slow_attacker_polling_from_one_source_never_locks_the_owner_out(self):
        """A wrong password every second from one address for two hours; the owner signs in from another
        address every 10 s and gets in at the first try every time."""
        th = _defaults()
        checked = 0
        for second in range(2 * 3600):
            now = T + second
            if _wait(th, "boss", now) is None:
                checked += 1  # the attacker's try went ahead (and failed)
            if second % 10 == 5:
                assert _wait(th, "boss", now, OWNER) is None, f"the owner was refused after {second} s"
                th.succeeded("boss", OWNER)
        assert checked < 150, checked  # 7,200 tries, and a few more than one a minute were checked

    def test_an_owner_new_to_the_name_gets_in_while_one_source_attacks(self):
        th = _defaults()
        for second in range(600):
            _wait(th, "boss", T + second)
        assert _wait(th, "boss", T + 600, "198.51.100.1") is None  # first time from there

    def test_a_guesser_spread_over_50_sources_still_meets_the_ceiling(self):
        """Each of 50 addresses tries every second for an hour: their tries checked stay near the
        ceiling's pace, far below 50 times what one source gets; a new address waits like them, the
        owner's usual address does not."""
        th = _defaults()
        th.begin("boss", OWNER, T - 100)
        th.succeeded("boss", OWNER)  # the owner signed in earlier from their usual address
        sources = [f"203.0.113.{i}" for i in range(50)]
        checked = 0
        for second in range(3600):
            for source in sources:
                if _wait(th, "boss", T + second, source) is None:
                    checked += 1
            if second % 600 == 300:
                assert _wait(th, "boss", T + second, "198.51.100.1") is not None  # a new address meets it
                assert _wait(th, "boss", T + second, OWNER) is None  # the owner's usual address does not
                th.succeeded("boss", OWNER)
        one_source = _defaults()
        alone = sum(_wait(one_source, "boss", T + second) is None for second in range(3600))
        # The ceiling (100), then one every 30 s: for 180,000 tries, about 5 times what one source gets.
        assert checked < 300 and checked < 50 * alone / 10, (checked, alone)


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
    def test_new_data_dir_is_private(self, tmp_path):
        d = tmp_path / "new" / "data"
        database.prepare_data_dir(d)
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
        conn = database.connect(d / "db.sqlite")
        conn.close()
        assert stat.S_IMODE((d / "db.sqlite").stat().st_mode) == 0o600

    def test_an_existing_directory_keeps_its_mode(self, tmp_path):
        existing = tmp_path / "open"
        existing.mkdir()
        os.chmod(existing, 0o755)
        database.prepare_data_dir(existing)
        assert stat.S_IMODE(existing.stat().st_mode) == 0o755

    @pytest.mark.parametrize("mode", [0o1777, 0o777])
    def test_a_world_writable_directory_is_refused_untouched(self, tmp_path, mode):
        shared = tmp_path / "shared"
        shared.mkdir()
        os.chmod(shared, mode)
        with pytest.raises(database.DataDirError, match="writable by everyone"):
            database.prepare_data_dir(shared)
        assert stat.S_IMODE(shared.stat().st_mode) == mode  # the sticky bit too
        assert list(shared.iterdir()) == []

    def test_the_cli_refuses_a_world_writable_data_dir(self, tmp_path):
        shared = tmp_path / "shared"
        shared.mkdir()
        os.chmod(shared, 0o1777)
        for command in (["serve", "--port", str(free_port())], ["create-manager", "--username", "boss",
                                                                "--password", "secret-1"]):
            done = subprocess.run([*CLI, *command, "--data-dir", str(shared)], capture_output=True, text=True,
                                  timeout=60, check=False)
            assert done.returncode == 2, done
            assert "writable by everyone" in done.stderr
        assert stat.S_IMODE(shared.stat().st_mode) == 0o1777 and list(shared.iterdir()) == []

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
