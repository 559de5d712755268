"""The autopilot: plays the real engine like a person of a chosen skill, seeded so a game can be repeated.

It aims at the nearest column's lowest invader, leads a moving target, fires when lined up, and keeps out
of the way of the bombs it notices. The skill sets how a person differs: the reaction time (how often the
situation is looked at again), the aim's spread, the share of bombs noticed (dodging), and how much of
a moving target's travel is led. Its randomness is its own `random.Random`, apart from the game's, so
the same seeds give the same game tick for tick.

The engine's pace was tuned with these players (benchmarks/engine_cpu.py, docs/engine.md): a novice
lasts ~4 minutes and reaches level 4, an expert ~7 minutes and level 9.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

from spaceinvaders_engine import FIELD_WIDTH, NO_INTENTS, Game, Intents
from spaceinvaders_engine.geometry import CANNON_ROW, CANNON_WIDTH
from spaceinvaders_engine.rules import (
    CANNON_SPEED,
    GLIDE_TICKS,
    MISSILE_SPEED,
    MISSILE_START_Y,
    march_period,
)


@dataclass(frozen=True)
class Skill:
    name: str
    reaction: int  # ticks between two looks at the field (30 a second)
    spread: float  # standard deviation of the aim, in cells
    notice: float  # share of the bombs noticed (and dodged)
    lead: float  # share of a moving target's travel during the missile's flight that is aimed ahead


SKILLS = {
    skill.name: skill
    for skill in (
        Skill("novice", reaction=12, spread=1.5, notice=0.80, lead=0.0),
        Skill("casual", reaction=8, spread=0.8, notice=0.90, lead=0.5),
        Skill("expert", reaction=4, spread=0.3, notice=0.97, lead=1.0),
    )
}
POSITIONS = [x / 2 for x in range(2 * (FIELD_WIDTH - CANNON_WIDTH) + 1)]  # where the cannon can rest
NOTICE_WITHIN = 30  # ticks: a noticed bomb matters when it lands within a second
# Every answer intents() can give, made once (an Intents is immutable): (move, fire) -> Intents
CHOICES = {(move, fire): Intents(move_left=move < 0, move_right=move > 0, fire=fire) if move or fire else NO_INTENTS
           for move in (-1, 0, 1) for fire in (False, True)}


class Autopilot:
    """Chooses a tick's `Intents` from what a player sees of `game`; call `intents(game)` once per tick."""

    def __init__(self, skill: Skill | str, seed: int) -> None:
        self.skill = SKILLS[skill] if isinstance(skill, str) else skill
        self.rng = random.Random(seed)
        self.noticed: dict[tuple[str, int], bool] = {}
        self.wait = 0
        self.target = 2.0
        self.danger: list[int] = []

    def safe(self, x: float) -> bool:
        left = int(x)
        return not any(left - 1 <= bomb_x <= left + CANNON_WIDTH for bomb_x in self.danger)

    def nearest_safe(self, want: float) -> float:
        """The resting place nearest `want` away from the bombs noticed (the lower one of a tie)."""
        if self.danger:
            # safe(x) fails when a bomb is within a cell of the cannon resting at x: the columns x may not
            # start at, found once rather than for each of the hundred places.
            blocked = {c for bomb_x in self.danger for c in range(bomb_x - CANNON_WIDTH, bomb_x + 2)}
            safe = [x for x in POSITIONS if int(x) not in blocked]
            return min(safe or POSITIONS, key=lambda x: abs(x - want))
        # No danger: every place is safe, and the nearest is one of the two around `want` (the hot path,
        # the same answer as the scan above without its hundred comparisons).
        if want <= POSITIONS[0]:
            return POSITIONS[0]
        if want >= POSITIONS[-1]:
            return POSITIONS[-1]
        lower = math.floor(want * 2) / 2
        upper = lower + 0.5
        return lower if abs(lower - want) <= abs(upper - want) else upper

    def look(self, game: Game) -> None:
        """Pick where to stand: lined up under an invader, away from the bombs it noticed."""
        skill = self.skill
        self.danger = []
        if len(self.noticed) > 64:  # forget the bombs that are gone (a game drops thousands)
            live = {(bomb.kind, game.tick - bomb.age) for bomb in game.bombs}
            self.noticed = {key: seen for key, seen in self.noticed.items() if key in live}
        for bomb in game.bombs:
            key = (bomb.kind, game.tick - bomb.age)  # a bomb is noticed, or not, once
            if key not in self.noticed:
                self.noticed[key] = self.rng.random() < skill.notice
            if self.noticed[key] and (CANNON_ROW - bomb.y) / bomb.dy < NOTICE_WITHIN:
                self.danger.append(bomb.x)
        formation, want = game.formation, game.cannon.x
        columns = formation.columns()
        if columns:
            column = min(columns, key=lambda c: abs(formation.invader_x(formation.lowest_in_column(c), c)
                                                    - game.cannon.x))
            row = formation.lowest_in_column(column)
            flight = (MISSILE_START_Y - formation.row_y[row]) / MISSILE_SPEED + skill.reaction / 2
            lead = 0.0 if formation.descending else formation.direction * flight / march_period(
                formation.count, game.level)
            want = formation.invader_x(row, column) + skill.lead * lead + self.rng.gauss(0, skill.spread)
        self.target = self.nearest_safe(want)

    def intents(self, game: Game) -> Intents:
        if not game.cannon.alive:
            return NO_INTENTS
        if self.wait <= 0:
            self.look(game)
            reaction = self.skill.reaction
            self.wait = reaction + self.rng.randint(-reaction // 3, reaction // 3)
        self.wait -= 1
        cannon, glide = game.cannon, GLIDE_TICKS * CANNON_SPEED
        choices = [(cannon.rest_x(CANNON_SPEED), 0), (max(0.0, cannon.x - glide), -1),
                   (min(cannon.max_x, cannon.x + glide), 1)]  # stay, tap left, tap right
        if self.danger:
            _, _, move = min((not self.safe(x), abs(self.target - x), move) for x, move in choices)
        else:
            _, move = min((abs(self.target - x), move) for x, move in choices)
        fire = abs(self.target - cannon.x) < 1.5 and game.missile is None
        return CHOICES[move, fire]
