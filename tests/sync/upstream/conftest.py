"""Fixtures of the forwarder's tests: a real relay (district server on 127.0.0.1, SQLite or
PostgreSQL), real desks pushing to it, and an upstream (the small fake, or the double)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ccdesk.retry import RetryPolicy
from sync import service
from sync.engine import EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from sync.upstream.config import load_config, save_config
from sync.upstream.forwarder import Forwarder
from tests.sync.helpers import (
    COMMUNE,
    Desk,
    ServerThread,
    copy_database,
    database_url,
    make_desk,
    migrated_relay,
)
from tests.sync.upstream.fake_upstream import FakeUpstream

FAST = RetryPolicy(base=0.0, cap=0.0, max_attempts=3)
PUSH = EngineOptions(backoff=RetryPolicy(base=0.01, cap=0.05), max_attempts=5, lock_wait=20)
UNIT = "000.17.22.H56"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def relay_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request, tmp_path, "relay")


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[ServerThread]:
    """A SQLite relay (the forwarder's unit tests; the end-to-end ones take ``relay_url``)."""
    copy_database(migrated_relay(), tmp_path / "relay.sqlite3")
    store = DistrictStore.open(f"sqlite:///{tmp_path}/relay.sqlite3", accept_demo=True)
    srv = ServerThread(store)
    yield srv
    srv.stop()
    store.engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture
def desk(tmp_path: Path, relay: ServerThread) -> Iterator[Desk]:
    d = enrolled_desk(tmp_path / "desk", relay)
    yield d
    d.close()


def enrolled_desk(root: Path, relay: ServerThread, *, demo: bool = False) -> Desk:
    d = make_desk(root, demo=demo)
    service.enroll(d.services, relay.url, relay.store.issue_enroll_code(COMMUNE))
    return d


def push(desk: Desk) -> None:
    result = SyncEngine(desk.services.ctx, options=PUSH).push()
    assert result.exit_code == 0, result


def configure(store: DistrictStore, url: str, *, password: str = "secret",
              accept_demo: bool = False, settings: dict | None = None) -> None:
    save_config(store.engine, profile="dvcqg", url=url, unit_code=UNIT, username="xa-anphu",
                password=password, accept_demo=accept_demo, settings=settings)


def forwarder(store: DistrictStore) -> Forwarder:
    return Forwarder(store.engine, load_config(store.engine), policy=FAST,
                     sleep=lambda _s: None)
