"""The desk refuses poisoned values from the upstream and writes none of them (sync/replies.py).

A real district server on 127.0.0.1 whose database holds what a buggy or hostile district
could send: a seq of 2**63-1, a dossier code with a 13-digit counter, an unknown status. Before
the checks, the seq moved the desk's outbox counter to SQLite's last integer and every intake
then failed with a false "disk is full"; now the run stops with 40 and names the value.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import insert, update

from ccdesk.domain.codes import format_code
from sync import bundle, keys, replies, service
from sync.engine import Backoff, EngineOptions, RunResult, SyncEngine
from sync.server.models import DistrictChange, DistrictMutation
from sync.server.store import utcnow
from tests.sync.helpers import COMMUNE, SQLITE_ONLY, Desk, ServerThread, assert_invariants

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=3, lock_wait=5)
AGENCY = "000.17.22.H56"


def enrol_and_push(desk: Desk, server: ServerThread, dossiers: int = 2) -> None:
    desk.intake(dossiers)
    service.enroll(desk.services, server.url, server.store.issue_enroll_code(COMMUNE))
    assert SyncEngine(desk.services.ctx, options=FAST).push().exit_code == 0


def poison_mutation(desk: Desk, server: ServerThread, seq: int, code: str) -> None:
    """The district holds a mutation from this device with ``seq`` creating ``code``."""
    device = desk.services.office.get().device_id
    with server.store.engine.begin() as conn:
        conn.execute(insert(DistrictMutation.__table__).values(
            mutation_id=f"poison-{seq}", device_id=device, device_seq=seq, commune_code=COMMUNE,
            entity_id=code, op="dossier.create", payload="{}", payload_sha256="0" * 64,
            result="applied", batch_id="poison", received_at=utcnow()))


def counters(desk: Desk) -> tuple[int, dict[str, int], str]:
    con = sqlite3.connect(desk.db_path)
    try:
        seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()[0]
        codes = dict(con.execute("SELECT key, last_seq FROM codecounter"))
        epoch = con.execute("SELECT server_epoch FROM sync_state").fetchone()[0]
    finally:
        con.close()
    return seq, codes, epoch


def refused(result: RunResult, field: str) -> None:
    assert result.exit_code == 40, result
    assert result.error == "bad_upstream_value", result
    assert field in result.detail, result.detail


@SQLITE_ONLY
def test_a_seq_of_2_63_is_refused_and_intake_goes_on(desk: Desk, server: ServerThread) -> None:
    enrol_and_push(desk, server)
    before = counters(desk)
    poison_mutation(desk, server, 2 ** 63 - 1, f"{AGENCY}-261206-9999999999999")
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    refused(result, "received_through_seq")
    assert str(2 ** 63 - 1) in result.detail
    assert counters(desk) == before                  # nothing of that reply was written
    # The desk still takes dossiers (the false "disk is full" of the poisoned counter).
    desk.intake(1)
    with sqlite3.connect(desk.db_path) as con:
        assert con.execute("SELECT MAX(device_seq) FROM outbox").fetchone()[0] == before[0] + 1
    status = service.status(desk.services)
    assert status.last_error == "bad_upstream_value"


@SQLITE_ONLY
def test_a_code_with_a_huge_counter_is_refused(desk: Desk, server: ServerThread) -> None:
    enrol_and_push(desk, server)
    before = counters(desk)
    # A seq in range past this file's, creating a code whose counter no desk ever reaches:
    # what a desk restored from an older backup would be told it had issued.
    poison_mutation(desk, server, before[0] + 1,
                    format_code("{agency}-{yymmdd}-{seq:04}", AGENCY, "", date.today(),
                                10 ** 13))
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    refused(result, "counter of")
    assert counters(desk) == before
    codes = desk.intake(1)
    assert codes[0].endswith("-0003")                # the counter went on from 2


@SQLITE_ONLY
def test_a_change_with_an_unknown_status_is_refused(desk: Desk, server: ServerThread) -> None:
    enrol_and_push(desk, server, dossiers=1)
    code = service.status(desk.services) and sqlite3.connect(desk.db_path).execute(
        "SELECT code FROM dossier").fetchone()[0]
    server.store.record_change(code, "status", "stopped")
    with server.store.engine.begin() as conn:
        conn.execute(update(DistrictChange.__table__).values(status="<script>"))
    result = SyncEngine(desk.services.ctx, options=FAST).pull()
    refused(result, "changes[0].status")
    con = sqlite3.connect(desk.db_path)
    try:
        assert con.execute("SELECT status FROM dossier").fetchone()[0] == "received"
        assert con.execute("SELECT pull_cursor FROM sync_state").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM sync_inbox").fetchone()[0] == 0
    finally:
        con.close()
    # Fixed upstream: the change applies.
    with server.store.engine.begin() as conn:
        conn.execute(update(DistrictChange.__table__).values(status="stopped"))
    assert SyncEngine(desk.services.ctx, options=FAST).pull().pulled == 1


@pytest.mark.parametrize("lang, words", [("vi", "không ghi gì"), ("en", "wrote nothing")])
def test_the_message_names_the_value_in_both_languages(lang: str, words: str) -> None:
    bad = replies.BadUpstreamValue("hello", "device.received_through_seq", 2 ** 63 - 1,
                                   "an integer 0–9007199254740991")
    message, hint = service.explain(bad.code, lang, bad.detail)
    assert words in message and "received_through_seq" in message and "922337" in message
    assert hint


# ---- each reply on its own (fake replies) -----------------------------------------------------
@pytest.mark.parametrize("results", [
    [{"seq": 2 ** 63 - 1, "id": "m", "result": "applied"}],
    [{"seq": -1, "id": "m", "result": "applied"}],
    [{"seq": "1", "id": "m", "result": "applied"}],
    [{"seq": True, "id": "m", "result": "applied"}],
    [{"seq": 1, "id": "m", "result": "accepted"}],
    [{"seq": 1, "id": "x" * 65, "result": "applied"}],
    [{"seq": 1, "id": "m", "result": "conflict", "upstream_status": "\x00"}],
    [{"seq": 1, "id": "m", "result": "conflict", "upstream_status": "hacked"}],
    [{"seq": 1, "id": "m", "result": "rejected", "code": "bad\ncode"}],
    [{"seq": 1, "id": "m", "result": "rejected", "message": ["not", "text"]}],
    "not a list",
])
def test_batch_results_out_of_range_are_refused(results: object) -> None:
    with pytest.raises(replies.BadUpstreamValue):
        replies.record_results("batch", results)


def test_a_long_rejection_message_is_kept_on_one_line_not_refused() -> None:
    results = replies.record_results("batch", [{"seq": 1, "id": "m", "result": "rejected",
                                                "code": "bad_field", "message": "a\nb" * 900}])
    assert results[1].message == ("a b" * 100) and results[1].code == "bad_field"


def test_hello_limits_cursors_and_epochs_are_bounded() -> None:
    good = {"epoch": "e1", "device": {"received_through_seq": 5},
            "limits": {"preferred_batch_bytes": 65536, "max_batch_bytes": 2 ** 21}}
    assert replies.hello(good).received_through_seq == 5
    for bad in ({**good, "epoch": "x" * 65}, {**good, "epoch": 7},
                {**good, "limits": {"preferred_batch_bytes": 2 ** 40}},
                {**good, "limits": {"max_batch_bytes": 10}},
                {**good, "device": {"received_through_seq": 2 ** 53}},
                {**good, "accept_demo": "yes"}):
        with pytest.raises(replies.BadUpstreamValue):
            replies.hello(bad)
    with pytest.raises(replies.BadUpstreamValue):
        replies.changes({"changes": [], "cursor": 2 ** 63 - 1}, 0)
    with pytest.raises(replies.BadUpstreamValue):        # paging must move forward
        replies.issued_codes({"codes": [], "more": True, "after_seq": 3}, 3, 10)
    with pytest.raises(replies.BadUpstreamValue):        # and stay within what was said
        replies.issued_codes({"codes": [], "more": True, "after_seq": 11}, 3, 10)
    with pytest.raises(replies.BadUpstreamValue):
        replies.enrolment({"commune": "../../etc", "epoch": "e"})


def test_dossier_codes_follow_any_pattern_but_stay_bounded() -> None:
    """An office's code pattern may hold literal text (spaces, Vietnamese letters)."""
    page = replies.issued_codes({"codes": ["HS số 261206 0001"], "more": False}, 0, 10)
    assert page.codes == ["HS số 261206 0001"]
    for bad in ("", " 0001", "x" * 129, "HS\n0001", "<b>\x00</b>", 12):
        with pytest.raises(replies.BadUpstreamValue):
            replies.issued_codes({"codes": [bad], "more": False}, 0, 10)


