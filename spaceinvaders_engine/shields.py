"""The four shields, as erosion levels on the rows they occupy: SHIELD_FULL intact, 0 gone."""
from __future__ import annotations

from .geometry import (
    FIELD_WIDTH,
    SHIELD_BOTTOM_ROW,
    SHIELD_FULL,
    SHIELD_LEFTS,
    SHIELD_SHAPE,
    SHIELD_TOP_ROW,
    SHIELD_WIDTH,
)


def _fresh_rows() -> list[list[int]]:
    rows = [[0] * FIELD_WIDTH for _ in SHIELD_SHAPE]
    for left in SHIELD_LEFTS:
        for dy, pattern in enumerate(SHIELD_SHAPE):
            for dx, mark in enumerate(pattern):
                if mark == "1":
                    rows[dy][left + dx] = SHIELD_FULL
    return rows


class Shields:
    """`rows[i][x]` is the level of cell (x, SHIELD_TOP_ROW + i); readers must not change it."""

    __slots__ = ("rows",)
    top = SHIELD_TOP_ROW
    bottom = SHIELD_BOTTOM_ROW

    def __init__(self) -> None:
        self.rows = _fresh_rows()

    def restore(self) -> None:
        self.rows = _fresh_rows()

    def level(self, x: int, y: int) -> int:
        if SHIELD_TOP_ROW <= y <= SHIELD_BOTTOM_ROW and 0 <= x < FIELD_WIDTH:
            return self.rows[y - SHIELD_TOP_ROW][x]
        return 0

    def erode(self, x: int, y: int, amount: int) -> int:
        """Take `amount` levels off cell (x, y) (a cell off the shields is left alone); answers what is left."""
        if not (SHIELD_TOP_ROW <= y <= SHIELD_BOTTOM_ROW and 0 <= x < FIELD_WIDTH):
            return 0
        row = self.rows[y - SHIELD_TOP_ROW]
        row[x] = left = max(0, row[x] - amount)
        return left

    def clear(self, x: int, width: int, y: int) -> bool:
        """Wipe the cells an invader at (x, y) covers; answers whether any was there."""
        row = self.rows[y - SHIELD_TOP_ROW]
        start, stop = max(x, 0), min(x + width, FIELD_WIDTH)
        if not any(row[start:stop]):
            return False
        row[start:stop] = [0] * (stop - start)
        return True

    @staticmethod
    def index_at(x: int) -> int:
        """Which shield (0-3) column x belongs to, or -1."""
        for i, left in enumerate(SHIELD_LEFTS):
            if left <= x < left + SHIELD_WIDTH:
                return i
        return -1

    def cells_left(self) -> int:
        """Shield cells not yet gone."""
        return sum(1 for row in self.rows for level in row if level)
