"""What the player asks for during a step. Terminals send key presses (and repeats), never releases,
so every intent is an impulse: a move press keeps the cannon gliding for `GLIDE_TICKS`, and a held key's
repeats keep renewing it; fire launches the missile when none is in flight."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Intents:
    move_left: bool = False
    move_right: bool = False
    fire: bool = False

    def __or__(self, other: Intents) -> Intents:
        """Both sets of presses (two key presses landing in one step)."""
        return Intents(self.move_left or other.move_left, self.move_right or other.move_right,
                       self.fire or other.fire)

    def __bool__(self) -> bool:
        return self.move_left or self.move_right or self.fire


NO_INTENTS = Intents()
LEFT = Intents(move_left=True)
RIGHT = Intents(move_right=True)
FIRE = Intents(fire=True)
