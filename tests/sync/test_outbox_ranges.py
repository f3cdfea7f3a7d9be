"""Outbox states kept as seq ranges (migration 0005): batches in flight and acknowledged rows
are ranges, held rows keep a state per row. A model of per-row states is checked against every
reader (the view, the counts, ``sync status``, the queue, the max acked seq) after each step of
random sends, answers, crashes, releases, ack files, server restores, and (migration 0006)
time passing and pruning past the retention window."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ccdesk.storage.outbox import retention
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.status import read_status_file
from ccdesk.storage.outbox.write import utcnow
from sync import protocol
from sync.engine import Backoff, EngineOptions, SyncEngine
from tests.sync.helpers import Desk, ServerThread, assert_invariants, make_desk

SQLITE_ONLY = pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=5, lock_wait=20)
PENDING, IN_FLIGHT, ACKED = outbox.PENDING, outbox.IN_FLIGHT, outbox.ACKED
QUARANTINED, CONFLICT = outbox.QUARANTINED, outbox.CONFLICT


def add_rows(db_path: Path, n: int) -> list[int]:
    """``n`` outbox rows as the desk writes them (only the state columns matter here)."""
    con = sqlite3.connect(db_path)
    try:
        seqs = []
        for _ in range(n):
            body = '{"code":"X"}'
            cur = con.execute(
                "INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                "VALUES (lower(hex(randomblob(16))), 'dossier', 'X', 'dossier.event', ?, ?, "
                "'[]', strftime('%Y-%m-%d %H:%M:%f', 'now'), 'pending', 0, '')",
                (body, protocol.sha256_hex(body.encode())))
            seqs.append(cur.lastrowid)
        con.commit()
        return seqs
    finally:
        con.close()


def view_states(db_path: Path) -> dict[int, str]:
    con = sqlite3.connect(db_path)
    try:
        return dict(con.execute("SELECT device_seq, state FROM outbox_state"))
    finally:
        con.close()


def stored_states(db_path: Path) -> Counter[str]:
    con = sqlite3.connect(db_path)
    try:
        return Counter(dict(con.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")))
    finally:
        con.close()


def ranges(desk: Desk, table: str) -> list[tuple[int, int]]:
    with desk.services.db.session() as session:
        return (outbox.acked_ranges(session) if table == "acked"
                else outbox.in_flight_ranges(session)).items


# ---- the model-based test -------------------------------------------------------------------
_MACHINE_DESK: dict[str, Desk] = {}


@pytest.fixture(scope="module")
def machine_desk() -> Iterator[Desk]:
    """In memory where the machine has /dev/shm: the machine's ~3,000 steps commit each, and
    ``synchronous=FULL`` would fsync each; no step here depends on fsync (nothing is killed)."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="ccdesk-ranges-", dir=shm if shm.is_dir() else None))
    desk = make_desk(root)
    _MACHINE_DESK["desk"] = desk
    try:
        yield desk
    finally:
        desk.close()
        shutil.rmtree(root, ignore_errors=True)


