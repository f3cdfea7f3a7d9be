"""Backups, restore and integrity checks of the desk database.

* Copies are taken with SQLite's online backup API, so other desks keep working while it runs,
  written to a ``.part`` file created owner-only (0600), checked with ``PRAGMA quick_check``,
  flushed to disk and only then renamed into place: a half-written backup never looks good.
* The first start of each day takes a *daily* backup into ``<data dir>/backups``; daily backups are
  rotated to the newest 7 days plus the newest backup of each of the 4 weeks before those
  (see :func:`retained`). Manual, pre-migration and pre-restore copies are never rotated away.
* Restore checks the chosen file completely (``PRAGMA integrity_check``) before touching anything,
  keeps the current database aside, and copies the backup *into* the live file through the backup
  API, so another desk that has the file open sees the restored data instead of writing into an
  unlinked file.
* The digitised papers of the file store travel with every copy into a pool of files beside
  it, and come back with a restore (``storage/store_copies.py``, docs/attachments.md).
* Whether a file is sound enough to open, before every start, is ``storage/soundness.py``; its
  :class:`DatabaseDamaged` names the newest backup here that passes the integrity check.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ccdesk.domain.errors import StorageError
from ccdesk.paths import ensure_private_dir
from ccdesk.storage.files import create_private_file
from ccdesk.storage.soundness import (
    connected,
    file_error,
    integrity_problem,
    is_ccdesk_database,
)

if TYPE_CHECKING:  # the file store's copies load with a backup or restore, not at start-up
    from ccdesk.storage.store_copies import CopyReport

log = logging.getLogger(__name__)

DAILY_KEEP = 7
WEEKLY_KEEP = 4
SUFFIX = ".sqlite3"
STAMP_FORMAT = "%Y%m%d-%H%M%S"
# Kinds of copies in the backups folder. "pre-<revision>" copies are made by migrate.py.
DAILY, MANUAL, BEFORE_RESTORE, DAMAGED = "daily", "manual", "before-restore", "damaged"


@functools.cache
def _backup_name() -> re.Pattern[str]:
    """A backup's file name, parsed. Compiled on first use: this module is imported before the
    login screen is painted, and this pattern alone costs milliseconds to compile."""
    return re.compile(
        r"^(?P<stem>.+?)-(?P<kind>daily|manual|before-restore|damaged|pre-[A-Za-z0-9_.]+)-"
        r"(?P<stamp>\d{8}-\d{6})(?:-(?P<micro>\d{6}))?\.sqlite3$"
    )


@dataclass(frozen=True)
class BackupFile:
    """One copy in the backups folder, described by its name."""

    path: Path
    stem: str
    kind: str
    taken_at: datetime

    @property
    def day(self) -> date:
        return self.taken_at.date()


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    target: Path
    aside: Path | None          # where the replaced database was kept (None: there was none)
    files: CopyReport | None = None   # the digitised papers brought back from the backup


# ---- the backups folder ---------------------------------------------------------------------

def parse_backup_name(path: Path) -> BackupFile | None:
    match = _backup_name().match(path.name)
    if match is None:
        return None
    taken = datetime.strptime(match["stamp"], STAMP_FORMAT)
    if match["micro"]:
        taken = taken.replace(microsecond=int(match["micro"]))
    return BackupFile(path=path, stem=match["stem"], kind=match["kind"], taken_at=taken)


def list_backups(backups_dir: Path, stem: str | None = None) -> list[BackupFile]:
    """Copies in ``backups_dir`` (of the database named ``stem``), newest first."""
    if not backups_dir.is_dir():
        return []
    found = [b for p in backups_dir.glob("*" + SUFFIX)
             if (b := parse_backup_name(p)) is not None and (stem is None or b.stem == stem)]
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def newest_good_backup(backups_dir: Path, stem: str) -> Path | None:
    """The newest copy of database ``stem`` that passes ``quick_check`` (damaged ones skipped)."""
    for backup in list_backups(backups_dir, stem):
        if backup.kind != DAMAGED and integrity_problem(backup.path) is None \
                and is_ccdesk_database(backup.path):
            return backup.path
    return None


def backup_name(stem: str, kind: str, at: datetime) -> str:
    return f"{stem}-{kind}-{at.strftime(STAMP_FORMAT)}{SUFFIX}"


def retained(backups: Iterable[BackupFile], daily: int = DAILY_KEEP,
             weekly: int = WEEKLY_KEEP) -> set[Path]:
    """Which daily backups to keep: the newest of each of the ``daily`` newest days, then the
    newest of each of the ``weekly`` newest ISO weeks among the older ones."""
    newest_first = sorted(backups, key=lambda b: b.taken_at, reverse=True)
    keep: set[Path] = set()
    days: set[date] = set()
    older: list[BackupFile] = []
    for backup in newest_first:
        if backup.day in days:
            continue                    # an older copy of a day already kept
        if len(days) < daily:
            days.add(backup.day)
            keep.add(backup.path)
        else:
            older.append(backup)
    weeks: set[tuple[int, int]] = set()
    for backup in older:
        week = backup.day.isocalendar()[:2]
        if week not in weeks and len(weeks) < weekly:
            weeks.add(week)
            keep.add(backup.path)
    return keep


def rotate(backups_dir: Path, stem: str) -> list[Path]:
    """Delete daily backups of ``stem`` that :func:`retained` does not keep; return them."""
    dailies = [b for b in list_backups(backups_dir, stem) if b.kind == DAILY]
    keep = retained(dailies)
    removed = []
    for backup in dailies:
        if backup.path not in keep:
            backup.path.unlink(missing_ok=True)
            removed.append(backup.path)
    return removed


# ---- taking a copy --------------------------------------------------------------------------

def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # e.g. directories cannot be opened on some platforms; best effort
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_failure(exc: BaseException, source: Path, target: Path) -> StorageError:
    """Blame the right file: a damaged source, or the place the copy was being written."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.DatabaseError) and any(
            word in text for word in ("malformed", "not a database", "encrypted")):
        return StorageError("core.err.damaged", path=str(source))
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS,
                                                  errno.EACCES, errno.EPERM):
        return file_error(exc, target)
    if "full" in text:
        return StorageError("core.err.disk_full", path=str(target))
    if "readonly" in text or "read-only" in text:
        return StorageError("core.err.read_only", path=str(target))
    log.error("copy failed", extra={"error": type(exc).__name__, "detail": text[:200]})
    return StorageError("reliability.err.copy_failed", path=str(target))


