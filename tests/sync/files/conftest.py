"""A relay that keeps files (SQLite, and PostgreSQL when reachable) and a fault proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.server.store import DistrictStore
from tests.sync.faultproxy import FaultProxy
from tests.sync.helpers import ServerThread


@pytest.fixture
def relay(district_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    # A PostgreSQL relay keeps its files in a folder it is given (the data dir in production).
    store = DistrictStore.open(district_url, files_dir=tmp_path / "relay-files")
    srv = ServerThread(store)
    yield srv
    srv.stop()
    store.engine.dispose()


@pytest.fixture
def proxy(relay: ServerThread) -> Iterator[FaultProxy]:
    p = FaultProxy(relay.port)
    yield p
    p.stop()