class RangesMachine(RuleBasedStateMachine):
    """Random operations on one desk's outbox against a dict of expected per-row states."""

    def __init__(self) -> None:
        super().__init__()
        self.desk = _MACHINE_DESK["desk"]
        self.db = self.desk.services.db
        # The guard trigger lets only acknowledged rows go: the previous example's rows are
        # marked so first.
        self.db.write(lambda s: [s.connection().exec_driver_sql(sql) for sql in (
            "UPDATE outbox SET state = 'acked'", *(f"DELETE FROM {t}" for t in (
                "outbox", "outbox_acked", "outbox_in_flight", "outbox_ack_log",
                "outbox_pruned")))])
        self.model: dict[int, str] = {}
        # Retention: seqs pruned (gone from the file), of which the server later lost some;
        # seq spans acknowledged since time last passed (what each settle acknowledged).
        self.pruned: set[int] = set()
        self.lost: set[int] = set()
        self.fresh_spans: list[tuple[int, int]] = []
        self.flights: dict[str, list[int]] = {}
        # Held rows released while a batch whose seq range spans them flies: they read as in
        # flight until that batch ends (they are not in it, so they wait again after).
        self.shadowed: set[int] = set()
        self.n = 0

    def _pending(self) -> list[int]:
        return sorted(seq for seq, state in self.model.items() if state == PENDING)

    @rule(n=st.integers(1, 12))
    def write_rows(self, n: int) -> None:
        for seq in add_rows(self.db.path, n):
            self.model[seq] = PENDING

    def _flight_ended(self) -> None:
        for seq in sorted(self.shadowed):
            if not any(min(f) <= seq <= max(f) for f in self.flights.values()):
                self.shadowed.discard(seq)
                self.model[seq] = PENDING

    @rule(size=st.integers(1, 9))
    def send_batch(self, size: int) -> None:
        with self.db.session() as session:
            rows = outbox.pending_rows(session, size, one_gap=True)
        seqs = [r.seq for r in rows]
        waiting = self._pending()
        assert seqs == waiting[:len(seqs)] and bool(seqs) == bool(waiting)
        if not rows:
            return
        # The batch's seq range holds only its rows and rows with a stored state of their own.
        con = sqlite3.connect(self.db.path)
        others = con.execute("SELECT device_seq FROM outbox WHERE state = 'pending' AND "
                             "device_seq BETWEEN ? AND ?", (seqs[0], seqs[-1])).fetchall()
        con.close()
        assert sorted(r[0] for r in others) == seqs
        self.n += 1
        batch_id = f"b{self.n}"
        self.db.write(lambda s: outbox.mark_in_flight(s, seqs, batch_id))
        self.flights[batch_id] = seqs
        for seq in seqs:
            self.model[seq] = IN_FLIGHT

    @precondition(lambda self: self.flights)
    @rule(data=st.data())
    def answer_batch(self, data: st.DataObject) -> None:
        """Per-record results: mostly acked, some refused, conflicting or missing."""
        batch_id = data.draw(st.sampled_from(sorted(self.flights)))
        seqs = self.flights.pop(batch_id)
        kinds = data.draw(st.lists(st.sampled_from([ACKED, ACKED, ACKED, QUARANTINED, CONFLICT,
                                                    "missing"]),
                                   min_size=len(seqs), max_size=len(seqs)))
        outcomes = [(seq, kind, "" if kind == ACKED else f"{kind}: why")
                    for seq, kind in zip(seqs, kinds, strict=True) if kind != "missing"]
        missing = [seq for seq, kind in zip(seqs, kinds, strict=True) if kind == "missing"]

        def work(session: object) -> None:
            outbox.settle(session, outcomes, batch_id=batch_id)
            if missing:
                outbox.note_error(session, missing, "no_result")

        self.db.write(work)
        self._acked_now([seq for seq, kind, _r in outcomes if kind == ACKED])
        for seq, kind in zip(seqs, kinds, strict=True):
            self.model[seq] = PENDING if kind == "missing" else kind
        self._flight_ended()

    @precondition(lambda self: self.flights)
    @rule(data=st.data())
    def batch_fails(self, data: st.DataObject) -> None:
        batch_id = data.draw(st.sampled_from(sorted(self.flights)))
        self.db.write(lambda s: outbox.back_to_pending(s, batch_id))
        for seq in self.flights.pop(batch_id):
            self.model[seq] = PENDING
        self._flight_ended()

    @rule()
    def crash_and_restart(self) -> None:
        """kill -9 at any point, then the next run's start (SF-STUCK-IN-FLIGHT)."""
        self.db.write(outbox.recover_in_flight)
        for seq in [s for ss in self.flights.values() for s in ss]:
            self.model[seq] = PENDING
        self.flights.clear()
        self._flight_ended()

    @rule(data=st.data(), everything=st.booleans())
    def release_quarantined(self, data: st.DataObject, everything: bool) -> None:
        held = sorted(seq for seq, state in self.model.items() if state == QUARANTINED)
        chosen = held if everything else data.draw(st.lists(st.sampled_from(held), unique=True)
                                                   if held else st.just([]))
        if not everything and not chosen:
            return
        released = self.db.write(lambda s: outbox.release(s, None if everything else chosen))
        assert released == len(chosen)
        for seq in chosen:
            if any(min(f) <= seq <= max(f) for f in self.flights.values()):
                self.model[seq] = IN_FLIGHT
                self.shadowed.add(seq)
            else:
                self.model[seq] = PENDING

    @precondition(lambda self: not self.flights)
    @rule(data=st.data())
    def server_restored(self, data: st.DataObject) -> None:
        """The server lost everything after some seq: acked rows past it are re-sent
        (SF-SERVER-RESTORED)."""
        # Drawn as a position: seq values differ between examples (AUTOINCREMENT).
        keys = sorted(set(self.model) | self.pruned)
        at = data.draw(st.integers(0, len(keys)))
        through = keys[at - 1] if at else 0
        lost = [seq for seq, state in self.model.items() if state == ACKED and seq > through]
        resent, gone = self.db.write(lambda s: (outbox.resend_after(s, through),
                                                retention.note_lost(s, through)))
        assert resent == len(lost)
        for seq in lost:
            self.model[seq] = PENDING
        # Pruned rows past it cannot be sent again: named once, as exact seq ranges.
        expected = {seq for seq in self.pruned - self.lost if seq > through}
        named = [seq for a, b in gone for seq in range(a, b + 1)]
        assert sorted(named) == sorted(expected)
        event(f"server restored: {'some' if expected else 'no'} pruned rows lost")
        self.lost |= expected

    @precondition(lambda self: not self.flights)
    @rule(data=st.data())
    def ack_file(self, data: st.DataObject) -> None:
        """A USB ack file answers any waiting or held rows, in any order (sync import-ack)."""
        open_rows = sorted(seq for seq, state in self.model.items()
                           if state in (PENDING, QUARANTINED))
        if not open_rows:
            return
        chosen = data.draw(st.lists(st.sampled_from(open_rows), unique=True, min_size=1))
        self.db.write(lambda s: outbox.settle(s, [(seq, ACKED, "") for seq in chosen]))
        self._acked_now(chosen)
        for seq in chosen:
            self.model[seq] = ACKED

    @rule(data=st.data())
    def person_settles_conflict(self, data: st.DataObject) -> None:
        conflicts = sorted(seq for seq, state in self.model.items() if state == CONFLICT)
        if not conflicts:
            return
        seq = data.draw(st.sampled_from(conflicts))
        self.db.write(lambda s: outbox.settle(s, [(seq, ACKED, "conflict:local")]))
        self._acked_now([seq])
        self.model[seq] = ACKED

    def _acked_now(self, seqs: list[int]) -> None:
        if seqs:
            self.fresh_spans.append((min(seqs), max(seqs)))

    @rule(time_passed=st.booleans(), chunk=st.integers(1, 7), dry_run=st.booleans())
    def prune(self, time_passed: bool, chunk: int, dry_run: bool) -> None:
        """Rows acknowledged before the 90-day window go, unless a span acknowledged inside
        it covers them (spans may cover more than they acknowledged: that only keeps rows).
        ``time_passed``: first, everything acknowledged so far was acknowledged 200 days ago."""
        if time_passed:
            con = sqlite3.connect(self.db.path)
            con.execute("UPDATE outbox_ack_log SET acked_at = datetime(acked_at, '-200 days')")
            con.commit()
            con.close()
            self.fresh_spans.clear()
        cutoff = utcnow() - timedelta(days=90)
        con = sqlite3.connect(self.db.path)
        spans = [(a, b) for a, b, at in con.execute(
            "SELECT first_seq, last_seq, acked_at FROM outbox_ack_log")
            if datetime.fromisoformat(at) >= cutoff]
        con.close()
        due = {seq for seq, state in self.model.items() if state == ACKED
               and not any(a <= seq <= b for a, b in spans)}
        done = retention.prune(self.db, 90, chunk_rows=chunk, dry_run=dry_run)
        assert done.rows == len(due)
        assert (done.first_seq, done.last_seq) == ((min(due), max(due)) if due else (None, None))
        if not dry_run:
            event(f"prune: {'some' if due else 'no'} rows due")
            for seq in due:
                del self.model[seq]
            self.pruned |= due

    @invariant()
    def every_reader_agrees_with_the_model(self) -> None:
        path = self.db.path
        assert view_states(path) == self.model
        expected = Counter({state: 0 for state in outbox.STATES}) + Counter(self.model.values())
        expected.update(dict.fromkeys(outbox.STATES, 0))
        with self.db.session() as session:
            counts = outbox.counts_by_state(session)
            assert counts == {state: expected[state] for state in outbox.STATES}
            assert outbox.max_acked_seq(session) == max(
                [seq for seq, state in self.model.items() if state == ACKED]
                + list(self.pruned - self.lost), default=0)
            assert outbox.states_of(session, list(self.model)) == self.model
            queued = [r.seq for r in outbox.pending_rows(session, 10_000)]
            assert queued == self._pending()   # what `sync export` puts in a bundle
            waiting = [seq for seq, state in self.model.items() if state in (PENDING, IN_FLIGHT)]
            oldest = outbox.oldest_pending_time(session)
            assert (oldest is None) == (not waiting)
        status = read_status_file(path)
        assert status is not None
        assert (status.pending, status.in_flight, status.acked, status.quarantined) == (
            expected[PENDING], expected[IN_FLIGHT], expected[ACKED], expected[QUARANTINED])
        assert (status.pruned, status.pruned_lost) == (len(self.pruned), len(self.lost))
        # Every acknowledgement since time last passed is covered by a span of the log.
        con = sqlite3.connect(path)
        logged = con.execute("SELECT first_seq, last_seq FROM outbox_ack_log").fetchall()
        runs = con.execute("SELECT first_seq, last_seq FROM outbox_pruned").fetchall()
        con.close()
        for a, b in self.fresh_spans:
            assert all(any(x <= seq <= y for x, y in logged) for seq in range(a, b + 1))
        # The pruned runs are exactly the pruned seqs, never a row still in the file.
        assert sorted(seq for a, b in runs for seq in range(a, b + 1)) == sorted(self.pruned)
        for table in ("acked", "in_flight"):
            items = ranges(self.desk, table)
            assert all(a <= b for a, b in items)
            assert all(b1 < a2 for (_a1, b1), (a2, _b2) in zip(items, items[1:], strict=False))
        # Acknowledgement is never a per-row write for a row acked without a reason.
        stored = stored_states(path)
        assert stored[IN_FLIGHT] == 0


RangesMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.slow  # a Hypothesis state machine over a real desk
def test_ranges_agree_with_per_row_states(machine_desk: Desk) -> None:
    RangesMachine.TestCase().runTest()


# ---- targeted cases -------------------------------------------------------------------------
def test_batches_merge_into_one_range_and_no_row_is_rewritten(desk: Desk) -> None:
    seqs = add_rows(desk.db_path, 30)
    db = desk.services.db
    for i, start in enumerate(range(0, 30, 10)):
        part = seqs[start:start + 10]
        db.write(lambda s, p=part, b=f"b{i}": outbox.mark_in_flight(s, p, b))
        db.write(lambda s, p=part, b=f"b{i}": outbox.settle(
            s, [(seq, ACKED, "") for seq in p], batch_id=b))
    assert ranges(desk, "acked") == [(seqs[0], seqs[-1])]
    assert ranges(desk, "in_flight") == []
    assert stored_states(desk.db_path) == Counter({PENDING: 30})
    assert set(view_states(desk.db_path).values()) == {ACKED}


def test_crash_between_batch_record_and_ack(desk: Desk) -> None:
    seqs = add_rows(desk.db_path, 5)
    db = desk.services.db
    db.write(lambda s: outbox.mark_in_flight(s, seqs, "b1"))
    assert set(view_states(desk.db_path).values()) == {IN_FLIGHT}
    # The process dies here; the next run starts by recovering.
    assert db.write(outbox.recover_in_flight) == 5
    assert set(view_states(desk.db_path).values()) == {PENDING}
    with db.session() as session:
        assert [r.seq for r in outbox.pending_rows(session, 10)] == seqs
    # A late answer for the recovered batch acks nothing twice and loses nothing.
    db.write(lambda s: outbox.settle(s, [(seq, ACKED, "") for seq in seqs], batch_id="b1"))
    assert set(view_states(desk.db_path).values()) == {ACKED}


