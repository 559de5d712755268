"""Helpers of the engine's tests: stepping by ticks, quieting parts of the game, a state fingerprint."""
from __future__ import annotations

from spaceinvaders_engine import TICK_RATE, Game, Intents
from spaceinvaders_engine.events import Event

TICK = 1 / TICK_RATE
NEVER = 10**9


def ticks(game: Game, n: int, intents: Intents | None = None) -> list[Event]:
    """Step `n` ticks, the same intents on each; answers all their events."""
    events: list[Event] = []
    for _ in range(n):
        events += game.step(TICK, intents)
    return events


def until(game: Game, kind: type[Event], limit: int = 2000, intents: Intents | None = None) -> Event:
    """Step tick by tick until an event of `kind` happens; answers it."""
    for _ in range(limit):
        for event in game.step(TICK, intents):
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__} within {limit} ticks")


def calm(game: Game) -> Game:
    """No bombs and no mystery ship (the formation still marches)."""
    game.bomb_ticks = NEVER
    game.mystery_ticks = NEVER
    return game


def frozen(game: Game) -> Game:
    """Calm, and the formation holds still."""
    calm(game).beat_ticks = NEVER
    return game


def drop_bottom_row_to(game: Game, row: int) -> list[Event]:
    """Make the formation's bottom row step down onto `row` on the next tick; answers that tick's events."""
    formation = game.formation
    formation.row_y[4] = row - 1
    formation.descending = True
    game.beat_ticks = 1
    return ticks(game, 1)


def of(events: list[Event], kind: type[Event]) -> list:
    return [e for e in events if isinstance(e, kind)]


def scripted(tick: int) -> Intents:
    """A player who sweeps left and right, pausing at times, and fires as often as allowed."""
    phase = tick // 45 % 4
    return Intents(move_left=phase == 0, move_right=phase == 2, fire=tick % 3 == 0)


def fingerprint(game: Game) -> tuple:
    """Everything observable about a game, as a comparable value."""
    f = game.formation
    return (
        game.tick, game.phase, game.score, game.shots, game.level, game.lives, game.shots_in_wave,
        game.cannon.x, game.cannon.direction, game.cannon.glide_ticks, game.cannon.alive,
        None if game.missile is None else (game.missile.x, game.missile.y),
        tuple((b.kind, b.x, b.y, b.dy, b.age) for b in game.bombs),
        None if game.mystery is None else (game.mystery.x, game.mystery.dx),
        tuple((e.kind, e.x, e.y, e.ticks_left) for e in game.explosions),
        tuple(f.row_x), tuple(f.row_y), tuple(f.row_alive), tuple(f.row_frame), f.direction, f.descending,
        tuple(tuple(row) for row in game.shields.rows),
        game.beat_ticks, game.bomb_ticks, game.mystery_ticks, game.hold_ticks,
    )
