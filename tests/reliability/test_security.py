"""Security properties the desk promises: owner-only files, append-only audit written with the
change, argon2 PINs with growing lockout, role checks, refused oversized input, full disk."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import event, text

from ccdesk.domain.errors import InvalidInput, PermissionDenied, StorageError
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.validation import LIMITS
from ccdesk.forms.service import FormService
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Services, recording
from ccdesk.services.context import detect_terminal
from ccdesk.services.intake import Decision
from ccdesk.services.officers import MAX_ATTEMPTS
from tests.reliability.conftest import (
    PINS,
    Desk,
    birth_request,
    db_dump,
    intake,
    make_paths,
    table_counts,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- files ------------------------------------------------------------------------------------

def test_new_database_and_its_wal_and_shm_are_owner_only_under_an_open_umask(
        tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    old = os.umask(0)  # the worst case: everything would be world-writable
    try:
        services = Services.open(paths.default_db, paths)
        services.office.get()
        db = paths.default_db
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(paths.data_dir) == 0o700
        services.close()
    finally:
        os.umask(old)


def test_an_existing_database_with_loose_modes_is_tightened_on_open(tmp_path: Path) -> None:
    """The desk's own database file is tightened; its folder, which exists already, is never
    chmodded (issue 12.1: see test_hardening.py)."""
    paths = make_paths(tmp_path)
    Services.open(paths.default_db, paths).close()
    paths.default_db.chmod(0o666)
    paths.data_dir.chmod(0o777)
    Services.open(paths.default_db, paths).close()
    assert _mode(paths.default_db) == 0o600 and _mode(paths.data_dir) == 0o777


# ---- audit trail --------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["auditlog", "dossierevent"])
def test_audit_and_history_rows_cannot_be_updated_or_deleted(desk: Desk, table: str) -> None:
    intake(desk, desk.actor("off1"))
    before = db_dump(desk.db_path)
    con = sqlite3.connect(desk.db_path)
    for statement in (f"UPDATE {table} SET action = 'forged'", f"DELETE FROM {table}"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(statement)
    con.close()
    # Through the application's own engine as well.
    with pytest.raises(Exception, match="append-only"):
        desk.services.db.write(lambda s: s.exec(text(f"DELETE FROM {table}")))
    assert db_dump(desk.db_path) == before


def test_each_change_writes_one_audit_line_with_who_what_and_terminal(
        paths: Paths, template_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.reliability.conftest import copy_template

    copy_template(template_db, paths)
    monkeypatch.setenv("SSH_CLIENT", "10.1.2.3 51234 22")
    services = Services.open(paths.default_db, paths)
    actor = services.officers.authenticate("off1", PINS["off1"])
    code = services.intake.submit(actor, birth_request(), Decision.ACCEPT).dossier.code
    services.dossiers.act(actor, code, Action.MARK_READY)
    rows = sqlite3.connect(paths.default_db).execute(
        "SELECT officer_username, action, dossier_code, terminal FROM auditlog "
        "WHERE dossier_code IS NOT NULL ORDER BY id").fetchall()
    assert rows == [("off1", "accept", code, "ssh:10.1.2.3"),
                    ("off1", "mark_ready", code, "ssh:10.1.2.3")]
    services.close()


def test_detect_terminal_prefers_the_ssh_client_address() -> None:
    assert detect_terminal({"SSH_CONNECTION": "192.168.1.9 40000 192.168.1.2 22"}) \
        == "ssh:192.168.1.9"
    assert detect_terminal({}) != ""


def test_audit_line_and_change_commit_or_roll_back_together(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = desk.actor("off1")
    before = table_counts(desk.db_path)

    def failing_outbox(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut after the audit line was added")

    monkeypatch.setattr(recording, "record_change", failing_outbox)
    with pytest.raises(RuntimeError):
        desk.services.intake.submit(actor, birth_request(), Decision.ACCEPT)
    assert table_counts(desk.db_path) == before  # no dossier, no audit line, nothing


# ---- PINs, lockout, roles -------------------------------------------------------------------

def test_pins_are_stored_only_as_argon2id_hashes(desk: Desk) -> None:
    # Long, distinctive PINs: a 4-digit PIN turns up by chance in any binary file (page
    # numbers, timestamps, random ids), so only these prove no PIN is stored in clear.
    distinctive = {name: f"pin-{name}-Qx7!zW" for name in PINS}
    for name, pin in distinctive.items():
        desk.services.officers.reset_pin(desk.actor("it1"), name, pin)
    con = sqlite3.connect(desk.db_path)
    hashes = [r[0] for r in con.execute("SELECT pin_hash FROM officer")]
    con.close()
    assert hashes and all(h.startswith("p1$argon2id$") for h in hashes)  # peppered
    desk.services.close()
    blob = b"".join(p.read_bytes() for p in desk.paths.data_dir.glob("ccdesk.sqlite3*"))
    for pin in distinctive.values():
        assert pin.encode() not in blob


def test_five_wrong_pins_lock_the_account_with_a_growing_wait(desk: Desk) -> None:
    officers = desk.services.officers
    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(PermissionDenied) as wrong:
            officers.authenticate("off1", "0000")
        assert f": {MAX_ATTEMPTS - attempt})" in wrong.value.message("en")
    with pytest.raises(PermissionDenied):
        officers.authenticate("off1", "0000")  # the 5th failure starts the wait
    with pytest.raises(PermissionDenied) as locked:
        officers.authenticate("off1", PINS["off1"])  # even the right PIN waits
    assert "try again in" in locked.value.message("en")
    first_wait = officers.lock_wait("off1").total_seconds()
    desk.clock.advance(seconds=first_wait + 1)
    with pytest.raises(PermissionDenied):
        officers.authenticate("off1", "0000")  # 6th failure: a longer wait
    second_wait = officers.lock_wait("off1").total_seconds()
    assert 0 < first_wait < second_wait
    desk.clock.advance(seconds=second_wait + 1)
    assert officers.authenticate("off1", PINS["off1"]).username == "off1"
    assert officers.lock_wait("off1").total_seconds() == 0


def test_roles_are_checked_by_the_services(desk: Desk) -> None:
    officer, trainer = desk.actor("off1"), desk.actor("trn1")
    with pytest.raises(PermissionDenied):
        desk.services.officers.add(officer, "x1", "Ngô Văn Tư", "it", "11112222")
    with pytest.raises(PermissionDenied):
        desk.services.intake.submit(trainer, birth_request(), Decision.ACCEPT)  # not a sandbox
    code = intake(desk, officer)
    with pytest.raises(PermissionDenied) as refused:
        desk.services.dossiers.act(officer, code, Action.EXTEND, reason="chậm",
                                   new_due=desk.clock.now)
    assert "officer" in refused.value.message("en")


def test_a_disabled_officer_cannot_log_in(desk: Desk) -> None:
    desk.services.officers.set_active(desk.actor("it1"), "off1", False)
    with pytest.raises(PermissionDenied) as err:
        desk.services.officers.authenticate("off1", PINS["off1"])
    assert "disabled" in err.value.message("en")


# ---- input limits, full disk ----------------------------------------------------------------

def test_oversized_fields_are_refused_with_their_limit_never_truncated(desk: Desk) -> None:
    actor = desk.actor("off1")
    before = db_dump(desk.db_path)
    limit = LIMITS["full_name"]
    too_long = "Nguyễn " + "A" * (limit - 6)
    assert len(too_long) == limit + 1
    with pytest.raises(InvalidInput) as err:
        intake(desk, actor, name=too_long)
    assert f"limit of {limit}" in err.value.message("en")
    assert db_dump(desk.db_path) == before
    exact = "Nguyễn " + "A" * (limit - 7)
    code = intake(desk, actor, name=exact)
    assert desk.services.dossiers.detail(code).dossier.applicant_name == exact


def test_a_full_disk_gives_a_clear_error_and_keeps_the_database_unchanged(desk: Desk) -> None:
    actor = desk.actor("off1")
    intake(desk, actor, name="Trần Thị Mai", id_number="001185099999")
    pages = sqlite3.connect(desk.db_path).execute("PRAGMA page_count").fetchone()[0]
    engine = desk.services.db.engine
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # SQLite's own "disk full" path: no page may be added beyond the current size.
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    before = table_counts(desk.db_path)
    request = birth_request(name="Lý Thị Ngọc " + "B" * 60, id_number="001185088888")
    request.applicant.address = "X" * 250
    failures = 0
    for _ in range(40):  # fill the last free pages until SQLite reports the disk full
        try:
            desk.services.intake.submit(actor, request, Decision.ACCEPT)
        except StorageError as err:
            failures += 1
            assert err.key == "core.err.disk_full"
            assert "disk is full" in err.message("en") and str(desk.db_path) in err.message("en")
            break
    assert failures == 1
    after = table_counts(desk.db_path)
    added = after["dossier"] - before["dossier"]
    # Whatever fitted was committed whole; the failed intake left nothing behind.
    assert after["auditlog"] - before["auditlog"] == added
    assert after["outbox"] - before["outbox"] == added
    assert request.applicant.full_name.startswith("Lý Thị Ngọc")  # what was typed is intact


def test_system_actor_is_it_and_bootstrap_only_for_first_officer(tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    services = Services.open(paths.default_db, paths)
    services.officers.add(SYSTEM, "boss", "Đinh Văn Bảo", "it", "55556666")
    assert [o.username for o in services.officers.list()] == ["boss"]
    services.close()


def test_a_read_only_database_gives_a_clear_error_and_keeps_the_typed_dossier(
        desk: Desk) -> None:
    actor = desk.actor("off1")
    engine = desk.services.db.engine
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute("PRAGMA query_only = 1")  # SQLite refuses every write, as on a ro fs

    before = db_dump(desk.db_path)
    request = birth_request(name="Lý Thị Ngọc")
    with pytest.raises(StorageError) as err:
        desk.services.intake.submit(actor, request, Decision.ACCEPT)
    assert err.value.key == "core.err.read_only"
    assert str(desk.db_path) in err.value.message("vi")
    assert request.applicant.full_name == "Lý Thị Ngọc"
    assert db_dump(desk.db_path) == before


@pytest.mark.parametrize(("errno_value", "key"), [
    (28, "core.err.disk_full"),      # ENOSPC
    (30, "core.err.read_only"),      # EROFS
    (13, "core.err.read_only"),      # EACCES
])
def test_file_errors_map_to_messages_naming_the_path(errno_value: int, key: str,
                                                     tmp_path: Path) -> None:
    from ccdesk.storage.soundness import file_error

    err = file_error(OSError(errno_value, os.strerror(errno_value)), tmp_path / "x.sqlite3")
    assert err.key == key and str(tmp_path / "x.sqlite3") in err.message("en")


def test_backup_into_a_full_disk_leaves_no_partial_file(desk: Desk, tmp_path: Path) -> None:
    """RLIMIT_FSIZE in a child makes the copy hit "file too large" half-way: the error is clear
    and no half-written backup is left looking like a good one."""
    import subprocess
    import sys

    from tests.reliability.conftest import REPO

    assert desk.db_path.stat().st_size > 2 * 64 * 1024  # larger than the limit below
    target = tmp_path / "usb"
    target.mkdir()
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))\n"
        "from ccdesk.domain.errors import StorageError\n"
        "from ccdesk.storage.backup import backup_to\n"
        "try:\n"
        f"    backup_to(Path({str(desk.db_path)!r}), Path({str(target)!r}))\n"
        "except StorageError as err:\n"
        "    print(err.key); print(err.message('en'))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    key, message = out.stdout.splitlines()[:2]
    assert key in ("core.err.disk_full", "reliability.err.copy_failed"), key
    assert str(target) in message and "Traceback" not in out.stderr
    assert list(target.iterdir()) == []


def test_a_training_sandbox_holds_only_generated_people_and_never_syncs(desk: Desk) -> None:
    from ccdesk.training import open_sandbox

    real = [("Trần Văn Thật", "001085077777", "0987654321")]
    for name, cccd, phone in real:
        intake(desk, desk.actor("off1"), name=name, id_number=cccd, phone=phone)
    sandbox = open_sandbox(desk.paths, seed=7)
    try:
        db = sandbox.services.db.path
        assert stat.S_IMODE(sandbox.root.stat().st_mode) == 0o700 and _mode(db) == 0o600
        con = sqlite3.connect(db)
        people = con.execute("SELECT applicant_name, applicant_id_number, applicant_phone "
                             "FROM dossier").fetchall()
        assert con.execute("SELECT is_training FROM office").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        con.close()
        assert len(people) > 0  # the generator filled it …
        flat = {value for row in people for value in row}
        assert not flat & {value for row in real for value in row}  # … with nobody real
        assert db.resolve() != desk.db_path.resolve()
    finally:
        sandbox.close()


def test_saved_forms_are_owner_only_whatever_the_umask(desk: Desk) -> None:
    """Printed forms carry the citizen's name, ID and phone: same rule as the database."""
    code = intake(desk, desk.actor("off1"))
    old = os.umask(0)
    try:
        outcome = FormService(desk.services).output(desk.actor("off1"), code, "01", reprint=False)
    finally:
        os.umask(old)
    assert outcome.path is not None and outcome.path.exists()
    assert _mode(outcome.path) == 0o600 and _mode(desk.paths.forms_dir) == 0o700
    assert not list(desk.paths.forms_dir.glob("*.part"))
