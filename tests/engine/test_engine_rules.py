"""The formation's march, the cannon's controls, the one missile, and how the invaders drop bombs."""
from __future__ import annotations

from engine_support import NEVER, calm, frozen, of, ticks

from spaceinvaders_engine import (
    FIELD_WIDTH,
    FIRE,
    LEFT,
    RIGHT,
    BombKind,
    Game,
    Intents,
    InvaderKind,
    Mystery,
)
from spaceinvaders_engine import events as ev
from spaceinvaders_engine.geometry import CANNON_ROW, FORMATION_START_X, SHIELD_FULL
from spaceinvaders_engine.rules import GLIDE_TICKS, bomb_speed, march_period


def test_a_new_game_has_the_classic_layout():
    game = Game(seed=1)
    invaders = list(game.formation.invaders())
    assert len(invaders) == 55 == game.formation.count
    kinds = {row: {i.kind for i in invaders if i.row == row} for row in range(5)}
    assert kinds == {0: {InvaderKind.SQUID}, 1: {InvaderKind.CRAB}, 2: {InvaderKind.CRAB},
                     3: {InvaderKind.OCTOPUS}, 4: {InvaderKind.OCTOPUS}}
    assert sorted({i.y for i in invaders}) == [2, 4, 6, 8, 10]
    assert sorted({i.x for i in invaders}) == [FORMATION_START_X + 4 * c for c in range(11)]
    assert game.shields.cells_left() == 4 * 14
    assert {level for row in game.shields.rows for level in row} == {0, SHIELD_FULL}
    assert (game.cannon.x, game.cannon.y, game.cannon.alive) == (2.0, CANNON_ROW, True)
    assert game.status() == {"Score": 0, "Shots": 0, "Level": 1, "Lives": 3}


def test_rows_move_one_at_a_time_bottom_first():
    game = calm(Game(seed=1))
    moves = []
    for _ in range(30):
        before = list(game.formation.row_x)
        ticks(game, 1)
        moves += [r for r in range(5) if game.formation.row_x[r] != before[r]]
    assert moves == [4, 3, 2, 1, 0]  # the full formation moves one cell a second at level 1
    assert game.formation.row_x == [FORMATION_START_X + 1] * 5
    assert game.formation.row_frame == [1] * 5  # each row changed its animation frame as it moved


def test_the_formation_steps_down_at_the_edges_and_turns_round():
    game = calm(Game(seed=1))
    f = game.formation
    history = []
    for _ in range(60 * 30):
        ticks(game, 1)
        xs = [i.x for i in f.invaders()]
        assert 0 <= min(xs) and max(xs) + 2 <= FIELD_WIDTH - 1
        history.append((f.row_x[0], f.row_y[0], f.direction))
    first_down = next(i for i, (_, y, _) in enumerate(history) if y == 3)
    assert history[first_down][0] + 42 == FIELD_WIDTH - 1  # it stepped down when touching the right edge
    assert history[first_down - 1][2] == 1  # it was marching right
    turned = next(i for i, (_, _, d) in enumerate(history) if d == -1)
    assert turned > first_down
    # after the descent the rows march left: x only decreases until the left edge
    xs_after = [x for x, y, d in history[turned:] if y == 3]
    assert xs_after == sorted(xs_after, reverse=True) and xs_after[-1] < xs_after[0]


def ticks_per_cell(game: Game) -> int:
    """Ticks the formation takes to move every live row one cell."""
    f = game.formation
    start = [f.row_x[r] for r in range(5) if f.row_alive[r]]
    for n in range(1, 200):
        ticks(game, 1)
        if all(f.row_x[r] != x for r, x in zip([r for r in range(5) if f.row_alive[r]], start, strict=True)):
            return n
    raise AssertionError("the formation did not move")


def test_the_formation_speeds_up_as_it_thins():
    full = calm(Game(seed=1))
    assert ticks_per_cell(full) == 30
    half = calm(Game(seed=1))
    for r in range(3):
        for c in range(11):
            half.formation.kill(r, c)
    ticks_per_cell(half)  # the beat set before the kills runs out first
    assert ticks_per_cell(half) < 30
    for level, expected in [(1, 5), (2, 4), (3, 3), (9, 3)]:  # the last invader: 6, 7.5, then 10 cells a second
        last = calm(Game(seed=1, level=level))
        for r in range(5):
            for c in range(11):
                if (r, c) != (4, 5):
                    last.formation.kill(r, c)
        ticks_per_cell(last)
        assert ticks_per_cell(last) == expected
    periods = [march_period(alive, 1) for alive in range(1, 56)]
    assert periods == sorted(periods) and periods[0] < periods[-1]


