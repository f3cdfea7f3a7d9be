"""The SQLite engine with the pragmas the desk relies on.

* WAL so readers never block the writer, ``synchronous=FULL`` so a committed dossier survives a
  power cut, foreign keys on, and a busy timeout so a second desk waits instead of failing.
* Writes start with ``BEGIN IMMEDIATE``: taking the write lock up front avoids the lock-upgrade
  deadlock two deferred transactions can hit (SQLITE_BUSY that no timeout resolves), which is what
  keeps "database is locked" away from two desks sharing one file over SSH.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from ccdesk.domain.errors import StorageError
from ccdesk.retry import RetryPolicy
from ccdesk.storage.auditchain import chain_new_lines

BUSY_TIMEOUT_MS = 15_000
# Every audit line gets its chain value in the flush that inserts it, whoever adds it.
if not event.contains(OrmSession, "before_flush", chain_new_lines):
    event.listen(OrmSession, "before_flush", chain_new_lines)
WRITE_ATTEMPTS = 8
# After SQLite's own busy wait has run out: short jittered retries (ccdesk/retry.py).
WRITE_RETRY = RetryPolicy(base=0.025, cap=0.4, max_attempts=WRITE_ATTEMPTS)
T = TypeVar("T")


def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it otherwise).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _on_begin(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def is_locked_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def storage_error(exc: BaseException, path: Path) -> StorageError:
    """Translate SQLite's failure into a message a desk officer can act on."""
    text = str(exc).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return StorageError("core.err.disk_full", path=str(path))
    if "readonly" in text or "read-only" in text:
        return StorageError("core.err.read_only", path=str(path))
    if is_locked_error(exc):
        return StorageError("core.err.locked", path=str(path))
    if "malformed" in text or "not a database" in text:
        return StorageError("core.err.damaged", path=str(path))
    return StorageError("core.err.storage", path=str(path), detail=type(exc).__name__)


class Database:
    """One desk database file."""

    def __init__(self, path: Path, on_damage: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        # Told when a write fails as if the file or disk were damaged (a full check is then due).
        self.on_damage = on_damage
        self.engine = make_engine(self.path)
        self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")

    def session(self) -> Session:
        """A read session (deferred transaction: never blocks other desks)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction, committed or rolled back whole.

        A lock still held by another desk after the busy timeout is retried with jitter before
        giving up, so a person never sees "database is locked" under ordinary contention.
        """
        attempt = 0
        while True:
            try:
                with self._write_session() as session:
                    return work(session)
            except OperationalError as exc:
                attempt += 1
                if is_locked_error(exc) and not WRITE_RETRY.gives_up(attempt):
                    time.sleep(WRITE_RETRY.delay(attempt))
                    continue
                self._damage_seen(exc)
                raise storage_error(exc, self.path) from exc
            except DatabaseError as exc:
                self._damage_seen(exc)
                raise

    def _damage_seen(self, exc: BaseException) -> None:
        from ccdesk.storage.soundness import is_damage

        if self.on_damage is not None and is_damage(exc):
            self.on_damage()

    def dispose(self) -> None:
        self.engine.dispose()
