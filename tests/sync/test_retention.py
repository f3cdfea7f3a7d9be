"""Retention of acknowledged outbox rows (migration 0006, ``sync/retention.py``): what may be
pruned and what never is, every reader after pruning, the guard trigger, the clock used, a
district restored from a backup older than the window, ``sync prune`` as IT runs it, ``kill -9``
mid-prune, and the migration's downgrade. Real SQLite files; the upstream is a real server on
127.0.0.1.

Time passing is simulated by moving the acknowledgement times back in ``outbox_ack_log`` (as if
the rows had been acknowledged that many days ago), or by giving ``prune`` a later "now"."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ccdesk.storage.outbox import retention
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.status import read_status_file
from ccdesk.storage.outbox.write import utcnow
from sync import protocol, service
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from tests.sync.helpers import (
    Desk,
    ServerThread,
    assert_invariants,
    copy_database,
    make_desk,
    restore_district,
)
from tests.sync.test_cli import run as cli_run

SQLITE_ONLY = pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=5, lock_wait=20)
ACKED, PENDING, QUARANTINED, CONFLICT = (outbox.ACKED, outbox.PENDING, outbox.QUARANTINED,
                                         outbox.CONFLICT)
LATER = timedelta(days=91)   # a "now" past the default 90-day window


def add_rows(db_path: Path, n: int) -> list[int]:
    """``n`` outbox rows as the desk writes them (a real payload size matters for bytes)."""
    body = '{"code":"X","data":"' + "x" * 200 + '"}'
    digest = protocol.sha256_hex(body.encode())
    con = sqlite3.connect(db_path)
    try:
        first = (con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
                 .fetchone() or (0,))[0] + 1
        con.executemany(
            "INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, payload_sha256, "
            "changed_fields, client_time, state, attempts, last_error) VALUES (lower(hex("
            "randomblob(16))), 'dossier', 'X', 'dossier.event', ?, ?, '[]', "
            "strftime('%Y-%m-%d %H:%M:%f', 'now'), 'pending', 0, '')",
            [(body, digest)] * n)
        con.commit()
        return list(range(first, first + n))
    finally:
        con.close()


def ack(desk: Desk, seqs: list[int], batch: str = "b") -> None:
    """A batch of ``seqs`` sent and acknowledged, as the engine settles it."""
    db = desk.services.db
    db.write(lambda s: outbox.mark_in_flight(s, seqs, batch))
    db.write(lambda s: outbox.settle(s, [(q, ACKED, "") for q in seqs], batch_id=batch))


def age_acks(db_path: Path, days: int) -> None:
    """Everything acknowledged so far was acknowledged ``days`` earlier."""
    con = sqlite3.connect(db_path)
    con.execute("UPDATE outbox_ack_log SET acked_at = datetime(acked_at, ?)", (f"-{days} days",))
    con.commit()
    con.close()


def query(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def stored_seqs(db_path: Path) -> set[int]:
    return {r[0] for r in query(db_path, "SELECT device_seq FROM outbox")}


def pruned_seqs(db_path: Path, lost: bool | None = None) -> set[int]:
    where = "" if lost is None else f"WHERE lost_at IS {'NOT ' if lost else ''}NULL"
    return {seq for a, b in query(db_path, f"SELECT first_seq, last_seq FROM outbox_pruned "
                                          f"{where}") for seq in range(a, b + 1)}


def states(db_path: Path) -> dict[int, str]:
    return dict(query(db_path, "SELECT device_seq, state FROM outbox_state"))


# ---- what may be pruned -------------------------------------------------------------------------
def test_only_acknowledged_rows_older_than_the_window_go(desk: Desk) -> None:
    path, db = desk.db_path, desk.services.db
    old = add_rows(path, 10)
    ack(desk, old[:8], "b1")                           # 8 acked; 2 never sent
    poison, argued = old[2], old[5]
    db.write(lambda s: outbox.settle(s, [(poison, QUARANTINED, "bad: x"),
                                         (argued, CONFLICT, "conflict: y")]))
    flying = add_rows(path, 3)
    db.write(lambda s: outbox.mark_in_flight(s, flying, "b2"))
    age_acks(path, 100)                                # all of that was 100 days ago
    fresh = add_rows(path, 4)
    ack(desk, fresh, "b3")                             # acknowledged today
    waiting = add_rows(path, 2)

    # Nothing is due inside the window, and 0 keeps everything forever.
    assert retention.prune(db, 101).rows == 0
    assert retention.prune(db, 0, now=utcnow() + timedelta(days=3650)).rows == 0
    done = retention.prune(db, 90)
    expected = set(old[:8]) - {poison, argued}
    assert (done.rows, done.first_seq, done.last_seq) == (6, min(expected), max(expected))
    assert done.bytes == 6 * len('{"code":"X","data":"' + "x" * 200 + '"}')
    assert stored_seqs(path) == set(old + flying + fresh + waiting) - expected
    assert pruned_seqs(path) == expected
    view = states(path)
    assert {view[s] for s in (poison, argued)} == {QUARANTINED, CONFLICT}
    assert {view[s] for s in old[8:] + waiting} == {PENDING}
    assert {view[s] for s in flying} == {"in_flight"}
    assert {view[s] for s in fresh} == {ACKED}
    # A second pass finds nothing more; the fresh rows go once they too are old enough.
    assert retention.prune(db, 90).rows == 0
    assert retention.prune(db, 90, now=utcnow() + LATER).rows == len(fresh)


def test_a_row_settled_by_a_person_is_kept_a_window_from_then(desk: Desk) -> None:
    """Rows stored 'acked' one by one (a conflict settled, or written before 0005) follow the
    same window, counted from when they were settled."""
    path, db = desk.db_path, desk.services.db
    seqs = add_rows(path, 3)
    db.write(lambda s: outbox.settle(s, [(seqs[1], CONFLICT, "conflict: z")]))
    ack(desk, [seqs[0], seqs[2]])
    age_acks(path, 100)
    db.write(lambda s: outbox.settle(s, [(seqs[1], ACKED, "conflict:local")]))  # today
    assert retention.prune(db, 90).rows == 2
    assert stored_seqs(path) == {seqs[1]}
    assert retention.prune(db, 90, now=utcnow() + LATER).rows == 1
    assert stored_seqs(path) == set()


def test_the_window_counts_from_the_acknowledgement_not_the_creation(desk: Desk) -> None:
    """A commune offline for months sends old rows: they are kept a full window from then."""
    path, db = desk.db_path, desk.services.db
    seqs = add_rows(path, 5)
    con = sqlite3.connect(path)
    con.execute("UPDATE outbox SET client_time = '2025-01-01 08:00:00'")   # written long ago
    con.commit()
    con.close()
    ack(desk, seqs)
    assert retention.prune(db, 90).rows == 0
    assert retention.prune(db, 90, now=utcnow() + LATER).rows == 5


def test_rows_acked_again_after_a_restore_are_kept_from_the_new_ack(desk: Desk) -> None:
    path, db = desk.db_path, desk.services.db
    seqs = add_rows(path, 6)
    ack(desk, seqs, "b1")
    age_acks(path, 100)
    db.write(lambda s: outbox.resend_after(s, seqs[2]))   # the server lost seqs[3:]
    ack(desk, seqs[3:], "b2")                               # sent again today
    assert retention.prune(db, 90).rows == 3
    assert stored_seqs(path) == set(seqs[3:])


def test_the_trigger_refuses_to_delete_what_was_not_acknowledged(desk: Desk) -> None:
    path = desk.db_path
    seqs = add_rows(path, 4)
    ack(desk, seqs[:2])
    desk.services.db.write(lambda s: outbox.settle(s, [(seqs[2], QUARANTINED, "bad: x")]))
    con = sqlite3.connect(path)
    try:
        for seq in seqs[2:]:                                # held, then waiting
            with pytest.raises(sqlite3.IntegrityError, match="only acknowledged"):
                con.execute("DELETE FROM outbox WHERE device_seq = ?", (seq,))
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("DELETE FROM outbox")               # all or nothing
        con.rollback()
        assert len(con.execute("SELECT * FROM outbox").fetchall()) == 4
        con.execute("DELETE FROM outbox WHERE device_seq = ?", (seqs[0],))   # acknowledged
        con.commit()
    finally:
        con.close()
    assert stored_seqs(path) == set(seqs[1:])


def test_prune_works_in_chunks_and_forgets_old_spans(desk: Desk) -> None:
    path, db = desk.db_path, desk.services.db
    for i in range(5):
        ack(desk, add_rows(path, 7), f"b{i}")
    age_acks(path, 100)
    done = retention.prune(db, 90, chunk_rows=10)
    assert (done.rows, done.chunks, done.complete) == (35, 4, True)
    # The 35 seqs are one run; the old spans protect nothing any more and are gone.
    assert query(path, "SELECT first_seq, last_seq, lost_at FROM outbox_pruned") == [
        (1, 35, None)]
    assert query(path, "SELECT COUNT(*) FROM outbox_ack_log") == [(0,)]
    # A prune stopped by a run's time limit keeps the spans (rows it left are still covered).
    ack(desk, add_rows(path, 30), "b9")
    age_acks(path, 100)
    stopped = retention.prune(db, 90, chunk_rows=10, should_stop=iter([False, True]).__next__)
    assert (stopped.rows, stopped.complete) == (10, False)
    assert query(path, "SELECT COUNT(*) FROM outbox_ack_log") == [(1,)]
    assert retention.prune(db, 90, chunk_rows=10).rows == 20
    assert query(path, "SELECT first_seq, last_seq FROM outbox_pruned") == [(1, 65)]


def test_dry_run_counts_what_a_prune_drops_and_changes_nothing(desk: Desk) -> None:
    path, db = desk.db_path, desk.services.db
    seqs = add_rows(path, 12)
    ack(desk, seqs[:9])
    db.write(lambda s: outbox.settle(s, [(seqs[4], QUARANTINED, "bad: x")]))
    age_acks(path, 100)
    before = (query(path, "SELECT * FROM outbox"), query(path, "SELECT * FROM outbox_ack_log"))
    dry = retention.prune(db, 90, dry_run=True)
    assert before == (query(path, "SELECT * FROM outbox"),
                      query(path, "SELECT * FROM outbox_ack_log"))
    real = retention.prune(db, 90, chunk_rows=3)
    assert (dry.rows, dry.bytes, dry.first_seq, dry.last_seq) == (
        real.rows, real.bytes, real.first_seq, real.last_seq) == (8, dry.bytes, 1, 9)


# ---- readers after pruning ----------------------------------------------------------------------
def test_every_reader_stays_right_after_pruning(desk: Desk) -> None:
    path, db = desk.db_path, desk.services.db
    seqs = add_rows(path, 20)
    ack(desk, seqs[:15], "b1")
    db.write(lambda s: outbox.settle(s, [(seqs[7], QUARANTINED, "bad: x")]))
    age_acks(path, 100)
    ack(desk, seqs[15:18], "b2")                       # fresh, kept
    assert retention.prune(db, 90).rows == 14
    with db.session() as session:
        counts = outbox.counts_by_state(session)
        assert (counts[ACKED], counts[PENDING], counts[QUARANTINED]) == (3, 2, 1)
        assert [r.seq for r in outbox.pending_rows(session, 100)] == seqs[18:]  # export
        assert outbox.max_acked_seq(session) == seqs[17]
        assert outbox.states_of(session, seqs) == states(path)
    st = read_status_file(path)
    assert (st.pending, st.acked, st.quarantined, st.pruned, st.pruned_lost) == (2, 3, 1, 14, 0)
    # The quarantined row inside the pruned stretch is released, sent and acknowledged: the
    # range grows back over it, and once old it is pruned and joins its neighbours' run.
    assert db.write(lambda s: outbox.release(s, [seqs[7]])) == 1
    with db.session() as session:
        assert [r.seq for r in outbox.pending_rows(session, 100)] == [seqs[7], *seqs[18:]]
    ack(desk, [seqs[7]], "b3")
    assert retention.prune(db, 90, now=utcnow() + LATER).rows == 4
    assert query(path, "SELECT first_seq, last_seq FROM outbox_pruned") == [(1, 18)]
    with db.session() as session:
        assert outbox.max_acked_seq(session) == 18
        assert outbox.counts_by_state(session)[PENDING] == 2
    # The server lost everything after seq 10: 11-18 were pruned and can no longer be sent.
    lost = db.write(lambda s: (outbox.resend_after(s, 10), retention.note_lost(s, 10)))
    assert lost == (0, [(11, 18)])
    with db.session() as session:
        assert outbox.max_acked_seq(session) == 10
    st = read_status_file(path)
    assert (st.pruned, st.pruned_lost, st.pruned_lost_seqs) == (18, 8, [[11, 18]])
    # Noticed once: the same answer again finds nothing new.
    assert db.write(lambda s: retention.note_lost(s, 10)) == []


# ---- clocks -------------------------------------------------------------------------------------
def test_acknowledgements_are_stamped_in_the_servers_clock(desk: Desk) -> None:
    """A desk whose clock fell back 26 years (dead CMOS battery) while it synced: the offset
    measured at /hello puts the stamps right, so fixing the clock later prunes nothing."""
    path, db = desk.db_path, desk.services.db
    offset = (datetime(2026, 11, 20) - datetime(2000, 1, 1)).total_seconds()
    con = sqlite3.connect(path)
    con.execute("INSERT OR REPLACE INTO sync_state (id, clock_offset_s) VALUES (1, ?)", (offset,))
    con.commit()
    con.close()
    seqs = add_rows(path, 3)
    wrong_clock = datetime(2000, 1, 1, 9, 0)
    db.write(lambda s: outbox.settle(s, [(q, ACKED, "") for q in seqs], wrong_clock))
    (stamp,) = query(path, "SELECT acked_at FROM outbox_ack_log")[0]
    assert datetime.fromisoformat(stamp).year == 2026
    # The clock is fixed, the offset is still the old one: "now" is the earlier of the two.
    fixed = datetime(2026, 11, 20, 10, 0)
    with db.session() as session:
        assert retention.retention_now(session, fixed) == fixed
    assert retention.prune(db, 90, now=fixed).rows == 0
    assert retention.prune(db, 90, now=fixed + LATER).rows == 3


def test_config_default_and_refusals(tmp_path: Path) -> None:
    from ccdesk.config import Config
    from ccdesk.domain.errors import ValidationError

    assert Config().sync_retention_days == retention.DEFAULT_DAYS == 90
    cfg = tmp_path / "config.toml"
    cfg.write_text("sync_retention_days = 0\n", encoding="utf-8")
    assert Config.load(cfg).sync_retention_days == 0
    for bad in ("-1", '"90"', "1.5"):
        cfg.write_text(f"sync_retention_days = {bad}\n", encoding="utf-8")
        with pytest.raises(ValidationError) as err:
            Config.load(cfg)
        assert "sync_retention_days" in err.value.message("en")


# ---- with a real upstream -----------------------------------------------------------------------
def enrol(desk: Desk, server: ServerThread) -> None:
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))


@SQLITE_ONLY
def test_a_run_prunes_at_its_end_per_the_config(desk: Desk, server: ServerThread) -> None:
    path = desk.db_path
    desk.intake(4, events=True)
    enrol(desk, server)
    first = service.run_once(desk.services, options=FAST)
    assert (first.exit_code, first.acked, first.pruned) == (0, 8, 0)
    age_acks(path, 100)
    desk.intake(1)
    # retention from config: 0 keeps everything, then 90 prunes the old rows.
    desk.services.config.sync_retention_days = 0
    assert service.run_once(desk.services, options=FAST).pruned == 0
    desk.services.config.sync_retention_days = 90
    result = service.run_once(desk.services, options=FAST)
    assert (result.exit_code, result.pruned) == (0, 8) and result.pruned_bytes > 0
    assert stored_seqs(path) == {9}
    assert_invariants(desk, server.store)
    # Nothing acknowledged was ever lost upstream: the server has every mutation once.
    assert len(server.store.mutation_ids()) == 9


@pytest.mark.parametrize("new_epoch", [False, True])
def test_server_restored_from_a_backup_older_than_the_window(
        tmp_path: Path, desk: Desk, new_epoch: bool) -> None:
    path = desk.db_path
    db_file = tmp_path / "district.sqlite3"
    store = DistrictStore.open(f"sqlite:///{db_file}")
    srv = ServerThread(store)
    try:
        enrol(desk, srv)
        backup = tmp_path / "backup.sqlite3"        # the district's backup, before any push
        copy_database(db_file, backup)
        desk.intake(5)                              # seqs 1-5
        engine = SyncEngine(desk.services.ctx, options=FAST)
        assert engine.run().exit_code == 0
        age_acks(path, 100)                         # ... acknowledged 100 days ago
        desk.intake(3)                              # seqs 6-8
        done = engine.run()
        assert (done.exit_code, done.acked, done.pruned) == (0, 3, 5)
        # Disaster: the district restores its old backup (no records from this desk).
        store, srv = restore_district(srv, store, db_file, backup, new_epoch=new_epoch)
        con = sqlite3.connect(path)
        con.execute("UPDATE sync_state SET upstream_url = ?", (srv.url,))
        con.commit()
        con.close()
        result = engine.run()
        # What it still has goes again; what it pruned cannot: it says so and needs a human.
        assert (result.exit_code, result.error) == (40, "pruned_lost")
        assert (result.resent_after_restore, result.acked, result.pruned) == (3, 3, 0)
        assert (result.pruned_lost, result.pruned_lost_seqs) == (5, [(1, 5)])
        assert len(store.mutation_ids()) == 3
        st = service.status(desk.services)
        assert (st.last_error, st.pruned, st.pruned_lost, st.pruned_lost_seqs) == (
            "pruned_lost", 5, 5, [[1, 5]])
        assert (st.acked, st.pending) == (3, 0)     # never counted as sent
        from sync.doctor import diagnose

        report = diagnose(desk.services, timeout=2)
        assert (report.cause, report.exit_code) == ("pruned_lost", 40)
        assert report.checks[-1].detail == "5 (seq 1–5)"
        assert_invariants(desk, store)
        # The next run has nothing new to say; status keeps the loss on record.
        again = engine.run()
        assert (again.exit_code, again.pruned_lost, again.resent_after_restore) == (0, 0, 0)
        st = service.status(desk.services)
        assert (st.last_error, st.pruned_lost) == ("", 5)
        assert diagnose(desk.services, timeout=2).exit_code == 0
    finally:
        srv.stop()
        store.engine.dispose()


# ---- the IT staff's command ---------------------------------------------------------------------
def test_sync_prune_command(desk: Desk) -> None:
    path = desk.db_path
    seqs = add_rows(path, 6)
    ack(desk, seqs[:5])
    age_acks(path, 100)
    tables = ("outbox", "outbox_acked", "outbox_ack_log", "outbox_pruned", "sync_state")
    snapshot = [query(path, f"SELECT * FROM {t}") for t in tables]
    dry = cli_run(desk.root, "sync", "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    out = orjson.loads(dry.stdout)
    assert (out["dry_run"], out["rows"], out["first_seq"], out["last_seq"],
            out["window_days"]) == (True, 5, 1, 5, 90)
    assert out["bytes"] > 5 * 200
    assert snapshot == [query(path, f"SELECT * FROM {t}") for t in tables]
    assert query(path, "SELECT * FROM auditlog WHERE action LIKE 'sync.%'") == []
    text = cli_run(desk.root, "sync", "prune", "--dry-run")
    assert "5 acknowledged records" in text.stdout and "would be dropped" in text.stdout
    # An officer without the sync permission is refused; unattended, it runs as the system.
    os.environ["CCDESK_PIN"] = "12345678"
    try:
        refused = cli_run(desk.root, "sync", "prune", "--as", "lan")
    finally:
        del os.environ["CCDESK_PIN"]
    assert refused.returncode == 2 and stored_seqs(path) == set(seqs)
    done = cli_run(desk.root, "sync", "prune", "--json")
    assert done.returncode == 0, done.stderr
    assert (orjson.loads(done.stdout)["rows"], orjson.loads(done.stdout)["dry_run"]) == (5, False)
    assert stored_seqs(path) == {seqs[5]}
    assert query(path, "SELECT officer_username, detail FROM auditlog WHERE action = "
                       "'sync.prune'") == [("system", "rows=5 bytes="
                                            f"{out['bytes']} seqs=1-5 window_days=90")]
    vi = cli_run(desk.root, "sync", "status", lang="vi")
    assert "Đã xoá sau thời hạn lưu giữ: 5" in vi.stdout


# ---- kill -9 ------------------------------------------------------------------------------------
def _prune_cli(desk: Desk, env: dict[str, str]) -> subprocess.Popen:
    full = dict(os.environ, CCDESK_HOME=str(desk.root), CCDESK_LANG="en", **env)
    full.pop("CCDESK_DB", None)
    return subprocess.Popen([sys.executable, "-m", "ccdesk.cli", "sync", "prune"], env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def assert_nothing_unacked_lost(desk: Desk, all_seqs: set[int], acked: set[int]) -> None:
    """Every seq is either still stored or recorded as pruned (never both, never neither),
    and only acknowledged ones were pruned."""
    stored, pruned = stored_seqs(desk.db_path), pruned_seqs(desk.db_path)
    assert stored | pruned == all_seqs and not stored & pruned
    assert pruned <= acked


@pytest.mark.parametrize("point", ["prune_in_chunk", "prune_after_chunk"])
def test_kill_mid_prune_at_each_point(desk: Desk, point: str) -> None:
    path = desk.db_path
    seqs = add_rows(path, retention.CHUNK_ROWS + 500)
    waiting = add_rows(path, 5)
    ack(desk, seqs)
    age_acks(path, 100)
    proc = _prune_cli(desk, {"CCDESK_SYNC_CRASH_AT": point})
    proc.wait(120)
    assert proc.returncode == -signal.SIGKILL
    gone = set(seqs) - stored_seqs(path)
    assert len(gone) == (0 if point == "prune_in_chunk" else retention.CHUNK_ROWS)
    assert_nothing_unacked_lost(desk, set(seqs + waiting), set(seqs))
    # The next prune (here: the next run's) finishes the job.
    assert retention.prune(desk.services.db, 90).rows == len(seqs) - len(gone)
    assert stored_seqs(path) == set(waiting)
    assert_nothing_unacked_lost(desk, set(seqs + waiting), set(seqs))


def test_kill_mid_prune_at_random_times(desk: Desk) -> None:
    path = desk.db_path
    rng = random.Random(11)
    seqs = add_rows(path, 6000)
    ack(desk, seqs[:2500], "b1")
    desk.services.db.write(lambda s: outbox.settle(s, [(seqs[1000], QUARANTINED, "bad: x")]))
    ack(desk, seqs[3000:5500], "b2")
    age_acks(path, 100)
    acked = (set(seqs[:2500]) | set(seqs[3000:5500])) - {seqs[1000]}
    child = ("import sys; from pathlib import Path; from ccdesk.storage.engine import Database; "
             "from ccdesk.storage.outbox import retention; "
             "retention.prune(Database(Path(sys.argv[1])), 90, chunk_rows=97)")
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", child, str(path)])
        time.sleep(rng.uniform(0.3, 1.5))   # a random moment, not an assertion on time
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert_nothing_unacked_lost(desk, set(seqs), acked)
    retention.prune(desk.services.db, 90)
    assert stored_seqs(path) == set(seqs) - acked
    assert_nothing_unacked_lost(desk, set(seqs), acked)


# ---- migration 0006 down and up -----------------------------------------------------------------
def test_migration_0006_downgrade_and_upgrade(tmp_path: Path) -> None:
    from alembic import command

    from ccdesk.storage.migrate import HEAD_REVISION, alembic_config, current_revision, script_head

    assert script_head() == HEAD_REVISION
    desk = make_desk(tmp_path / "desk")
    path, db = desk.db_path, desk.services.db
    try:
        seqs = add_rows(path, 8)
        ack(desk, seqs[:6])
        age_acks(path, 100)
        assert retention.prune(db, 90).rows == 6
        cfg = alembic_config(f"sqlite:///{path}")
        command.downgrade(cfg, "0005_outbox_ranges")
        assert current_revision(path) == "0005_outbox_ranges"
        names = {r[0] for r in query(path, "SELECT name FROM sqlite_master")}
        assert not names & {"outbox_ack_log", "outbox_pruned", "outbox_keep_unacked"}
        # 0005's readers count the rows that are left.
        with db.session() as session:
            counts = outbox.counts_by_state(session)
        assert (counts[ACKED], counts[PENDING]) == (0, 2)
        command.upgrade(cfg, "head")
        assert current_revision(path) == HEAD_REVISION
        # Acknowledged rows without an ack time are kept a full window from the upgrade.
        ack(desk, seqs[6:])
        assert query(path, "SELECT first_seq, last_seq FROM outbox_ack_log ORDER BY id")[0] == (
            0, seqs[-1])
        assert retention.prune(db, 90).rows == 0
        assert retention.prune(db, 90, now=utcnow() + LATER).rows == 2
    finally:
        desk.close()


def test_the_loss_is_named_in_the_run_output(capsys: pytest.CaptureFixture[str]) -> None:
    """What cron's log shows for the run that found the loss (en and vi)."""
    import typer

    from ccdesk.commands.sync import _finish
    from ccdesk.i18n import set_language
    from sync.engine import RunResult

    result = RunResult(exit_code=40, error="pruned_lost", pruned_lost=7,
                       pruned_lost_seqs=[(1, 5), (9, 10)], resent_after_restore=3)
    for lang, words in (("en", ("lost 7 records", "seq 1–5, 9–10", "NOT sent again",
                                "newer district backup")),
                        ("vi", ("bị mất 7 bản ghi", "số thứ tự 1–5, 9–10", "KHÔNG được gửi lại",
                                "bản sao lưu mới hơn"))):
        set_language(lang)
        try:
            with pytest.raises(typer.Exit) as done:
                _finish(result, False, pulled=True)
        finally:
            set_language("vi")
        assert done.value.exit_code == 40
        err = capsys.readouterr().err
        assert all(w in err for w in words), err
