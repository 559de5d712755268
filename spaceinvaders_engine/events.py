"""What happened during a step, in order; every event carries the tick it happened on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .entities import BombKind, InvaderKind

LossCause = Literal["bomb", "invasion"]


@dataclass(frozen=True, slots=True)
class Event:
    tick: int


@dataclass(frozen=True, slots=True)
class ShotFired(Event):
    """The cannon fired its missile from column x; `shots` is the game's count so far (GameStatus Shots)."""

    x: int
    shots: int


@dataclass(frozen=True, slots=True)
class InvaderKilled(Event):
    kind: InvaderKind
    points: int
    x: int
    y: int
    row: int
    column: int
    remaining: int  # invaders left in the wave


@dataclass(frozen=True, slots=True)
class MissileSpent(Event):
    """The missile burst on the top of the field without a hit."""

    x: int


@dataclass(frozen=True, slots=True)
class BombDropped(Event):
    kind: BombKind
    x: int
    y: int
    speed: float  # rows a second


@dataclass(frozen=True, slots=True)
class BombShotDown(Event):
    """The missile met a bomb: both are gone."""

    kind: BombKind
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class BombLanded(Event):
    """A bomb reached the ground without hitting anything."""

    kind: BombKind
    x: int


@dataclass(frozen=True, slots=True)
class ShieldHit(Event):
    shield: int  # 0-3, left to right
    x: int
    y: int
    by: Literal["bomb", "missile", "invader"]


@dataclass(frozen=True, slots=True)
class LifeLost(Event):
    lives: int  # left after this one
    cause: LossCause


@dataclass(frozen=True, slots=True)
class ExtraLife(Event):
    lives: int


@dataclass(frozen=True, slots=True)
class MysteryAppeared(Event):
    x: float
    direction: int  # +1 flying right, -1 left


@dataclass(frozen=True, slots=True)
class MysteryHit(Event):
    points: int
    x: int


@dataclass(frozen=True, slots=True)
class MysteryEscaped(Event):
    pass


@dataclass(frozen=True, slots=True)
class LevelUp(Event):
    """The wave was cleared; the next one, at `level`, comes after a short break."""

    level: int


@dataclass(frozen=True, slots=True)
class WaveStarted(Event):
    level: int


@dataclass(frozen=True, slots=True)
class CannonReady(Event):
    """A new cannon came in after a lost life."""

    x: float


@dataclass(frozen=True, slots=True)
class GameOver(Event):
    reason: Literal["lives", "invasion"]
    score: int
