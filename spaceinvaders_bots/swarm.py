"""A swarm: the bots of one process, sharing one HTTP client (`ClientPool`), one arena and one set of stats.

They are started at the spawn rate, live until the swarm is told to stop (the run's end, Ctrl+C), then
each sends its final status and frees its seat before the pool closes.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api_client import ClientPool, SpaceInvadersClient
from spaceinvaders_player import LEAVE_TIMEOUT

from .arena import Arena
from .autopilot import SKILLS
from .bot import Bot, BotPlan
from .identity import BotsDirectory, bot_name
from .metering import Meter
from .stats import BotState, RunStats

log = logging.getLogger(__name__)

MIXED = "mixed"
MIX = {"novice": 0.4, "casual": 0.4, "expert": 0.2}  # a room's players, by the share of each skill
JOIN_CONCURRENCY = 16  # sign-ups and sign-ins in flight at once (the server hashes a few at a time)


@dataclass(frozen=True)
class SwarmConfig:
    api: str
    count: int
    spawn_rate: float = 50.0
    skill: str = MIXED
    seed: int = 0
    prefix: str | None = None  # default: the bots directory's own (`bot-<id>`)
    first_index: int = 1  # bots are named prefix-0001 ... (another process of a run starts further on)
    directory: Path | None = None
    join_concurrency: int = JOIN_CONCURRENCY


def make_plans(config: SwarmConfig, directory: BotsDirectory) -> list[BotPlan]:
    """Each bot's name, password, skill and seed: the same for the same seed, whichever process runs it."""
    prefix = config.prefix or directory.default_prefix()
    plans = []
    for index in range(config.first_index, config.first_index + config.count):
        rng = random.Random(f"{config.seed}:{index}")
        if config.skill == MIXED:
            skill = SKILLS[rng.choices(list(MIX), weights=list(MIX.values()))[0]]
        else:
            skill = SKILLS[config.skill]
        name = bot_name(prefix, index)
        plans.append(BotPlan(index, name, directory.password(name), skill, rng.getrandbits(64)))
    return plans


@dataclass
class Swarm:
    config: SwarmConfig
    stats: RunStats = field(default_factory=RunStats)
    bots: list[Bot] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    meter: Meter | None = None
    expected: int | None = None  # bots started, once all are (None while spawning and after the stop)
    freezes: int = 0  # the garbage collector's freezes done (`settled`)

    @property
    def in_flight(self) -> int:
        return self.meter.in_flight if self.meter is not None else 0

    def snapshot(self) -> RunStats:
        """The stats now, with the samples superseded so far in the games still going."""
        if self.meter is not None:
            self.meter.sweep()  # requests of finished tasks that never got an answer
        snapshot = RunStats.from_dict(self.stats.to_dict())
        snapshot.superseded += sum(bot.trial.publisher.stats.coalesced for bot in self.bots if bot.trial)
        return snapshot

    def players(self) -> list[dict[str, Any]]:
        return [{"name": bot.name, "skill": bot.plan.skill.name, "state": bot.state, "games": bot.games,
                 "best_score": bot.best_score, "level": bot.level, "best_rank": bot.rank,
                 "posts": bot.posts,
                 "seated": bot.seated, "error": bot.error} for bot in self.bots]

    def settled(self) -> None:
        """A bot changed its state (each tells, `Bot.on_change`). Leave the bots' long-lived objects
        (clients, games, publishers) out of the cyclic garbage collector's full passes: with 600 bots
        those took up to 0.4 s, and every post waited. Done once everyone has joined, and again once
        everyone plays (a synchronized session starts later)."""
        count, stats = self.expected, self.stats
        if count is None:
            return
        if self.freezes == 0 and stats.joined + stats.join_failures >= count:
            self.freezes = 1
            gc.freeze()
        if self.freezes == 1 and stats.users[BotState.PLAYING] >= count - stats.join_failures:
            self.freezes = 2
            gc.freeze()

    async def run(self, stop: asyncio.Event) -> None:
        """Start the bots at the spawn rate, keep them playing until `stop` is set, then let them leave."""
        config = self.config
        directory = BotsDirectory(config.directory)
        plans = make_plans(config, directory)
        gate = asyncio.Semaphore(config.join_concurrency)
        tasks: list[asyncio.Task[None]] = []
        async with ClientPool(config.api, token_store=None) as pool:
            meter = self.meter = Meter(self.stats, config.api)
            meter.install(pool.http)
            arena = Arena(self.stats.loop_lag)
            try:
                spawn_start = time.monotonic()
                for number, plan in enumerate(plans):
                    if stop.is_set():
                        break
                    wait = spawn_start + number / config.spawn_rate - time.monotonic()
                    if wait > 0:
                        try:
                            await asyncio.wait_for(stop.wait(), wait)
                            break
                        except TimeoutError:
                            pass
                    client = SpaceInvadersClient(config.api, http=pool.http, trust=pool.trust,
                                                 token_store=directory.token_store(plan.name))
                    bot = Bot(plan, client, arena, self.stats, gate, on_change=self.settled)
                    self.bots.append(bot)
                    self.stats.bots += 1
                    tasks.append(asyncio.create_task(bot.live(), name=plan.name))
                self.expected = len(tasks)
                self.settled()
                await stop.wait()
                self.expected = None
            finally:
                for task in tasks:
                    task.cancel()
                # Each bot finishes its game and frees its seat within its own time limits.
                done, pending = await asyncio.wait(tasks, timeout=3 * LEAVE_TIMEOUT) if tasks else ((), ())
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        log.error("%s failed", task.get_name(), exc_info=task.exception())
                if pending:
                    log.warning("%d bots did not leave in time", len(pending))
                    for task in pending:
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                await arena.aclose()
                meter.sweep()
