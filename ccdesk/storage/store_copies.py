"""The file store in backups, restores and integrity checks (docs/attachments.md, "Backups").

A backup of the database names its files by hash in its ``stored_file`` table; the files
themselves go into one *pool* beside the backups (``<backups>/<db stem>-files/``, laid out as
the store is). Files never change once stored, so a backup copies only the files the pool does
not hold yet: the first backup copies the store, each later one the day's new scans. A copy is
hashed on the way and kept only when it matches its name, so a file damaged in the store is
never carried into the backups under its good name. A copy to another place (``backup --to
FILE``) carries its own pool, ``<file stem>-files/`` beside it.

A restore brings back, from the backup's pool, every file the restored database names that the
store lacks or holds damaged. The check lists files named but missing, files whose bytes no
longer match their name, and *orphans* (files no row names: an intake abandoned after a scan).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ccdesk.paths import ensure_private_dir
from ccdesk.storage.files import PRIVATE_FILE_MODE
from ccdesk.storage.filestore import FileStore, is_hash, store_root_for

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class CopyReport:
    """What copying files between a store and a pool did."""

    copied: int = 0
    present: int = 0
    missing: tuple[str, ...] = ()    # named, but absent or damaged where they were copied from


@dataclass(frozen=True)
class StoreCheck:
    """The store against the database that names its files."""

    named: int = 0
    missing: tuple[str, ...] = ()
    damaged: tuple[str, ...] = ()
    orphans: tuple[str, ...] = field(default=())

    @property
    def sound(self) -> bool:
        return not (self.missing or self.damaged)


def pool_for(backup: Path) -> Path:
    """Where the files of the backup file ``backup`` are kept."""
    from ccdesk.storage.backup import parse_backup_name

    parsed = parse_backup_name(backup)
    stem = parsed.stem if parsed is not None else backup.stem
    return backup.parent / f"{stem}-files"


def named_hashes(db_path: Path, *, own_copy: bool = False) -> set[str]:
    """Every file the database ``db_path`` names (stored files, and attachments even when
    removed: their history still points at them). Empty for a database older than the store.

    ``own_copy``: a backup this process just wrote, opened read-write so that closing it
    removes the ``-wal``/``-shm`` files SQLite makes for a WAL database (read-only it would
    leave them beside the backup)."""
    if not db_path.is_file():
        return set()
    uri = db_path.as_uri() + ("" if own_copy else "?mode=ro")
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            found: set[str] = set()
            if "stored_file" in tables:
                found |= {r[0] for r in con.execute("SELECT sha256 FROM stored_file")}
            if "attachment" in tables:
                found |= {r[0] for r in con.execute("SELECT DISTINCT sha256 FROM attachment")}
    except sqlite3.DatabaseError as exc:
        log.error("stored files not listed", extra={"db": db_path.name,
                                                    "error": type(exc).__name__})
        return set()
    return {h for h in found if isinstance(h, str) and is_hash(h)}


def copy_verified(source: Path, target_store: FileStore, sha256: str) -> bool:
    """Copy ``source`` into ``target_store`` under ``sha256`` when its bytes hash to it
    (owner-only, atomic); ``False`` (nothing written) when they do not or it is unreadable."""
    ensure_private_dir(target_store.root)
    target = target_store.path_of(sha256)
    ensure_private_dir(target.parent)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                os.write(fd, chunk)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        os.unlink(temp)
        return False
    os.close(fd)
    if digest.hexdigest() != sha256:
        os.unlink(temp)
        return False
    os.chmod(temp, PRIVATE_FILE_MODE)
    os.replace(temp, target)
    return True


def copy_files(hashes: Iterable[str], source: FileStore, target: FileStore, *,
               check_present: bool = False) -> CopyReport:
    """Copy each of ``hashes`` from ``source`` to ``target`` unless ``target`` holds it
    already (and, with ``check_present``, holds it undamaged)."""
    copied = present = 0
    missing: list[str] = []
    for sha256 in sorted(hashes):
        if target.has(sha256) and (not check_present or target.verify(sha256)):
            present += 1
        elif copy_verified(source.path_of(sha256), target, sha256):
            copied += 1
        else:
            missing.append(sha256)
    return CopyReport(copied, present, tuple(missing))


def back_up_files(db_path: Path, backup: Path) -> CopyReport:
    """After ``backup`` was taken of ``db_path``: its files into the backup's pool."""
    report = copy_files(named_hashes(backup, own_copy=True), FileStore(store_root_for(db_path)),
                        FileStore(pool_for(backup)))
    if report.missing:
        log.error("files missing from the store at backup",
                  extra={"missing": len(report.missing), "backup": backup.name})
    return report


def restore_files(backup: Path, db_path: Path) -> CopyReport:
    """After ``db_path`` was restored from ``backup``: the files it names, from the pool."""
    report = copy_files(named_hashes(db_path), FileStore(pool_for(backup)),
                        FileStore(store_root_for(db_path)), check_present=True)
    if report.missing:
        log.error("files missing from the backup at restore",
                  extra={"missing": len(report.missing), "backup": backup.name})
    return report


def check_store(db_path: Path, *, verify: bool = True) -> StoreCheck:
    """The store of ``db_path`` against the files its database names. ``verify`` hashes each
    named file (the full check); without it only presence is looked at."""
    store = FileStore(store_root_for(db_path))
    named = named_hashes(db_path)
    missing, damaged = [], []
    for sha256 in sorted(named):
        if not store.has(sha256):
            missing.append(sha256)
        elif verify and not store.verify(sha256):
            damaged.append(sha256)
    orphans = tuple(h for h in store.hashes() if h not in named)
    return StoreCheck(len(named), tuple(missing), tuple(damaged), orphans)
