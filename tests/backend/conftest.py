"""Fixtures of the local server's tests: an HTTP helper and a manager on the module's server."""
from __future__ import annotations

import pytest
from backend_support import Api, Manager


@pytest.fixture(scope="module")
def api(local_server_module):
    a = Api(local_server_module.base_url)
    yield a
    a.close()


@pytest.fixture(scope="module")
def manager(api, local_server_module) -> Manager:
    return api.manager(local_server_module)


@pytest.fixture
def api_for():
    """Api(server) for servers a test starts itself; closed afterwards."""
    made: list[Api] = []

    def make(server) -> Api:
        made.append(Api(server.base_url))
        return made[-1]

    yield make
    for a in made:
        a.close()
