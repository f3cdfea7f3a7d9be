"""Files follow their dossiers to a real relay over HTTP (docs/sync.md, "Files")."""

from __future__ import annotations

import signal
import sqlite3
import stat
import time

import pytest
from sqlalchemy import text

from ccdesk.storage.filestore import FileStore, store_root_for
from sync import service
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from tests.sync.faultproxy import Fault, FaultProxy
from tests.sync.files.kit import intake_with_scans, scan, sent
from tests.sync.helpers import COMMUNE, Desk, ServerThread
from tests.sync.test_crash import cli

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=4, lock_wait=5)


def enrol(desk: Desk, server: ServerThread) -> None:
    service.enroll(desk.services, server.url, server.store.issue_enroll_code(COMMUNE))


def test_files_follow_their_dossier_whole_and_verified(
        desk: Desk, relay: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    scans = [scan(150_000, 1), scan(90_000, 2)]
    code, hashes = intake_with_scans(desk, monkeypatch, scans)
    enrol(desk, relay)
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert result.exit_code == 0, result
    assert result.acked == 1
    assert (result.files_sent, result.files_pending) == (2, 0)
    assert result.file_bytes_sent == sum(len(s) for s in scans)
    assert sent(desk) == {h: (len(s), True) for h, s in zip(hashes, scans, strict=True)}
    intake = relay.store.files
    for h, data in zip(hashes, scans, strict=True):
        path = intake.path_of(h)
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Nothing left: the next run sends no file bytes.
    again = SyncEngine(desk.services.ctx, options=FAST).push()
    assert (again.exit_code, again.files_sent, again.file_bytes_sent) == (0, 0, 0)


PATCH = "PATCH /api/sync/v1/files/"


def via(desk: Desk, relay: ServerThread, proxy: FaultProxy) -> None:
    service.enroll(desk.services, proxy.url, relay.store.issue_enroll_code(COMMUNE))


def test_a_lost_reply_resumes_from_the_relays_count(
        desk: Desk, relay: ServerThread, proxy: FaultProxy,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = scan(400_000, 3)
    _code, (h,) = intake_with_scans(desk, monkeypatch, [data])
    via(desk, relay, proxy)
    proxy.add("drop_reply", PATCH)     # the first chunk arrives, its answer does not
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert result.exit_code == 0, result
    assert sent(desk) == {h: (len(data), True)}
    assert relay.store.files.path_of(h).read_bytes() == data
    # The chunk whose answer was lost was not sent again: the relay's count said it had it.
    assert result.file_bytes_sent == len(data) - 64 * 1024
    assert proxy.seen[f"/api/sync/v1/files/{h}"] >= 3


def test_a_dropped_link_mid_file_resumes_next_run(
        desk: Desk, relay: ServerThread, proxy: FaultProxy,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = scan(600_000, 4)
    _code, (h,) = intake_with_scans(desk, monkeypatch, [data])
    via(desk, relay, proxy)
    options = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=3,
                            lock_wait=5)
    # Two chunks go through, then the link drops every chunk (the GETs still answer).
    calls = {"n": 0}
    original = FaultProxy._take

    def take(self: FaultProxy, line: str):  # noqa: ANN202
        if line.startswith(PATCH):
            calls["n"] += 1
            if calls["n"] > 2:
                self.faults.append(Fault("reset"))
        return original(self, line)

    monkeypatch.setattr(FaultProxy, "_take", take)
    first = SyncEngine(desk.services.ctx, options=options).push()
    assert first.exit_code == 10, first          # records acked, then the link dropped
    assert first.acked == 1 and first.error == "connection_lost"
    got, done = sent(desk)[h]
    assert 0 < got < len(data) and not done
    assert first.files_pending == 1 and first.file_bytes_pending == len(data) - got
    monkeypatch.setattr(FaultProxy, "_take", original)
    second = SyncEngine(desk.services.ctx, options=options).push()
    assert second.exit_code == 0, second
    assert second.file_bytes_sent == len(data) - got   # from where it stopped, nothing twice
    assert relay.store.files.path_of(h).read_bytes() == data


def test_records_go_first_and_a_big_file_waits_for_its_budget(
        desk: Desk, relay: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    big = scan(1_500_000, 5)
    _code, (h,) = intake_with_scans(desk, monkeypatch, [big])
    enrol(desk, relay)
    budget = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=3, lock_wait=5,
                           file_bytes=200_000)
    first = SyncEngine(desk.services.ctx, options=budget).push()
    assert first.exit_code == 0, first
    assert first.files_budget_spent and first.files_pending == 1
    assert 0 < first.file_bytes_sent <= 200_000
    # New dossiers while the file is still on its way: the next run sends them first.
    desk.intake(3)
    before = _last_attempt(desk)
    second = SyncEngine(desk.services.ctx, options=budget).push()
    assert (second.exit_code, second.acked, second.files_pending) == (0, 3, 1)
    kinds = _kinds_after(desk, before)
    assert "batch" in kinds and "file" in kinds
    assert kinds.index("file") > max(i for i, k in enumerate(kinds) if k == "batch")
    runs = 2
    while second.files_pending:
        second = SyncEngine(desk.services.ctx, options=budget).push()
        assert second.exit_code == 0, second
        runs += 1
    assert runs == -(-len(big) // 200_000)
    assert relay.store.files.path_of(h).read_bytes() == big


def _last_attempt(desk: Desk) -> int:
    return sqlite3.connect(desk.db_path).execute(
        "SELECT COALESCE(MAX(id), 0) FROM sync_attempt").fetchone()[0]


def _kinds_after(desk: Desk, after: int) -> list[str]:
    return [k for (k,) in sqlite3.connect(desk.db_path).execute(
        "SELECT kind FROM sync_attempt WHERE id > ? ORDER BY id", (after,))]


def test_a_scan_damaged_on_the_desk_is_refused_and_needs_a_person(
        desk: Desk, relay: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    data = scan(100_000, 6)
    _code, (h,) = intake_with_scans(desk, monkeypatch, [data])
    enrol(desk, relay)
    path = FileStore(store_root_for(desk.db_path)).path_of(h)
    path.chmod(0o600)
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))       # same size, one bit off
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert (result.exit_code, result.error, result.acked) == (40, "file_damaged", 1)
    assert sent(desk) == {h: (0, False)}
    assert not relay.store.files.path_of(h).exists()
    message, hint = service.explain("file_damaged", "en", h[:12])
    assert h[:12] in message and "damaged" in message and hint


def test_kill_9_mid_file_then_the_next_run_finishes_it(
        desk: Desk, relay: ServerThread, proxy: FaultProxy,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ``ccdesk sync push`` killed while a chunk's answer is on its way: the relay has
    the chunk, the desk does not know; the next run's re-send of it changes nothing there."""
    data = scan(300_000, 7)
    _code, (h,) = intake_with_scans(desk, monkeypatch, [data])
    via(desk, relay, proxy)
    proxy.add("hold", PATCH)
    child = cli(desk, "sync", "push")
    deadline = time.monotonic() + 60
    while _received(relay, h) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _received(relay, h) > 0
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    proxy.release()
    assert sent(desk) == {h: (0, False)}
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert (result.exit_code, result.files_sent) == (0, 1), result
    assert relay.store.files.path_of(h).read_bytes() == data
    assert sent(desk) == {h: (len(data), True)}


def _received(relay: ServerThread, h: str) -> int:
    with relay.store.engine.connect() as conn:
        return conn.execute(text("SELECT received_bytes FROM district_file WHERE sha256 = :h"),
                            {"h": h}).scalar() or 0


def test_a_file_no_pushed_dossier_lists_waits_without_sending_a_chunk(
        desk: Desk, relay: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    data = scan(200_000, 8)
    _code, (h,) = intake_with_scans(desk, monkeypatch, [data], listed=False)
    enrol(desk, relay)
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert (result.exit_code, result.acked) == (0, 1), result
    assert (result.files_waiting, result.files_pending, result.file_bytes_wire) == (1, 1, 0)
    assert _kinds_after(desk, 0).count("file") == 1          # one question, no chunk
    assert sent(desk) == {h: (0, False)}


def test_no_file_goes_to_a_relay_that_does_not_say_it_takes_them(
        desk: Desk, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older relay (or one given no folder for files) says nothing of files in its hello:
    the desk sends its records and keeps its files, without one file exchange."""
    store = DistrictStore.open(sqlite_url)
    store.files_dir = None
    relay = ServerThread(store)
    try:
        _code, (h,) = intake_with_scans(desk, monkeypatch, [scan(50_000, 9)])
        enrol(desk, relay)
        result = SyncEngine(desk.services.ctx, options=FAST).push()
        assert (result.exit_code, result.acked, result.files_pending) == (0, 1, 1), result
        assert "file" not in _kinds_after(desk, 0)
        assert sent(desk) == {h: (0, False)}
    finally:
        relay.stop()
        store.engine.dispose()
