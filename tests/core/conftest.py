"""Fixtures for the core: a real SQLite file per test, a settable clock, a set-up office."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.office import OfficeSettings

AGENCY = "000.17.22.H56"


class FakeClock:
    """Local wall-clock time the test controls."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 9, 15))  # a Monday


@pytest.fixture
def services(paths: Paths, clock: FakeClock) -> Services:
    svc = Services.open(paths.default_db, paths, clock=clock)
    yield svc
    svc.close()


def set_up_office(svc: Services, **overrides: str) -> None:
    settings = OfficeSettings(governing_body="UBND XÃ AN PHÚ",
                              unit_name="TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                              agency_code=AGENCY, place_name="An Phú", **overrides)
    svc.office.update(SYSTEM, settings, complete_setup=True)
    svc.catalog.import_file(BUNDLED_CATALOG)


@pytest.fixture
def desk(services: Services) -> Services:
    """An office that is set up, with the bundled catalogue and two officers."""
    set_up_office(services)
    services.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "officer", "1234")
    services.officers.add(SYSTEM, "hung", "Trần Văn Hùng", "lead", "56781234")
    return services


@pytest.fixture
def officer(desk: Services) -> Actor:
    return desk.officers.authenticate("lan", "1234")


@pytest.fixture
def lead(desk: Services) -> Actor:
    return desk.officers.authenticate("hung", "56781234")
