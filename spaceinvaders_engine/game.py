"""The game: its whole state, advanced by `step(dt, intents)` in fixed ticks of 1/TICK_RATE s.

Deterministic: the only randomness is `random.Random(seed)` (and only its `random()`, whose sequence
Python keeps stable), time is counted in integer nanoseconds, and intents take effect on the next
tick. The same seed and the same intents on the same ticks give the same game, however the time
between calls is cut up.
"""
from __future__ import annotations

import copy
import random
from enum import StrEnum

from . import events as ev
from .entities import Bomb, BombKind, Cannon, Explosion, ExplosionKind, Missile, Mystery
from .formation import Formation
from .geometry import (
    CANNON_ROW,
    CANNON_START_X,
    CANNON_WIDTH,
    FIELD_HEIGHT,
    FIELD_WIDTH,
    FORMATION_COLUMNS,
    FORMATION_START_X,
    INVADER_WIDTH,
    MYSTERY_ROW,
    MYSTERY_WIDTH,
    SHIELD_BOTTOM_ROW,
    SHIELD_TOP_ROW,
    TICK_NS,
    TICK_RATE,
)
from .intents import NO_INTENTS, Intents
from .rules import (
    BOMB_DAMAGE,
    BOMB_EXPLOSION_TICKS,
    BOMB_SPLASH,
    CANNON_EXPLOSION_TICKS,
    CANNON_SPEED,
    EXTRA_LIFE_SCORE,
    GLIDE_TICKS,
    INVADER_EXPLOSION_TICKS,
    MAX_LIVES,
    MISSILE_DAMAGE,
    MISSILE_EXPLOSION_TICKS,
    MISSILE_SPEED,
    MISSILE_START_Y,
    MYSTERY_EXPLOSION_TICKS,
    MYSTERY_INTERVAL,
    MYSTERY_MIN_INVADERS,
    MYSTERY_SPEED,
    POINTS,
    ROW_KINDS,
    START_LIVES,
    WAVE_BREAK_TICKS,
    beat_ticks,
    bomb_interval,
    bomb_speed,
    formation_top_row,
    mystery_bonus,
)
from .shields import Shields

BOMB_CYCLE = (BombKind.ROLLING, BombKind.PLUNGER, BombKind.SQUIGGLY)
SLACK_NS = 1_000  # a step this close to a tick boundary reaches it: float dts that should add up, do
MAX_STEP_SECONDS = 3600  # more is surely a clock reading passed for a duration (and would run for hours)


class Phase(StrEnum):
    PLAYING = "playing"
    DYING = "dying"  # the cannon was hit: everything holds while it explodes, then the next one comes in
    WAVE_BREAK = "wave_break"  # the wave was cleared; the next one comes after a short break
    GAME_OVER = "game_over"  # only explosions still burn out


