"""Snapshots of the console and the wall at 80 x 24 and 200 x 60, with a Nickname full of markup.

The backend answers fixed boards and the clock is fixed, so the pictures only change when the drawing does
(`pytest --snapshot-update` after a deliberate change; Textual is pinned in pyproject.toml for this)."""
from __future__ import annotations

import pytest
from manager_support import FixedBackend

from manager_tui.app import ManagerApp

SIZES = [(80, 24), (200, 60)]


def console(wall: bool) -> tuple[ManagerApp, FixedBackend]:
    backend = FixedBackend()
    return ManagerApp(backend, refresh_seconds=3600, wall=wall, clock=lambda: backend.now), backend


def boards(app: ManagerApp, backend: FixedBackend):
    async def run_before(pilot) -> None:
        await pilot.pause()
        for _ in range(6):  # six refreshes 10 s apart: a history for the chart and the podium
            await pilot.pause(0.05)
            backend.advance(10)
            app.refresh_board()
            while app.live.board is None or app.live.board.fetched_at != backend.now:
                await pilot.pause(0.02)
        await pilot.pause(0.1)
    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_console(snap_compare, size):
    app, backend = console(wall=False)
    assert snap_compare(app, terminal_size=size, run_before=boards(app, backend))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_wall(snap_compare, size):
    app, backend = console(wall=True)
    assert snap_compare(app, terminal_size=size, run_before=boards(app, backend))
