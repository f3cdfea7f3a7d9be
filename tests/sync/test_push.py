"""Push over real HTTP to a real district server (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from ccdesk.domain.lifecycle import Action
from sync import protocol, service
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from tests.sync.helpers import (
    COMMUNE,
    SQLITE_ONLY,
    Desk,
    ServerThread,
    assert_invariants,
    make_desk,
)

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=4, lock_wait=5)


def enrol(desk: Desk, server: ServerThread, commune: str = COMMUNE) -> None:
    service.enroll(desk.services, server.url, server.store.issue_enroll_code(commune))


def engine(desk: Desk, options: EngineOptions = FAST) -> SyncEngine:
    return SyncEngine(desk.services.ctx, options=options)


def test_push_acks_every_row_once(desk: Desk, server: ServerThread) -> None:
    codes = desk.intake(12, events=True)
    desk.act(codes[0], Action.MARK_READY)
    enrol(desk, server)
    result = engine(desk).push()
    assert result.exit_code == 0, result
    assert result.acked == result.records_sent == 25
    assert 0 < result.bytes_wire < result.bytes_raw
    assert_invariants(desk, server.store)
    assert {state for _s, _m, state, _r in desk.outbox()} == {"acked"}
    stats = server.store.stats()
    assert stats == [{"commune": COMMUNE, "dossiers": 12, "events": 25, "mutations": 25,
                      "last_push_at": stats[0]["last_push_at"]}]
    # Nothing left: a second push sends nothing and still says synced.
    again = engine(desk).push()
    assert (again.exit_code, again.records_sent) == (0, 0)


def test_resent_rows_come_back_duplicate(desk: Desk, server: ServerThread) -> None:
    desk.intake(5)
    enrol(desk, server)
    assert engine(desk).push().exit_code == 0
    # Pretend the acks were lost (e.g. a restore of the desk from an older backup).
    con = sqlite3.connect(desk.db_path)
    con.execute("UPDATE outbox SET state='pending'")
    con.execute("DELETE FROM outbox_acked")
    con.commit()
    con.close()
    result = engine(desk).push()
    assert (result.exit_code, result.duplicates, result.acked) == (0, 5, 5)
    assert len(server.store.mutation_ids()) == 5
    assert_invariants(desk, server.store)


@SQLITE_ONLY
def test_status_json_has_the_contract_keys(desk: Desk, server: ServerThread) -> None:
    desk.intake(3)
    data = service.status(desk.services).to_json()
    for key in ("commune", "device_id", "pending", "acked", "quarantined", "conflicts",
                "oldest_pending_age_s", "last_success_at", "last_error"):
        assert key in data
    assert data["pending"] == 3 and data["enrolled"] is False
    enrol(desk, server)
    engine(desk).push()
    after = service.status(desk.services)
    assert (after.pending, after.acked, after.last_error) == (0, 3, "")
    assert after.last_success_at is not None and after.clock_offset_s is not None


def test_not_enrolled_needs_a_human(desk: Desk) -> None:
    desk.intake(1)
    result = engine(desk).push()
    assert (result.exit_code, result.error) == (40, "not_enrolled")


@SQLITE_ONLY
def test_training_sandbox_never_syncs(tmp_path, server: ServerThread) -> None:  # noqa: ANN001
    desk = make_desk(tmp_path / "train", training=True)
    try:
        result = engine(desk).push()
        assert (result.exit_code, result.error) == (40, "training")
        with pytest.raises(service.EnrollError) as err:
            enrol(desk, server)
        assert err.value.code == "training"
    finally:
        desk.close()


def test_demo_desk_refused_unless_accept_demo(tmp_path, district_url: str) -> None:  # noqa: ANN001
    desk = make_desk(tmp_path / "demo", demo=True)
    refusing = DistrictStore.open(district_url, accept_demo=False)
    srv = ServerThread(refusing)
    try:
        desk.intake(2)
        with pytest.raises(service.EnrollError) as err:
            enrol(desk, srv)
        assert (err.value.code, err.value.exit_code) == ("demo_refused", 40)
    finally:
        srv.stop()
    accepting = DistrictStore.open(district_url, accept_demo=True)
    srv = ServerThread(accepting)
    try:
        enrol(desk, srv)
        assert engine(desk).push().exit_code == 0
        assert len(accepting.mutation_ids()) == 2
    finally:
        srv.stop()
        desk.close()


def test_revoked_device_stops_with_30_and_keeps_data(desk: Desk, server: ServerThread) -> None:
    desk.intake(2)
    enrol(desk, server)
    server.store.revoke(desk.services.office.get().device_id)
    result = engine(desk).push()
    assert (result.exit_code, result.error) == (30, "revoked")
    assert [state for *_x, state, _r in desk.outbox()] == ["pending", "pending"]
    assert service.status(desk.services).revoked is True
    assert server.store.mutation_ids() == []


def test_enrol_code_is_one_time(tmp_path, server: ServerThread) -> None:  # noqa: ANN001
    first = make_desk(tmp_path / "a")
    second = make_desk(tmp_path / "b")
    try:
        code = server.store.issue_enroll_code(COMMUNE)
        service.enroll(first.services, server.url, code)
        # The reply was lost: the desk never recorded the enrolment, and retries the same code
        # with the same key. That is fine; another device using the code is refused.
        con = sqlite3.connect(first.db_path)
        con.execute("UPDATE sync_state SET enrolled_at=NULL, upstream_url=''")
        con.commit()
        con.close()
        service.enroll(first.services, server.url, code)
        assert service.status(first.services).enrolled
        with pytest.raises(service.EnrollError) as err:
            service.enroll(second.services, server.url, code)
        assert (err.value.code, err.value.exit_code) == ("code_used", 30)
    finally:
        first.close()
        second.close()


def test_commune_cannot_write_another_communes_records(tmp_path, server: ServerThread  # noqa: ANN001
                                                       ) -> None:
    ours = make_desk(tmp_path / "ours")
    theirs = make_desk(tmp_path / "theirs", commune="26735", agency="000.18.22.H56")
    try:
        ours.intake(2)
        enrol(ours, server)
        assert engine(ours).push().exit_code == 0
        # The other commune's desk claims our commune in its batches: refused whole.
        enrol(theirs, server, commune="26735")
        con = sqlite3.connect(theirs.db_path)
        con.execute("UPDATE sync_state SET commune_code=?", (COMMUNE,))
        con.commit()
        con.close()
        theirs.intake(1)
        result = engine(theirs).push()
        assert (result.exit_code, result.error) == (40, "foreign_commune")
        # Honest commune code, but a dossier code that belongs to us: that record is rejected.
        con = sqlite3.connect(theirs.db_path)
        con.execute("UPDATE sync_state SET commune_code='26735'")
        ours_code = ours.outbox()[0][1]
        payload = sqlite3.connect(ours.db_path).execute(
            "SELECT entity_id, payload, payload_sha256 FROM outbox WHERE mutation_id=?",
            (ours_code,)).fetchone()
        con.execute("INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                    "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                    "VALUES ('01900000-0000-7000-8000-000000000001', 'dossier', ?, "
                    "'dossier.create', ?, ?, '[]', '2026-01-01', 'pending', 0, '')", payload)
        con.commit()
        con.close()
        result = engine(theirs).push()
        assert result.exit_code == 40 and result.quarantined == 1 and result.acked == 1
        reasons = [r for *_x, state, r in theirs.outbox() if state == "quarantined"]
        assert reasons and reasons[0].startswith("foreign_dossier")
        assert_invariants(theirs, server.store)
    finally:
        ours.close()
        theirs.close()


def test_poison_record_is_quarantined_and_the_rest_go_on(desk: Desk, server: ServerThread
                                                         ) -> None:
    desk.intake(3)
    con = sqlite3.connect(desk.db_path)
    # An event for a dossier the server never saw, between good rows.
    con.execute("INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                "VALUES ('01900000-0000-7000-8000-0000000000aa', 'dossier', 'NOPE-1', "
                "'dossier.event', '{\"code\":\"NOPE-1\"}', "
                "'2a1f0a8f0c0dc0fb1a86bfbd1c1b5b1e0a0de53dbf6d6b0e5d4d3c2b1a09f8e7', '[]', "
                "'2026-01-01', 'pending', 0, '')")
    con.commit()
    con.close()
    desk.intake(2)
    enrol(desk, server)
    result = engine(desk).push()
    assert result.exit_code == 40
    assert result.acked == 5 and result.quarantined == 1
    states = {state for *_x, state, _r in desk.outbox()}
    assert states == {"acked", "quarantined"}
    assert_invariants(desk, server.store)


def test_damaged_payload_on_an_event_is_sent_if_intact(desk: Desk, server: ServerThread) -> None:
    """A payload whose hash matches but that the server rejects is quarantined with a reason."""
    desk.intake(1)
    con = sqlite3.connect(desk.db_path)
    body = '{"code":"X","event":{"to_status":"nonsense"}}'
    con.execute("INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                "VALUES ('01900000-0000-7000-8000-0000000000ab', 'dossier', 'X', "
                "'dossier.event', ?, ?, '[]', '2026-01-01', 'pending', 0, '')",
                (body, protocol.sha256_hex(body.encode())))
    con.commit()
    con.close()
    enrol(desk, server)
    result = engine(desk).push()
    assert (result.acked, result.quarantined) == (1, 1)
    reason = [r for *_x, state, r in desk.outbox() if state == "quarantined"][0]
    assert reason.startswith("malformed")


def test_batch_replay_returns_the_stored_reply(desk: Desk, server: ServerThread) -> None:
    desk.intake(2)
    enrol(desk, server)
    engine(desk).push()
    # A raw replay of a stored batch id with another body is refused, not applied.
    state = service.status(desk.services)
    from sync.client import SyncClient

    with desk.services.db.session() as session:
        from sync.state import SyncState

        key = session.get(SyncState, 1).private_key
    client = SyncClient(server.url, state.device_id, key)
    body = protocol.dumps(protocol.batch_body("b-1", state.device_id, COMMUNE, False, []))
    wire = protocol.compress(body, "gzip")
    first = client.post_batch("b-1", wire, "gzip")
    second = client.post_batch("b-1", wire, "gzip")
    assert first.data == second.data
    other = protocol.compress(protocol.dumps(protocol.batch_body("b-1", state.device_id,
                                                                 COMMUNE, True, [])), "gzip")
    from sync.client import SyncFailure

    with pytest.raises(SyncFailure) as err:
        client.post_batch("b-1", other, "gzip")
    assert err.value.code == "idempotency_mismatch"
    client.close()


def test_openapi_schema_is_published_only_when_asked(server: ServerThread) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert httpx.get(server.url + path).status_code == 404
    docs = ServerThread(server.store, docs=True)
    try:
        schema = httpx.get(docs.url + "/openapi.json").json()
        assert "/api/sync/v1/batches" in schema["paths"]
        assert "/api/sync/v1/hello" in schema["paths"]
        assert httpx.get(docs.url + "/docs").status_code == 200
    finally:
        docs.stop()


def test_district_api_records_a_change_the_desk_pulls(desk: Desk, server: ServerThread) -> None:
    code = desk.intake(1)[0]
    desk.act(code, Action.HAND_OFF, body="Phòng Tư pháp")
    enrol(desk, server)
    assert engine(desk).push().exit_code == 0
    token = server.store.new_admin_token()
    url = f"{server.url}/api/district/v1/dossiers/{code}/changes"
    assert httpx.post(url, json={"kind": "result"}).status_code == 401
    assert httpx.post(url, json={"kind": "result"},
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    reply = httpx.post(url, json={"kind": "result", "data": {"result_no": "45/GCN"}},
                       headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    assert (reply.json()["base_status"], reply.json()["status"]) == ("handed_off",
                                                                     "in_progress")
    result = engine(desk).pull()
    assert (result.exit_code, result.pulled) == (0, 1)
    detail = desk.services.dossiers.detail(code)
    assert detail.dossier.status == "in_progress"
    assert detail.events[-1].action == "upstream_update"
    assert "45/GCN" in detail.events[-1].data


def test_bundle_over_http(tmp_path, desk: Desk, server: ServerThread) -> None:  # noqa: ANN001
    from sync.bundle import export_bundle, import_ack
    from sync.client import SyncClient
    from sync.state import SyncState

    desk.intake(3)
    enrol(desk, server)
    bundle, count, *_ = export_bundle(desk.services.db, tmp_path)
    with desk.services.db.session() as session:
        state = session.get(SyncState, 1)
    with SyncClient(server.url, state.device_id, state.private_key) as client:
        reply = client.post_bundle(bundle.read_bytes())
    # The endpoint returns the signed ack file as its body.
    import orjson

    ack = orjson.dumps(reply.data)
    assert import_ack(desk.services.db, ack) == {"acked": 3, "quarantined": 0, "conflicts": 0,
                                                 "files": 0}
    assert_invariants(desk, server.store)


@SQLITE_ONLY
def test_unexpected_failure_exits_50_without_a_traceback(desk: Desk, server: ServerThread
                                                         ) -> None:
    desk.intake(1)
    enrol(desk, server)

    def broken_client(_state: object) -> object:
        raise RuntimeError("boom")

    result = SyncEngine(desk.services.ctx, options=FAST, client_factory=broken_client).push()
    assert (result.exit_code, result.error) == (50, "internal:RuntimeError")
    assert [state for *_x, state, _r in desk.outbox()] == ["pending"]
    message, hint = service.explain(result.error, "vi")
    assert "RuntimeError" in message and hint


@SQLITE_ONLY
def test_run_once_reports_progress_for_the_desk(desk: Desk, server: ServerThread) -> None:
    desk.intake(30, events=True)
    enrol(desk, server)
    seen: list[tuple[int, int]] = []
    options = EngineOptions(lock_wait=5)
    # Small batches so the desk's progress bar moves more than once.
    con = sqlite3.connect(desk.db_path)
    con.execute("UPDATE sync_state SET batch_bytes=2048")
    con.commit()
    con.close()
    result = service.run_once(desk.services, progress=lambda d, t: seen.append((d, t)),
                              options=options)
    assert result.exit_code == 0 and result.acked == 60
    assert seen[0] == (0, 60) and seen[-1] == (60, 60) and len(seen) > 2
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)
