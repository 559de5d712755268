"""Controls without key releases: a tap moves a few cells, a held key moves without a stop while the
terminal's repeat delay passes, a release stops within a couple of cells, an opposite key turns at once."""
from __future__ import annotations

import pytest

from spaceinvaders_engine import Game, Intents
from spaceinvaders_engine.geometry import TICK_RATE
from spaceinvaders_tui.controls import CannonControl, direction_of

FRAME = 1 / TICK_RATE


def play(presses: list[tuple[float, int]], seconds: float, *, fire_at: tuple[float, ...] = ()) -> list[float]:
    """The cannon's distance from its start, frame by frame, for key presses at the given times."""
    game = Game(1)
    game.bomb_ticks = game.mystery_ticks = game.beat_ticks = 10**9
    control = CannonControl()
    start = game.cannon.x
    pending = sorted(presses)
    shots = sorted(fire_at)
    track = []
    for frame in range(round(seconds * TICK_RATE)):
        now = frame * FRAME
        while pending and pending[0][0] <= now:
            control.press(pending.pop(0)[1], now)
        while shots and shots[0] <= now:
            shots.pop(0)
            control.fire()
        game.step(FRAME, control.intents(now))
        game.beat_ticks = 10**9
        track.append(game.cannon.x - start)
    return track


def held(delay: float, gap: float, until: float, direction: int = 1, start: float = 0.0) -> list[tuple[float, int]]:
    """A key held from `start` to `until`: a press, the repeat delay, then a repeat every `gap`."""
    presses = [(start, direction)]
    t = start + delay
    while t <= until:
        presses.append((t, direction))
        t += gap
    return presses


def test_a_tap_moves_at_least_the_engines_three_cells_and_then_stops():
    track = play([(0.0, 1)], 1.5)
    assert 3.0 <= track[-1] <= 5.0
    assert track[-1] == track[-10]  # at rest


def moves_all_along(track: list[float], start: float, end: float, direction: int = 1) -> bool:
    """Over any 5 frames (1/6 s) between `start` and `end` the cannon moved: it never stood still."""
    part = track[round(start * TICK_RATE): round(end * TICK_RATE)]
    return all((later - earlier) * direction > 0 for earlier, later in zip(part, part[5:], strict=False))


@pytest.mark.parametrize("delay", [0.25, 0.4, 0.5])
def test_a_held_key_never_stops_while_the_first_repeat_is_awaited(delay):
    assert moves_all_along(play(held(delay, 1 / 30, 1.2), 1.2), 0.0, 1.1)


def test_a_terminal_slower_than_the_default_delay_is_learned_from_the_first_hold():
    """X11's default 660 ms: the first hold pauses briefly past 0.56 s; the next ones do not."""
    first = held(0.66, 0.04, 1.2)
    second = held(0.66, 0.04, 3.2, direction=-1, start=2.0)
    track = play(first + second, 3.3)
    assert not moves_all_along(track, 0.0, 1.1)
    assert moves_all_along(track, 2.0, 3.1, direction=-1)


def test_without_the_control_the_engine_alone_stops_for_the_repeat_delay():
    """The reason for CannonControl: fed straight to the engine, a held key pauses (here 300 ms)."""
    game = Game(1)
    game.bomb_ticks = game.mystery_ticks = game.beat_ticks = 10**9
    presses = [t for t, _ in held(0.5, 1 / 30, 1.0)]
    track = []
    for frame in range(30):
        now = frame * FRAME
        intents = Intents(move_right=True) if presses and presses[0] <= now else None
        while presses and presses[0] <= now:
            presses.pop(0)
        game.step(FRAME, intents)
        track.append(game.cannon.x)
    assert track[9] == track[14]  # standing still between 0.2 s and 0.5 s


def test_the_learned_repeat_delay_ends_the_creep_soon_after_the_first_repeat_would_come():
    control = CannonControl()
    for t, d in held(0.3, 0.04, 1.0):
        control.press(d, t)
    assert control.repeat_delay == pytest.approx(0.3)
    assert control.repeat_gap == pytest.approx(0.04)


def test_a_released_key_stops_within_two_cells():
    track = play(held(0.5, 1 / 30, 1.0), 1.6)
    at_release = track[round(1.0 * TICK_RATE)]
    assert track[-1] - at_release <= 2.0
    assert track[-1] == track[-5]


def test_an_opposite_key_turns_at_once():
    track = play([(0.0, 1), (0.1, -1)], 0.5)
    turn = round(0.1 * TICK_RATE)
    assert track[turn + 1] < track[turn]


def test_fire_is_one_shot_per_press():
    game = Game(1)
    control = CannonControl()
    control.fire()
    assert control.intents(0.0).fire
    assert not control.intents(FRAME).fire
    assert game.step(FRAME, Intents(fire=True))


def test_keys():
    assert [direction_of(k) for k in ("left", "a", "h", "right", "d", "l", "space")] == [-1, -1, -1, 1, 1, 1, 0]
