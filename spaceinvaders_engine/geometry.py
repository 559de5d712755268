"""The logical playfield: one fixed grid of cells, the same for every player and bot.

Row 0 is the top. A thing at (x, y) covers the cells from column x to x + width - 1 on row y; projectiles
carry a float y and occupy row int(y). The grid never changes size: a larger terminal draws each cell as
2 x 2 characters (see `sprites`), so every player in a session plays the same game.
"""
from __future__ import annotations

FIELD_WIDTH = 54
FIELD_HEIGHT = 20

TICK_RATE = 30  # fixed simulation ticks per second
TICK_NS = 1_000_000_000 // TICK_RATE  # one tick, in integer nanoseconds (the step clock)

MYSTERY_ROW = 0
CANNON_ROW = FIELD_HEIGHT - 1  # an invader reaching this row has landed: game over

FORMATION_ROWS = 5
FORMATION_COLUMNS = 11
INVADER_WIDTH = 3
INVADER_PITCH = 4  # columns between two invaders' left edges (3 cells and a gap)
ROW_PITCH = 2  # rows between two invader rows (a row and a gap)
FORMATION_WIDTH = FORMATION_COLUMNS * INVADER_PITCH - 1  # 43
FORMATION_START_X = (FIELD_WIDTH - FORMATION_WIDTH) // 2  # 5: 11 columns of marching room in all

CANNON_WIDTH = 3
CANNON_START_X = 2.0  # the arcade brings each new cannon in at the left
MYSTERY_WIDTH = 5

SHIELD_SHAPE = (  # 1 = a shield cell at full strength
    "011110",
    "111111",
    "110011",
)
SHIELD_WIDTH = len(SHIELD_SHAPE[0])
SHIELD_TOP_ROW = 14
SHIELD_BOTTOM_ROW = SHIELD_TOP_ROW + len(SHIELD_SHAPE) - 1
SHIELD_LEFTS = (6, 18, 30, 42)  # four shields, 6 columns apart from the edges and each other
SHIELD_FULL = 4  # erosion levels per cell: 4 intact .. 1 nearly gone, 0 gone

# The arcade's screen had coloured strips glued on: name the row bands so a UI can colour by row.
BANDS = (
    ("mystery", 0, 1),  # red on the cabinet
    ("formation", 2, SHIELD_TOP_ROW - 1),  # white
    ("defence", SHIELD_TOP_ROW, CANNON_ROW),  # green: shields and cannon
)
