"""What meets what: missile and invaders, shields, bombs and the mystery ship; bombs and the cannon."""
from __future__ import annotations

from engine_support import drop_bottom_row_to, frozen, of, ticks, until

from spaceinvaders_engine import FIRE, Bomb, BombKind, ExplosionKind, Game, InvaderKind, Mystery, Phase
from spaceinvaders_engine import events as ev
from spaceinvaders_engine.geometry import SHIELD_FULL
from spaceinvaders_engine.rules import BOMB_DAMAGE, INVADER_EXPLOSION_TICKS, MISSILE_DAMAGE


def aimed_game(muzzle: int) -> Game:
    """A still game (no bombs, no march) with the cannon's muzzle on column `muzzle`."""
    game = frozen(Game(seed=1))
    game.cannon.x = float(muzzle - 1)
    return game


def test_a_missile_kills_the_lowest_invader_above_it():
    game = aimed_game(14)  # column 2 of the formation covers 13-15; no shield under it
    ticks(game, 1, FIRE)
    killed = until(game, ev.InvaderKilled)
    assert (killed.kind, killed.points, killed.x, killed.y, killed.row, killed.column, killed.remaining) == (
        InvaderKind.OCTOPUS, 10, 13, 10, 4, 2, 54)
    assert game.missile is None and game.score == 10 and not game.formation.alive(4, 2)
    burst = game.explosions[-1]
    assert (burst.kind, burst.x, burst.y, burst.points) == (ExplosionKind.INVADER, 13, 10, 10)
    # the next missiles up the same column find the invaders above, one by one
    kinds = []
    for _ in range(4):
        ticks(game, 1, FIRE)
        kinds.append(until(game, ev.InvaderKilled).kind)
    assert kinds == [InvaderKind.OCTOPUS, InvaderKind.CRAB, InvaderKind.CRAB, InvaderKind.SQUID]
    assert game.score == 10 + 10 + 20 + 20 + 30


def test_the_formation_holds_still_while_an_invader_explodes():
    game = aimed_game(14)
    game.beat_ticks = 1_000  # far off, but counting
    ticks(game, 1, FIRE)
    until(game, ev.InvaderKilled)
    beat = game.beat_ticks  # the kill's own tick was the first of the hold
    ticks(game, INVADER_EXPLOSION_TICKS - 1)
    assert game.beat_ticks == beat and game.hold_ticks == 0
    ticks(game, 1)
    assert game.beat_ticks == beat - 1


def test_missiles_from_below_erode_a_shield_cell_by_cell():
    game = aimed_game(7)  # shield 0's second column: cells on rows 14, 15 and 16
    hits = []
    for _ in range(4):
        ticks(game, 1, FIRE)
        hits.append(until(game, ev.ShieldHit))
    assert [(h.shield, h.x, h.y, h.by) for h in hits] == [(0, 7, 16, "missile")] * 2 + [(0, 7, 15, "missile")] * 2
    assert SHIELD_FULL - 2 * MISSILE_DAMAGE == 0
    assert [game.shields.level(7, y) for y in (14, 15, 16)] == [SHIELD_FULL, 0, 0]
    assert game.score == 0 and game.formation.count == 55  # a shield stops the missile


def test_a_bomb_erodes_the_cell_it_hits_and_crumbles_its_neighbours():
    game = aimed_game(30)
    game.bombs.append(Bomb(BombKind.PLUNGER, 8, 13.0, 0.25))
    hit = until(game, ev.ShieldHit)
    assert (hit.shield, hit.x, hit.y, hit.by) == (0, 8, 14, "bomb")
    assert [game.shields.level(x, 14) for x in (7, 8, 9)] == [SHIELD_FULL - 1, SHIELD_FULL - BOMB_DAMAGE,
                                                               SHIELD_FULL - 1]
    assert game.bombs == [] and game.explosions[-1].kind is ExplosionKind.BOMB
    # the next bombs down that column wear the cell away, then the one below it
    levels = []
    for _ in range(3):
        game.bombs.append(Bomb(BombKind.PLUNGER, 8, 13.0, 0.25))
        until(game, ev.ShieldHit)
        levels.append((game.shields.level(8, 14), game.shields.level(8, 15)))
    assert levels == [(0, SHIELD_FULL), (0, SHIELD_FULL - BOMB_DAMAGE), (0, 0)]


