"""Issue 12.12: the audit trail is tamper-evident. Lines carry a keyed hash chain; a dropped
guard is recreated at start; a forged, changed or deleted line is found at start (tail since the
last check) and by ``ccdesk audit --verify`` (the whole chain, first broken line named)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ccdesk.services import Services
from ccdesk.services.audit import start_check, verify_trail
from ccdesk.storage.auditchain import TRIGGERS
from tests.reliability.conftest import PINS, Desk, intake, run_ccdesk


def _sql(db: Path, *statements: str) -> None:
    """What someone with plain sqlite3 does to the file."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def _line_ids(db: Path) -> list[int]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT id FROM auditlog ORDER BY id")]
    finally:
        con.close()


def test_an_untouched_trail_verifies(desk: Desk) -> None:
    intake(desk, desk.actor("off1"))
    check = verify_trail(desk.services.ctx, full=True)
    assert check.ok and check.checked == len(_line_ids(desk.db_path)) > 3
    assert start_check(desk.services.ctx) is None


def test_a_dropped_trigger_and_a_forged_line_are_caught_at_start(desk: Desk) -> None:
    intake(desk, desk.actor("off1"))
    assert verify_trail(desk.services.ctx, full=False).ok  # checkpoint at the tail
    desk.services.close()
    _sql(desk.db_path, "DROP TRIGGER auditlog_no_update", "DROP TRIGGER auditlog_no_delete",
         "INSERT INTO auditlog (at, officer_username, action, terminal, detail, chain) "
         "VALUES ('2026-11-23 09:00:00.000000', 'lead1', 'extend', 'local', '', "
         "'" + "ab" * 32 + "')")
    forged = _line_ids(desk.db_path)[-1]
    services = Services.open(desk.db_path, desk.paths, clock=desk.clock)
    try:
        warning = start_check(services.ctx)
        assert warning is not None and str(forged) in warning
        con = sqlite3.connect(desk.db_path)
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master "
                                           "WHERE type = 'trigger'")}
        restored = con.execute("SELECT detail FROM auditlog WHERE action = "
                               "'audit.guards_restored'").fetchall()
        con.close()
        assert set(TRIGGERS) <= names
        assert restored and "auditlog_no_update" in restored[0][0]
        try:
            _sql(desk.db_path, "DELETE FROM auditlog WHERE id = 1")
            raise AssertionError("the recreated trigger must refuse the DELETE")
        except sqlite3.DatabaseError as exc:
            assert "append-only" in str(exc)
    finally:
        services.close()


def test_audit_verify_names_the_first_changed_line_and_exits_3(desk: Desk) -> None:
    intake(desk, desk.actor("off1"))
    intake(desk, desk.actor("off1"), name="Lê Thị Hoà", id_number="001185012345")
    ids = _line_ids(desk.db_path)
    desk.services.close()
    home = desk.paths.data_dir.parent
    env = {"CCDESK_PIN": PINS["lead1"]}
    good = run_ccdesk(["--lang", "en", "audit", "--verify", "--as", "lead1"], home, env=env)
    assert good.returncode == 0, good.stderr
    assert "intact" in good.stdout
    target = ids[len(ids) // 2]
    _sql(desk.db_path, "DROP TRIGGER auditlog_no_update",
         f"UPDATE auditlog SET officer_username = 'lead1' WHERE id = {target}")
    bad = run_ccdesk(["--lang", "en", "audit", "--verify", "--as", "lead1"], home, env=env)
    assert bad.returncode == 3, bad.stdout + bad.stderr
    assert f"line {target}" in bad.stderr and "Traceback" not in bad.stderr


def test_a_deleted_line_breaks_the_chain_at_the_next_one(desk: Desk) -> None:
    intake(desk, desk.actor("off1"))
    ids = _line_ids(desk.db_path)
    _sql(desk.db_path, "DROP TRIGGER auditlog_no_delete",
         f"DELETE FROM auditlog WHERE id = {ids[1]}")
    check = verify_trail(desk.services.ctx, full=True)
    assert check.broken_id == ids[2]
    assert "auditlog_no_delete" in check.restored_triggers


def test_lines_written_before_the_chain_are_chained_by_the_migration(tmp_path: Path) -> None:
    """A database at 0006 (no chain column) is upgraded: its lines verify afterwards."""
    from alembic import command

    from ccdesk.storage.engine import make_engine
    from ccdesk.storage.migrate import alembic_config
    from tests.reliability.conftest import make_paths, setup_desk

    paths = make_paths(tmp_path)
    services = setup_desk(paths, officers=("it1",))
    db = services.db.path
    services.close()
    engine = make_engine(db)
    cfg = alembic_config(str(engine.url))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0006_outbox_retention")
    engine.dispose()
    _sql(db, "INSERT INTO auditlog (at, officer_username, action, terminal, detail) "
             "VALUES ('2026-11-20 08:00:00.000000', 'it1', 'login', 'local', '')")
    services = Services.open(db, paths)
    try:
        check = verify_trail(services.ctx, full=True)
        assert check.ok and check.checked == len(_line_ids(db))
    finally:
        services.close()


def test_the_chain_survives_kill_9_during_intakes(tmp_path: Path) -> None:
    """Each line's chain value is written in the change's own transaction: a process killed
    mid-write leaves a chain that still verifies end to end."""
    import random

    from tests.reliability.conftest import Clock, make_paths, setup_desk
    from tests.reliability.test_crash import kill_loop

    paths = make_paths(tmp_path)
    setup_desk(paths, Clock(), officers=("off1",)).close()
    kills = kill_loop(paths.default_db, paths.data_dir / "committed.txt", 3, random.Random(7))
    assert kills == 3
    services = Services.open(paths.default_db, paths)
    try:
        check = verify_trail(services.ctx, full=True)
        assert check.ok and check.checked == len(_line_ids(paths.default_db))
    finally:
        services.close()
