"""The behaviour suite runs every test twice: against the local server over HTTP, and against the AWS
handlers on moto. Each backend is set up once per test module."""

from __future__ import annotations

import re

import pytest
from behaviour_drivers import AwsDriver, Game, LocalDriver


@pytest.fixture(scope="module", params=["local", "aws"])
def driver(request):
    if request.param == "local":
        local = LocalDriver(request.getfixturevalue("local_server_module"))
        yield local
        local.close_http()
        return
    from aws_world import MotoWorld  # moto is imported only for this half

    env = "b" + re.sub(r"[^a-z0-9]", "", request.module.__name__.rsplit(".", 1)[-1].lower())[-19:]
    with MotoWorld(env) as world:
        yield AwsDriver(world)


@pytest.fixture
def game(driver) -> Game:
    return Game(driver)
