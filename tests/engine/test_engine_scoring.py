"""Points, the extra life, and the GameStatus the player posts."""
from __future__ import annotations

import pytest
from engine_support import frozen, of, ticks, until

from api_client import GameStatus
from spaceinvaders_engine import FIRE, Game, InvaderKind
from spaceinvaders_engine import events as ev
from spaceinvaders_engine.rules import EXTRA_LIFE_SCORE, MYSTERY_BONUS, POINTS, mystery_bonus


def test_points_by_kind():
    assert POINTS == {InvaderKind.SQUID: 30, InvaderKind.CRAB: 20, InvaderKind.OCTOPUS: 10}
    assert sum(POINTS[k] * n for k, n in [(InvaderKind.SQUID, 11), (InvaderKind.CRAB, 22),
                                          (InvaderKind.OCTOPUS, 22)]) == 990  # a whole wave


@pytest.mark.parametrize(("ordinal", "bonus"), [(1, 50), (8, 300), (15, 100), (23, 300), (38, 300), (37, 50), (13, 150)])
def test_the_mystery_bonus_follows_the_shot_count(ordinal, bonus):
    assert mystery_bonus(ordinal) == bonus
    assert set(MYSTERY_BONUS) == {50, 100, 150, 300}


def test_one_extra_life_at_1500():
    game = frozen(Game(seed=1))
    game.cannon.x = 13.0
    game.score = EXTRA_LIFE_SCORE - 10
    ticks(game, 1, FIRE)
    until(game, ev.InvaderKilled)
    assert game.score == EXTRA_LIFE_SCORE and game.lives == 4
    events = []
    for _ in range(3):  # more points: no second extra life
        events += ticks(game, 1, FIRE)
        events += [until(game, ev.InvaderKilled)]
    assert not of(events, ev.ExtraLife) and game.lives == 4


def test_the_extra_life_event_comes_with_the_kill():
    game = frozen(Game(seed=1))
    game.cannon.x = 13.0
    game.score = EXTRA_LIFE_SCORE - 5
    events = ticks(game, 1, FIRE)
    while not of(events, ev.InvaderKilled):
        events += ticks(game, 1)
    assert [type(e) for e in events[-2:]] == [ev.InvaderKilled, ev.ExtraLife] and events[-1].lives == 4


def test_status_uses_the_apis_field_names():
    game = frozen(Game(seed=1))
    game.cannon.x = 13.0
    ticks(game, 1, FIRE)
    until(game, ev.InvaderKilled)
    ticks(game, 1, FIRE)
    assert game.status() == {"Score": 10, "Shots": 2, "Level": 1, "Lives": 3}
    assert all(type(v) is int for v in game.status().values())
    assert GameStatus.model_validate(game.status()) == GameStatus(Score=10, Shots=2, Level=1, Lives=3)