def test_invaders_reaching_the_shields_wipe_the_cells_they_cover():
    game = frozen(Game(seed=1))
    f = game.formation
    events = drop_bottom_row_to(game, 14)
    assert f.row_y[4] == 14
    wiped = of(events, ev.ShieldHit)
    assert wiped and {h.by for h in wiped} == {"invader"}
    for invader in f.invaders():
        if invader.y == 14:
            assert [game.shields.level(x, 14) for x in range(invader.x, invader.x + 3)] == [0, 0, 0]
    assert game.shields.level(6, 15) == SHIELD_FULL  # the row below is untouched


def test_the_missile_and_a_bomb_destroy_each_other():
    game = aimed_game(14)
    game.bombs.append(Bomb(BombKind.ROLLING, 14, 11.0, 0.25))
    ticks(game, 1, FIRE)
    shot_down = until(game, ev.BombShotDown, limit=20)
    assert (shot_down.kind, shot_down.x) == (BombKind.ROLLING, 14)
    assert game.missile is None and game.bombs == [] and game.formation.count == 55 and game.score == 0


def test_a_bomb_passing_the_missile_between_two_ticks_still_meets_it():
    game = aimed_game(14)
    ticks(game, 1, FIRE)  # missile at 17.25, going up 0.75 a tick
    game.bombs.append(Bomb(BombKind.SQUIGGLY, 14, 16.5, 0.5))  # will cross it without sharing a row at a tick end
    assert of(ticks(game, 2), ev.BombShotDown)


def test_a_bomb_that_hits_the_cannon_costs_a_life_and_a_new_cannon_comes_in():
    game = aimed_game(14)
    game.bombs.append(Bomb(BombKind.ROLLING, 15, 18.5, 0.25))  # the cannon covers 13-15
    game.bombs.append(Bomb(BombKind.PLUNGER, 40, 5.0, 0.25))
    lost = until(game, ev.LifeLost, limit=5)
    assert (lost.lives, lost.cause) == (2, "bomb")
    assert game.phase is Phase.DYING and not game.cannon.alive and game.bombs == []
    assert game.explosions[-1].kind is ExplosionKind.CANNON
    ticks(game, 30, FIRE)
    assert game.shots == 0 and game.missile is None  # no firing while the wreck burns
    ready = until(game, ev.CannonReady, limit=40)
    assert ready.tick == lost.tick + 60 and ready.x == 2.0
    assert game.phase is Phase.PLAYING and game.cannon.alive and game.lives == 2


def test_a_bomb_beside_the_cannon_lands_on_the_ground():
    game = aimed_game(14)
    game.bombs.append(Bomb(BombKind.PLUNGER, 16, 18.5, 0.25))
    landed = until(game, ev.BombLanded, limit=10)
    assert landed.x == 16 and game.lives == 3 and game.bombs == []


def test_a_missile_hits_the_mystery_ship_for_its_bonus():
    game = aimed_game(14)
    for row in range(5):
        game.formation.kill(row, 2)  # clear the column above the cannon
    game.mystery = Mystery(12.0, 0.0)  # covers 12-16, holding still
    ticks(game, 1, FIRE)
    hit = until(game, ev.MysteryHit)
    assert (hit.points, hit.x) == (50, 12)  # the wave's first shot scores the table's second entry
    assert game.mystery is None and game.score == 50
    burst = game.explosions[-1]
    assert (burst.kind, burst.points) == (ExplosionKind.MYSTERY, 50)


def test_the_23rd_shot_of_a_wave_scores_300_on_the_mystery_ship():
    game = aimed_game(14)
    for row in range(5):
        game.formation.kill(row, 2)
    game.mystery = Mystery(12.0, 0.0)
    game.shots_in_wave = 22
    ticks(game, 1, FIRE)
    assert until(game, ev.MysteryHit).points == 300 and game.score == 300
