"""Fixtures for the desk's Pilot tests: a real SQLite file per test, a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ccdesk.i18n import set_language
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.office import OfficeSettings

# A Monday morning, a working day: due times are predictable.
NOW = datetime(2026, 11, 23, 9, 15)
PIN = "2468"
SIZE = (80, 24)


@pytest.fixture(autouse=True)
def vietnamese() -> Iterator[None]:
    set_language("vi")
    yield
    set_language("vi")


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


@pytest.fixture
def empty_services(paths: Paths) -> Iterator[Services]:
    services = Services.open(paths.default_db, paths, clock=lambda: NOW)
    yield services
    services.close()


@pytest.fixture
def services(empty_services: Services) -> Services:
    """A set-up office with the bundled catalogue and one lead officer ("lan")."""
    s = empty_services
    s.office.update(SYSTEM, OfficeSettings("UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                                           "000.17.22.H56", "An Phú"), complete_setup=True)
    s.catalog.import_file(BUNDLED_CATALOG)
    s.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "lead", PIN)
    return s


@pytest.fixture
def actor(services: Services) -> Actor:
    return services.officers.authenticate("lan", PIN)
