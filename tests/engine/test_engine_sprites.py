"""Sprites as text at both scales and styles, and the reference drawing of the playfield."""
from __future__ import annotations

import unicodedata

import pytest
from engine_support import TICK, scripted

from spaceinvaders_engine import (
    FIELD_HEIGHT,
    FIELD_WIDTH,
    FIRE,
    BombKind,
    ExplosionKind,
    Game,
    InvaderKind,
)
from spaceinvaders_engine.geometry import BANDS, CANNON_WIDTH, INVADER_WIDTH, MYSTERY_WIDTH, SHIELD_FULL
from spaceinvaders_engine.render import draw
from spaceinvaders_engine.sprites import SCALES, STYLES, quadrant_art, shield_glyph, sprite

# Pairs, not a dict: ExplosionKind.CANNON == "cannon" (StrEnum), and both must be checked.
WIDTHS = [*((k, INVADER_WIDTH) for k in InvaderKind), *((k, 1) for k in BombKind), ("missile", 1),
          ("cannon", CANNON_WIDTH), ("mystery", MYSTERY_WIDTH), (ExplosionKind.INVADER, 3),
          (ExplosionKind.CANNON, 3), (ExplosionKind.MISSILE, 1), (ExplosionKind.BOMB, 1)]


def one_column_wide(text: str) -> bool:
    return all(unicodedata.east_asian_width(ch) not in ("W", "F") and not unicodedata.combining(ch) for ch in text)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("scale", SCALES)
def test_every_sprite_fills_its_cells(style, scale):
    for name, width in WIDTHS:
        for frame in range(4):
            rows = sprite(name, frame, style, scale)
            assert len(rows) == scale and all(len(row) == width * scale for row in rows), (name, frame)
            assert all(one_column_wide(row) for row in rows)
            if style == "ascii":
                assert all(row.isascii() for row in rows), name


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("scale", SCALES)
def test_each_invader_kind_has_two_different_frames(style, scale):
    for kind in InvaderKind:
        assert sprite(kind, 0, style, scale) != sprite(kind, 1, style, scale)
        assert sprite(kind, 2, style, scale) == sprite(kind, 0, style, scale)
    assert len({sprite(kind, 0, style, scale) for kind in InvaderKind}) == 3


@pytest.mark.parametrize("style", STYLES)
def test_things_and_explosions_of_the_same_name_look_different(style):
    assert sprite("missile", 0, style) != sprite(ExplosionKind.MISSILE, 0, style)
    assert sprite("cannon", 0, style) != sprite(ExplosionKind.CANNON, 0, style)
    assert sprite(ExplosionKind.CANNON, 0, style) != sprite(ExplosionKind.CANNON, 1, style)  # the wreck flickers


def test_a_missile_in_flight_is_drawn_as_a_missile():
    game = Game(3)
    game.step(TICK, FIRE)
    game.step(TICK)
    row = draw(game)[int(game.missile.y)]
    assert row[game.missile.x] == "│"


def test_quadrant_art_turns_pixels_into_block_characters():
    assert quadrant_art(("X..X", "XXXX")) == ("▙▟",)
    assert quadrant_art(("....", "....")) == ("  ",)


def test_shield_glyphs_go_from_solid_to_nothing():
    assert [shield_glyph(level) for level in range(SHIELD_FULL + 1)] == [" ", "░", "▒", "▓", "█"]
    assert shield_glyph(SHIELD_FULL, "ascii") == "#" and shield_glyph(0, "ascii") == " "


def test_bad_sprite_requests_are_refused():
    with pytest.raises(ValueError, match="no sprite"):
        sprite("dragon")
    with pytest.raises(ValueError, match="style"):
        sprite("cannon", style="sixel")
    with pytest.raises(ValueError, match="scale"):
        sprite("cannon", scale=3)
    with pytest.raises(ValueError, match="shield level"):
        shield_glyph(5)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("scale", SCALES)
def test_the_drawing_has_the_fields_size_and_shows_every_thing(style, scale):
    game = Game(5)
    for tick in range(40 * 30):
        game.step(TICK, scripted(tick))
        if game.bombs and game.missile and game.explosions:
            break
    lines = draw(game, style, scale)
    assert len(lines) == FIELD_HEIGHT * scale and {len(line) for line in lines} == {FIELD_WIDTH * scale}
    if style == "ascii":
        assert all(line.isascii() for line in lines)
    cannon = sprite("cannon", 0, style, scale)
    x = game.cannon.column * scale
    assert [lines[game.cannon.y * scale + i][x:x + len(cannon[0])] for i in range(scale)] == list(cannon)
    invader = next(game.formation.invaders())
    art = sprite(invader.kind, invader.frame, style, scale)
    assert lines[invader.y * scale][invader.x * scale:(invader.x + INVADER_WIDTH) * scale] == art[0]
    missile = game.missile
    assert lines[int(missile.y) * scale][missile.x * scale] == sprite("missile", 0, style)[0]


def test_the_bands_cover_the_field_top_to_bottom():
    rows = [row for _, first, last in BANDS for row in range(first, last + 1)]
    assert rows == list(range(FIELD_HEIGHT))
