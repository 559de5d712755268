"""The game app's tests share one local server per module, with a manager account."""
from __future__ import annotations

import pytest
from game_app_support import MANAGER


@pytest.fixture(scope="module")
def server(local_server_module):
    local_server_module.create_manager(*MANAGER)
    return local_server_module
