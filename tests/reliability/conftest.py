"""Shared set-up for the reliability tests: a real desk database in ``tmp_path``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.office import OfficeSettings

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "ccdesk" / "data" / "catalog.toml"
PINS = {"it1": "43218765", "lead1": "24681357", "off1": "1357", "trn1": "9753"}
ROLES = {"it1": "it", "lead1": "lead", "off1": "officer", "trn1": "trainer"}
OFFICER_NAMES = {"it1": "Phạm Minh Tuấn", "lead1": "Vũ Thị Hạnh", "off1": "Hoàng Văn Nam",
                 "trn1": "Bùi Thu Trang"}


class Clock:
    """A settable clock (a weekday morning by default) for lockout and due-date tests."""

    def __init__(self, now: datetime = datetime(2026, 11, 23, 9, 15)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Desk:
    services: Services
    paths: Paths
    clock: Clock

    @property
    def db_path(self) -> Path:
        return self.services.db.path

    def actor(self, username: str) -> Actor:
        """The officer as an actor, without the argon2 login (slow by design; the login
        itself is tested in test_security.py and through ``--as``)."""
        from ccdesk.services.officers import actor_of

        officer = next(o for o in self.services.officers.list(include_inactive=True)
                       if o.username == username)
        return actor_of(officer)


def make_paths(root: Path) -> Paths:
    return Paths(data_dir=root / "data", config_dir=root / "config")


def setup_desk(paths: Paths, clock: Clock | None = None, officers: tuple[str, ...] = ("it1",
               "lead1", "off1", "trn1")) -> Services:
    """Open a new database with the office set up, the starting catalogue and officers."""
    services = Services.open(paths.default_db, paths, clock=clock)
    services.office.update(SYSTEM, OfficeSettings("UBND XÃ AN PHÚ",
                                                  "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                                                  "000.17.22.H56", "An Phú"),
                           complete_setup=True)
    services.catalog.import_catalog(services.catalog.check_file(CATALOG))
    for username in officers:
        services.officers.add(SYSTEM, username, OFFICER_NAMES[username], ROLES[username],
                              PINS[username])
    return services


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return make_paths(tmp_path)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One set-up database per session (argon2 hashing and the catalogue import are slow);
    each test gets its own copy."""
    paths = make_paths(tmp_path_factory.mktemp("template"))
    services = setup_desk(paths, Clock())
    services.close()
    return paths.default_db


def copy_template(template_db: Path, paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.data_dir.chmod(0o700)
    # The desk key travels with the copy (as IT restores both), also where a child process
    # without CCDESK_KEY_FILE looks for it.
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(os.environ["CCDESK_KEY_FILE"], paths.config_dir / "desk.key")
    src, dst = sqlite3.connect(template_db), sqlite3.connect(paths.default_db)
    src.backup(dst)
    dst.close()
    src.close()


@pytest.fixture
def desk(paths: Paths, template_db: Path) -> Iterator[Desk]:
    clock = Clock()
    copy_template(template_db, paths)
    services = Services.open(paths.default_db, paths, clock=clock)
    yield Desk(services=services, paths=paths, clock=clock)
    services.close()


def birth_request(name: str = "Đặng Văn Đức", id_number: str = "001085012345",
                  phone: str = "0912 345 678") -> IntakeRequest:
    """A complete birth-registration intake (procedure 1.001193, free, same day)."""
    return IntakeRequest("1.001193", Applicant(name, id_number, phone=phone),
                         [ChecklistEntry(1, True), ChecklistEntry(3, True)])


def intake(desk: Desk, actor: Actor, **kwargs: str) -> str:
    return desk.services.intake.submit(actor, birth_request(**kwargs), Decision.ACCEPT) \
        .dossier.code


def table_counts(db_path: Path) -> dict[str, int]:
    """Row count of every table: a cheap fingerprint of "the database did not change"."""
    con = sqlite3.connect(db_path)
    try:
        names = [r[0] for r in con.execute(  # virtual tables' rows are in their shadow tables
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'")]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def db_dump(db_path: Path) -> str:
    """Every row of the database as text, for exact before/after comparisons."""
    con = sqlite3.connect(db_path)
    try:
        return "\n".join(dump_lines(con))
    finally:
        con.close()


def dump_lines(con: sqlite3.Connection) -> list[str]:
    """The schema and every row of every stored table, in a stable order. Python's
    ``iterdump`` cannot be used: it scans virtual tables too, and a contentless FTS5 index
    (``dossier_fts_due``) cannot be scanned; its rows live in its shadow tables, listed here."""
    lines = [sql for (sql,) in con.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")]
    tables = [name for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")]
    for name in tables:
        lines += [f"{name}: {row!r}" for row in con.execute(f'SELECT * FROM "{name}"')]
    return lines


def run_ccdesk(args: list[str], home: Path, *, env: dict[str, str] | None = None,
               input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real ``ccdesk`` command line in a child process (its own interpreter)."""
    full_env = {k: v for k, v in os.environ.items()
                if (not k.startswith("CCDESK_") or k == "CCDESK_KEY_FILE")
                and k not in ("SSH_CLIENT", "SSH_CONNECTION")}
    full_env.update({"CCDESK_HOME": str(home), "PYTHONIOENCODING": "utf-8"})
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ccdesk.cli", *args], env=full_env,
                          input=input, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Invoke the ``ccdesk`` Typer app in-process on the desk's database (fast; the subprocess
    tests cover the real entry point)."""
    from typer.testing import CliRunner

    from ccdesk.cli import app
    from ccdesk.commands.common import STATE
    from ccdesk.i18n import set_language
    from ccdesk.logs import shutdown_logging

    for name in ("CCDESK_USER", "CCDESK_PIN", "CCDESK_NEW_PIN", "CCDESK_DB", "CCDESK_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(STATE, "paths", desk.paths)

    def invoke(args: list[str], env: dict[str, str] | None = None,
               input: str | None = None) -> CliRun:
        STATE._services, STATE.db = None, None
        result = CliRunner().invoke(app, ["--lang", "en", "--db", str(desk.db_path), *args],
                                    env=env, input=input)
        if STATE._services is not None:
            STATE._services.close()
            STATE._services = None
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliRun(result.exit_code, result.stdout, result.stderr)

    yield invoke
    shutdown_logging()
    set_language("vi")
