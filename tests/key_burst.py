"""Keys that reach an app in one burst, as a paste, a fast typist or `tmux send-keys a Tab b` sends them.

`pilot.press` waits for the app to settle after each key, so it cannot show a key handed to a widget
that was about to lose the focus; this posts them all before the app handles the first.
"""
from __future__ import annotations

from textual import events
from textual.app import App

NAMED = {"tab": "\t", "enter": "\r"}


async def burst(app: App, pilot, *keys: str) -> None:
    """Post each key (a character, or "tab" / "enter") to the app at once, then let it handle them."""
    for key in keys:
        if key in NAMED:
            app.post_message(events.Key(key, NAMED[key]))
        else:
            for char in key:
                app.post_message(events.Key(char, char))
    await pilot.pause()
