"""kill -9 of the client (a real subprocess) at each crash point and at random times, two pushes
at once, a server restored from a backup, and USB bundles imported twice or killed half-way."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from sync import service
from sync.bundle import export_bundle, import_ack
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.bundles import import_bundle
from sync.server.store import DistrictStore
from tests.sync.faultproxy import FaultProxy, Link
from tests.sync.helpers import (
    Desk,
    ServerThread,
    assert_invariants,
    copy_database,
    restore_district,
)

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=5, lock_wait=20)


def cli(desk: Desk, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = dict(os.environ, CCDESK_HOME=str(desk.root), CCDESK_LANG="en", **(env or {}))
    full_env.pop("CCDESK_DB", None)
    return subprocess.Popen([sys.executable, "-m", "ccdesk.cli", *args], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def proxy(server: ServerThread) -> Iterator[FaultProxy]:
    p = FaultProxy(server.port)
    yield p
    p.stop()


def enrol(desk: Desk, server: ServerThread, url: str) -> None:
    service.enroll(desk.services, url, server.store.issue_enroll_code("26734"))


def finish(desk: Desk, server: ServerThread) -> None:
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert result.exit_code == 0, result
    assert_invariants(desk, server.store)
    assert {s for *_x, s, _r in desk.outbox()} == {"acked"}
    assert sorted(server.store.mutation_ids()) == sorted(m for _s, m, *_x in desk.outbox())


@pytest.mark.parametrize("point", ["after_mark", "after_reply"])
def test_kill_at_crash_point(point: str, desk: Desk, server: ServerThread) -> None:
    desk.intake(6, events=True)
    enrol(desk, server, server.url)
    proc = cli(desk, "sync", "push", env={"CCDESK_SYNC_CRASH_AT": point})
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    states = {s for *_x, s, _r in desk.outbox()}
    assert states == {"in_flight"}
    on_server = len(server.store.mutation_ids())
    assert on_server == (12 if point == "after_reply" else 0)
    finish(desk, server)


def test_kill_mid_request(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    desk.intake(5)
    enrol(desk, server, proxy.url)
    proxy.add("hold", "POST /api/sync/v1/batches")
    proc = cli(desk, "sync", "push")
    assert proxy.forwarded.wait(60), "the request never reached the server"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proxy.release()
    finish(desk, server)


# Client-side crash recovery and locking: the server side of these paths runs on PostgreSQL in
# the other tests, so these two stay on SQLite to keep the suite inside its time budget.
SQLITE_ONLY = pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_kill_at_random_times(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    rng = random.Random(7)
    desk.intake(40, events=True)
    enrol(desk, server, proxy.url)
    # A slow link and small batches so that the kills land at different moments.
    proxy.link = Link(bandwidth_bps=200_000, rtt_s=0.05)
    con = sqlite3.connect(desk.db_path)
    con.execute("UPDATE sync_state SET batch_bytes=2048")
    con.commit()
    con.close()
    for _ in range(2):
        proc = cli(desk, "sync", "push")
        time.sleep(rng.uniform(0.8, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert_invariants(desk, server.store, after_crash=True)
    proxy.link = None
    finish(desk, server)


@SQLITE_ONLY
def test_two_pushes_at_once(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    desk.intake(20, events=True)
    enrol(desk, server, proxy.url)
    proxy.link = Link(rtt_s=0.1)
    procs = [cli(desk, "sync", "push", "--json") for _ in range(2)]
    outs = [orjson.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 0]
    assert sum(o["records_sent"] for o in outs) == 40      # nothing sent twice
    assert_invariants(desk, server.store)


def test_server_restored_from_backup(tmp_path: Path, desk: Desk) -> None:
    db_file = tmp_path / "district.sqlite3"
    store = DistrictStore.open(f"sqlite:///{db_file}")
    srv = ServerThread(store)
    proxy = FaultProxy(srv.port)
    try:
        enrol(desk, srv, proxy.url)
        desk.intake(5)
        engine = SyncEngine(desk.services.ctx, options=FAST)
        assert engine.push().exit_code == 0
        backup = tmp_path / "backup.sqlite3"
        copy_database(db_file, backup)
        desk.intake(4)
        assert engine.push().exit_code == 0
        # Disaster: the district restores last night's backup.
        store, srv = restore_district(srv, store, db_file, backup)
        proxy.upstream_port = srv.port
        assert len(store.mutation_ids()) == 5
        result = engine.push()
        assert (result.exit_code, result.resent_after_restore, result.acked) == (0, 4, 4)
        assert_invariants(desk, store)
        assert len(store.mutation_ids()) == 9
        # The admin starts a new epoch after the restore: the desk checks again, resends nothing
        # the server already has, and its pull cursor starts over.
        store.set_epoch()
        result = engine.run()
        assert (result.exit_code, result.resent_after_restore) == (0, 0)
        assert service.status(desk.services).epoch == store.epoch
    finally:
        proxy.stop()
        srv.stop()


def test_bundle_imported_twice(tmp_path: Path, desk: Desk, server: ServerThread) -> None:
    desk.intake(7, events=True)
    enrol(desk, server, server.url)
    bundle, count, first, last, _files = export_bundle(desk.services.db, tmp_path / "usb")
    assert (count, first, last) == (14, 1, 14)
    assert bundle.name.startswith("26734_")
    assert {s for *_x, s, _r in desk.outbox()} == {"pending"}   # exporting changes no state
    ack1 = import_bundle(server.store, bundle.read_bytes())
    ack2 = import_bundle(server.store, bundle.read_bytes())
    assert orjson.loads(orjson.loads(ack1)["ack"])["results"] == \
        orjson.loads(orjson.loads(ack2)["ack"])["results"]
    assert len(server.store.mutation_ids()) == 14
    counts = import_ack(desk.services.db, ack2)
    assert counts == {"acked": 14, "quarantined": 0, "conflicts": 0, "files": 0}
    assert_invariants(desk, server.store)
    # A tampered ack is refused.
    from sync.bundle import BundleError

    forged = orjson.loads(ack1)
    forged["ack"] = forged["ack"].replace("applied", "rejected")
    with pytest.raises(BundleError):
        import_ack(desk.services.db, orjson.dumps(forged))


def test_bundle_import_killed_half_way(tmp_path: Path, desk: Desk, server: ServerThread,
                                       district_url: str) -> None:
    desk.intake(10, events=True)
    enrol(desk, server, server.url)
    bundle, count, *_ = export_bundle(desk.services.db, tmp_path / "usb")
    env = dict(os.environ, CCDESK_HOME=str(tmp_path / "district-home"),
               CCDESK_DISTRICT_CRASH_AFTER_CHUNK="2")
    args = [sys.executable, "-m", "ccdesk.cli", "district", "import", str(bundle),
            "--db", district_url, "--chunk-records", "6"]
    killed = subprocess.run(args, env=env, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert len(server.store.mutation_ids()) == 12            # two chunks of six committed
    # The operator runs the import again (in-process here: the kill above was the real one).
    ack_file = Path(f"{bundle}.ack.json")
    ack_file.write_bytes(import_bundle(server.store, bundle.read_bytes(), chunk_records=6))
    imported = cli(desk, "sync", "import-ack", str(ack_file))
    out, err = imported.communicate(timeout=60)
    assert imported.returncode == 0, err
    assert b"20 acknowledged" in out
    assert_invariants(desk, server.store)
    assert {s for *_x, s, _r in desk.outbox()} == {"acked"}


def _restored_after_pushing(tmp_path: Path, desk: Desk, server: ServerThread
                            ) -> tuple[Desk, list[str]]:
    """A desk that took a backup after 2 dossiers, received and pushed 3 more, then had the
    backup restored over its database (the disk died): the reopened desk and the first two
    codes. The fixture's ``desk`` is pointed at the new services so it closes them."""
    from ccdesk.paths import Paths
    from ccdesk.services import Services
    from tests.sync.helpers import Desk as DeskType

    enrol(desk, server, server.url)
    first_two = desk.intake(2)
    backup = tmp_path / "desk-backup.sqlite3"
    copy_database(desk.db_path, backup)
    desk.intake(3)
    assert SyncEngine(desk.services.ctx, options=FAST).push().exit_code == 0
    path, root, actor = desk.db_path, desk.root, desk.actor
    desk.services.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    backup.replace(path)
    services = Services.open(path, Paths(root / "data", root / "config"))
    desk.services = services
    return DeskType(root, services, actor), first_two


