"""CPU cost of the game engine per simulated second, at the 30 Hz a bot steps it; and how far scripted
players of three skills get, which is how the pace was tuned.

Scripted players (aim at the nearest column, lead a moving target, fire when lined up, keep out of the
way of the bombs they notice; the skill sets the reaction time, the aim's spread, the share of bombs
noticed and the lead) play whole games first; their intents are recorded, so the measured loop is the
engine alone: replaying them, one `step(1/30, intents)` per tick. The baseline is the same loop calling
an empty `step`. Medians of CPU time (process_time) over rounds.

    .venv/bin/python benchmarks/engine_cpu.py [--games 30] [--minutes 10] [--rounds 5]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

from spaceinvaders_tui.engine import FIELD_WIDTH, NO_INTENTS, TICK_RATE, Game, Intents
from spaceinvaders_tui.engine.geometry import CANNON_ROW, CANNON_WIDTH
from spaceinvaders_tui.engine.render import draw
from spaceinvaders_tui.engine.rules import (
    CANNON_SPEED,
    GLIDE_TICKS,
    MISSILE_SPEED,
    MISSILE_START_Y,
    march_period,
)

TARGET_MS = 0.5  # CPU per simulated second, so that 200 bots' engines take under a tenth of a core
DT = 1 / TICK_RATE
SKILLS = {  # reaction (ticks), aim spread (cells), share of bombs noticed, lead on a moving target
    "novice": (12, 1.5, 0.80, 0.0),
    "casual": (8, 0.8, 0.90, 0.5),
    "expert": (4, 0.3, 0.97, 1.0),
}
POSITIONS = [x / 2 for x in range(2 * (FIELD_WIDTH - CANNON_WIDTH) + 1)]  # where the cannon can rest


class ScriptedPlayer:
    def __init__(self, skill: str, seed: int) -> None:
        self.reaction, self.spread, self.notice, self.lead = SKILLS[skill]
        self.rng = random.Random(seed)
        self.noticed: dict[tuple[str, int], bool] = {}
        self.wait = 0
        self.target = 2.0
        self.danger: list[int] = []

    def safe(self, x: float) -> bool:
        return all(not int(x) - 1 <= bomb_x <= int(x) + CANNON_WIDTH for bomb_x in self.danger)

    def look(self, game: Game) -> None:
        """Pick where to stand: lined up under an invader, away from the bombs it noticed."""
        self.danger = []
        for bomb in game.bombs:
            key = (bomb.kind, game.tick - bomb.age)  # a bomb is noticed, or not, once
            if key not in self.noticed:
                self.noticed[key] = self.rng.random() < self.notice
            if self.noticed[key] and (CANNON_ROW - bomb.y) / bomb.dy < 30:  # lands within a second
                self.danger.append(bomb.x)
        formation, want = game.formation, game.cannon.x
        columns = formation.columns()
        if columns:
            column = min(columns, key=lambda c: abs(formation.invader_x(formation.lowest_in_column(c), c)
                                                    - game.cannon.x))
            row = formation.lowest_in_column(column)
            flight = (MISSILE_START_Y - formation.row_y[row]) / MISSILE_SPEED + self.reaction / 2
            lead = 0.0 if formation.descending else formation.direction * flight / march_period(
                formation.count, game.level)
            want = formation.invader_x(row, column) + self.lead * lead + self.rng.gauss(0, self.spread)
        self.target = min([x for x in POSITIONS if self.safe(x)] or POSITIONS, key=lambda x: abs(x - want))

    def intents(self, game: Game) -> Intents:
        if not game.cannon.alive:
            return NO_INTENTS
        if self.wait <= 0:
            self.look(game)
            self.wait = self.reaction + self.rng.randint(-self.reaction // 3, self.reaction // 3)
        self.wait -= 1
        cannon, glide = game.cannon, GLIDE_TICKS * CANNON_SPEED
        choices = [(cannon.rest_x(CANNON_SPEED), 0), (max(0.0, cannon.x - glide), -1),
                   (min(cannon.max_x, cannon.x + glide), 1)]  # stay, tap left, tap right
        _, _, move = min((not self.safe(x), abs(self.target - x), move) for x, move in choices)
        fire = abs(self.target - cannon.x) < 1.5 and game.missile is None
        return Intents(move_left=move < 0, move_right=move > 0, fire=fire)


def record(skill: str, games: int, minutes: float) -> list[tuple[int, list[Intents], Game]]:
    """Play `games` games (each to its end or `minutes`); answers seed, intents per tick, final state."""
    recorded = []
    for seed in range(games):
        game, player, intents = Game(seed), ScriptedPlayer(skill, seed), []
        for _ in range(int(minutes * 60 * TICK_RATE)):
            chosen = player.intents(game)
            intents.append(chosen)
            game.step(DT, chosen)
            if game.over:
                break
        recorded.append((seed, intents, game))
    return recorded


class EmptyStep:
    def step(self, dt: float, intents: Intents | None = None) -> list:
        return []


def replay(recorded: list[tuple[int, list[Intents], Game]], empty: bool) -> float:
    """CPU seconds to replay every recorded game (fresh games made outside the timed part)."""
    games = [EmptyStep() if empty else Game(seed) for seed, _, _ in recorded]
    start = time.process_time()
    for game, (_, intents, _) in zip(games, recorded, strict=True):
        step = game.step
        for chosen in intents:
            step(DT, chosen)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=30, help="games per skill")
    parser.add_argument("--minutes", type=float, default=10.0, help="longest game")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    recorded = []
    print(f"{'skill':8} {'survived (median)':>18} {'level (median, max)':>20} {'score (median)':>15} "
          f"{'lasted the limit':>17}")
    for skill in SKILLS:
        games = record(skill, args.games, args.minutes)
        recorded += games
        finals = [game for _, _, game in games]
        print(f"{skill:8} {statistics.median(g.time for g in finals):16.0f} s "
              f"{statistics.median(g.level for g in finals):13.0f}, {max(g.level for g in finals):>4} "
              f"{statistics.median(g.score for g in finals):15,.0f} {sum(not g.over for g in finals):>12}/{len(finals)}")
    seconds = sum(len(intents) for _, intents, _ in recorded) / TICK_RATE

    engine, baseline = [], []
    for _ in range(args.rounds):
        baseline.append(replay(recorded, empty=True))
        engine.append(replay(recorded, empty=False))
    engine_ms = statistics.median(engine) / seconds * 1e3
    baseline_ms = statistics.median(baseline) / seconds * 1e3
    print(f"\n{len(recorded)} games, {seconds:,.0f} simulated s at {TICK_RATE} Hz, {args.rounds} rounds")
    print(f"empty step (baseline): {baseline_ms * 1e3:7.1f} us CPU per simulated second")
    print(f"engine step:           {engine_ms * 1e3:7.1f} us CPU per simulated second "
          f"({engine_ms / baseline_ms:.0f} x the baseline; {engine_ms * 1e3 / TICK_RATE:.2f} us a tick)")
    print(f"200 bots' engines:     {engine_ms * 200 / 1e3:.3f} of a core; target {TARGET_MS} ms per simulated "
          f"second: {'met' if engine_ms <= TARGET_MS else 'MISSED'}")

    seed, intents, _ = recorded[0]
    game = Game(seed)  # ten seconds into a game: a nearly full formation, bombs, shields
    for chosen in intents[:10 * TICK_RATE]:
        game.step(DT, chosen)
    start = time.process_time()
    for _ in range(300):
        draw(game)
    draw_ms = (time.process_time() - start) / 300 * 1e3
    print(f"render.draw, one text frame: {draw_ms:.3f} ms CPU ({draw_ms * 30:.1f} ms a second at 30 fps)")


if __name__ == "__main__":
    main()
