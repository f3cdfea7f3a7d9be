"""Small helpers for driving the desk in Pilot tests."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input


async def type_into(pilot: Pilot, selector: str, text: str, *, keys: bool = False) -> None:
    """Put ``text`` in the input ``selector``: as key presses when ``keys``, else pasted whole
    (``Input.Changed`` and its validation fire either way; pasting keeps tests quick)."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = ""
    if keys:
        await pilot.press(*text)
    else:
        widget.insert_text_at_cursor(text)
    await pilot.pause()


async def settle(pilot: Pilot) -> None:
    """Wait for workers (searches, saves) and the resulting screen updates."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