def test_quarantine_inside_a_range_then_release(desk: Desk) -> None:
    seqs = add_rows(desk.db_path, 7)
    poison = seqs[3]
    db = desk.services.db
    db.write(lambda s: outbox.mark_in_flight(s, seqs, "b1"))
    db.write(lambda s: outbox.settle(
        s, [(seq, QUARANTINED if seq == poison else ACKED,
             "unknown_dossier: not yet" if seq == poison else "") for seq in seqs],
        batch_id="b1"))
    # One range spans the held row: held rows keep their own state.
    assert ranges(desk, "acked") == [(seqs[0], seqs[-1])]
    assert view_states(desk.db_path)[poison] == QUARANTINED
    assert db.write(lambda s: outbox.release(s, [poison])) == 1
    assert ranges(desk, "acked") == [(seqs[0], poison - 1), (poison + 1, seqs[-1])]
    with db.session() as session:
        assert [r.seq for r in outbox.pending_rows(session, 10)] == [poison]
    db.write(lambda s: outbox.mark_in_flight(s, [poison], "b2"))
    db.write(lambda s: outbox.settle(s, [(poison, ACKED, "")], batch_id="b2"))
    assert ranges(desk, "acked") == [(seqs[0], seqs[-1])]


def test_missing_result_splits_the_range(desk: Desk) -> None:
    seqs = add_rows(desk.db_path, 5)
    db = desk.services.db
    db.write(lambda s: outbox.mark_in_flight(s, seqs, "b1"))
    db.write(lambda s: outbox.settle(s, [(seq, ACKED, "") for seq in seqs if seq != seqs[2]],
                                     batch_id="b1"))
    assert ranges(desk, "acked") == [(seqs[0], seqs[1]), (seqs[3], seqs[4])]
    with db.session() as session:
        assert [r.seq for r in outbox.pending_rows(session, 10)] == [seqs[2]]
        assert outbox.max_acked_seq(session) == seqs[4]


