"""The autopilot plays the real engine like a person of its skill: better skills score more, and a seed
repeats a game exactly."""
from __future__ import annotations

import statistics

import pytest

from spaceinvaders_bots.autopilot import SKILLS, Autopilot
from spaceinvaders_engine import TICK_RATE, Game

SEEDS = range(8)
LONGEST = 10 * 60 * TICK_RATE  # ticks: ten minutes, longer than nearly every game


def play(skill: str, seed: int, ticks: int = LONGEST, pilot_seed: int | None = None) -> Game:
    game, pilot = Game(seed), Autopilot(skill, seed + 1000 if pilot_seed is None else pilot_seed)
    for _ in range(ticks):
        game.step(1 / TICK_RATE, pilot.intents(game))
        if game.over:
            break
    return game


def test_a_higher_skill_scores_more_on_average_over_seeds():
    means = {skill: statistics.mean(play(skill, seed).score for seed in SEEDS) for skill in SKILLS}
    assert means["novice"] < means["casual"] < means["expert"], means


def test_games_evolve_like_a_persons():
    game = play("casual", 3)
    assert game.over and game.lives == 0
    assert game.level > 1  # cleared at least one wave
    assert game.shots > game.score / 30  # shots miss too: more shots than a perfect squid-only aim needs
    assert 60 < game.time < 10 * 60


@pytest.mark.parametrize("skill", list(SKILLS))
def test_the_same_seeds_give_the_same_game(skill):
    first, second = play(skill, 5, ticks=60 * TICK_RATE), play(skill, 5, ticks=60 * TICK_RATE)
    assert (first.score, first.shots, first.level, first.lives, first.tick) == \
        (second.score, second.shots, second.level, second.lives, second.tick)
    another_player = play(skill, 5, ticks=60 * TICK_RATE, pilot_seed=7)
    assert (another_player.score, another_player.shots) != (first.score, first.shots)
