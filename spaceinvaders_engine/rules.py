"""Scores, lives and the pace of play by level: every number that tunes the game lives here.

Times are in ticks (`TICK_RATE` a second); speeds in cells or rows per tick, chosen as multiples of
1/32 so positions add up exactly in binary floating point.
"""
from __future__ import annotations

from .entities import InvaderKind
from .geometry import FORMATION_COLUMNS, FORMATION_ROWS, TICK_RATE

ROW_KINDS = (InvaderKind.SQUID, InvaderKind.CRAB, InvaderKind.CRAB, InvaderKind.OCTOPUS, InvaderKind.OCTOPUS)
POINTS = {InvaderKind.SQUID: 30, InvaderKind.CRAB: 20, InvaderKind.OCTOPUS: 10}
# The arcade's mystery bonus, picked by the hitting missile's number among the wave's shots (modulo 15):
# the 23rd shot of a wave, and every 15th after it, scores 300.
MYSTERY_BONUS = (100, 50, 50, 100, 150, 100, 100, 50, 300, 100, 100, 100, 50, 150, 100)

START_LIVES = 3
EXTRA_LIFE_SCORE = 1500  # one extra life, the first time the score reaches it
MAX_LIVES = 99  # the API's bound

CANNON_SPEED = 0.5  # 15 cells a second: the field's width in 3.6 s
GLIDE_TICKS = 6  # a move press keeps the cannon going 200 ms: a tap moves it 3 cells
MISSILE_SPEED = 0.75  # 22.5 rows a second: the cannon to the top row in 0.8 s
MISSILE_START_Y = 18.0  # just above the cannon
MYSTERY_SPEED = 0.375  # 11.25 cells a second: 5 s to cross
MYSTERY_INTERVAL = 25 * TICK_RATE  # as in the arcade: one every ~25 s ...
MYSTERY_MIN_INVADERS = 8  # ... while at least 8 invaders are left

INVADER_EXPLOSION_TICKS = 8  # the formation holds still meanwhile, as in the arcade
CANNON_EXPLOSION_TICKS = 60  # everything holds for these 2 s, then the next cannon comes in
MISSILE_EXPLOSION_TICKS = 6
BOMB_EXPLOSION_TICKS = 6
MYSTERY_EXPLOSION_TICKS = 36  # the bonus stays on screen 1.2 s
WAVE_BREAK_TICKS = 60  # 2 s between a cleared wave and the next

BOMB_DAMAGE = 2  # erosion levels a bomb takes off the cell it hits ...
BOMB_SPLASH = 1  # ... and off the cells left and right of it
MISSILE_DAMAGE = 2


def formation_top_row(level: int) -> int:
    """Each wave starts lower, down to 3 rows below the first one's (bottom invaders just above the
    shields), as the arcade's waves do."""
    return 2 + (0, 1, 2, 2, 3)[min(level, 5) - 1]


def march_period(alive: int, level: int) -> float:
    """Ticks the whole formation takes to move one cell: proportional to the invaders left (the arcade
    moves one invader a frame), from 1.0 s with all 55 at level 1 (0.55 s from level 10) down to the
    last invader's 1/6 s at level 1, 1/7.5 s at level 2 and 1/10 s from level 3."""
    full = max(16.5, 30.0 - 1.5 * (level - 1))
    fastest = max(3.0, 6.0 - level)
    return fastest + (full - fastest) * (alive - 1) / (FORMATION_ROWS * FORMATION_COLUMNS - 1)


def beat_ticks(alive: int, rows_alive: int, level: int) -> int:
    """Ticks between two row moves (the formation moves a row at a time, bottom row first)."""
    return max(1, round(march_period(alive, level) / rows_alive))


def bomb_interval(level: int) -> int:
    """Mean ticks between two bombs (while fewer than three are falling): 2 s at level 1, 15% less each
    level, down to 0.4 s from level 11."""
    return max(12, round(60 * 0.85 ** (level - 1)))


def bomb_speed(level: int, alive: int) -> float:
    """Rows per tick: 7.5 rows/s up to level 4, then faster every level or two, up to 13.1 from level 12;
    from level 3, a quarter faster when 8 or fewer invaders are left (as in the arcade)."""
    speed = min(8 + max(0, level - 3) * 2 // 3, 14) / 32
    return speed * 1.25 if alive <= 8 and level >= 3 else speed


def mystery_bonus(ordinal: int) -> int:
    """The bonus for hitting the mystery ship with the wave's `ordinal`-th missile."""
    return MYSTERY_BONUS[ordinal % len(MYSTERY_BONUS)]
