"""The console's garbage collector is set before it runs (why: manager_tui/heap.py, docs/benchmarks.md)."""
from __future__ import annotations

import gc

import pytest
from manager_support import FixedBackend

from manager_tui import cli, heap
from manager_tui.app import ManagerApp


@pytest.fixture
def collector():
    """The test process's collector as it was, afterwards."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_is_alive_and_makes_full_collections_rarer(collector):
    young, middle, _ = gc.get_threshold()
    heap.settle()
    assert gc.get_freeze_count() > 1000  # modules, classes: the collector no longer scans them
    assert gc.get_threshold() == (young, middle, heap.FULL_COLLECTION_AFTER)


def test_the_console_runs_with_the_collector_settled(collector, monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "make_backend", lambda args: FixedBackend())
    monkeypatch.setattr(ManagerApp, "run", lambda app: seen.append((gc.get_freeze_count(), gc.get_threshold())))
    assert cli.main(["--api", "http://127.0.0.1:9/v1"]) == 0
    ((frozen, thresholds),) = seen
    assert frozen > 1000 and thresholds[2] == heap.FULL_COLLECTION_AFTER
