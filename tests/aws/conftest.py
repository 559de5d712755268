"""Fixtures of the AWS tests: one stack on moto per test module (moto is slow to set up; tests share it)."""
from __future__ import annotations

import re

import pytest
from aws_world import MotoWorld


@pytest.fixture(scope="module")
def world(request):
    env = re.sub(r"[^a-z0-9]", "", request.module.__name__.rsplit(".", 1)[-1].lower())[-20:]
    with MotoWorld(env) as w:
        yield w