def test_desk_restored_from_an_older_backup(tmp_path: Path, desk: Desk, server: ServerThread
                                            ) -> None:
    restored, first_two = _restored_after_pushing(tmp_path, desk, server)
    result = SyncEngine(restored.services.ctx, options=FAST).push()
    assert (result.exit_code, result.duplicates) == (0, 2)     # already upstream: acked
    # The district holds dossiers 3-5 that this file lost: named, and their codes skipped.
    lost = [code for code in upstream_codes(server.store) if code not in first_two]
    assert result.upstream_only_codes == lost and result.codes_upstream_only == 3
    (new_code,) = restored.intake(1)
    assert new_code.endswith("-0006") and new_code not in upstream_codes(server.store)
    seqs = [seq for seq, *_x in restored.outbox()]
    assert seqs == [1, 2, 6]                                   # never reuses seqs 3-5
    again = SyncEngine(restored.services.ctx, options=FAST).push()
    assert (again.exit_code, again.quarantined, again.codes_upstream_only) == (0, 0, 0)
    assert_invariants(restored, server.store)


def test_a_restored_desk_that_reissued_a_code_before_syncing(tmp_path: Path, desk: Desk,
                                                             server: ServerThread) -> None:
    """Dossiers received after the restore but before any sync may reuse a code the district
    holds: that record is refused and held for a person, never merged into the other one."""
    restored, _first_two = _restored_after_pushing(tmp_path, desk, server)
    (reissued,) = restored.intake(1)                            # offline, before any sync
    assert reissued in upstream_codes(server.store)
    result = SyncEngine(restored.services.ctx, options=FAST).push()
    assert (result.exit_code, result.quarantined) == (40, 1)
    assert restored.outbox()[-1][2:] == ("quarantined",
                                         "dossier_exists: dossier already created")
    assert restored.intake(1)[0] not in upstream_codes(server.store)  # counters moved past
    assert_invariants(restored, server.store)


def upstream_codes(store) -> list[str]:  # noqa: ANN001 - DistrictStore
    """The dossier codes the district holds, in the order the desk created them."""
    with store.engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql(
            "SELECT entity_id FROM district_mutation WHERE op = 'dossier.create' "
            "ORDER BY device_seq")]
