"""Waves, levels, lives and the end of the game."""
from __future__ import annotations

from engine_support import NEVER, drop_bottom_row_to, frozen, of, ticks, until

from spaceinvaders_engine import FIRE, LEFT, Bomb, BombKind, Game, Phase
from spaceinvaders_engine import events as ev
from spaceinvaders_engine.geometry import SHIELD_FULL
from spaceinvaders_engine.rules import (
    WAVE_BREAK_TICKS,
    bomb_interval,
    bomb_speed,
    formation_top_row,
    march_period,
)


def one_left(game: Game, row: int = 4, column: int = 2) -> Game:
    for r in range(5):
        for c in range(11):
            if (r, c) != (row, column):
                game.formation.kill(r, c)
    return game


def test_clearing_a_wave_levels_up_and_the_next_wave_comes_lower_after_a_break():
    game = one_left(frozen(Game(seed=1)))
    game.cannon.x = 13.0
    game.shields.erode(7, 16, 4)
    ticks(game, 1, FIRE)
    game.bombs.append(Bomb(BombKind.PLUNGER, 40, 5.0, 0.25))
    events = []
    while not of(events, ev.LevelUp):
        events += ticks(game, 1)
    assert [type(e) for e in events[-2:]] == [ev.InvaderKilled, ev.LevelUp]
    assert events[-1].level == game.level == 2 and game.status()["Level"] == 2
    assert game.phase is Phase.WAVE_BREAK and game.bombs == [] and game.missile is None
    ticks(game, 5, LEFT)  # the cannon may move during the break, not fire
    assert game.cannon.x < 13.0
    shots = game.shots
    events = ticks(game, WAVE_BREAK_TICKS, FIRE)
    started = of(events, ev.WaveStarted)
    assert len(started) == 1 and started[0].level == 2 and game.phase is Phase.PLAYING
    assert game.formation.count == 55 and game.formation.row_y[0] == formation_top_row(2) == 3
    assert game.shields.level(7, 16) == SHIELD_FULL  # shields are rebuilt for each wave
    assert game.shots_in_wave == game.shots - shots  # counted afresh (the shot fired as it started)


def test_waves_come_back_lower_faster_and_with_more_and_quicker_bombs():
    levels = range(1, 16)
    tops = [formation_top_row(n) for n in levels]
    periods = [march_period(55, n) for n in levels]
    intervals = [bomb_interval(n) for n in levels]
    speeds = [bomb_speed(n, 55) for n in levels]
    assert tops == sorted(tops) and tops[0] == 2 and tops[-1] == 5
    assert periods == sorted(periods, reverse=True) and periods[0] == 30 and periods[-1] < 17
    assert intervals == sorted(intervals, reverse=True) and intervals[0] == 60 and intervals[-1] == 12
    assert speeds == sorted(speeds) and speeds[-1] > speeds[0]
    assert bomb_speed(3, 8) == 1.25 * bomb_speed(3, 9)  # the last eight invaders bomb faster ...
    assert bomb_speed(2, 8) == bomb_speed(2, 9)  # ... from level 3


def test_a_game_can_start_at_a_later_level():
    game = Game(seed=1, level=4)
    assert game.level == 4 and game.formation.row_y[0] == formation_top_row(4)


def lose_a_life(game: Game) -> list[ev.Event]:
    game.bombs.append(Bomb(BombKind.ROLLING, game.cannon.muzzle, 18.75, 0.25))
    return ticks(game, 2)


def test_losing_the_last_life_ends_the_game():
    game = frozen(Game(seed=1))
    for lives_left in (2, 1):
        events = lose_a_life(game)
        assert of(events, ev.LifeLost)[0].lives == lives_left and game.phase is Phase.DYING
        until(game, ev.CannonReady)
        game.bomb_ticks = NEVER
    events = lose_a_life(game)
    assert [type(e) for e in events if isinstance(e, (ev.LifeLost, ev.GameOver))] == [ev.LifeLost, ev.GameOver]
    over = of(events, ev.GameOver)[0]
    assert (over.reason, over.score) == ("lives", 0)
    assert game.over and game.phase is Phase.GAME_OVER and game.status()["Lives"] == 0
    fingerprint = (game.score, game.shots, game.cannon.x, list(game.formation.row_x))
    assert ticks(game, 300, FIRE) == [] and game.explosions == []  # the wreck burnt out; nothing else moves
    assert (game.score, game.shots, game.cannon.x, list(game.formation.row_x)) == fingerprint


def test_invaders_landing_on_the_cannons_row_end_the_game_whatever_the_lives():
    game = frozen(Game(seed=1))
    events = drop_bottom_row_to(game, 19)
    lost, over = of(events, ev.LifeLost)[0], of(events, ev.GameOver)[0]
    assert (lost.lives, lost.cause, over.reason) == (0, "invasion", "invasion")
    assert game.over and game.lives == 0


def test_the_whole_game_runs_on_its_own_to_the_end():
    game = Game(seed=3)
    events = ticks(game, 30 * 400)  # a cannon that never moves nor fires
    assert game.over and of(events, ev.GameOver)
    assert of(events, ev.BombDropped) and of(events, ev.LifeLost)
