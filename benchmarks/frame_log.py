"""The game's frames, logged for `game_fps.py`: one line per frame step, per painted frame and per collection.

    t <monotonic seconds> <lines changed> <game>   the frame timer stepped game number <game> (1, 2, ...
                                              in this run) and refreshed those lines
    p <monotonic seconds>                     Textual drew the field's lines of the newest changed frame
    g <monotonic seconds> <generation> <ms>   a garbage collection paused the process that long

Run the game with them: `python benchmarks/frame_log.py LOG [spaceinvaders options]`.
"""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

from spaceinvaders_tui.frames import Frames


class FrameLog(Frames):
    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", buffering=1 << 16, encoding="ascii")  # noqa: SIM115 - open for the run
        self._lines = 0
        self._gc_start = 0.0
        gc.callbacks.append(self._collection)

    def _collection(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.monotonic()
        else:
            now = time.monotonic()
            self._write(f"g {now:.6f} {info['generation']} {1000 * (now - self._gc_start):.3f}\n")

    def stepped(self, changed: int, game: int) -> None:
        self._write(f"t {time.monotonic():.6f} {changed} {game}\n")

    def painted(self) -> None:
        self._write(f"p {time.monotonic():.6f}\n")

    def _write(self, line: str) -> None:
        self._file.write(line)
        self._lines += 1
        if self._lines % 60 == 0:
            self._file.flush()

    def close(self) -> None:
        if self._collection in gc.callbacks:
            gc.callbacks.remove(self._collection)
        if not self._file.closed:
            self._file.close()


if __name__ == "__main__":
    from spaceinvaders_tui.cli import main

    sys.exit(main(sys.argv[2:], frames=FrameLog(Path(sys.argv[1]))))
