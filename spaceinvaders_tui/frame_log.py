"""A log of frames for `benchmarks/game_fps.py`: one line per frame step and one per painted frame.

    t <monotonic seconds> <lines changed>     the frame timer stepped the game and refreshed those lines
    p <monotonic seconds>                     Textual drew the field's lines of the newest changed frame

Enabled by SPACEINVADERS_FRAME_LOG=<path>; off, it costs nothing.
"""
from __future__ import annotations

import time
from pathlib import Path


class FrameLog:
    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", buffering=1 << 16, encoding="ascii")  # noqa: SIM115 - open for the run
        self._lines = 0

    def frame(self, changed: int) -> None:
        self._write(f"t {time.monotonic():.6f} {changed}\n")

    def paint(self) -> None:
        self._write(f"p {time.monotonic():.6f}\n")

    def _write(self, line: str) -> None:
        self._file.write(line)
        self._lines += 1
        if self._lines % 60 == 0:
            self._file.flush()

    def close(self) -> None:
        self._file.close()
