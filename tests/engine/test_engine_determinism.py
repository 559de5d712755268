"""Same seed and inputs, same game: whatever the seed's history, the cut of time into steps, or a clone."""
from __future__ import annotations

import itertools
import math
import random

import pytest
from engine_support import TICK, fingerprint, of, scripted

from spaceinvaders_engine import TICK_RATE, Game, Intents
from spaceinvaders_engine import events as ev
from spaceinvaders_engine.geometry import TICK_NS

GAME_TICKS = 90 * TICK_RATE  # a minute and a half: kills, bombs, lost lives, a mystery ship


def play_by_ticks(seed: int, n: int = GAME_TICKS) -> tuple[list[tuple], list[ev.Event]]:
    game = Game(seed)
    prints, events = [], []
    for tick in range(n):
        events += game.step(TICK, scripted(tick))
        prints.append(fingerprint(game))
    return prints, events


def test_the_same_seed_and_inputs_give_the_same_game():
    prints, events = play_by_ticks(7)
    again, events_again = play_by_ticks(7)
    assert prints == again and events == events_again
    kinds = {type(e) for e in events}  # the script meets most of the game with this seed
    assert {ev.ShotFired, ev.InvaderKilled, ev.BombDropped, ev.ShieldHit, ev.LifeLost, ev.MysteryHit,
            ev.GameOver} <= kinds


def test_another_seed_gives_another_game():
    assert play_by_ticks(5, 600)[1] != play_by_ticks(6, 600)[1]


def pieces(rng: random.Random, total_ns: int) -> list[int]:
    """`total_ns` cut at random into 1 to 5 pieces."""
    cuts = sorted(rng.randrange(1, total_ns) for _ in range(rng.randrange(0, 5)))
    bounds = [0, *cuts, total_ns]
    return [b - a for a, b in itertools.pairwise(bounds)]


def test_cutting_time_into_other_steps_changes_nothing():
    prints, events = play_by_ticks(21)
    game = Game(21)
    cutter = random.Random(99)
    cut_events: list[ev.Event] = []
    for tick in range(GAME_TICKS):
        for i, ns in enumerate(pieces(cutter, TICK_NS)):
            cut_events += game.step(ns / 1e9, scripted(tick) if i == 0 else None)
        assert fingerprint(game) == prints[tick]
    assert cut_events == events


def test_one_long_step_is_the_same_as_many_short_ones():
    long, short = Game(5), Game(5)
    long_events = long.step(10.0)
    short_events = []
    for _ in range(10 * TICK_RATE):
        short_events += short.step(1 / 30)
    assert long.tick == short.tick == 300
    assert fingerprint(long) == fingerprint(short) and long_events == short_events


@pytest.mark.parametrize(("frame", "frames", "expected_ticks"), [(0.1, 30, 90), (1 / 60, 60, 30), (0.01, 100, 30)])
def test_float_frames_add_up_to_whole_ticks(frame, frames, expected_ticks):
    game = Game(5)
    for _ in range(frames):
        game.step(frame)
    assert game.tick == expected_ticks


def test_the_intents_of_a_long_step_apply_to_its_first_tick():
    long, short = Game(5), Game(5)
    long.step(0.1, Intents(move_right=True, fire=True))
    short.step(TICK, Intents(move_right=True, fire=True))
    short.step(TICK)
    short.step(TICK)
    assert fingerprint(long) == fingerprint(short) and long.shots == 1


def test_presses_in_one_tick_are_merged_not_lost():
    game = Game(1)
    game.step(TICK / 3, Intents(fire=True))
    game.step(TICK / 3, Intents(move_right=True))
    events = game.step(TICK / 3)
    assert of(events, ev.ShotFired) and game.cannon.direction == 1


def test_a_clone_plays_on_its_own():
    game = Game(8)
    for tick in range(200):
        game.step(TICK, scripted(tick))
    twin = game.clone()
    assert fingerprint(twin) == fingerprint(game)
    for tick in range(200, 400):
        twin.step(TICK, scripted(tick))
    assert game.tick == 200
    for tick in range(200, 400):
        game.step(TICK, scripted(tick))
    assert fingerprint(twin) == fingerprint(game)


@pytest.mark.parametrize("dt", [-0.01, math.nan, math.inf, 1.7e9, "0.1", None, True])
def test_a_bad_dt_is_refused(dt):
    with pytest.raises(ValueError, match="dt must be"):
        Game(1).step(dt)


def test_bad_intents_and_seeds_are_refused():
    with pytest.raises(TypeError, match="intents must be an Intents"):
        Game(1).step(TICK, {"fire": True})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        Game("7")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level must be"):
        Game(7, level=0)