def test_a_tap_glides_the_cannon_three_cells_then_it_stops():
    game = frozen(Game(seed=1))
    ticks(game, 1, RIGHT)
    assert game.cannon.x == 2.5 and game.cannon.rest_x(0.5) == 5.0
    ticks(game, GLIDE_TICKS + 5)
    assert game.cannon.x == 5.0 and game.cannon.direction == 0
    ticks(game, 1, LEFT)
    ticks(game, GLIDE_TICKS)
    assert game.cannon.x == 2.0


def test_repeated_presses_keep_the_cannon_moving_and_it_stops_at_the_edges():
    game = frozen(Game(seed=1))
    xs = []
    for tick in range(40):  # a held key: the terminal repeats it every other frame
        game.step(1 / 30, RIGHT if tick % 2 == 0 else None)
        xs.append(game.cannon.x)
    assert xs == [2.0 + 0.5 * (i + 1) for i in range(40)]
    ticks(game, 200, RIGHT)
    assert game.cannon.x == FIELD_WIDTH - 3 and game.cannon.glide_ticks == 0
    ticks(game, 200, LEFT)
    assert game.cannon.x == 0.0


def test_an_opposite_press_turns_at_once_and_both_at_once_stop():
    game = frozen(Game(seed=1))
    ticks(game, 1, RIGHT)
    ticks(game, 1, LEFT)
    assert game.cannon.x == 2.0 and game.cannon.direction == -1
    ticks(game, 1, Intents(move_left=True, move_right=True))
    assert game.cannon.direction == 0 and game.cannon.glide_ticks == 0
    x = game.cannon.x
    ticks(game, 10)
    assert game.cannon.x == x


def test_one_missile_at_a_time_and_shots_count_missiles_fired():
    game = frozen(Game(seed=1))
    game.cannon.x = 0.0  # the column left of the shields: nothing in the way but the top
    events = ticks(game, 1, FIRE)
    assert of(events, ev.ShotFired) == [ev.ShotFired(1, 1, 1)]
    assert (game.missile.x, game.missile.y) == (1, 17.25)
    events = ticks(game, 10, FIRE)  # fire pressed again while the missile flies: nothing
    assert not of(events, ev.ShotFired) and game.shots == 1
    events = ticks(game, 30, FIRE)
    assert len(of(events, ev.MissileSpent)) == 1 and game.shots == 2
    assert game.status()["Shots"] == 2


def bombs_dropped(game: Game, n_ticks: int) -> list[ev.BombDropped]:
    dropped = []
    for _ in range(n_ticks):
        dropped += of(game.step(1 / 30), ev.BombDropped)
        assert len({b.kind for b in game.bombs}) == len(game.bombs) <= 3  # one of each kind at most
        game.bombs[:] = [b for b in game.bombs if b.y < 17]  # gone before they reach the cannon
    return dropped


def test_bombs_come_in_three_kinds_one_of_each_at_most():
    game = Game(seed=5)
    game.beat_ticks = game.mystery_ticks = NEVER
    dropped = bombs_dropped(game, 30 * 30)
    assert {b.kind for b in dropped} == set(BombKind)
    assert all(b.speed == bomb_speed(1, 55) * 30 for b in dropped)


def test_the_rolling_bomb_drops_from_the_column_nearest_the_cannon():
    game = Game(seed=5)
    game.beat_ticks = game.mystery_ticks = NEVER
    game.cannon.x = 29.0  # muzzle 30: column 6's centre is 5 + 24 + 1 = 30
    rolling = [b for b in bombs_dropped(game, 30 * 30) if b.kind is BombKind.ROLLING]
    assert rolling and all((b.x, b.y) == (30, 10) for b in rolling)


def test_no_plunger_with_a_single_invader_and_no_squiggly_while_the_mystery_ship_flies():
    game = Game(seed=5)
    game.beat_ticks = game.mystery_ticks = NEVER
    for r in range(5):
        for c in range(11):
            if (r, c) != (0, 0):
                game.formation.kill(r, c)
    assert BombKind.PLUNGER not in {b.kind for b in bombs_dropped(game, 30 * 30)}
    game = Game(seed=5)
    game.beat_ticks = game.mystery_ticks = NEVER
    game.mystery = Mystery(20.0, 0.0)
    kinds = {b.kind for b in bombs_dropped(game, 30 * 30)}
    assert kinds == {BombKind.ROLLING, BombKind.PLUNGER}


def test_the_mystery_ship_comes_25_seconds_after_the_last_one_left():
    game = frozen(Game(seed=1))
    game.mystery_ticks = 750
    events = ticks(game, 750 * 2 + 200)
    appeared = of(events, ev.MysteryAppeared)
    escaped = of(events, ev.MysteryEscaped)
    assert appeared[0].tick == 750 and 120 < escaped[0].tick - 750 < 140  # 49 cells at 11.25 a second
    assert appeared[0].direction == -1 and appeared[0].x == FIELD_WIDTH - 5  # even shot count: from the right
    assert appeared[1].tick == escaped[0].tick + 750  # the next one 25 s after the last one has gone
