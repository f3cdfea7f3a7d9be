"""Plain sqlite3 connections that only read the desk's file.

The reads made before the ORM is loaded, or without it (the login's facts and the cheap look at
start, the PIN checked while it is typed, the desk key's id, the sync status a cron job asks for),
must never create, migrate or lock the file for writing. They all open it here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def read_only(path: Path | str, *, timeout: float = 5.0) -> sqlite3.Connection:
    """``path`` opened read-only through an absolute ``file:`` URI (any character in the path,
    ``?``, ``#`` or ``%`` included, stays part of the name); ``timeout``: seconds to wait for
    another connection's lock, as ``sqlite3.connect``."""
    return sqlite3.connect(Path(path).absolute().as_uri() + "?mode=ro", uri=True,
                           timeout=timeout)
