"""The rules of Space Invaders, with no UI and no I/O: the game app draws them, bots drive them.

    game = Game(seed=7)
    events = game.step(1 / 30, Intents(move_left=True, fire=True))
    game.status()   # {"Score": ..., "Shots": ..., "Level": ..., "Lives": ...}

See docs/engine.md.
"""
from . import events, geometry, render, rules, sprites
from .entities import Bomb, BombKind, Cannon, Explosion, ExplosionKind, Invader, InvaderKind, Missile, Mystery
from .events import Event
from .formation import Formation
from .game import Game, Phase
from .geometry import FIELD_HEIGHT, FIELD_WIDTH, TICK_RATE
from .intents import FIRE, LEFT, NO_INTENTS, RIGHT, Intents
from .shields import Shields

__all__ = [
    "FIELD_HEIGHT", "FIELD_WIDTH", "FIRE", "LEFT", "NO_INTENTS", "RIGHT", "TICK_RATE",
    "Bomb", "BombKind", "Cannon", "Event", "Explosion", "ExplosionKind", "Formation", "Game", "Intents",
    "Invader", "InvaderKind", "Missile", "Mystery", "Phase", "Shields",
    "events", "geometry", "render", "rules", "sprites",
]
