"""What things look like, as text: rows of characters per sprite, frame, style and scale.

Two styles: "unicode" (block and box-drawing characters, all one column wide) and "ascii". Two scales:
1 (one character a cell, the 80 x 24 layout) and 2 (each cell drawn as 2 x 2 characters, for a
terminal of at least 132 x 44). The Unicode art is drawn as pixel bitmaps, two by two pixels a
character (quadrant blocks), so both scales come from one picture each.
"""
from __future__ import annotations

from functools import lru_cache

from .entities import BombKind, ExplosionKind, InvaderKind
from .geometry import SHIELD_FULL

STYLES = ("unicode", "ascii")
SCALES = (1, 2)

_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"  # indexed by upper-left 1, upper-right 2, lower-left 4, lower-right 8


def quadrant_art(bitmap: tuple[str, ...]) -> tuple[str, ...]:
    """Rows of 'X' (pixel on) and '.' into text, each character showing 2 x 2 pixels."""
    rows = []
    for top, bottom in zip(bitmap[0::2], bitmap[1::2], strict=True):
        chars = []
        for i in range(0, len(top), 2):
            bits = ((top[i] == "X") | (top[i + 1] == "X") << 1 | (bottom[i] == "X") << 2
                    | (bottom[i + 1] == "X") << 3)
            chars.append(_QUADRANTS[bits])
        rows.append("".join(chars))
    return tuple(rows)


# Pixel pictures: (scale 1: 2 pixels a cell, scale 2: 4 pixels a cell), each a tuple of frames.
_BITMAPS: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]] = {
    InvaderKind.SQUID: (
        (("..XX..", ".X..X."), ("..XX..", "X....X")),
        (("....XXXX....", "..XXXXXXXX..", "..X..XX..X..", ".X.X....X.X."),
         ("....XXXX....", "..XXXXXXXX..", "..X..XX..X..", "..X.X..X.X..")),
    ),
    InvaderKind.CRAB: (
        (("X.XX.X", ".XXXX."), (".XXXX.", "X.XX.X")),
        (("X..X....X..X", "X.XXXXXXXX.X", "XXX.XXXX.XXX", "..X......X.."),
         ("...X....X...", "..XXXXXXXX..", ".XX.XXXX.XX.", "X.X......X.X")),
    ),
    InvaderKind.OCTOPUS: (
        (("XXXXXX", "X.XX.X"), ("XXXXXX", ".X..X.")),
        (("..XXXXXXXX..", "XXXXXXXXXXXX", "XXX..XX..XXX", ".XX.X..X.XX."),
         ("..XXXXXXXX..", "XXXXXXXXXXXX", "XXX..XX..XXX", "X..XX..XX..X")),
    ),
    "cannon": (
        (("..XX..", "XXXXXX"),),
        ((".....XX.....", "....XXXX....", ".XXXXXXXXXX.", "XXXXXXXXXXXX"),),
    ),
    "mystery": (
        (("..XXXXXX..", "XXX.XX.XXX"),),
        (("......XXXXXXXX......", "...XXXXXXXXXXXXXX...", ".XX.XX.XX..XX.XX.XX.", "...XXXX..XX..XXXX..."),),
    ),
}

_ASCII: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]] = {
    InvaderKind.SQUID: ((("{@}",), ("}@{",)), ((" {oo} ", " /''\\ "), (" {oo} ", " \\''/ "))),
    InvaderKind.CRAB: ((("\\#/",), ("/#\\",)), (("\\(oo)/", " /  \\ "), ("/(oo)\\", " \\  / "))),
    InvaderKind.OCTOPUS: ((("<W>",), (">W<",)), (("<(##)>", " /\\/\\ "), ("<(##)>", "/ '' \\"))),
    "cannon": ((("/^\\",),), (("  /\\  ", "[====]"),)),
    "mystery": ((("<=O=>",),), (("  ______  ", "<=[oooo]=>"),)),
}

# One-cell things, drawn the same at both scales (scale 2 repeats each character twice across and down).
_GLYPHS: dict[str, dict[str, tuple[str, ...]]] = {
    "unicode": {
        "missile": ("│",),
        BombKind.ROLLING: ("┼", "│", "┼", "│"),
        BombKind.PLUNGER: ("┳", "┃", "┻", "┃"),
        BombKind.SQUIGGLY: ("╱", "│", "╲", "│"),
        "shield": (" ", "░", "▒", "▓", "█"),  # by erosion level, 0 (gone) to SHIELD_FULL
    },
    "ascii": {
        "missile": ("|",),
        BombKind.ROLLING: ("+", "|", "+", "|"),
        BombKind.PLUNGER: ("T", "|", "T", "|"),
        BombKind.SQUIGGLY: ("/", "|", "\\", "|"),
        "shield": (" ", ".", ":", "%", "#"),
    },
}

# Explosions apart from the things: ExplosionKind.MISSILE and .CANNON are equal to the strings "missile" and
# "cannon" (StrEnum), so one table for both would give a missile the look of its burst.
_BURSTS: dict[str, dict[ExplosionKind, tuple[str, ...]]] = {  # invader and cannon: 3 cells, two frames
    "unicode": {ExplosionKind.INVADER: ("╲│╱", "╱│╲"), ExplosionKind.CANNON: ("▗▚▖", "▝▞▘"),
                ExplosionKind.MISSILE: ("*",), ExplosionKind.BOMB: ("*",)},
    "ascii": {ExplosionKind.INVADER: ("\\|/", "/|\\"), ExplosionKind.CANNON: ("'*,", ",*'"),
              ExplosionKind.MISSILE: ("*",), ExplosionKind.BOMB: ("*",)},
}


def _check(style: str, scale: int) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")


def _scaled(rows: tuple[str, ...], scale: int) -> tuple[str, ...]:
    if scale == 1:
        return rows
    return tuple("".join(ch * scale for ch in row) for row in rows for _ in range(scale))


@lru_cache(maxsize=None, typed=True)  # typed: ExplosionKind.CANNON is not "cannon"
def sprite(name: str, frame: int = 0, style: str = "unicode", scale: int = 1) -> tuple[str, ...]:
    """The rows of text for `name` (an InvaderKind, BombKind, ExplosionKind, "cannon", "mystery",
    "missile") in animation `frame`; each row is (width in cells x scale) characters, scale rows in all.

    A mystery explosion is its points, written by the UI; a shield cell is `shield_glyph`.
    """
    _check(style, scale)
    if isinstance(name, ExplosionKind):
        if name not in _BURSTS[style]:
            raise ValueError(f"no sprite for {name!r} explosions (the UI writes the points)")
        frames = _BURSTS[style][name]
        return _scaled((frames[frame % len(frames)],), scale)
    if name in _BITMAPS:
        frames = _BITMAPS[name][scale - 1] if style == "unicode" else _ASCII[name][scale - 1]
        rows = frames[frame % len(frames)]
        return quadrant_art(rows) if style == "unicode" else rows
    if name in _GLYPHS[style]:
        frames = _GLYPHS[style][name]
        return _scaled((frames[frame % len(frames)],), scale)
    raise ValueError(f"no sprite called {name!r}")


def shield_glyph(level: int, style: str = "unicode") -> str:
    """The character for a shield cell at erosion `level` (0 gone .. SHIELD_FULL intact)."""
    _check(style, 1)
    if not 0 <= level <= SHIELD_FULL:
        raise ValueError(f"shield level must be 0 to {SHIELD_FULL}, not {level!r}")
    return _GLYPHS[style]["shield"][level]
