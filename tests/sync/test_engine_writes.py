"""A write retried on a lock error counts once (docs/sync.md, "Client behaviour").

``Database.write`` runs its work again when SQLite reports the database locked. The engine's
work only touches the session and returns what it did; the run's counters move after the
commit. These tests make one statement of the settling (or pull) transaction fail with "database
is locked" once, so the transaction is retried, and check the reported counts against what was
really sent and stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from sync import service
from sync.engine import Backoff, EngineOptions, SyncEngine
from tests.sync.helpers import SQLITE_ONLY, Desk, ServerThread, assert_invariants

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=4, lock_wait=5)


@contextmanager
def locked_once(desk: Desk, statement_start: str) -> Iterator[list[str]]:
    """The first statement starting with ``statement_start`` fails as if another desk held the
    write lock past the busy timeout; yields the statements that failed."""
    engine = desk.services.db.engine
    failed: list[str] = []

    def before(_conn, _cursor, statement: str, params, _context, _many) -> None:  # noqa: ANN001
        if not failed and statement.lstrip().upper().startswith(statement_start):
            failed.append(statement)
            raise OperationalError(statement, params,
                                   sqlite3.OperationalError("database is locked"))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield failed
    finally:
        event.remove(engine, "before_cursor_execute", before)


@SQLITE_ONLY
def test_a_lock_error_while_settling_counts_each_record_once(desk: Desk,
                                                             server: ServerThread) -> None:
    desk.intake(5)
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    # The acknowledgement log is written inside the settling transaction, after every
    # per-record result of the batch has been looked at.
    with locked_once(desk, "INSERT INTO OUTBOX_ACK_LOG") as failed:
        result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert failed, "the injected lock error never happened"
    assert result.exit_code == 0, result
    assert (result.records_sent, result.acked, result.duplicates) == (5, 5, 0)
    assert [state for _s, _m, state, _r in desk.outbox()] == ["acked"] * 5
    assert_invariants(desk, server.store)


@SQLITE_ONLY
def test_a_lock_error_while_applying_changes_counts_each_change_once(
        desk: Desk, server: ServerThread) -> None:
    codes = desk.intake(3)
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    assert SyncEngine(desk.services.ctx, options=FAST).push().exit_code == 0
    for code in codes:
        server.store.record_change(code, "status", "stopped")
    # Each applied change writes its inbox row in the pull transaction.
    with locked_once(desk, "INSERT INTO SYNC_INBOX") as failed:
        result = SyncEngine(desk.services.ctx, options=FAST).pull()
    assert failed, "the injected lock error never happened"
    assert result.exit_code == 0, result
    assert (result.pulled, result.pull_conflicts) == (3, 0)
    con = sqlite3.connect(desk.db_path)
    try:
        assert con.execute("SELECT COUNT(*) FROM sync_inbox").fetchone()[0] == 3
        statuses = {row[0] for row in con.execute("SELECT status FROM dossier")}
    finally:
        con.close()
    assert statuses == {"stopped"}
