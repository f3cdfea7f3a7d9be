"""Opening the desk in two steps, so the officer sees the login screen sooner.

Step one reads what the login screen shows (office headers, active officers) with plain sqlite3,
after the cheap start-up look at the file (``storage.integrity.quick_look``): SQLAlchemy, pydantic
and the models are not imported, and they are most of a cold start. Step two opens the services
in a thread behind the login screen, while the officer types the PIN; logging in waits for it.
The day's backup and a due whole-file check (:class:`Upkeep`) run after the home screen is
shown, behind the working desk (docs/operations.md, "Integrity checks").

Only a desk that is set up and at the current schema opens this way. A new database, one that
needs a migration and a training sandbox open in one step, before the first screen.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ccdesk.domain.errors import StorageError
from ccdesk.storage.migrate import HEAD_REVISION

if TYPE_CHECKING:
    from ccdesk.config import Config
    from ccdesk.paths import Paths
    from ccdesk.services.context import Actor
    from ccdesk.services.facade import Services

log = logging.getLogger(__name__)


class LoginFacts(NamedTuple):
    """What the login screen shows.

    This module's records are named tuples, not frozen dataclasses: they are defined before the
    login screen is painted, and a frozen dataclass takes about 0.4 ms to define, a named tuple
    a seventh of that (docs/tui.md, "Start-up and memory")."""

    governing_body: str
    unit_name: str
    officers: tuple[tuple[str, str], ...]  # (username, full name) of active officers, by name


def read_login_facts(db_path: Path) -> LoginFacts | None:
    """The login screen's facts read straight from the file, or ``None`` when the desk must
    open in one step (no file, another schema revision, setup not finished, unreadable: that
    path says exactly what is wrong)."""
    return read_at_start(db_path, look=False)[0]


def read_at_start(db_path: Path, *, look: bool) -> tuple[LoginFacts | None, str | None]:
    """The login facts, and when ``look`` (and there are facts) what the cheap look at the file
    found wrong (``integrity.quick_look``), both through one read-only connection: this must
    never create, migrate or lock anything."""
    from ccdesk.storage.integrity import quick_look
    from ccdesk.storage.readonly import read_only

    if not db_path.is_file():
        return None, None
    try:
        with closing(read_only(db_path)) as con:
            facts = _facts(con)
            problem = quick_look(db_path, con) if look and facts is not None else None
    except sqlite3.Error:
        return None, None
    return facts, problem


def _facts(con: sqlite3.Connection) -> LoginFacts | None:
    revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
    if revision is None or revision[0] != HEAD_REVISION:
        return None
    office = con.execute(
        "SELECT governing_body, unit_name, setup_done FROM office WHERE id = 1").fetchone()
    if office is None or not office[2]:
        return None
    officers = con.execute("SELECT username, full_name FROM officer WHERE active "
                           "ORDER BY full_name").fetchall()
    return LoginFacts(office[0], office[1], tuple((row[0], row[1]) for row in officers))


def login_facts(services: Services) -> LoginFacts | None:
    """The same facts through open services (tests, and right after the first-run setup);
    ``None`` while setup is not finished."""
    office = services.office.get()
    if not office.setup_done:
        return None
    return LoginFacts(office.governing_body, office.unit_name,
                      tuple((o.username, o.full_name) for o in services.officers.list()))


class ServicesLoader:
    """The desk's services, open already or opening in a background thread.

    ``begin`` starts the opening (once); ``get`` waits for it and raises what it raised.
    ``warnings`` collects what the officer should be told (the audit trail's check);
    ``upkeep`` is what runs behind the working desk once it is shown (the day's backup);
    ``after_open`` are called in the opening thread once the services are open (the desk
    readies its home screen there while the PIN is typed); what they raise is logged only.
    ``desk_files`` (the database and the desk key's file) can be read before the services are
    open (the PIN checked while it is typed: ``services/pin_ahead.py``).
    """

    def __init__(self, open_services: Callable[[], Services]) -> None:
        self._open = open_services
        self._future: Future[Services] = Future()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._close: Callable[[], None] | None = None
        self.warnings: list[str] = []
        self.upkeep: Upkeep | None = None
        self.after_open: list[Callable[[Services], None]] = []
        self.desk_files: tuple[Path, Path] | None = None

    @classmethod
    def ready(cls, services: Services, close: Callable[[], None] | None = None,
              ) -> ServicesLoader:
        """Services open already; ``close`` replaces their own (a sandbox also deletes
        its copy)."""
        loader = cls(lambda: services)
        loader._future.set_result(services)
        loader._close = close
        loader.desk_files = (services.db.path, services.paths.key_file)
        return loader

    @classmethod
    def opening(cls, db_path: Path, paths: Paths, config: Config,
                due: Sequence[str] = ()) -> ServicesLoader:
        """Services on ``db_path`` as ``Services.open`` and ``on_start`` do, minus the checks the
        caller ran before the first screen; the day's backup and a full check when ``due`` are
        left to ``upkeep``, for after the home screen."""
        loader: ServicesLoader

        def open_services() -> Services:
            from ccdesk.services.audit import start_check
            from ccdesk.services.facade import Services

            services = Services.open(db_path, paths, config=config)
            tampered = start_check(services.ctx)  # the audit chain since the last start
            if tampered is not None:
                loader.warnings.append(tampered)
            return services

        loader = cls(open_services)
        loader.upkeep = Upkeep(due=tuple(due))
        loader.desk_files = (db_path, paths.key_file)
        return loader

    def begin(self) -> None:
        with self._lock:
            if self._thread is not None or self._future.done():
                return
            self._thread = threading.Thread(target=self._run, name="ccdesk-open", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            services = self._open()
        except BaseException as exc:  # handed to whoever waits in ``get``
            self._future.set_exception(exc)
            return
        self._future.set_result(services)  # a PIN typed already is checked from now on
        for ready in list(self.after_open):
            try:
                ready(services)
            except Exception as exc:  # a head start only: the screen loads what it needs
                log.warning("readying behind the login failed",
                            extra={"error": type(exc).__name__})

    def get(self) -> Services:
        if self.is_ready:  # every screen asks, often: no lock once the services are open
            return self._future.result()
        self.begin()
        future = self._future
        try:
            return future.result()
        except BaseException:
            with self._lock:  # the next call tries again (the database was busy, say)
                if self._future is future and self._thread is not None:
                    self._thread.join()
                    self._future, self._thread = Future(), None
            raise

    @property
    def is_ready(self) -> bool:
        return self._future.done() and self._future.exception() is None

    def authenticate(self, username: str, pin: str) -> Actor:
        """Check an officer's PIN (waits for the services when they are still opening)."""
        return self.get().officers.authenticate(username, pin)

    def close(self) -> None:
        """Wait for an opening under way, then close what it opened."""
        if self._thread is not None:
            self._thread.join()
        if self._close is not None:
            self._close()
        elif self.is_ready:
            self._future.result().close()


class EarlyLook:
    """The login facts and the cheap look at the file, read in a thread started before the
    interpreter imports Textual: SQLite releases the GIL while it reads, so the reads (from the
    disk, on a cold start) overlap the imports instead of following them. Read-only, like the
    same reads made in line; ``begin_opening`` takes what it found."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._found: Future[tuple[LoginFacts | None, str | None]] = Future()
        threading.Thread(target=self._read, name="ccdesk-look", daemon=True).start()

    def _read(self) -> None:
        try:
            # The look only for a desk that opens in steps; the one-step opening checks itself.
            found = read_at_start(self.db_path, look=True)
        except BaseException as exc:  # handed to ``found``
            self._found.set_exception(exc)
            return
        self._found.set_result(found)

    def found(self) -> tuple[LoginFacts | None, str | None]:
        """(the login facts, what the cheap look found wrong), waiting for the thread."""
        return self._found.result()


def begin_opening(db_path: Path, paths: Paths, config: Config, early: EarlyLook | None = None,
                  ) -> tuple[ServicesLoader, LoginFacts] | None:
    """Step one for a set-up desk: the cheap look at the file (a whole-file check only when the
    last one found damage), then the login facts and a loader that opens the services once
    started. ``None`` when the desk must open in one step. ``early``: the same reads, made
    already for ``db_path``."""
    from ccdesk.storage.integrity import DAMAGED, due_reasons, quick_look

    look: Callable[[Path], str | None] = quick_look
    if early is not None and early.db_path == db_path:
        facts, problem = early.found()
        look = lambda _path: problem  # noqa: E731 - looked at already
    else:
        facts = read_login_facts(db_path)
    if facts is None:
        return None
    due = due_reasons(paths.data_dir, db_path)
    # A damaged file is reported before anything is shown (DatabaseDamaged names the newest
    # good backup), exactly as when the desk opens in one step.
    check_before_use(db_path, paths, full=DAMAGED in due, look=look)
    if DAMAGED in due:
        due = []  # checked in full just now, and found sound
    return ServicesLoader.opening(db_path, paths, config, due), facts


def check_before_use(db_path: Path, paths: Paths, *, full: bool,
                     look: Callable[[Path], str | None] | None = None) -> None:
    """The cheap look (``look``, by default ``integrity.quick_look``), or the whole-file check
    (its result remembered); raises :class:`DatabaseDamaged`."""
    from ccdesk.storage.integrity import record_full_check
    from ccdesk.storage.soundness import DatabaseDamaged, check_database

    try:
        check_database(db_path, paths.backups_dir, full=full, look=look)
    except DatabaseDamaged:
        if full:
            record_full_check(paths.data_dir, db_path, "damaged")
        raise
    if full:
        record_full_check(paths.data_dir, db_path, None)


class Upkeep(NamedTuple):
    """What runs behind the working desk once the home screen is shown: the day's backup, then
    the whole-file check when one is ``due`` (the reasons ``integrity.due_reasons`` gave)."""

    due: tuple[str, ...] = ()

    def run(self, services: Services, now: datetime | None = None) -> list[tuple[str, str]]:
        """``(severity, message)`` for each thing the officer must be told."""
        notices: list[tuple[str, str]] = []
        report = start_daily_backup(services, now)
        if report.backup_error is not None:
            notices.append(("warning", report.backup_error.message()))
        if self.due:
            damage = full_check(services, now)
            if damage is not None:
                notices.append(("error", damage.message()))
            files = files_check(services)
            if files is not None:
                notices.append(("warning", files.message()))
        return notices


def full_check(services: Services, now: datetime | None = None) -> StorageError | None:
    """The whole-file check, its result remembered; what to tell the officer when it found
    damage (the newest good backup, and to stop and call IT)."""
    from ccdesk.storage.backup import newest_good_backup
    from ccdesk.storage.integrity import record_full_check
    from ccdesk.storage.soundness import integrity_problem

    path, data_dir = services.db.path, services.paths.data_dir
    problem = integrity_problem(path)
    record_full_check(data_dir, path, problem, now)
    if problem is None:
        log.info("full integrity check passed")
        return None
    log.error("full integrity check failed", extra={"db": str(path), "problem": problem[:200]})
    backup = newest_good_backup(services.paths.backups_dir, path.stem)
    if backup is None:
        return StorageError("reliability.check.damage_found_no_backup", path=str(path))
    return StorageError("reliability.check.damage_found", path=str(path), backup=str(backup))


def files_check(services: Services) -> StorageError | None:
    """The file store against the database, each file hashed (with the full check): what to
    tell the officer when papers are missing or damaged (docs/attachments.md, "Checks")."""
    from ccdesk.storage.store_copies import check_store

    found = check_store(services.db.path)
    if found.orphans:
        log.info("files no dossier names", extra={"orphans": len(found.orphans)})
    if found.sound:
        return None
    log.error("file store check failed", extra={"missing": len(found.missing),
                                                "damaged": len(found.damaged)})
    return StorageError("attachments.check_failed", missing=len(found.missing),
                        damaged=len(found.damaged))


# ---- the day's backup -----------------------------------------------------------------------
# Here, not in storage/backup.py: its audit line is a service's act, and storage sits below
# the services (docs/design/README.md, the layers).

class StartupReport(NamedTuple):
    """What :func:`on_start` did: the backup taken, or why the day's backup failed."""

    backup: Path | None = None
    backup_error: StorageError | None = None
    audit_warning: str | None = None    # the audit trail's check found tampering


def on_start(services: Services, now: datetime | None = None) -> StartupReport:
    """Call once after ``Services.open`` (CLI, and the desk when it opens in one step): the
    start-up check, the day's first backup, then the audit trail's chain since the last check
    (and its guards).

    The check is the cheap look, or the whole file when a full check is pending (the last
    session ended uncleanly, a write failed, a restore, damage found before): a command is not
    a working desk to run it behind. The weekly check is left to the desk app.

    A damaged database raises :class:`DatabaseDamaged` (nothing should run on it). A backup
    that cannot be written (full disk, read-only folder) does not stop the desk: it is logged
    and returned in ``backup_error`` for the caller to show as a warning.
    """
    from ccdesk.services.audit import start_check
    from ccdesk.storage.integrity import SCHEDULE, due_reasons

    path, paths = services.db.path, services.paths
    due = [reason for reason in due_reasons(paths.data_dir, path, now) if reason != SCHEDULE]
    check_before_use(path, paths, full=bool(due))
    report = start_daily_backup(services, now)
    return report._replace(audit_warning=start_check(services.ctx))


def start_daily_backup(services: Services, now: datetime | None = None) -> StartupReport:
    """The day's first backup (and its audit line); a failure is returned, not raised."""
    from ccdesk.services.context import SYSTEM
    from ccdesk.services.recording import audit
    from ccdesk.storage.backup import daily_backup
    from ccdesk.storage.soundness import file_error

    path, backups_dir = services.db.path, services.paths.backups_dir
    try:
        taken = daily_backup(path, backups_dir, now)
    except (StorageError, OSError) as exc:
        error = exc if isinstance(exc, StorageError) else file_error(exc, backups_dir)
        if error.key == "core.err.storage":  # nothing more specific: say what failed, and where
            error = StorageError("reliability.err.copy_failed", path=str(backups_dir))
        log.error("daily backup failed", extra={"reason": error.key})
        return StartupReport(backup_error=error)
    if taken is not None:
        services.db.write(lambda session: audit(session, services.ctx, SYSTEM, "backup.daily",
                                                detail=taken.name))
    return StartupReport(backup=taken)
