"""Shared helpers of the sync tests: a real district server on a free 127.0.0.1 port, real desk
databases with real intakes, and the sync invariants (docs/design/sync-failures.md) checked
against both sides."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ccdesk.domain.lifecycle import Action
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.office import OfficeSettings
from sync.server.app import create_app
from sync.server.store import DistrictStore

# For tests of client-side behaviour only (the server path they touch runs on PostgreSQL in the
# other tests): keeps the suite inside its time budget.
SQLITE_ONLY = pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)

CATALOG = Path(__file__).resolve().parents[2] / "ccdesk" / "data" / "catalog.toml"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COMMUNE = "26734"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class QuickStopServer(uvicorn.Server):
    """uvicorn's server, noticing ``should_exit`` within 10 ms instead of its 100 ms tick: the
    suite starts and stops hundreds of servers. uvicorn's own tick (the Date header, the
    request limit) still runs every 100 ms, with the count it expects."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(0)
        while not should_exit:
            await asyncio.sleep(0.01)
            counter = (counter + 1) % 8_640_000
            should_exit = self.should_exit or (
                counter % 10 == 0 and await self.on_tick(counter // 10))


class AppThread:
    """uvicorn serving an ASGI app in a thread, on a socket we bound ourselves on 127.0.0.1."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = QuickStopServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


class ServerThread(AppThread):
    """The district server over a :class:`DistrictStore`, served by :class:`AppThread`."""

    def __init__(self, store: DistrictStore, port: int = 0, **app_options: object) -> None:
        self.store = store
        super().__init__(create_app(store, **app_options), port)


def database_url(request: Any, tmp_path: Path, name: str) -> Iterator[str]:
    """A server database for a fixture parametrised "sqlite" / "postgresql": a SQLite file, or
    a private PostgreSQL schema dropped afterwards (skipped when nothing listens)."""
    if request.param == "sqlite":
        copy_database(migrated_relay(), tmp_path / f"{name}.sqlite3")
        yield f"sqlite:///{tmp_path}/{name}.sqlite3"
        return
    base = pg_url()
    if base is None:
        pytest.skip("PostgreSQL not reachable at CCDESK_TEST_PG_URL or 127.0.0.1:5432/test")
    schema = PgSchema(base)
    schema.create()
    try:
        yield schema.url
    finally:
        schema.drop()


_RELAY_TEMPLATE: list[Path] = []


def migrated_relay() -> Path:
    """A SQLite file with the district migrations run, built once per test session (per xdist
    worker): a relay test starts from a copy instead of the whole chain. Only migrated: the
    relay's epoch, signing key and file secret are made by each copy's first
    ``DistrictStore.open``, so no two relays share them."""
    if not _RELAY_TEMPLATE:
        import tempfile

        from sync.server.migrate import upgrade
        from sync.server.store import make_engine

        path = Path(tempfile.mkdtemp(prefix="ccdesk-relay-template-")) / "relay.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        _RELAY_TEMPLATE.append(path)
    return _RELAY_TEMPLATE[0]


def pg_url() -> str | None:
    """The PostgreSQL URL of the tests, or None when nothing listens there (the only reason to
    skip). A server that answers with an error (unknown database or role, too many clients) is
    a broken set-up, not an absent one: the error goes to the test, which fails."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    url = os.environ.get("CCDESK_TEST_PG_URL", PG_DEFAULT)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    info = conninfo_to_dict(dsn)
    host, port = str(info.get("host") or "localhost"), int(info.get("port") or 5432)
    if not _listening(host, port):
        return None
    with psycopg.connect(dsn, connect_timeout=5):
        return url


def _listening(host: str, port: int) -> bool:
    """Whether a PostgreSQL server listens at ``host`` (a name, an address or a socket folder)."""
    if host.startswith("/"):
        return Path(host, f".s.PGSQL.{port}").exists()
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@dataclass
class PgSchema:
    """A private schema per test so runs never see each other's rows."""

    base: str
    name: str = field(default_factory=lambda: "t_" + uuid.uuid4().hex[:12])

    @property
    def url(self) -> str:
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{self.name}"

    def _run(self, sql: str) -> None:
        import psycopg

        dsn = self.base.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._run(f"CREATE SCHEMA {self.name}")

    def drop(self) -> None:
        self._run(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


@dataclass
class ThreadDistrict:
    """A district server in a thread, with the home its ``ccdesk district`` commands use."""

    home: Path
    url: str


@dataclass
class Desk:
    """A commune desk database with the catalogue loaded and one lead officer."""

    root: Path
    services: Services
    actor: object

    @property
    def db_path(self) -> Path:
        return self.services.db.path

    def intake(self, n: int = 1, *, events: bool = False) -> list[str]:
        codes = []
        for i in range(n):
            req = IntakeRequest("1.004873", Applicant("Đặng Văn Đức", f"0010850{i % 100000:05d}",
                                                      phone="0912 345 678"),
                                [ChecklistEntry(1, True)], fee_amount=5000)
            code = self.services.intake.submit(self.actor, req, Decision.ACCEPT).dossier.code
            if events:
                self.services.dossiers.act(self.actor, code, Action.START)
            codes.append(code)
        return codes

    def act(self, code: str, action: Action, **kw: object) -> None:
        self.services.dossiers.act(self.actor, code, action, **kw)

    def outbox(self) -> list[tuple[int, str, str, str]]:
        con = sqlite3.connect(self.db_path)
        try:
            # The view resolves acknowledged and in-flight seq ranges into each row's state.
            return con.execute("SELECT device_seq, mutation_id, state, last_error "
                               "FROM outbox_state ORDER BY device_seq").fetchall()
        finally:
            con.close()

    def close(self) -> None:
        self.services.close()


_TEMPLATES: dict[bool, Path] = {}


def _template(root: Path, training: bool) -> Path:
    """One fully set-up desk database per test session (catalogue import and argon2 are slow);
    each desk is a copy with its own device id."""
    if training not in _TEMPLATES:
        import tempfile

        base = Path(tempfile.mkdtemp(prefix="ccdesk-sync-template-"))
        paths = Paths(base / "data", base / "config")
        services = Services.open(paths.default_db, paths, training=training)
        services.office.update(SYSTEM, OfficeSettings(
            "UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "000.17.22.H56", "An Phú",
            commune_code=COMMUNE), complete_setup=True)
        services.catalog.import_catalog(services.catalog.check_file(CATALOG))
        services.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "lead", "12345678")
        services.close()
        _TEMPLATES[training] = paths.default_db
    return _TEMPLATES[training]


def make_desk(root: Path, *, commune: str = COMMUNE, agency: str = "000.17.22.H56",
              clock: object = None, demo: bool = False, training: bool = False) -> Desk:
    template = _template(root, training)
    paths = Paths(root / "data", root / "config")
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(template)
    dst = sqlite3.connect(paths.default_db)
    src.backup(dst)
    dst.execute("UPDATE office SET device_id=?, commune_code=?, agency_code=?, is_demo=?",
                (str(uuid.uuid4()), commune, agency, demo))
    dst.commit()
    dst.close()
    src.close()
    services = Services.open(paths.default_db, paths, clock=clock or datetime.now,
                             training=training)
    officer_id = sqlite3.connect(paths.default_db).execute(
        "SELECT id FROM officer WHERE username='lan'").fetchone()[0]
    return Desk(root, services, Actor(officer_id=officer_id, username="lan", role="lead"))


def assert_invariants(desk: Desk, store: DistrictStore, *, after_crash: bool = False) -> None:
    """docs/design/sync-failures.md: every mutation id on the server exactly once; every client
    row acked or held with a reason; nothing acked without the server having it. Right after a
    crash, rows may still be in flight (the next run returns them to pending)."""
    server_ids = store.mutation_ids()
    assert len(server_ids) == len(set(server_ids))
    server = set(server_ids)
    rows = desk.outbox()
    assert rows, "the desk wrote no outbox rows"
    for seq, mutation_id, state, reason in rows:
        if state == "acked":
            assert mutation_id in server, f"seq {seq} acked but not on the server"
        elif state in ("quarantined", "conflict"):
            assert reason, f"seq {seq} held without a reason"
        else:
            allowed = ("pending", "in_flight") if after_crash else ("pending",)
            assert state in allowed, f"seq {seq} left {state}"


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file through the online backup API (a backup taken)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def restore_district(srv: ServerThread, store: DistrictStore, db_file: Path, backup: Path, *,
                     new_epoch: bool = False) -> tuple[DistrictStore, ServerThread]:
    """The district's disaster: stop it, put ``backup`` back over its SQLite file, start again
    (with a new epoch when the admin starts one)."""
    srv.stop()
    store.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    backup.rename(db_file)
    store = DistrictStore.open(f"sqlite:///{db_file}")
    if new_epoch:
        store.set_epoch()
    return store, ServerThread(store)
