"""The test kit every folder shares.

- ``clock``: a settable local wall clock (:class:`FakeClock`), Monday 23/11/2026 09:15.
- ``db_templates``: database files built once per test session (per xdist worker) and copied
  for each test, so a test pays for a file copy instead of migrations and argon2 hashes:
  ``open_copy(db_templates.migrated, paths, clock)`` or ``db_templates.desk`` (office headers,
  the bundled catalogue, officer ``lan``/1234 and lead ``hung``/56781234).
- ``submit_intake``: one intake through the real intake service, with sensible defaults.
- ``run_ccdesk``: the installed ``ccdesk`` command in a child process, under its own
  ``CCDESK_HOME``; ``without=("uvicorn",)`` runs it as if those modules were not installed.

Folders keep their own fixtures where they need a different desk (``tests/screens``,
``tests/sync``).

One desk key for the whole session: fixtures copy set-up databases between folders, and the key
that peppers PINs and chains the audit trail lives outside the database
(``ccdesk/storage/deskkey.py``), so the copies share one key file, as a desk restored by IT
shares the key file IT kept. Tests of the key itself point ``CCDESK_KEY_FILE`` elsewhere.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("CCDESK_KEY_FILE",
                      str(Path(tempfile.mkdtemp(prefix="ccdesk-test-key-")) / "desk.key"))

from ccdesk.paths import Paths, ensure_private_dir
from ccdesk.services import SYSTEM, Actor, Services, pins
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.intake import (
    Applicant,
    ChecklistEntry,
    Decision,
    IntakeRequest,
    IntakeResult,
)
from ccdesk.services.office import OfficeSettings

NOW = datetime(2026, 11, 23, 9, 15)  # a Monday

# argon2id at the smallest costs for the whole session (templates, logins, officer fixtures):
# ARGON2's 128 MiB costs ~0.4 CPU-s per PIN set or checked, hundreds of times a run. Tests that
# check ARGON2 itself, and one login end to end at it, ask for ``production_argon2``. Child
# processes (``run_ccdesk``) hash at ARGON2 as the desk does.
TEST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
pins.use_costs(TEST_ARGON2)
AGENCY = "000.17.22.H56"
CCDESK = str(Path(sys.executable).with_name("ccdesk"))
CITIZEN = Applicant("Nguyễn Văn An", "001085012347", phone="0912000003",
                    address="Thôn Đông, xã An Phú")


class FakeClock:
    """Local wall-clock time the test controls."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def vietnamese_first() -> Iterator[None]:
    """Every test starts in Vietnamese and leaves it so: the language is one per process, and a
    test that switched to English would otherwise change the messages the next one reads."""
    from ccdesk.i18n import set_language

    set_language("vi")
    yield
    set_language("vi")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def production_argon2() -> Iterator[None]:
    """The desk's own argon2 costs (``pins.ARGON2``) for PINs set or checked in this test;
    ask for it before any fixture that adds officers."""
    pins.use_costs(None)
    try:
        yield
    finally:
        pins.use_costs(TEST_ARGON2)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


# ---- databases ------------------------------------------------------------------------------

def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy of a closed or open SQLite file (SQLite's backup API)."""
    ensure_private_dir(target.parent)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


def set_up_office(svc: Services, **overrides: str) -> None:
    """Office headers of a commune and the bundled catalogue, as the first-run screen does."""
    settings = OfficeSettings(governing_body="UBND XÃ AN PHÚ",
                              unit_name="TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                              agency_code=AGENCY, place_name="An Phú", **overrides)
    svc.office.update(SYSTEM, settings, complete_setup=True)
    svc.catalog.import_file(BUNDLED_CATALOG)


def set_up_desk(svc: Services) -> None:
    """A set-up office with two officers: ``lan`` (officer, 1234) and ``hung`` (lead,
    56781234: a lead's PIN has at least 8 digits)."""
    set_up_office(svc)
    svc.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "officer", "1234")
    svc.officers.add(SYSTEM, "hung", "Trần Văn Hùng", "lead", "56781234")


@dataclass
class DatabaseTemplates:
    """Database files built on first use, once per session; tests open copies of them."""

    root: Path
    _built: dict[str, Path]

    def get(self, name: str, build: Callable[[Services], None] | None = None) -> Path:
        """The template ``name``: a migrated database on which ``build`` ran at :data:`NOW`."""
        if name not in self._built:
            where = Paths(data_dir=self.root / name / "data",
                          config_dir=self.root / name / "config")
            svc = Services.open(where.default_db, where, clock=FakeClock())
            try:
                if build is not None:
                    build(svc)
            finally:
                svc.close()
            self._built[name] = copy_database(where.default_db, self.root / f"{name}.sqlite3")
        return self._built[name]

    @property
    def migrated(self) -> Path:
        return self.get("migrated")

    @property
    def desk(self) -> Path:
        return self.get("desk", set_up_desk)


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> DatabaseTemplates:
    return DatabaseTemplates(tmp_path_factory.mktemp("db-templates"), {})


def open_copy(template: Path, paths: Paths, clock: Callable[[], datetime]) -> Services:
    """Services on a fresh copy of ``template`` at ``paths.default_db``."""
    copy_database(template, paths.default_db)
    return Services.open(paths.default_db, paths, clock=clock)


# ---- intake ---------------------------------------------------------------------------------

def submit_intake(services: Services, actor: Actor, procedure: str = "2.000884", *,
                  applicant: Applicant = CITIZEN, documents: int = 2, missing: Iterable[int] = (),
                  decision: Decision = Decision.ACCEPT, reason: str = "",
                  **fields: Any) -> IntakeResult:
    """One intake through the real intake service: documents 1..``documents`` ticked except
    those in ``missing``; ``fields`` go to :class:`IntakeRequest` (channel, fee_amount...)."""
    absent = set(missing)
    entries = [ChecklistEntry(n, n not in absent) for n in range(1, documents + 1)]
    request = IntakeRequest(procedure, applicant, entries, **fields)
    return services.intake.submit(actor, request, decision, reason=reason)


# ---- the command line -----------------------------------------------------------------------

_WITHOUT = (
    "import sys\n"
    "for name in sys.argv.pop(1).split(','):\n"
    "    sys.modules[name] = None  # import fails as when the package is not installed\n"
    "sys.argv[0] = 'ccdesk'\n"
    "from ccdesk.launch import main\n"
    "main()\n"
)


def run_ccdesk(*args: str, home: Path, lang: str = "vi", env: dict[str, str] | None = None,
               input: str | None = None, timeout: float = 120,
               without: Iterable[str] = ()) -> subprocess.CompletedProcess[str]:
    """The installed ``ccdesk`` command with ``CCDESK_HOME=home`` and no other CCDESK_*
    variable from the developer's shell."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    full_env.update({"CCDESK_HOME": str(home), "CCDESK_LANG": lang, "PYTHONIOENCODING": "utf-8"})
    full_env.update(env or {})
    blocked = ",".join(without)
    command = [sys.executable, "-c", _WITHOUT, blocked] if blocked else [CCDESK]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout, check=False)
