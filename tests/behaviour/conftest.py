"""The behaviour suite runs every test twice: against the local server over HTTP, and against the AWS
handlers on moto. Each backend is set up once per test module."""

from __future__ import annotations

import pytest
from behaviour_drivers import Game, drivers


@pytest.fixture(scope="module", params=["local", "aws"])
def driver(request):
    yield from drivers(request, request.param)


@pytest.fixture
def game(driver) -> Game:
    return Game(driver)
