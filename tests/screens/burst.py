"""Keys as a barcode scanner or a fast typist sends them: all at once, no pause between them."""

from __future__ import annotations

from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot

from screens.keyflow import SCAN_GAP
from tests.screens.helpers import settle


def key_events(*parts: str) -> list[events.Key]:
    """``parts`` are either text (typed character by character) or ``<key>`` names."""
    keys: list[events.Key] = []
    for part in parts:
        if part.startswith("<") and part.endswith(">"):
            name = part[1:-1]
            keys.append(events.Key(name, "\r" if name == "enter" else None))
            continue
        for char in part:
            keys.append(events.Key(char if char.isalnum() else _character_to_key(char), char))
    return keys


async def burst(pilot: Pilot, *parts: str) -> None:
    """Send every key to the app in one go, the way the terminal driver delivers a burst of
    input read at once, then let the app catch up."""
    _send(pilot, key_events(*parts))
    await _catch_up(pilot)


async def burst_handled_late(pilot: Pilot, *groups: tuple[str, ...]) -> None:
    """A burst read at once (every key stamped now) that a busy machine hands on late: each
    group of its keys only once the app has caught up with the one before and a pause longer
    than a person's gap between keys has passed."""
    read = [key_events(*group) for group in groups]
    for keys in read:
        await pilot.pause(SCAN_GAP + 0.1)
        _send(pilot, keys)
        await _catch_up(pilot)


def _send(pilot: Pilot, keys: list[events.Key]) -> None:
    driver = pilot.app._driver
    assert driver is not None
    for event in keys:
        event.set_sender(pilot.app)
        driver.send_message(event)


async def _catch_up(pilot: Pilot) -> None:
    await settle(pilot)
    flow = getattr(pilot.app, "keyflow", None)  # absent on an app without a key flow
    for _ in range(250):  # the keys held while a screen opened are all handed on
        if flow is None or not (flow.holding or flow.held):
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)
    await settle(pilot)
