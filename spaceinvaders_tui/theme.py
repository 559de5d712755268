"""The arcade look: black glass, white invaders, and the cabinet's red and green overlay strips."""
from __future__ import annotations

from textual.theme import Theme

ARCADE = Theme(
    name="arcade",
    primary="#33dd33",
    secondary="#e8e8e8",
    accent="#ff4040",
    warning="#ffd040",
    error="#ff4040",  # the mystery ship's strip
    success="#33dd33",  # the shields' and cannon's strip
    foreground="#e8e8e8",  # the formation, white as on the screen's glass
    background="#000000",
    surface="#0c0c0c",
    panel="#141414",
    dark=True,
)
