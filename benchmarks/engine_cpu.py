"""CPU cost of the game engine per simulated second, at the 30 Hz a bot steps it; and how far the bots'
autopilot gets at each of its skills, which is how the pace was tuned.

The autopilot (`spaceinvaders_bots.autopilot`: aims at the nearest column, leads a moving target, fires
when lined up, keeps out of the way of the bombs it notices; the skill sets the reaction time, the aim's
spread, the share of bombs noticed and the lead) plays whole games first; its intents are recorded, so
the measured loop is the engine alone: replaying them, one `step(1/30, intents)` per tick. The baseline is the same loop calling
an empty `step`. Medians of CPU time (process_time) over rounds.

    .venv/bin/python benchmarks/engine_cpu.py [--games 30] [--minutes 10] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

from spaceinvaders_bots.autopilot import SKILLS, Autopilot
from spaceinvaders_engine import TICK_RATE, Game, Intents
from spaceinvaders_engine.render import draw

TARGET_MS = 0.5  # CPU per simulated second, so that 200 bots' engines take under a tenth of a core
DT = 1 / TICK_RATE


def record(skill: str, games: int, minutes: float) -> list[tuple[int, list[Intents], Game]]:
    """Play `games` games (each to its end or `minutes`); answers seed, intents per tick, final state."""
    recorded = []
    for seed in range(games):
        game, player, intents = Game(seed), Autopilot(skill, seed), []
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
