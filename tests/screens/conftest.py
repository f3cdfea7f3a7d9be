"""Fixtures for the desk's Pilot tests: a real SQLite file per test, a pinned clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.office import OfficeSettings
from ccdesk.services.officers import actor_of

# A Monday morning, a working day: due times are predictable.
NOW = datetime(2026, 11, 23, 9, 15)
PIN = "24681357"
SIZE = (80, 24)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two database files built once per session: freshly migrated, and set up (office
    headers, bundled catalogue, lead officer "lan"). Each test works on its own copy."""
    root = tmp_path_factory.mktemp("templates")
    paths = Paths(data_dir=root / "data", config_dir=root / "config")
    empty = Services.open(paths.default_db, paths, clock=lambda: NOW)
    _copy(paths.default_db, root / "empty.sqlite3")
    empty.office.update(SYSTEM, OfficeSettings(
        "UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "000.17.22.H56", "An Phú"),
        complete_setup=True)
    empty.catalog.import_file(BUNDLED_CATALOG)
    empty.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "lead", PIN)
    _copy(paths.default_db, root / "ready.sqlite3")
    empty.close()
    return {"empty": root / "empty.sqlite3", "ready": root / "ready.sqlite3"}


def _copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (WAL content included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _open(template: Path, paths: Paths) -> Services:
    _copy(template, paths.default_db)
    return Services.open(paths.default_db, paths, clock=lambda: NOW)


@pytest.fixture
def empty_services(templates: dict[str, Path], paths: Paths) -> Iterator[Services]:
    services = _open(templates["empty"], paths)
    yield services
    services.close()


@pytest.fixture
def services(templates: dict[str, Path], paths: Paths) -> Iterator[Services]:
    """A set-up office with the bundled catalogue and one lead officer ("lan", PIN ``PIN``)."""
    services = _open(templates["ready"], paths)
    yield services
    services.close()


@pytest.fixture
def actor(services: Services) -> Actor:
    """"lan" as logged in (the login itself is tested in test_start with the real PIN)."""
    (officer,) = [o for o in services.officers.list() if o.username == "lan"]
    return actor_of(officer)
