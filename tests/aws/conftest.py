"""Fixtures of the AWS tests: one stack on moto per test module (moto is slow to set up; tests share it)."""

from __future__ import annotations

import re

import pytest
from aws_manager import StoreManager
from aws_world import MotoWorld, unique

from spaceinvaders_backend.aws.config import StackNames


@pytest.fixture(scope="module")
def world(request):
    env = re.sub(r"[^a-z0-9]", "", request.module.__name__.rsplit(".", 1)[-1].lower())[-20:]
    with MotoWorld(env) as w:
        yield w


@pytest.fixture(scope="module")
def manager(world) -> StoreManager:
    """The manager's operations (the stores it shares with the functions) on this module's stack."""
    return StoreManager(world.stack)


@pytest.fixture(scope="module")
def names(world) -> StackNames:
    """The stack as the functions see it (their environment)."""
    return StackNames.from_environ()


@pytest.fixture
def fresh_session(manager):
    """Open a new session (closing the current one): `fresh_session(game_type, **kw)` -> its id."""
    return lambda game_type="MULTIPLE_TRIALS", **kw: manager.reopen(unique("S"), game_type, **kw)["SessionId"]