class Game:
    """One player's game. Read its attributes to draw it or to steer a bot; change them only via `step`."""

    __slots__ = (
        "_clock_ns",
        "_events",
        "_pending",
        "_rng",
        "beat_ticks",
        "bomb_ticks",
        "bombs",
        "cannon",
        "explosions",
        "extra_life_awarded",
        "formation",
        "hold_ticks",
        "level",
        "lives",
        "missile",
        "mystery",
        "mystery_ticks",
        "next_bomb",
        "phase",
        "phase_ticks",
        "score",
        "seed",
        "shields",
        "shots",
        "shots_in_wave",
        "tick",
    )

    def __init__(self, seed: int, *, level: int = 1) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        if not isinstance(level, int) or isinstance(level, bool) or level < 1:
            raise ValueError(f"level must be an int of at least 1, not {level!r}")
        self.seed = seed
        self._rng = random.Random(seed)
        self.level = level
        self.score = 0
        self.shots = 0  # missiles fired in the whole game (GameStatus Shots)
        self.lives = START_LIVES
        self.extra_life_awarded = False
        self.tick = 0  # ticks simulated so far
        self.phase = Phase.PLAYING
        self.phase_ticks = 0  # ticks left in DYING or WAVE_BREAK
        self.cannon = Cannon(CANNON_START_X)
        self.missile: Missile | None = None
        self.bombs: list[Bomb] = []
        self.mystery: Mystery | None = None
        self.explosions: list[Explosion] = []
        self.shields = Shields()
        self.formation = Formation(FORMATION_START_X, formation_top_row(level))
        self.shots_in_wave = 0
        self.mystery_ticks = MYSTERY_INTERVAL  # until the mystery ship may show up
        self.hold_ticks = 0  # the formation holds still while an invader explodes
        self.next_bomb = 0  # index in BOMB_CYCLE of the kind tried first
        self.beat_ticks = self._beat()  # until the formation's next row move
        self.bomb_ticks = self._bomb_wait()  # until the next bomb
        self._clock_ns = 0  # time received but not yet simulated
        self._pending = NO_INTENTS  # intents waiting for the next tick
        self._events: list[ev.Event] = []

    # -- reading -----------------------------------------------------------------------------------

    def status(self) -> dict[str, int]:
        """The player's GameStatus, with the API's field names (what `StatusPublisher` posts)."""
        return {"Score": self.score, "Shots": self.shots, "Level": self.level, "Lives": self.lives}

    @property
    def over(self) -> bool:
        return self.phase is Phase.GAME_OVER

    @property
    def time(self) -> float:
        """Seconds simulated so far."""
        return self.tick / TICK_RATE

    def clone(self) -> Game:
        """An independent copy (for a bot looking ahead): stepping it leaves this game alone."""
        return copy.deepcopy(self)

    # -- advancing ---------------------------------------------------------------------------------

    def step(self, dt: float, intents: Intents | None = None) -> list[ev.Event]:
        """Let `dt` seconds pass, with `intents` taking effect on the next tick; answers the events.

        Time shorter than a tick is kept for the next call (and the intents wait with it, so none is
        lost); a long dt runs many ticks, the intents applying to the first.
        """
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not 0 <= dt <= MAX_STEP_SECONDS:
            raise ValueError(f"dt must be a number of seconds from 0 to {MAX_STEP_SECONDS}, not {dt!r}")
        if intents is not None and intents is not NO_INTENTS:
            if not isinstance(intents, Intents):
                raise TypeError(f"intents must be an Intents, not {type(intents).__name__}")
            if intents:
                self._pending = intents if self._pending is NO_INTENTS else self._pending | intents
        self._clock_ns += round(dt * 1e9)
        events: list[ev.Event] = []
        self._events = events
        while self._clock_ns >= TICK_NS - SLACK_NS:
            self._clock_ns -= TICK_NS
            self._tick()
        return events

    def _tick(self) -> None:
        self.tick += 1
        intents = self._pending
        self._pending = NO_INTENTS
        if self.explosions:
            self._burn_explosions()
        phase = self.phase
        if phase is Phase.PLAYING:
            if intents is not NO_INTENTS:
                self._steer(intents)
            if self.cannon.glide_ticks:
                self._move_cannon()
            if intents.fire and self.missile is None:
                self._fire()
            if self.missile is not None:
                self._move_missile()
            if self.bombs and self.phase is Phase.PLAYING:
                self._move_bombs()
            if self.phase is Phase.PLAYING:
                self._march()
            if self.phase is Phase.PLAYING:
                self.bomb_ticks -= 1
                if self.bomb_ticks <= 0:
                    self._drop_bomb()
                self._fly_mystery()
        elif phase is Phase.DYING:
            self.phase_ticks -= 1
            if self.phase_ticks <= 0:
                self._next_cannon()
        elif phase is Phase.WAVE_BREAK:
            if intents is not NO_INTENTS:
                self._steer(intents)
            if self.cannon.glide_ticks:
                self._move_cannon()
            self.phase_ticks -= 1
            if self.phase_ticks <= 0:
                self._next_wave()

    # -- the cannon and its missile ----------------------------------------------------------------

    def _steer(self, intents: Intents) -> None:
        cannon = self.cannon
        if intents.move_left != intents.move_right:
            cannon.direction = -1 if intents.move_left else 1
            cannon.glide_ticks = GLIDE_TICKS
        elif intents.move_left:  # both at once: they cancel out, the cannon stops
            cannon.direction = 0
            cannon.glide_ticks = 0

    def _move_cannon(self) -> None:
        cannon = self.cannon
        x = cannon.x + cannon.direction * CANNON_SPEED
        cannon.glide_ticks -= 1
        if x <= 0.0 or x >= cannon.max_x:
            x = min(max(x, 0.0), cannon.max_x)
            cannon.glide_ticks = 0
        cannon.x = x
        if not cannon.glide_ticks:
            cannon.direction = 0

    def _fire(self) -> None:
        self.shots += 1
        self.shots_in_wave += 1
        x = self.cannon.muzzle
        self.missile = Missile(x, MISSILE_START_Y, -MISSILE_SPEED, self.shots_in_wave)
        self._events.append(ev.ShotFired(self.tick, x, self.shots))

    def _move_missile(self) -> None:
        missile = self.missile
        assert missile is not None
        y = missile.y + missile.dy
        missile.y = y
        x = missile.x
        if y < 0:
            self.missile = None
            self._burst(ExplosionKind.MISSILE, x, MYSTERY_ROW, MISSILE_EXPLOSION_TICKS)
            self._events.append(ev.MissileSpent(self.tick, x))
            return
        row = int(y)
        if SHIELD_TOP_ROW <= row <= SHIELD_BOTTOM_ROW and self.shields.rows[row - SHIELD_TOP_ROW][x]:
            self.missile = None
            self.shields.erode(x, row, MISSILE_DAMAGE)
            self._burst(ExplosionKind.MISSILE, x, row, MISSILE_EXPLOSION_TICKS)
            self._events.append(ev.ShieldHit(self.tick, Shields.index_at(x), x, row, "missile"))
            return
        mystery = self.mystery
        if row == MYSTERY_ROW and mystery is not None and 0 <= x - int(mystery.x) < MYSTERY_WIDTH:
            self._hit_mystery(missile, mystery)
            return
        hit = self.formation.invader_at(x, row)
        if hit is not None:
            self._kill(*hit)

    def _kill(self, row: int, column: int) -> None:
        formation = self.formation
        kind = ROW_KINDS[row]
        points = POINTS[kind]
        x, y = formation.invader_x(row, column), formation.row_y[row]
        formation.kill(row, column)
        self.missile = None
        self.hold_ticks = INVADER_EXPLOSION_TICKS
        self._burst(ExplosionKind.INVADER, x, y, INVADER_EXPLOSION_TICKS, points)
        self._events.append(ev.InvaderKilled(self.tick, kind, points, x, y, row, column, formation.count))
        self._add_score(points)
        if not formation.count:
            self._clear_wave()

    def _hit_mystery(self, missile: Missile, mystery: Mystery) -> None:
        points = mystery_bonus(missile.ordinal)
        x = int(mystery.x)
        self.missile = None
        self.mystery = None
        self._burst(ExplosionKind.MYSTERY, x, MYSTERY_ROW, MYSTERY_EXPLOSION_TICKS, points)
        self._events.append(ev.MysteryHit(self.tick, points, x))
        self._add_score(points)

    def _add_score(self, points: int) -> None:
        self.score += points
        if not self.extra_life_awarded and self.score >= EXTRA_LIFE_SCORE:
            self.extra_life_awarded = True
            self.lives = min(self.lives + 1, MAX_LIVES)
            self._events.append(ev.ExtraLife(self.tick, self.lives))

    # -- bombs -------------------------------------------------------------------------------------

    def _move_bombs(self) -> None:
        missile = self.missile
        cannon = self.cannon
        shield_rows = self.shields.rows
        kept: list[Bomb] | None = None  # built only once a bomb is gone
        for i, bomb in enumerate(self.bombs):
            y0 = bomb.y
            y = bomb.y = y0 + bomb.dy
            bomb.age += 1
            x = bomb.x
            row = int(y)
            gone = True
            if (missile is not None and missile.x == x and missile.y - y < 1.0
                    and missile.y - missile.dy - y0 > -1.0):  # they overlap or crossed during this tick
                self.missile = missile = None
                self._burst(ExplosionKind.BOMB, x, row, BOMB_EXPLOSION_TICKS)
                self._events.append(ev.BombShotDown(self.tick, bomb.kind, x, row))
            elif row >= FIELD_HEIGHT:
                self._burst(ExplosionKind.BOMB, x, CANNON_ROW, BOMB_EXPLOSION_TICKS)
                self._events.append(ev.BombLanded(self.tick, bomb.kind, x))
            elif SHIELD_TOP_ROW <= row <= SHIELD_BOTTOM_ROW and shield_rows[row - SHIELD_TOP_ROW][x]:
                self._bomb_shield(bomb, x, row)
            elif row == CANNON_ROW and 0 <= x - int(cannon.x) < CANNON_WIDTH:
                self._lose_life("bomb")
                return  # the bombs were all cleared
            else:
                gone = False
            if gone and kept is None:
                kept = self.bombs[:i]
            elif not gone and kept is not None:
                kept.append(bomb)
        if kept is not None:
            self.bombs = kept

    def _bomb_shield(self, bomb: Bomb, x: int, row: int) -> None:
        shields = self.shields
        shields.erode(x, row, BOMB_DAMAGE)
        shields.erode(x - 1, row, BOMB_SPLASH)
        shields.erode(x + 1, row, BOMB_SPLASH)
        self._burst(ExplosionKind.BOMB, x, row, BOMB_EXPLOSION_TICKS)
        self._events.append(ev.ShieldHit(self.tick, Shields.index_at(x), x, row, "bomb"))

    def _drop_bomb(self) -> None:
        formation = self.formation
        falling = [bomb.kind for bomb in self.bombs]
        for i in range(len(BOMB_CYCLE)):
            kind = BOMB_CYCLE[(self.next_bomb + i) % len(BOMB_CYCLE)]
            if (kind in falling or (kind is BombKind.PLUNGER and formation.count == 1)
                    or (kind is BombKind.SQUIGGLY and self.mystery is not None)):
                continue
            column = self._aim(kind)
            row = formation.lowest_in_column(column)
            x, y = formation.invader_x(row, column) + INVADER_WIDTH // 2, formation.row_y[row]
            speed = bomb_speed(self.level, formation.count)
            self.bombs.append(Bomb(kind, x, float(y), speed))
            self._events.append(ev.BombDropped(self.tick, kind, x, y, speed * TICK_RATE))
            self.next_bomb = (self.next_bomb + i + 1) % len(BOMB_CYCLE)
            self.bomb_ticks = self._bomb_wait()
            return
        self.bomb_ticks = 1  # every kind is falling: the next one goes as soon as one is gone

    def _aim(self, kind: BombKind) -> int:
        """The formation column a bomb of `kind` drops from."""
        formation = self.formation
        columns = formation.columns()
        if kind is not BombKind.ROLLING:
            return columns[int(self._rng.random() * len(columns))]
        target = self.cannon.muzzle
        return min(columns, key=lambda c: abs(
            formation.invader_x(formation.lowest_in_column(c), c) + INVADER_WIDTH // 2 - target))

    def _bomb_wait(self) -> int:
        """Ticks until the next bomb: the level's interval, give or take a quarter."""
        return max(1, round(bomb_interval(self.level) * (0.75 + 0.5 * self._rng.random())))

    # -- the formation and the mystery ship --------------------------------------------------------

    def _beat(self) -> int:
        formation = self.formation
        return beat_ticks(formation.count, formation.rows_alive, self.level)

    def _march(self) -> None:
        if self.hold_ticks:
            self.hold_ticks -= 1
            return
        self.beat_ticks -= 1
        if self.beat_ticks > 0:
            return
        formation = self.formation
        row = formation.advance()
        self.beat_ticks = self._beat()
        y = formation.row_y[row]
        if y >= CANNON_ROW:
            self._lose_life("invasion")
        elif SHIELD_TOP_ROW <= y <= SHIELD_BOTTOM_ROW:
            bits = formation.row_alive[row]
            for column in range(FORMATION_COLUMNS):
                if bits >> column & 1:
                    x = formation.invader_x(row, column)
                    if self.shields.clear(x, INVADER_WIDTH, y):
                        self._events.append(ev.ShieldHit(self.tick, Shields.index_at(x), x, y, "invader"))

    def _fly_mystery(self) -> None:
        mystery = self.mystery
        if mystery is not None:
            mystery.x += mystery.dx
            if not 0.0 <= mystery.x <= FIELD_WIDTH - MYSTERY_WIDTH:
                self.mystery = None
                self._events.append(ev.MysteryEscaped(self.tick))
            return
        self.mystery_ticks -= 1
        if self.mystery_ticks > 0:
            return
        self.mystery_ticks = MYSTERY_INTERVAL
        if self.formation.count >= MYSTERY_MIN_INVADERS:
            direction = 1 if self.shots % 2 else -1  # the arcade picks the side by the shot count
            x = 0.0 if direction > 0 else float(FIELD_WIDTH - MYSTERY_WIDTH)
            self.mystery = Mystery(x, direction * MYSTERY_SPEED)
            self._events.append(ev.MysteryAppeared(self.tick, x, direction))

    # -- lives and waves ---------------------------------------------------------------------------

    def _lose_life(self, cause: ev.LossCause) -> None:
        cannon = self.cannon
        cannon.alive = False
        cannon.direction = cannon.glide_ticks = 0
        self.lives = 0 if cause == "invasion" else self.lives - 1
        self.bombs = []
        self.missile = None
        self._burst(ExplosionKind.CANNON, int(cannon.x), CANNON_ROW, CANNON_EXPLOSION_TICKS)
        self._events.append(ev.LifeLost(self.tick, self.lives, cause))
        if self.lives:
            self.phase = Phase.DYING
            self.phase_ticks = CANNON_EXPLOSION_TICKS
        else:
            self.phase = Phase.GAME_OVER
            self._events.append(ev.GameOver(self.tick, "lives" if cause == "bomb" else "invasion", self.score))

    def _next_cannon(self) -> None:
        self.cannon = Cannon(CANNON_START_X)
        self.phase = Phase.PLAYING
        self.bomb_ticks = self._bomb_wait()
        self._events.append(ev.CannonReady(self.tick, self.cannon.x))

    def _clear_wave(self) -> None:
        self.level += 1
        self.bombs = []
        self.missile = None
        self.mystery = None
        self.phase = Phase.WAVE_BREAK
        self.phase_ticks = WAVE_BREAK_TICKS
        self._events.append(ev.LevelUp(self.tick, self.level))

    def _next_wave(self) -> None:
        self.formation = Formation(FORMATION_START_X, formation_top_row(self.level))
        self.shields.restore()
        self.shots_in_wave = 0
        self.mystery_ticks = MYSTERY_INTERVAL
        self.hold_ticks = 0
        self.beat_ticks = self._beat()
        self.bomb_ticks = self._bomb_wait()
        self.phase = Phase.PLAYING
        self._events.append(ev.WaveStarted(self.tick, self.level))

    # -- explosions --------------------------------------------------------------------------------

    def _burst(self, kind: ExplosionKind, x: int, y: int, duration: int, points: int = 0) -> None:
        self.explosions.append(Explosion(kind, x, y, duration, points))

    def _burn_explosions(self) -> None:
        expired = False
        for explosion in self.explosions:
            explosion.ticks_left -= 1
            if explosion.ticks_left <= 0:
                expired = True
        if expired:
            self.explosions = [e for e in self.explosions if e.ticks_left > 0]
