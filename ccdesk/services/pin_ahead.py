"""The PIN checked while it is typed, so Enter does not wait for argon2id (issue 17).

argon2id at the desk's costs (``pins.ARGON2``: 128 MiB, about 0.4 s of CPU) is most of the
time from Enter to the home screen. Once the PIN being typed is as long as the officer's role
requires, :class:`PinAhead` checks the current value in ONE background thread while the officer
keeps typing: one hash at a time (never two 128 MiB buffers), and when the value changed
meanwhile, the newest value next. At Enter the desk asks for the verdict of exactly the value
entered: done, it is used; still being computed, Enter waits for it; otherwise the PIN is checked
then, as before. The verdict only answers "does it match"; the attempt counting, the wait after
too many failures and the audit line all happen at Enter, in ``OfficerService.authenticate``,
exactly as without it. ``forget`` drops every value typed (after each login attempt).

The check itself (:func:`verdict_from_file`) does not wait for the services: it reads the
officer's hash with plain sqlite3, read-only, and the desk key from its file, as the login screen's
facts are read (``services/startup.py``), so the hash can be done before Enter even while the ORM
is still loading. The verdict names the hash and the key it was checked with, and Enter uses it
only while both are still the desk's (``PinVerdict.answers``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path

from ccdesk.services import pins
from ccdesk.services.pins import MIN_PIN, MIN_PIN_BY_ROLE, PinVerdict, key_name
from ccdesk.storage.deskkey import read_key
from ccdesk.storage.readonly import read_only

log = logging.getLogger(__name__)

# (username, PIN): what a verdict was computed for.
Typed = tuple[str, str]


class PinAhead:
    """Checks the newest typed value with ``check`` (:func:`verdict_from_file`), one value at
    a time, in a thread of its own."""

    def __init__(self, check: Callable[[str, str], PinVerdict | None]) -> None:
        self._check = check
        self._changed = threading.Condition()
        self._wanted: Typed | None = None      # the newest value typed
        self._done: tuple[Typed, PinVerdict | None] | None = None  # the last one hashed
        self._thread: threading.Thread | None = None
        self._entered = False                  # Enter was pressed: the value is fixed

    def typed(self, username: str, pin: str) -> None:
        """The PIN field now holds ``pin`` (the officer ``username`` picked). Ignored from
        Enter until ``forget``."""
        with self._changed:
            if not self._entered:
                self._want((username, pin))

    def verdict(self, username: str, pin: str) -> PinVerdict | None:
        """At Enter: the verdict for exactly this value, from this thread (so there is never
        a second hash at the same time): at once when it is done, else once the hash under way
        and this one are. ``None`` when no hash was worth computing (the caller checks)."""
        typed = (username, pin)
        with self._changed:
            self._entered = True
            if not self._is_done(typed):
                self._want(typed)
                while not self._is_done(typed):
                    self._changed.wait()
            assert self._done is not None
            return self._done[1]

    def forget(self) -> None:
        """Drop every value typed and every verdict (a hash under way finishes unused)."""
        with self._changed:
            self._wanted = self._done = None
            self._entered = False

    def _is_done(self, typed: Typed) -> bool:
        return self._done is not None and self._done[0] == typed

    def _want(self, typed: Typed) -> None:
        self._wanted = typed
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="ccdesk-pin-ahead",
                                            daemon=True)
            self._thread.start()

    def _next(self) -> Typed | None:
        """The value to hash next, else ``None`` (the thread ends; ``typed`` starts another)."""
        with self._changed:
            wanted = self._wanted
            if wanted is None or (self._done is not None and self._done[0] == wanted):
                self._thread = None
                return None
            return wanted

    def _work(self) -> None:
        while (typed := self._next()) is not None:
            try:
                verdict = self._check(*typed)
            except Exception as exc:  # a head start only: Enter checks the PIN itself
                log.warning("PIN check ahead failed", extra={"error": type(exc).__name__})
                verdict = None
            with self._changed:
                if self._wanted is not None:  # not forgotten meanwhile
                    self._done = (typed, verdict)
                self._changed.notify_all()


def verdict_from_file(db_path: Path, key_file: Path, username: str, pin: str,
                      now: datetime | None = None) -> PinVerdict | None:
    """Whether ``pin`` is ``username``'s, read from the desk's file without the services:
    the officer's hash, role and state with plain sqlite3 (read-only: it never creates, migrates
    or locks anything), the key from ``key_file``, then one argon2id. ``None`` when no hash is
    worth computing: a PIN shorter than the officer's role allows, an unknown, disabled or
    waiting officer, a file or key that cannot be read (Enter checks the PIN itself)."""
    try:
        with closing(read_only(db_path)) as con:
            row = con.execute("SELECT pin_hash, role, active, locked_until FROM officer "
                              "WHERE username = ?", (username,)).fetchone()
    except sqlite3.Error:
        return None
    if row is None or not row[2] or _waiting(row[3], now or datetime.now()):
        return None
    stored, role = row[0], row[1]
    if len(pin) < MIN_PIN_BY_ROLE.get(role, MIN_PIN):
        return None
    key = read_key(key_file)  # raises for a damaged file: PinAhead answers nothing then
    return PinVerdict(stored, key_name(key), pins.verify_pin(stored, pin, key))


def _waiting(locked_until: str | None, now: datetime) -> bool:
    """Whether the account waits after too many failures (``Officer.locked_until`` as
    SQLAlchemy stores it: "YYYY-MM-DD HH:MM:SS.ffffff", local time)."""
    if not locked_until:
        return False
    try:
        return datetime.fromisoformat(locked_until) > now
    except ValueError:
        return False  # unreadable: hashing anyway is harmless, Enter decides
