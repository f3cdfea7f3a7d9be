"""Small helpers for driving the desk in Pilot tests."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled


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


# Workers that wait for the officer's answers in modals: waiting for them would wait forever.
INTERACTIVE_GROUPS = frozenset({"dossier-action", "queue-ticket"})


async def settle(pilot: Pilot) -> None:
    """Wait for background workers (searches, saves) and the resulting screen updates."""
    await pilot.pause()
    for worker in list(pilot.app.workers):
        if worker.group in INTERACTIVE_GROUPS:
            continue
        try:
            await worker.wait()
        except WorkerCancelled:  # superseded by a newer search: expected
            pass
    await pilot.pause()


async def wait_for_screen(pilot: Pilot, kind: type, tries: int = 50) -> None:
    """Pause until the app's screen is a ``kind`` (an interactive worker pushes it)."""
    for _ in range(tries):
        if isinstance(pilot.app.screen, kind):
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{kind.__name__} never appeared; screen is {pilot.app.screen!r}")


async def behind_the_desk(pilot: Pilot) -> None:
    """Wait for what the desk runs behind itself once home is shown after a login (warming
    the PDF engine, the day's backup, a due whole-file check), then for what they show."""
    from textual.worker import WorkerFailed

    await settle(pilot)
    for group in ("behind-the-desk", "upkeep"):
        for worker in [w for w in pilot.app.workers if w.group == group]:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass
    await pilot.pause()