def test_range_ack_after_server_restore(desk: Desk) -> None:
    seqs = add_rows(desk.db_path, 10)
    db = desk.services.db
    db.write(lambda s: outbox.mark_in_flight(s, seqs, "b1"))
    db.write(lambda s: outbox.settle(s, [(seq, ACKED, "") for seq in seqs], batch_id="b1"))
    # The server restored a backup holding rows up to seqs[5]: the rest are sent again.
    assert db.write(lambda s: outbox.resend_after(s, seqs[5])) == 4
    assert ranges(desk, "acked") == [(seqs[0], seqs[5])]
    with db.session() as session:
        assert outbox.max_acked_seq(session) == seqs[5]
        assert [r.seq for r in outbox.pending_rows(session, 10)] == seqs[6:]


def test_rows_stored_per_row_before_0005_still_count(desk: Desk) -> None:
    """A desk upgraded from 0004 has 'acked' and 'in_flight' rows stored one by one."""
    seqs = add_rows(desk.db_path, 4)
    con = sqlite3.connect(desk.db_path)
    con.execute("UPDATE outbox SET state = 'acked' WHERE device_seq <= ?", (seqs[1],))
    con.execute("UPDATE outbox SET state = 'in_flight' WHERE device_seq = ?", (seqs[2],))
    con.commit()
    con.close()
    db = desk.services.db
    with db.session() as session:
        counts = outbox.counts_by_state(session)
        assert (counts[ACKED], counts[IN_FLIGHT], counts[PENDING]) == (2, 1, 1)
        assert outbox.max_acked_seq(session) == seqs[1]
    assert db.write(outbox.recover_in_flight) == 1
    with db.session() as session:
        assert [r.seq for r in outbox.pending_rows(session, 10)] == seqs[2:]
    assert db.write(lambda s: outbox.resend_after(s, seqs[0])) == 1


@SQLITE_ONLY
def test_a_push_writes_no_outbox_row(desk: Desk, server: ServerThread) -> None:
    """The point of the ranges: acknowledging thousands of rows rewrites none of them."""
    from sync import service

    desk.intake(20, events=True)
    con = sqlite3.connect(desk.db_path)
    con.execute("CREATE TABLE outbox_updates (seq INTEGER)")
    con.execute("CREATE TRIGGER outbox_updated AFTER UPDATE ON outbox BEGIN "
                "INSERT INTO outbox_updates VALUES (new.device_seq); END")
    con.commit()
    con.close()
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    options = EngineOptions(backoff=FAST.backoff, max_attempts=5, lock_wait=20, max_records=7)
    result = SyncEngine(desk.services.ctx, options=options).push()
    assert (result.exit_code, result.acked) == (0, 40) and result.batches >= 5
    con = sqlite3.connect(desk.db_path)
    try:
        assert con.execute("SELECT COUNT(*) FROM outbox_updates").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM outbox_acked").fetchone()[0] == 1
    finally:
        con.close()
    assert_invariants(desk, server.store)


@SQLITE_ONLY
def test_released_poison_record_is_sent_alone(desk: Desk, server: ServerThread) -> None:
    from sync import service

    desk.intake(2)
    body = '{"code":"NOPE-1","event":{"to_status":"in_progress"}}'
    con = sqlite3.connect(desk.db_path)
    con.execute("INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                "VALUES ('01900000-0000-7000-8000-0000000000ac', 'dossier', 'NOPE-1', "
                "'dossier.event', ?, ?, '[]', '2026-01-01', 'pending', 0, '')",
                (body, protocol.sha256_hex(body.encode())))
    con.commit()
    con.close()
    desk.intake(2)
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    engine = SyncEngine(desk.services.ctx, options=FAST)
    first = engine.push()
    assert (first.exit_code, first.acked, first.quarantined) == (40, 4, 1)
    assert desk.services.db.write(lambda s: outbox.release(s)) == 1
    again = engine.push()
    # Only the released row goes out again; it is refused again, with its reason.
    assert (again.records_sent, again.acked, again.quarantined) == (1, 0, 1)
    assert_invariants(desk, server.store)
