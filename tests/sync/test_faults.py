"""Fault scenarios of docs/design/sync-failures.md through a real fault proxy, each checked
against the invariants."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from ccdesk.domain.lifecycle import Action
from sync import service
from sync.client import SyncClient
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from tests.sync.faultproxy import FaultProxy
from tests.sync.helpers import SQLITE_ONLY, Desk, ServerThread, assert_invariants

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=5, lock_wait=5,
                     read_timeout=5)
BATCHES = "POST /api/sync/v1/batches"


@pytest.fixture
def proxy(server: ServerThread) -> Iterator[FaultProxy]:
    p = FaultProxy(server.port)
    yield p
    p.stop()


def enrol_via(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    service.enroll(desk.services, proxy.url, server.store.issue_enroll_code("26734"))


def push(desk: Desk, options: EngineOptions = FAST, sleep=None):  # noqa: ANN001, ANN201
    kwargs = {"sleep": sleep} if sleep else {}
    return SyncEngine(desk.services.ctx, options=options, **kwargs).push()


def test_connection_reset_mid_request(desk: Desk, server: ServerThread, proxy: FaultProxy
                                      ) -> None:
    desk.intake(6)
    enrol_via(desk, server, proxy)
    proxy.add("reset", BATCHES)
    result = push(desk)
    assert result.exit_code == 0 and result.acked == 6
    assert proxy.seen["/api/sync/v1/batches"] == 2
    assert_invariants(desk, server.store)


def test_reply_lost_after_commit_is_recovered_without_resending(
        desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    desk.intake(8, events=True)
    enrol_via(desk, server, proxy)
    proxy.add("drop_reply", BATCHES)
    result = push(desk)
    assert result.exit_code == 0 and result.acked == 16 and result.duplicates == 0
    # One POST, then the stored reply fetched with GET: the batch was not sent again.
    assert proxy.seen["/api/sync/v1/batches"] == 1
    assert sum(n for path, n in proxy.seen.items() if path.startswith("/api/sync/v1/batches/")
               ) == 1
    assert_invariants(desk, server.store)


@pytest.mark.parametrize("kind", ["500_before", "500_after"])
def test_server_error_before_and_after_commit(kind: str, desk: Desk, server: ServerThread,
                                              proxy: FaultProxy) -> None:
    desk.intake(5)
    enrol_via(desk, server, proxy)
    proxy.add(kind, BATCHES)
    result = push(desk)
    assert result.exit_code == 0 and result.acked == 5
    # After the commit the stored reply is fetched (GET), so the batch is posted only once.
    assert proxy.seen["/api/sync/v1/batches"] == (1 if kind == "500_after" else 2)
    assert len(server.store.mutation_ids()) == 5
    assert_invariants(desk, server.store)


@SQLITE_ONLY
def test_timeout_then_retry(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    desk.intake(4)
    enrol_via(desk, server, proxy)
    proxy.add("delay", BATCHES, seconds=1.5)
    options = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), read_timeout=0.5,
                            lock_wait=5)
    result = push(desk, options)
    assert result.exit_code == 0 and result.acked == 4
    assert_invariants(desk, server.store)


def test_duplicate_delivery(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    desk.intake(10, events=True)
    enrol_via(desk, server, proxy)
    proxy.add("duplicate", BATCHES)
    result = push(desk)
    assert result.exit_code == 0 and result.acked == 20
    assert len(server.store.mutation_ids()) == 20
    assert_invariants(desk, server.store)


def test_reordered_delivery_never_moves_state_backwards(desk: Desk, server: ServerThread
                                                        ) -> None:
    """A stale copy of an old batch, and an older event arriving after a newer one."""
    code = desk.intake(1)[0]
    desk.act(code, Action.START)
    desk.act(code, Action.MARK_READY)
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    from sync import protocol
    from sync.state import SyncState

    with desk.services.db.session() as session:
        state = session.get(SyncState, 1)
    rows = sqlite3.connect(desk.db_path).execute(
        "SELECT device_seq, mutation_id, op, entity_id, client_time, payload FROM outbox "
        "ORDER BY device_seq").fetchall()
    records = [protocol.record_of(*row) for row in rows]
    client = SyncClient(server.url, state.device_id, state.private_key)

    def send(batch_id: str, recs: list) -> dict:
        wire = protocol.compress(protocol.dumps(protocol.batch_body(
            batch_id, state.device_id, "26734", False, recs)), "zstd")
        return client.post_batch(batch_id, wire, "zstd").data

    first = send("b-1", [records[0], records[2]])     # create, then "mark ready"
    late = send("b-2", [records[1]])                   # "start" arrives late
    stale = send("b-1", [records[0], records[2]])      # and a stale copy of the first batch
    client.close()
    assert [r["result"] for r in first["results"]] == ["applied", "applied"]
    assert [r["result"] for r in late["results"]] == ["applied"]
    assert stale == first
    with server.store.engine.connect() as conn:
        from sqlalchemy import text

        status, events = conn.execute(text(
            "SELECT status, events FROM district_dossier WHERE code=:c"), {"c": code}).one()
    assert (status, events) == ("result_ready", 3)


def test_413_splits_the_batch_and_quarantines_a_giant(tmp_path, district_url: str,  # noqa: ANN001
                                                      desk: Desk) -> None:
    store = DistrictStore.open(district_url, max_batch_bytes=1024,
                               preferred_batch_bytes=200_000)
    srv = ServerThread(store)
    try:
        desk.intake(30, events=True)
        service.enroll(desk.services, srv.url, store.issue_enroll_code("26734"))
        result = push(desk, EngineOptions(backoff=Backoff(0.01, 0.05), lock_wait=5,
                                          encoding="gzip"))
        assert result.exit_code == 0 and result.acked == 60
        assert result.batches > 2
        assert_invariants(desk, store)
    finally:
        srv.stop()


@SQLITE_ONLY
def test_captive_portal_200_is_not_success(desk: Desk, server: ServerThread,
                                           proxy: FaultProxy) -> None:
    desk.intake(3)
    enrol_via(desk, server, proxy)
    for _ in range(10):
        proxy.add("captive")
    result = push(desk, EngineOptions(backoff=Backoff(0.01, 0.02), max_attempts=3, lock_wait=5))
    assert (result.exit_code, result.error, result.acked) == (20, "captive_portal", 0)
    assert {s for *_x, s, _r in desk.outbox()} == {"pending"}
    # The portal is accepted; the next run goes through.
    proxy.faults.clear()
    proxy.add("captive", BATCHES)
    result = push(desk)
    assert (result.exit_code, result.acked) == (0, 3)
    assert_invariants(desk, server.store)


@SQLITE_ONLY
def test_retry_after_is_honoured(desk: Desk, server: ServerThread, proxy: FaultProxy) -> None:
    desk.intake(2)
    enrol_via(desk, server, proxy)
    proxy.add("status", BATCHES, status=503, headers={"Retry-After": "7"})
    slept: list[float] = []
    result = push(desk, sleep=slept.append)
    assert result.exit_code == 0
    assert slept == [7.0]


@SQLITE_ONLY
def test_network_down_exits_20_and_keeps_rows(desk: Desk, server: ServerThread,
                                              proxy: FaultProxy) -> None:
    desk.intake(2)
    enrol_via(desk, server, proxy)
    proxy.stop()
    result = push(desk, EngineOptions(backoff=Backoff(0.01, 0.02), max_attempts=2, lock_wait=5,
                                      connect_timeout=1))
    assert (result.exit_code, result.error) == (20, "network_unavailable")
    assert service.status(desk.services).last_error == "network_unavailable"
    assert {s for *_x, s, _r in desk.outbox()} == {"pending"}


def test_district_edits_the_same_dossier(desk: Desk, server: ServerThread) -> None:
    calm, contested = desk.intake(2)
    for code in (calm, contested):
        desk.act(code, Action.HAND_OFF, body="Phòng Tư pháp")
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    engine = SyncEngine(desk.services.ctx, options=FAST)
    assert engine.push().exit_code == 0
    # The handling body returns both results; meanwhile the desk withdraws the second dossier.
    server.store.record_change(calm, "result", data={"result_no": "123/QĐ"})
    server.store.record_change(contested, "result")
    desk.act(contested, Action.WITHDRAW, reason="Công dân rút hồ sơ")
    result = engine.run()
    assert result.exit_code == 40                  # a person must decide
    assert result.conflicts == 1                   # the withdraw, refused upstream
    assert result.pulled == 1                      # the calm one applied
    assert result.pull_conflicts == 1              # the contested one kept, not applied
    detail = desk.services.dossiers.detail(calm)
    assert detail.dossier.status == "in_progress" and detail.dossier.result_back_at
    assert detail.events[-1].action == "upstream_update"
    assert desk.services.dossiers.detail(contested).dossier.status == "withdrawn"
    from sync.conflicts import open_conflicts, resolve_conflict

    conflicts = open_conflicts(desk.services.db)
    assert sorted(c.side for c in conflicts) == ["pull", "push"]
    for c in conflicts:
        resolve_conflict(desk.services.ctx, c.id, "local")
    assert open_conflicts(desk.services.db) == []
    assert engine.run().exit_code == 0
    # Keeping the desk's state sent it upstream from the district's state: the district's
    # dossier is withdrawn too, and the desk's history says why.
    with server.store.engine.connect() as conn:
        upstream = conn.execute(text("SELECT status FROM district_dossier WHERE code = :code"),
                                {"code": contested}).scalar()
    assert upstream == "withdrawn"
    kept = desk.services.dossiers.detail(contested).events[-1]
    assert (kept.action, kept.from_status, kept.to_status) == ("keep_local", "in_progress",
                                                               "withdrawn")
    # Re-delivery of the same changes (cursor reset) applies nothing twice.
    con = sqlite3.connect(desk.db_path)
    con.execute("UPDATE sync_state SET pull_cursor=0")
    con.commit()
    con.close()
    again = engine.pull()
    assert (again.pulled, again.pull_conflicts) == (0, 0)
    assert len([e for e in desk.services.dossiers.detail(calm).events
                if e.action == "upstream_update"]) == 1
    assert_invariants(desk, server.store)


@pytest.mark.parametrize("years", [10, -10])
@SQLITE_ONLY
def test_client_clock_off_by_ten_years(years: int, tmp_path, server: ServerThread) -> None:  # noqa: ANN001
    from datetime import datetime, timedelta

    from ccdesk.storage.outbox import utcnow
    from tests.sync.helpers import make_desk

    shift = timedelta(days=365 * years)
    desk = make_desk(tmp_path / "skewed", clock=lambda: datetime.now() + shift)
    try:
        desk.intake(3)
        service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
        engine = SyncEngine(desk.services.ctx, options=FAST,
                            utc_clock=lambda: utcnow() + shift)
        assert engine.push().exit_code == 0
        st = service.status(desk.services)
        assert st.clock_warning
        assert abs(st.clock_offset_s + shift.total_seconds()) < 60
        assert_invariants(desk, server.store)
    finally:
        desk.close()


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_slow_lossy_link_small_run(desk: Desk, server: ServerThread) -> None:
    """32 kbps, 800 ms RTT, 2 % loss, with a blackout (bench/sync.py runs 1,000 dossiers)."""
    from tests.sync.faultproxy import Link

    proxy = FaultProxy(server.port)
    try:
        desk.intake(20, events=True)
        enrol_via(desk, server, proxy)
        proxy.link = Link(bandwidth_bps=32_000, rtt_s=0.8, loss=0.02, seed=5)
        proxy.add("blackout", BATCHES)
        result = push(desk, EngineOptions(backoff=Backoff(0.05, 0.2), lock_wait=5))
        assert result.exit_code == 0 and result.acked == 40
        assert_invariants(desk, server.store)
    finally:
        proxy.stop()
