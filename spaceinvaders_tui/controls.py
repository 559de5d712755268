"""Key presses to the engine's intents, so that a held key moves the cannon without a stop.

Terminals send presses and auto-repeats, never releases. A held key arrives as one press, then nothing
for the terminal's repeat delay (a quarter to two thirds of a second), then a repeat every 30-40 ms.
The engine glides 200 ms (3 cells) per press, so on its own a held key moves the cannon 3 cells, stops,
and moves on once the repeats start.

`CannonControl` owns the cannon's motion instead, deciding every frame whether to move, creep or stop:

- a fresh press moves at full speed for the engine's glide (a tap still moves 3 cells);
- then, while a repeat may still come (the repeat delay learned from this terminal, 0.5 s until then),
  the cannon creeps on at a third of its speed, so a held key never stops;
- once the repeats come, the key is held: full speed until no repeat arrived for a little more than
  the learned repeat interval, then a stop (1-2 cells past the release instead of the engine's 3).

The delay and interval are learned from the player's own holds (medians of the last few), so the
creep ends soon after the first repeat would have come. Opposite presses turn at once.
"""
from __future__ import annotations

from collections import deque
from statistics import median

from spaceinvaders_engine import Intents, rules
from spaceinvaders_engine.geometry import TICK_RATE

LEFT_KEYS = ("left", "a", "h")
RIGHT_KEYS = ("right", "d", "l")
FIRE_KEYS = ("space",)

GLIDE_SECONDS = rules.GLIDE_TICKS / TICK_RATE  # a tap's full-speed run, as the engine's own glide
CREEP_EVERY = 3  # while bridging the repeat delay, move on one frame in three (5 cells/s)
DEFAULT_REPEAT_DELAY = 0.5  # common terminal and desktop default before the first repeat
DEFAULT_REPEAT_GAP = 1 / 30
DELAY_BOUNDS = (0.15, 1.0)  # a gap in this range before the first repeat is taken as the repeat delay
GAP_BOUNDS = (0.005, 0.15)  # gaps between repeats
BRIDGE_MARGIN = 0.06  # creep this long past the expected first repeat (jitter of input and frames)
RELEASE_AFTER = (0.07, 0.2)  # bounds of the silence after which a held key counts as released



class CannonControl:
    """Feed it presses with `press(direction, now)`; ask `intents(now)` once a frame (seconds, monotonic)."""

    def __init__(self) -> None:
        self.direction = 0  # -1, +1, or 0 when the cannon is left alone
        self.repeats = 0  # repeats seen in the current run of presses
        self.run_start = 0.0
        self.last_press = 0.0
        self._frames = 0  # frames of the current run (paces the creep)
        self._fire = False
        self._last_direction = 0  # of the last press, also once the cannon stopped
        self._first_repeat: float | None = None  # the delay before what looked like the first repeat
        self._delays: deque[float] = deque(maxlen=5)
        self._gaps: deque[float] = deque(maxlen=15)

    @property
    def repeat_delay(self) -> float:
        return median(self._delays) if self._delays else DEFAULT_REPEAT_DELAY

    @property
    def repeat_gap(self) -> float:
        return median(self._gaps) if self._gaps else DEFAULT_REPEAT_GAP

    @property
    def release_after(self) -> float:
        low, high = RELEASE_AFTER
        return min(high, max(low, 2 * self.repeat_gap + 1 / TICK_RATE))

    def fire(self) -> None:
        self._fire = True

    def press(self, direction: int, now: float) -> None:
        same = direction == self._last_direction
        since_start, since_last = now - self.run_start, now - self.last_press
        if same and self.repeats == 0 and DELAY_BOUNDS[0] <= since_start <= DELAY_BOUNDS[1]:
            # Perhaps the first auto-repeat (also when it came after the creep ended): learnt once the
            # next press confirms a stream of repeats, so a second tap teaches nothing.
            self._first_repeat = since_start
            self.repeats = 1
        elif same and self.repeats and since_last <= GAP_BOUNDS[1]:
            if self._first_repeat is not None:
                self._delays.append(self._first_repeat)
                self._first_repeat = None
            if since_last >= GAP_BOUNDS[0]:
                self._gaps.append(since_last)
            self.repeats += 1
        else:
            self.repeats = 0
            self.run_start = now
            self._frames = 0
            self._first_repeat = None
        self.direction = self._last_direction = direction
        self.last_press = now

    def reset(self) -> None:
        """Forget the presses (a new cannon, a pause): the cannon is left alone."""
        self.direction = self._last_direction = 0
        self._fire = False

    def _moving(self, now: float) -> bool:
        if not self.direction:
            return False
        if self.repeats == 0:
            return now - self.run_start <= max(GLIDE_SECONDS, self.repeat_delay + BRIDGE_MARGIN)
        if self.repeats == 1:  # a repeat or a second tap: at least a tap's run
            return now - self.last_press <= GLIDE_SECONDS
        return now - self.last_press <= self.release_after

    def intents(self, now: float) -> Intents:
        """What the engine should do on its next tick."""
        fire, self._fire = self._fire, False
        direction = self.direction
        if not direction:
            return Intents(fire=True) if fire else Intents()
        if not self._moving(now):
            self.direction = 0
            return Intents(move_left=True, move_right=True, fire=fire)  # both at once: the engine stops it
        self._frames += 1
        bridging = not self.repeats and now - self.run_start >= GLIDE_SECONDS
        if bridging and self._frames % CREEP_EVERY:
            return Intents(move_left=True, move_right=True, fire=fire)  # creep: stand still this frame
        return Intents(move_left=direction < 0, move_right=direction > 0, fire=fire)


def direction_of(key: str) -> int:
    """-1 for a left key, +1 for a right key, 0 otherwise."""
    if key in LEFT_KEYS:
        return -1
    if key in RIGHT_KEYS:
        return 1
    return 0
