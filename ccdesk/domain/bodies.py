"""Handling bodies: the data names this unit itself ``"desk"``; that word never reaches paper."""

from __future__ import annotations

DESK_BODY = "desk"   # how events and extensions name this unit as a handling body


def is_own_unit(body: str) -> bool:
    """True when ``body`` names this unit rather than another agency."""
    return not body.strip() or body.strip().casefold() == DESK_BODY
