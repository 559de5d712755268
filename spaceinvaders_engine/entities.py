"""The things on the playfield, as small mutable records the game updates in place and readers only read.

Speeds are stored per tick (what the simulation adds each tick); the `*_per_second` properties give
them in cells or rows per second for readers that think in time (bots).
"""
from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from .geometry import CANNON_ROW, CANNON_WIDTH, FIELD_WIDTH, MYSTERY_ROW, TICK_RATE


class InvaderKind(StrEnum):
    SQUID = "squid"  # top row, 30 points
    CRAB = "crab"  # two middle rows, 20 points
    OCTOPUS = "octopus"  # two bottom rows, 10 points


class BombKind(StrEnum):
    ROLLING = "rolling"  # dropped from the column nearest the cannon
    PLUNGER = "plunger"  # from a random column; not when a single invader is left
    SQUIGGLY = "squiggly"  # from a random column; not while the mystery ship flies


class ExplosionKind(StrEnum):
    INVADER = "invader"
    CANNON = "cannon"
    MISSILE = "missile"  # the missile burst on a shield, a bomb or the top of the field
    BOMB = "bomb"  # a bomb burst on a shield, the ground or the missile
    MYSTERY = "mystery"  # shows the bonus scored


class Invader(NamedTuple):
    """One live invader, as `Formation.invaders()` lists them."""

    x: int
    y: int
    kind: InvaderKind
    frame: int  # 0 or 1: flips each time the invader's row moves
    row: int  # 0 (top) to 4 in the formation
    column: int  # 0 (left) to 10


class Cannon:
    """The player's cannon, `CANNON_WIDTH` cells wide on `CANNON_ROW`; x is a float (sub-cell)."""

    __slots__ = ("alive", "direction", "glide_ticks", "x")
    y = CANNON_ROW
    width = CANNON_WIDTH
    max_x = float(FIELD_WIDTH - CANNON_WIDTH)

    def __init__(self, x: float) -> None:
        self.x = x
        self.direction = 0  # -1 left, +1 right, 0 still
        self.glide_ticks = 0  # ticks it keeps moving without another press
        self.alive = True

    @property
    def column(self) -> int:
        """The leftmost cell it covers."""
        return int(self.x)

    @property
    def muzzle(self) -> int:
        """The column a missile fired now flies up."""
        return int(self.x) + 1

    def rest_x(self, speed: float) -> float:
        """Where it stops if no further move is asked (`speed` in cells per tick)."""
        x = self.x + self.direction * speed * self.glide_ticks
        return min(max(x, 0.0), self.max_x)


class Missile:
    """The player's one missile in flight: column x, float y, moving up by `dy` (negative) each tick."""

    __slots__ = ("dy", "ordinal", "x", "y")

    def __init__(self, x: int, y: float, dy: float, ordinal: int) -> None:
        self.x = x
        self.y = y
        self.dy = dy
        self.ordinal = ordinal  # its number among the wave's shots (sets the mystery bonus)

    @property
    def speed_per_second(self) -> float:
        return -self.dy * TICK_RATE


class Bomb:
    """An invader's bomb: column x, float y, moving down by `dy` rows each tick."""

    __slots__ = ("age", "dy", "kind", "x", "y")

    def __init__(self, kind: BombKind, x: int, y: float, dy: float) -> None:
        self.kind = kind
        self.x = x
        self.y = y
        self.dy = dy
        self.age = 0  # ticks since it was dropped

    @property
    def frame(self) -> int:
        """Animation frame 0-3, a new one every 3 ticks."""
        return self.age // 3 % 4

    @property
    def speed_per_second(self) -> float:
        return self.dy * TICK_RATE


class Mystery:
    """The mystery ship on `MYSTERY_ROW`: float x, moving by `dx` cells each tick."""

    __slots__ = ("dx", "x")
    y = MYSTERY_ROW

    def __init__(self, x: float, dx: float) -> None:
        self.x = x
        self.dx = dx

    @property
    def speed_per_second(self) -> float:
        return self.dx * TICK_RATE


class Explosion:
    """A burst to draw at (x, y) for `ticks_left` more ticks; `points` is the score shown, if any."""

    __slots__ = ("duration", "kind", "points", "ticks_left", "x", "y")

    def __init__(self, kind: ExplosionKind, x: int, y: int, duration: int, points: int = 0) -> None:
        self.kind = kind
        self.x = x
        self.y = y
        self.ticks_left = duration
        self.duration = duration
        self.points = points

    @property
    def frame(self) -> int:
        """0 or 1, alternating every 4 ticks (the cannon's wreck flickers between two frames)."""
        return (self.duration - self.ticks_left) // 4 % 2