def test_a_poisoned_ack_file_writes_nothing(desk: Desk, tmp_path: Path) -> None:
    desk.intake(2)
    server_key = keys.new_private_key()
    con = sqlite3.connect(desk.db_path)
    device = con.execute("SELECT device_id FROM office").fetchone()[0]
    con.execute("INSERT INTO sync_state (id, upstream_url, device_id, commune_code, "
                "private_key, pending_private_key, pending_url, server_public_key, "
                "server_epoch, pull_cursor, acked_through_seq, batch_bytes, revoked, "
                "last_error, enrolled_at) VALUES (1, 'http://x', ?, ?, ?, '', '', ?, 'e', 0, "
                "0, 0, 0, '', '2026-01-01')",
                (device, COMMUNE, keys.new_private_key(), keys.public_of(server_key)))
    con.commit()
    rows = con.execute("SELECT device_seq, mutation_id FROM outbox").fetchall()
    con.close()
    results = [{"seq": seq, "id": mid, "result": "applied"} for seq, mid in rows]
    results.append({"seq": 2 ** 63 - 1, "id": "m", "result": "applied"})
    ack = orjson.dumps({"format": bundle.ACK_FORMAT, "device_id": device,
                        "results": results}).decode()
    data = orjson.dumps({"ack": ack, "signature": keys.sign(server_key, ack.encode())})
    with pytest.raises(bundle.BundleError) as err:
        bundle.import_ack(desk.services.db, data)
    assert err.value.code == "bad_upstream_value" and "results[2].seq" in err.value.message
    assert {state for _s, _m, state, _r in desk.outbox()} == {"pending"}
    # The same file without the poisoned line acknowledges both rows, counted once each.
    ack = orjson.dumps({"format": bundle.ACK_FORMAT, "device_id": device,
                        "results": results[:-1]}).decode()
    data = orjson.dumps({"ack": ack, "signature": keys.sign(server_key, ack.encode())})
    assert bundle.import_ack(desk.services.db, data) == {"acked": 2, "quarantined": 0,
                                                         "conflicts": 0, "files": 0}


@SQLITE_ONLY
def test_counters_poisoned_before_the_checks_are_repaired_by_the_migration(
        desk: Desk, server: ServerThread) -> None:
    """A desk (or its backup) poisoned by an older version: migration 0007 brings the outbox
    counter and the code counters back to what the file really used."""
    from alembic import command

    from ccdesk.storage.migrate import alembic_config

    enrol_and_push(desk, server)
    path = desk.db_path
    desk.services.db.dispose()
    cfg = alembic_config(f"sqlite:///{path}")
    command.downgrade(cfg, "0006_outbox_retention")
    con = sqlite3.connect(path)
    con.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'", (2 ** 63 - 1,))
    con.execute("UPDATE codecounter SET last_seq = ?", (2 ** 63 - 1,))
    con.commit()
    con.close()
    command.upgrade(cfg, "head")
    codes = desk.intake(1)
    assert codes[0].endswith("-0003")
    assert counters(desk)[0] == 3
    assert SyncEngine(desk.services.ctx, options=FAST).push().exit_code == 0
    assert_invariants(desk, server.store)
