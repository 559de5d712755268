"""The 5 x 11 formation: rows that march one at a time, step down at the edges and thin as they are hit.

Each row keeps its own x and y, so the ripple of the arcade (the bottom row moves first, the top row
last) costs one update a move, and a hit test is a look-up per row rather than a scan of 55 invaders.
"""
from __future__ import annotations

from collections.abc import Iterator

from .entities import Invader, InvaderKind
from .geometry import (
    FIELD_WIDTH,
    FORMATION_COLUMNS,
    FORMATION_ROWS,
    FORMATION_WIDTH,
    INVADER_PITCH,
    INVADER_WIDTH,
    ROW_PITCH,
)
from .rules import ROW_KINDS

FULL_ROW = (1 << FORMATION_COLUMNS) - 1
BOTTOM = FORMATION_ROWS - 1


class Formation:
    """Live invaders as one bit per column in each row; row 0 is the top (squids)."""

    __slots__ = (
        "count",
        "descending",
        "direction",
        "left_column",
        "next_row",
        "right_column",
        "row_alive",
        "row_frame",
        "row_x",
        "row_y",
    )

    def __init__(self, left_x: int, top_row: int) -> None:
        self.row_x = [left_x] * FORMATION_ROWS
        self.row_y = [top_row + ROW_PITCH * r for r in range(FORMATION_ROWS)]
        self.row_alive = [FULL_ROW] * FORMATION_ROWS  # bit c set: the invader in column c lives
        self.row_frame = [0] * FORMATION_ROWS
        self.count = FORMATION_ROWS * FORMATION_COLUMNS
        self.direction = 1  # +1 marching right, -1 left
        self.descending = False  # the current pass steps rows down instead of sideways
        self.next_row = BOTTOM  # the row the next beat moves
        self.left_column = 0  # the outermost columns with a live invader, for the edge test
        self.right_column = FORMATION_COLUMNS - 1

    @property
    def rows_alive(self) -> int:
        return sum(1 for bits in self.row_alive if bits)

    @property
    def bottom_y(self) -> int:
        """The row of the lowest live invader (-1 when none is left)."""
        for r in range(BOTTOM, -1, -1):
            if self.row_alive[r]:
                return self.row_y[r]
        return -1

    def alive(self, row: int, column: int) -> bool:
        return bool(self.row_alive[row] >> column & 1)

    def kind(self, row: int) -> InvaderKind:
        return ROW_KINDS[row]

    def invader_x(self, row: int, column: int) -> int:
        return self.row_x[row] + INVADER_PITCH * column

    def invaders(self) -> Iterator[Invader]:
        """Every live invader, top row first, left to right."""
        for r in range(FORMATION_ROWS):
            bits = self.row_alive[r]
            x0, y, kind, frame = self.row_x[r], self.row_y[r], ROW_KINDS[r], self.row_frame[r]
            for c in range(FORMATION_COLUMNS):
                if bits >> c & 1:
                    yield Invader(x0 + INVADER_PITCH * c, y, kind, frame, r, c)

    def invader_at(self, x: int, y: int) -> tuple[int, int] | None:
        """(row, column) of the live invader covering cell (x, y), if any."""
        row_y, row_x, row_alive = self.row_y, self.row_x, self.row_alive
        for r in range(FORMATION_ROWS):
            if row_y[r] == y:
                offset = x - row_x[r]
                if 0 <= offset < FORMATION_WIDTH and offset % INVADER_PITCH < INVADER_WIDTH:
                    c = offset // INVADER_PITCH
                    if row_alive[r] >> c & 1:
                        return r, c
                return None
        return None

    def lowest_in_column(self, column: int) -> int:
        """The row of the lowest live invader in `column` (-1 when the column is empty)."""
        for r in range(BOTTOM, -1, -1):
            if self.row_alive[r] >> column & 1:
                return r
        return -1

    def columns(self) -> list[int]:
        """Columns that still hold an invader, left to right."""
        bits = 0
        for row_bits in self.row_alive:
            bits |= row_bits
        return [c for c in range(FORMATION_COLUMNS) if bits >> c & 1]

    def kill(self, row: int, column: int) -> None:
        self.row_alive[row] &= ~(1 << column)
        self.count -= 1
        bits = 0
        for row_bits in self.row_alive:
            bits |= row_bits
        if bits:
            self.left_column = (bits & -bits).bit_length() - 1
            self.right_column = bits.bit_length() - 1

    def advance(self) -> int:
        """Move the next row one cell (sideways, or down during a descent); answers its index.

        A pass moves every live row once, bottom to top. Between passes the rows are level again, so
        the edge test is made there: a formation that would leave the field descends for a pass and
        then turns round. Call only while invaders are left.
        """
        row_alive = self.row_alive
        r = self.next_row
        while r >= 0 and not row_alive[r]:
            r -= 1
        if r < 0:
            self._next_pass()
            r = BOTTOM
            while not row_alive[r]:
                r -= 1
        if self.descending:
            self.row_y[r] += 1
        else:
            self.row_x[r] += self.direction
        self.row_frame[r] ^= 1
        self.next_row = r - 1
        return r

    def _next_pass(self) -> None:
        if self.descending:
            self.descending = False
            self.direction = -self.direction
            return
        x = next(self.row_x[r] for r in range(FORMATION_ROWS) if self.row_alive[r])
        if self.direction > 0:
            right = x + INVADER_PITCH * self.right_column + INVADER_WIDTH - 1
            self.descending = right + 1 >= FIELD_WIDTH
        else:
            self.descending = x + INVADER_PITCH * self.left_column - 1 < 0