def copy_database(source: Path, target: Path) -> Path:
    """Copy ``source`` to a new file ``target`` with the online backup API; verified, atomic.

    Raises :class:`StorageError` (disk full, read-only folder…) naming the path at fault.
    """
    part = target.with_name(target.name + ".part")
    try:
        part.unlink(missing_ok=True)
        create_private_file(part)
        with connected(source) as src, connected(part) as dst:
            src.backup(dst)
            result = dst.execute("PRAGMA quick_check").fetchone()
        if result != ("ok",):
            raise sqlite3.DatabaseError(f"copy failed quick_check: {result}")
        _fsync_path(part)
        os.replace(part, target)
        _fsync_path(target.parent, directory=True)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise _copy_failure(exc, source, target) from exc
    return target


def take_backup(db_path: Path, backups_dir: Path, kind: str = MANUAL,
                now: datetime | None = None) -> Path:
    """A checked copy of ``db_path`` in ``backups_dir`` named ``<stem>-<kind>-<stamp>``."""
    ensure_private_dir(backups_dir)
    now = now or datetime.now()
    target = backups_dir / backup_name(db_path.stem, kind, now)
    if target.exists():
        # Two copies within one second: keep both, the later one with microseconds.
        target = target.with_name(f"{target.stem}-{now.microsecond:06d}{SUFFIX}")
    copy_database(db_path, target)
    _back_up_files(db_path, target)
    log.info("backup taken", extra={"kind": kind, "file": target.name})
    return target


def _back_up_files(db_path: Path, backup: Path) -> None:
    """The store's files named by ``backup`` into its pool (only those not there yet)."""
    from ccdesk.storage.store_copies import back_up_files, pool_for

    try:
        back_up_files(db_path, backup)
    except OSError as exc:
        raise file_error(exc, pool_for(backup)) from exc


