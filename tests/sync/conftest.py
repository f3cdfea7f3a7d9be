"""Fixtures: district servers (SQLite, and PostgreSQL when reachable), desks, enrolment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.server.store import DistrictStore
from tests.sync.helpers import (
    Desk,
    ServerThread,
    ThreadDistrict,
    copy_database,
    database_url,
    make_desk,
    migrated_relay,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def district_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    yield from database_url(request, tmp_path, "district")


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # noqa: ANN001
    copy_database(migrated_relay(), tmp_path / "district.sqlite3")
    return f"sqlite:///{tmp_path}/district.sqlite3"


@pytest.fixture
def server(district_url: str) -> Iterator[ServerThread]:
    store = DistrictStore.open(district_url, accept_demo=False)
    srv = ServerThread(store)
    yield srv
    srv.stop()
    store.engine.dispose()


@pytest.fixture
def sqlite_server(sqlite_url: str) -> Iterator[ServerThread]:
    store = DistrictStore.open(sqlite_url)
    srv = ServerThread(store)
    yield srv
    srv.stop()
    store.engine.dispose()


@pytest.fixture
def desk(tmp_path) -> Iterator[Desk]:  # noqa: ANN001
    d = make_desk(tmp_path / "desk")
    yield d
    d.close()


@pytest.fixture
def district(tmp_path: Path) -> Iterator[ThreadDistrict]:
    """The same server ``district serve`` runs, in a thread (see the watch test for the
    real subprocess)."""
    from sync.server.store import DistrictStore, default_url
    from tests.sync.helpers import ServerThread

    home = tmp_path / "district"
    url = default_url(home / "data")
    for folder in (home, home / "data"):   # as DistrictStore.open makes them: owner-only
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)
    copy_database(migrated_relay(), Path(url.removeprefix("sqlite:///")))
    store = DistrictStore.open(url)
    srv = ServerThread(store)
    yield ThreadDistrict(home, srv.url)
    srv.stop()
    store.engine.dispose()


@pytest.fixture
def cli_desk(tmp_path: Path) -> Iterator[Desk]:
    desk = make_desk(tmp_path / "desk")
    yield desk
    desk.close()
