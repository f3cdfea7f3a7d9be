"""Whether a database file is sound enough to open, and what to tell the person when it is not.

Every opening of the desk makes these checks before SQLite reads the file
(:func:`check_database_file`, then :func:`check_database`: the cheap look of
``integrity.quick_look``, or the whole file when a full check is due). They live apart from the
backups (``storage/backup.py``) because they run before the login screen is painted and the
backups do not: a damaged file's message names the newest good backup, and only then is the
backups folder read (docs/operations.md, "Integrity checks").
"""

from __future__ import annotations

import contextlib
import errno
import logging
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from ccdesk.domain.errors import StorageError
from ccdesk.storage.files import create_private_file, tighten_own_file

log = logging.getLogger(__name__)


# Tables whose presence tells a ccdesk database from any other SQLite file.
REQUIRED_TABLES = ("alembic_version", "office", "dossier", "auditlog")
_DAMAGE_WORDS = ("malformed", "not a database", "file is encrypted", "disk i/o error",
                 "database corrupt", "unable to open")


class DatabaseDamaged(StorageError):
    """The database cannot be read; the message points at the newest good backup."""

    def __init__(self, path: Path, backup: Path | None) -> None:
        if backup is None:
            super().__init__("reliability.err.damaged_no_backup", path=str(path))
        else:
            super().__init__("reliability.err.damaged", path=str(path), backup=str(backup))
        self.path, self.backup = path, backup


@contextlib.contextmanager
def connected(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` (the checks' and the backups' own), closed on leaving; it waits
    up to 15 s for another desk's lock and leaves transactions to the statements."""
    con = sqlite3.connect(path, timeout=15, isolation_level=None)
    try:
        yield con
    finally:
        con.close()


def integrity_problem(path: Path, *, full: bool = False) -> str | None:
    """``None`` when ``path`` is a readable SQLite file passing the check, else what is wrong.

    ``quick_check`` (the default) is O(size) but skips index cross-checks; ``full`` runs
    ``integrity_check``, used before a restore.
    """
    if not path.exists():
        return "missing"
    pragma = "integrity_check" if full else "quick_check"
    try:
        with connected(path) as con:
            rows = con.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.DatabaseError as exc:
        return type(exc).__name__ + ": " + str(exc)
    if rows == [("ok",)]:
        return None
    return "; ".join(str(row[0]) for row in rows[:5])


def is_ccdesk_database(path: Path) -> bool:
    """Whether ``path`` holds the desk's schema (not just any SQLite file)."""
    if not path.is_file():
        return False  # never let sqlite3.connect create an empty file here
    try:
        with connected(path) as con:
            names = {row[0] for row in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return False
    return all(table in names for table in REQUIRED_TABLES)


def is_damage(exc: BaseException) -> bool:
    """Whether an SQLite error means the file itself is damaged or unreadable."""
    text = str(exc).lower()
    return any(word in text for word in _DAMAGE_WORDS)


def damaged_error(path: Path, backups_dir: Path) -> DatabaseDamaged:
    """The error to show for a damaged ``path``, naming the newest good backup."""
    from ccdesk.storage.backup import newest_good_backup  # the backups folder, read only now

    return DatabaseDamaged(path, newest_good_backup(backups_dir, path.stem))


# The smallest SQLite database is one page (512 bytes at least) starting with the header.
MIN_DATABASE_BYTES = 512


def check_database_file(path: Path, backups_dir: Path) -> None:
    """The cheap check every opening makes before SQLite reads the file: refuse a device,
    FIFO or folder, and report a file truncated to 0 bytes (or shorter than one page) as
    damaged, since SQLite would quietly start a new, empty desk on it: a new device id.

    Only ``stat``: opening and closing the file here would drop the POSIX locks SQLite holds on
    it in this process (closing any descriptor of a file releases them all), and another
    desk's writes could then be lost. A foreign header is reported by SQLite itself when it
    opens the file ("file is not a database"), which ``is_damage`` turns into the same message.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise file_error(exc, path) from exc
    if not stat.S_ISREG(info.st_mode):
        raise StorageError("reliability.security.db_not_a_file", path=str(path))
    if info.st_size < MIN_DATABASE_BYTES:
        log.error("database file too short", extra={"db": str(path), "bytes": info.st_size})
        raise damaged_error(path, backups_dir)


def check_database(path: Path, backups_dir: Path, *, full: bool = False,
                   look: Callable[[Path], str | None] | None = None) -> None:
    """Start-up check: raise :class:`DatabaseDamaged` unless the file looks sound.

    By default the cheap look of ``integrity.quick_look`` (a few dozen pages, whatever the
    size; ``look``: the same look, made already); ``full`` reads the whole file
    (``PRAGMA quick_check``), when one is due (docs/operations.md, "Integrity checks").
    """
    from ccdesk.storage.integrity import quick_look

    check_database_file(path, backups_dir)
    if not path.exists():
        return
    problem = integrity_problem(path) if full else (look or quick_look)(path)
    if problem is not None and problem != "missing":
        # The detail (SQLite's words) goes to the log for IT; the person sees what to do.
        log.error("integrity check failed", extra={"db": str(path), "problem": problem[:200]})
        raise damaged_error(path, backups_dir)


def prepare_database_file(path: Path, backups_dir: Path) -> bool:
    """Before SQLite opens ``path``: the cheap header check, then a new file created 0600 (or
    an existing desk database of ours tightened). ``True`` when the file is new."""
    check_database_file(path, backups_dir)
    if create_private_file(path):
        return True
    tighten_own_file(path)
    return False


def file_error(exc: BaseException, path: Path) -> StorageError:
    """Translate an OS or SQLite failure on ``path`` into a message the person can act on."""
    from ccdesk.storage.engine import storage_error

    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StorageError("core.err.disk_full", path=str(path))
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StorageError("core.err.read_only", path=str(path))
        return StorageError("core.err.storage", path=str(path), detail=type(exc).__name__)
    return storage_error(exc, path)
