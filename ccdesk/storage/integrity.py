"""When the desk reads its whole database file to check it, and the cheap look before every start.

A whole-file check (``PRAGMA quick_check``) costs about 1.5 ms per MiB: seconds at a million
dossiers, and ten seconds once the file has left the OS cache. So the desk does not run it before
every start (docs/operations.md, "Integrity checks"):

* **Before every start**, :func:`quick_look`: the header (SQLite's own magic and page size), the
  page count against the file's size, the whole schema, and the first and last row of every
  table. It reads a few dozen pages whatever the size, and catches a file truncated to nothing or
  to part of itself, a foreign or overwritten header, and pages overwritten behind the header.
* **A full check** runs in the background behind the working desk when one is *due*
  (:func:`due_reasons`): the last session did not close cleanly (its open marker is still
  there), a write failed as if the disk or file were damaged, a restore was made, or
  :data:`FULL_CHECK_DAYS` have passed since the last one. When a full check found damage, the
  next start runs it again *before* the first screen, which then says which backup to restore.

The state lives in ``<data dir>/integrity/``, one small JSON file and one open marker per
database file; neither holds anything personal.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from ccdesk.paths import ensure_private_dir
from ccdesk.storage.files import write_private_file
from ccdesk.storage.readonly import read_only

try:
    import fcntl
except ImportError:  # not POSIX: a marker left behind always counts as an unclean exit
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FULL_CHECK_DAYS = 7
# Why a full check is due; "damaged" (the last one found damage) runs before the first screen.
UNCLEAN, WRITE, RESTORE, SCHEDULE, DAMAGED = "unclean", "write", "restore", "schedule", "damaged"
STATE_DIR = "integrity"


# ---- the cheap look -------------------------------------------------------------------------

def quick_look(path: Path, con: sqlite3.Connection | None = None) -> str | None:
    """``None`` when a cheap look finds nothing wrong with ``path``, else what is wrong.

    Through SQLite only (a plain ``open``/``close`` of the file here would drop the POSIX locks
    SQLite holds on it in this process). Reads page 1 and the schema, then the first and the
    last row of every table: the tree's left and right edges, a few pages per table. ``con``: a
    read-only connection to ``path`` open already (the login facts' own: SQLite then reads
    the schema once, not twice).
    """
    try:
        if con is not None:
            return _look(path, con)
        with contextlib.closing(read_only(path)) as own:
            return _look(path, own)
    except sqlite3.DatabaseError as exc:
        return type(exc).__name__ + ": " + str(exc)


def _look(path: Path, con: sqlite3.Connection) -> str | None:
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    problem = _size_problem(path, page_size, pages)
    if problem is not None:
        return problem
    tables = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    for name, sql in tables:
        if _has_rowid(sql):
            quoted = '"' + name.replace('"', '""') + '"'
            for order in ("ASC", "DESC"):
                con.execute(f"SELECT * FROM {quoted} ORDER BY rowid {order} LIMIT 1").fetchall()
    return None


def _size_problem(path: Path, page_size: int, pages: int) -> str | None:
    """The page count SQLite reads against the file's size (without a WAL, they must agree)."""
    if page_size < 512 or page_size & (page_size - 1):
        return f"page size {page_size}"
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    if wal_size == 0 and pages * page_size > size:
        return f"{pages} pages of {page_size} B in a file of {size} B"
    return None


def _has_rowid(sql: str | None) -> bool:
    """Ordinary tables (virtual and WITHOUT ROWID ones have no rowid to walk)."""
    text = (sql or "").upper()
    return bool(text) and not text.startswith("CREATE VIRTUAL") and "WITHOUT ROWID" not in text


# ---- when a full check is due -----------------------------------------------------------------

def _key(db_path: Path) -> str:
    resolved = str(db_path.resolve())
    return f"{db_path.stem}-{hashlib.sha256(resolved.encode()).hexdigest()[:12]}"


def state_file(data_dir: Path, db_path: Path) -> Path:
    return data_dir / STATE_DIR / f"{_key(db_path)}.json"


def marker_file(data_dir: Path, db_path: Path) -> Path:
    return data_dir / STATE_DIR / f"{_key(db_path)}.open"


def read_state(data_dir: Path, db_path: Path) -> dict[str, object]:
    try:
        raw = json.loads(state_file(data_dir, db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _write_state(data_dir: Path, db_path: Path, state: dict[str, object]) -> None:
    try:
        ensure_private_dir(data_dir / STATE_DIR)
        write_private_file(state_file(data_dir, db_path),
                           json.dumps(state, sort_keys=True).encode(), fsync=False)
    except OSError as exc:  # the check simply stays due: never stop the desk for this
        log.warning("integrity state not written", extra={"error": type(exc).__name__})


def request_full_check(data_dir: Path, db_path: Path, reason: str) -> None:
    """Remember that a full check is due (the next start runs it behind the desk)."""
    state = read_state(data_dir, db_path)
    pending = [str(r) for r in _list(state.get("pending"))]
    if reason not in pending:
        state["pending"] = [*pending, reason]
        _write_state(data_dir, db_path, state)


def record_full_check(data_dir: Path, db_path: Path, problem: str | None,
                      now: datetime | None = None) -> None:
    """A full check ran: clear what was pending, and remember whether it found damage."""
    at = (now or datetime.now()).isoformat(timespec="seconds")
    _write_state(data_dir, db_path, {"last_full_check": at, "pending": [],
                                     "damaged": problem is not None})


def due_reasons(data_dir: Path, db_path: Path, now: datetime | None = None) -> list[str]:
    """Why a full check of ``db_path`` is due now (empty: none is)."""
    state = read_state(data_dir, db_path)
    reasons = [str(r) for r in _list(state.get("pending"))]
    if state.get("damaged"):
        reasons.insert(0, DAMAGED)
    last = _parse(state.get("last_full_check"))
    if last is None or (now or datetime.now()) - last >= timedelta(days=FULL_CHECK_DAYS):
        reasons.append(SCHEDULE)
    return reasons


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _parse(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# ---- the open marker: was the last session closed cleanly? ----------------------------------

class OpenMarker:
    """A file that exists while a desk app has the database open, removed at a clean exit.

    Each desk app holds a shared ``flock`` on it. At start, a marker that no other running desk
    holds was left by a session that ended uncleanly (power cut, kill): a full check is then
    recorded as due (``request_full_check(..., UNCLEAN)``). Several desks of one account may
    share the marker; the last to close removes it.
    """

    def __init__(self, data_dir: Path, db_path: Path) -> None:
        self.data_dir, self.db_path = data_dir, db_path
        self.path = marker_file(data_dir, db_path)
        self._fd: int | None = None

    def open(self) -> bool:
        """Take the marker; ``True`` when the previous session ended uncleanly."""
        try:
            ensure_private_dir(self.path.parent)
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("open marker not written", extra={"error": type(exc).__name__})
            return False
        unclean = False
        with self._exclusive() as alone:
            if alone and existed:
                unclean = True
                request_full_check(self.data_dir, self.db_path, UNCLEAN)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)
        return unclean

    def close(self) -> None:
        """A clean exit: the last desk holding the marker removes it."""
        if self._fd is None:
            return
        with self._exclusive() as alone:
            if alone:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        os.close(self._fd)
        self._fd = None

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[bool]:
        """Whether no other desk holds the marker (then it is locked exclusively meanwhile)."""
        assert self._fd is not None
        if fcntl is None:
            yield True
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
