"""Fixtures of the manager's tests: the behaviour tests run once per backend (local server, AWS on moto)."""
from __future__ import annotations

import pytest
from manager_support import AwsWorld, LocalWorld


@pytest.fixture(params=["local", "aws"])
async def world(request, local_server_module, tmp_path):
    made = LocalWorld(local_server_module, tmp_path) if request.param == "local" else AwsWorld()
    await made.start()
    yield made
    await made.close()
