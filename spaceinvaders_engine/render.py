"""The playfield as plain text, one string per terminal row: the reference drawing of a game.

The app may use it as is and colour whole rows by `geometry.BANDS` (the arcade's coloured overlay
strips), or draw the same things its own way; bots use it to print what they see.
"""
from __future__ import annotations

from .entities import ExplosionKind
from .game import Game, Phase
from .geometry import FIELD_HEIGHT, FIELD_WIDTH, SHIELD_TOP_ROW
from .sprites import shield_glyph, sprite


def _put(canvas: list[list[str]], rows: tuple[str, ...], x: int, y: int, scale: int) -> None:
    """Copy text `rows` with its top-left corner at cell (x, y), clipped to the field; spaces are clear."""
    for dy, text in enumerate(rows):
        line = y * scale + dy
        if not 0 <= line < len(canvas):
            continue
        row = canvas[line]
        for dx, ch in enumerate(text):
            col = x * scale + dx
            if ch != " " and 0 <= col < len(row):
                row[col] = ch


def draw(game: Game, style: str = "unicode", scale: int = 1) -> list[str]:
    """FIELD_HEIGHT x scale lines of FIELD_WIDTH x scale characters."""
    canvas = [[" "] * (FIELD_WIDTH * scale) for _ in range(FIELD_HEIGHT * scale)]
    for i, levels in enumerate(game.shields.rows):
        for x, level in enumerate(levels):
            if level:
                _put(canvas, (shield_glyph(level, style) * scale,) * scale, x, SHIELD_TOP_ROW + i, scale)
    for bomb in game.bombs:
        _put(canvas, sprite(bomb.kind, bomb.frame, style, scale), bomb.x, int(bomb.y), scale)
    for invader in game.formation.invaders():
        _put(canvas, sprite(invader.kind, invader.frame, style, scale), invader.x, invader.y, scale)
    if game.mystery is not None:
        _put(canvas, sprite("mystery", 0, style, scale), int(game.mystery.x), game.mystery.y, scale)
    if game.missile is not None:
        _put(canvas, sprite("missile", 0, style, scale), game.missile.x, int(game.missile.y), scale)
    if game.cannon.alive and game.phase is not Phase.GAME_OVER:
        _put(canvas, sprite("cannon", 0, style, scale), game.cannon.column, game.cannon.y, scale)
    for burst in game.explosions:
        if burst.kind is ExplosionKind.MYSTERY:
            rows: tuple[str, ...] = (str(burst.points).center(5 * scale),)
        else:
            rows = sprite(burst.kind, burst.frame, style, scale)
        _put(canvas, rows, burst.x, burst.y, scale)
    return ["".join(row) for row in canvas]
