"""Compression dictionaries for batch bodies (docs/sync.md, "Compression dictionaries").

A small push compresses badly on its own: zstd has seen nothing of a dossier's keys, the
catalogue's checklist texts or the event names yet. A dictionary trained on representative
payloads (``bench/train_dictionary.py``, demo-seed data) gives it that history up front. Each is
versioned by name and shipped with the package; the desk offers the names it has at ``/hello``,
the relay answers the one to use, and a batch compressed with it names it in its signed query
(``POST /batches?dict=NAME``). A side without it keeps the plain zstd of before.

A dictionary's zstd id is written in every frame compressed with it; the relay compares it with
the named dictionary before decompressing, so a body is never decoded with the wrong one.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import zstandard

# Name -> the zstd dictionary id stored in the file (and in every frame it compressed).
# dossier-v1: records of schema 1 (full JSON); dossier-v2: compact records (sync/compact.py)
# and their replies. A relay keeps the old ones for desks not yet upgraded.
KNOWN: dict[str, int] = {"dossier-v1": 0x0CC0D001, "dossier-v2": 0x0CC0D002}
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def available() -> tuple[str, ...]:
    """The names of the dictionaries this installation ships, newest first."""
    return tuple(name for name in sorted(KNOWN, reverse=True) if _path_exists(name))


def _path_exists(name: str) -> bool:
    return resources.files(__name__).joinpath(f"{name}.zdict").is_file()


@cache
def load(name: str) -> zstandard.ZstdCompressionDict:
    """The dictionary called ``name``; KeyError when this installation does not have it."""
    if name not in KNOWN or not _path_exists(name):
        raise KeyError(name)
    data = resources.files(__name__).joinpath(f"{name}.zdict").read_bytes()
    loaded = zstandard.ZstdCompressionDict(data)
    if loaded.dict_id() != KNOWN[name]:
        raise KeyError(name)        # a damaged or foreign file is as good as none
    return loaded


def choose(offered: list[str]) -> str | None:
    """The relay's answer to a desk offering ``offered``: the first of its own that the desk
    has, or None (plain zstd)."""
    mine = available()
    for name in offered:
        if name in mine:
            return name
    return None