def backup_to(db_path: Path, destination: Path, now: datetime | None = None) -> Path:
    """``ccdesk backup --to``: into a folder (standard name) or to a new file name."""
    now = now or datetime.now()
    if destination.is_dir():
        destination = destination / backup_name(db_path.stem, MANUAL, now)
    if destination.exists():
        raise StorageError("reliability.err.target_exists", path=str(destination))
    if not destination.parent.is_dir():
        raise StorageError("reliability.err.no_folder", path=str(destination.parent))
    copy_database(db_path, destination)
    _back_up_files(db_path, destination)
    log.info("backup taken", extra={"kind": MANUAL, "file": destination.name})
    return destination


@contextlib.contextmanager
def _daily_lock(backups_dir: Path) -> Iterator[bool]:
    """Only one process takes the day's backup; the others go on without waiting."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no inter-process lock, at worst two copies that day
        yield True
        return
    fd = os.open(backups_dir / ".daily.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def daily_backup(db_path: Path, backups_dir: Path, now: datetime | None = None) -> Path | None:
    """Take today's backup unless one exists, then rotate; returns the new copy, if any."""
    now = now or datetime.now()
    ensure_private_dir(backups_dir)
    with _daily_lock(backups_dir) as mine:
        if not mine:
            return None
        existing = [b for b in list_backups(backups_dir, db_path.stem)
                    if b.kind == DAILY and b.day == now.date()]
        if existing:
            return None
        path = take_backup(db_path, backups_dir, DAILY, now)
        removed = rotate(backups_dir, db_path.stem)
        if removed:
            log.info("backups rotated", extra={"removed": len(removed)})
        return path


# ---- restore --------------------------------------------------------------------------------

def verify_backup(source: Path) -> None:
    """Refuse a restore source that is missing, damaged or not a ccdesk database."""
    if not source.is_file():
        raise StorageError("reliability.err.no_file", path=str(source))
    problem = integrity_problem(source, full=True)
    if problem is not None:
        log.error("restore source failed integrity_check",
                  extra={"file": source.name, "problem": problem[:200]})
        raise StorageError("reliability.err.source_damaged", path=str(source))
    if not is_ccdesk_database(source):
        raise StorageError("reliability.err.not_ccdesk", path=str(source))


def _move_aside(db_path: Path, aside: Path) -> None:
    """Move a damaged database and its WAL/SHM out of the way (a stale WAL must never be
    replayed onto the restored file)."""
    os.replace(db_path, aside)
    for suffix in ("-wal", "-shm"):
        extra = db_path.with_name(db_path.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))


def _copy_into_live(source: Path, db_path: Path) -> None:
    """Overwrite the live database's content page by page inside one SQLite transaction."""
    try:
        with connected(source) as src, connected(db_path) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise file_error(exc, db_path) from exc


def restore(source: Path, db_path: Path, backups_dir: Path,
            now: datetime | None = None) -> RestoreReport:
    """Replace ``db_path`` by the backup ``source`` after checking it; keep the current aside."""
    now = now or datetime.now()
    source, db_path = source.resolve(), db_path.resolve()
    if source == db_path:
        raise StorageError("reliability.err.same_file", path=str(source))
    verify_backup(source)
    ensure_private_dir(backups_dir)
    aside: Path | None = None
    healthy = db_path.exists() and integrity_problem(db_path) is None
    if healthy:
        aside = take_backup(db_path, backups_dir, BEFORE_RESTORE, now)
        _copy_into_live(source, db_path)
    else:
        if db_path.exists():
            aside = backups_dir / backup_name(db_path.stem, DAMAGED, now)
            _move_aside(db_path, aside)
        ensure_private_dir(db_path.parent)
        copy_database(source, db_path)
    problem = integrity_problem(db_path)
    if problem is not None:
        raise StorageError("reliability.err.restore_failed", path=str(db_path))
    from ccdesk.storage.store_copies import restore_files

    try:
        files = restore_files(source, db_path)
    except OSError as exc:
        raise file_error(exc, db_path.parent) from exc
    log.warning("database restored", extra={"file": source.name,
                                            "aside": aside.name if aside else None,
                                            "files": files.copied,
                                            "files_missing": len(files.missing)})
    return RestoreReport(source=source, target=db_path, aside=aside, files=files)
