"""Backups: online copies, daily rotation (7 daily + 4 weekly), restore with integrity check."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.domain.errors import StorageError
from ccdesk.services import Services
from ccdesk.services.startup import on_start
from ccdesk.storage import backup as bk
from ccdesk.storage import soundness
from tests.reliability.conftest import PINS, Desk, db_dump, intake, table_counts


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _backup_file(day: date, hour: int = 8) -> bk.BackupFile:
    taken = datetime.combine(day, datetime.min.time()).replace(hour=hour)
    return bk.BackupFile(Path(bk.backup_name("ccdesk", bk.DAILY, taken)), "ccdesk", bk.DAILY,
                         taken)


def test_retention_of_two_months_of_daily_backups_keeps_7_days_and_4_weeks() -> None:
    today = date(2026, 11, 23)  # a Monday
    backups = [_backup_file(today - timedelta(days=n)) for n in range(60)]
    kept = sorted(b.taken_at.date() for b in backups if b.path in bk.retained(backups))
    daily = [today - timedelta(days=n) for n in range(7)]          # 17/11 … 23/11
    # Older copies: the newest of each ISO week (Mon–Sun), newest weeks first: Monday 16/11
    # (the rest of its week is already kept daily), then the Sundays 15/11, 8/11 and 1/11.
    weekly = [date(2026, 11, 16), date(2026, 11, 15), date(2026, 11, 8), date(2026, 11, 1)]
    assert kept == sorted(daily + weekly)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1)),
                min_size=0, max_size=60, unique=True))
def test_retention_properties(stamps: list[datetime]) -> None:
    backups = [bk.BackupFile(Path(f"ccdesk-daily-{i}.sqlite3"), "ccdesk", bk.DAILY, at)
               for i, at in enumerate(stamps)]
    kept = [b for b in backups if b.path in bk.retained(backups)]
    days = sorted({b.taken_at.date() for b in backups}, reverse=True)
    assert len(kept) <= bk.DAILY_KEEP + bk.WEEKLY_KEEP
    assert len({b.taken_at.date() for b in kept}) == len(kept)  # at most one copy per day
    for day in days[:bk.DAILY_KEEP]:  # the newest copy of each of the 7 newest days is kept
        newest = max((b for b in backups if b.taken_at.date() == day), key=lambda b: b.taken_at)
        assert newest in kept
    older = [b for b in backups if b.taken_at.date() not in days[:bk.DAILY_KEEP]]
    weeks = sorted({b.taken_at.isocalendar()[:2] for b in older}, reverse=True)
    for week in weeks[:bk.WEEKLY_KEEP]:
        newest = max((b for b in older if b.taken_at.isocalendar()[:2] == week),
                     key=lambda b: b.taken_at)
        assert newest in kept
    assert len(kept) == min(len(days), bk.DAILY_KEEP) + min(len(weeks), bk.WEEKLY_KEEP)


def test_daily_backup_once_a_day_and_rotated_over_40_days(desk: Desk) -> None:
    backups_dir = desk.paths.backups_dir
    manual = bk.take_backup(desk.db_path, backups_dir)
    start = datetime(2026, 10, 1, 7, 30)
    for n in range(40):
        now = start + timedelta(days=n)
        first = bk.daily_backup(desk.db_path, backups_dir, now)
        assert first is not None and first.exists()
        assert bk.daily_backup(desk.db_path, backups_dir, now + timedelta(hours=3)) is None
    dailies = [b for b in bk.list_backups(backups_dir) if b.kind == bk.DAILY]
    assert len(dailies) == bk.DAILY_KEEP + bk.WEEKLY_KEEP
    assert manual.exists()  # manual copies are never rotated away
    last = (start + timedelta(days=39)).date()
    assert {b.day for b in dailies} >= {last - timedelta(days=n) for n in range(7)}


def test_on_start_takes_the_days_backup_once_and_audits_it(desk: Desk) -> None:
    first = on_start(desk.services, now=datetime(2026, 11, 23, 7, 0)).backup
    again = on_start(desk.services, now=datetime(2026, 11, 23, 13, 0)).backup
    assert first is not None and again is None
    con = sqlite3.connect(desk.db_path)
    rows = con.execute("SELECT officer_username, detail FROM auditlog "
                       "WHERE action = 'backup.daily'").fetchall()
    assert rows == [("system", first.name)]


def test_backup_is_consistent_while_another_desk_writes(desk: Desk) -> None:
    actor = desk.actor("off1")
    intake(desk, actor)
    writer = sqlite3.connect(desk.db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another desk in the middle of a transaction
    writer.execute("INSERT INTO codecounter (key, last_seq) VALUES ('uncommitted', 1)")
    copy = bk.take_backup(desk.db_path, desk.paths.backups_dir)
    writer.execute("ROLLBACK")
    writer.close()
    assert soundness.integrity_problem(copy, full=True) is None
    con = sqlite3.connect(copy)
    assert con.execute("SELECT count(*) FROM dossier").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM codecounter WHERE key='uncommitted'").fetchone() \
        == (0,)
    assert not list(desk.paths.backups_dir.glob("*.part"))


def test_backup_files_and_folder_are_owner_only_whatever_the_umask(desk: Desk,
                                                                    tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        copy = bk.take_backup(desk.db_path, desk.paths.backups_dir)
        usb = tmp_path / "usb"
        usb.mkdir()
        exported = bk.backup_to(desk.db_path, usb)
    finally:
        os.umask(old)
    assert _mode(copy) == 0o600 and _mode(exported) == 0o600
    assert _mode(desk.paths.backups_dir) == 0o700


def test_backup_to_refuses_existing_file_and_missing_folder(desk: Desk, tmp_path: Path) -> None:
    target = tmp_path / "copy.sqlite3"
    assert bk.backup_to(desk.db_path, target) == target
    with pytest.raises(StorageError) as existing:
        bk.backup_to(desk.db_path, target)
    assert str(target) in existing.value.message("en")
    assert "already exists" in existing.value.message("en")
    with pytest.raises(StorageError) as missing:
        bk.backup_to(desk.db_path, tmp_path / "nope" / "copy.sqlite3")
    assert "does not exist" in missing.value.message("en")


def test_restore_replaces_content_keeps_current_aside_and_live_readers_see_it(
        desk: Desk) -> None:
    actor = desk.actor("off1")
    first = intake(desk, actor)
    backup = bk.take_backup(desk.db_path, desk.paths.backups_dir)
    second = intake(desk, actor, name="Lê Thị Hoà", id_number="001185012345")
    before_restore = db_dump(desk.db_path)
    # A second desk process has the database open during the restore.
    other = Services.open(desk.db_path, desk.paths)
    assert other.dossiers.detail(second).dossier.code == second
    report = bk.restore(backup, desk.db_path, desk.paths.backups_dir)
    assert report.aside is not None and report.aside.exists()
    assert db_dump(report.aside) == before_restore
    assert soundness.integrity_problem(desk.db_path, full=True) is None
    codes = [r[0] for r in sqlite3.connect(desk.db_path).execute("SELECT code FROM dossier")]
    assert codes == [first]
    # The other desk reads the restored data, not a stale or unlinked file.
    assert other.dossiers.detail(first).dossier.code == first
    with pytest.raises(Exception, match=second):
        other.dossiers.detail(second)
    other.close()


def test_restore_refuses_a_damaged_backup_and_changes_nothing(desk: Desk,
                                                               tmp_path: Path) -> None:
    backup = bk.take_backup(desk.db_path, desk.paths.backups_dir)
    _damage_pages(backup)
    before = db_dump(desk.db_path)
    with pytest.raises(StorageError) as err:
        bk.restore(backup, desk.db_path, desk.paths.backups_dir)
    assert "integrity" in err.value.message("en") and str(backup) in err.value.message("en")
    assert db_dump(desk.db_path) == before
    assert not [b for b in bk.list_backups(desk.paths.backups_dir)
                if b.kind == bk.BEFORE_RESTORE]


def test_restore_refuses_a_sqlite_file_that_is_not_ccdesk(desk: Desk, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    before = table_counts(desk.db_path)
    with pytest.raises(StorageError) as err:
        bk.restore(other, desk.db_path, desk.paths.backups_dir)
    assert "not a ccdesk database" in err.value.message("en")
    assert table_counts(desk.db_path) == before


def test_restore_over_a_damaged_database_moves_it_aside(desk: Desk) -> None:
    actor = desk.actor("off1")
    code = intake(desk, actor)
    backup = bk.take_backup(desk.db_path, desk.paths.backups_dir)
    desk.services.close()
    _damage_pages(desk.db_path)
    desk.db_path.with_name(desk.db_path.name + "-wal").write_bytes(b"stale wal")
    report = bk.restore(backup, desk.db_path, desk.paths.backups_dir)
    assert report.aside is not None and report.aside.name.startswith("ccdesk-damaged-")
    assert soundness.integrity_problem(report.aside) is not None  # the damaged file, kept as it was
    wal = desk.db_path.with_name(desk.db_path.name + "-wal")
    assert not wal.exists() or wal.read_bytes() != b"stale wal"
    reopened = Services.open(desk.db_path, desk.paths)
    assert reopened.dossiers.detail(code).dossier.code == code
    assert _mode(desk.db_path) == 0o600
    reopened.close()


def test_newest_good_backup_skips_damaged_copies(desk: Desk) -> None:
    good = bk.take_backup(desk.db_path, desk.paths.backups_dir, now=datetime(2026, 11, 20, 8))
    bad = bk.take_backup(desk.db_path, desk.paths.backups_dir, now=datetime(2026, 11, 22, 8))
    _damage_pages(bad)
    assert bk.newest_good_backup(desk.paths.backups_dir, "ccdesk") == good


def _damage_pages(path: Path) -> None:
    """Overwrite every page but the header page with noise, as a failing disk would."""
    size = path.stat().st_size
    assert size > 8192
    with path.open("r+b") as fh:
        fh.seek(4096)
        fh.write(bytes((i * 37 + 11) % 256 for i in range(size - 4096)))


def test_a_backup_that_cannot_be_written_warns_but_does_not_stop_the_desk(
        desk: Desk, cli: object) -> None:
    desk.paths.backups_dir.write_text("a file where the backups folder should be")
    report = on_start(desk.services, now=datetime(2026, 11, 23, 7, 0))
    assert report.backup is None and report.backup_error is not None
    assert str(desk.paths.backups_dir) in report.backup_error.message("en")
    assert "Could not write the copy" in report.backup_error.message("en")
    intake(desk, desk.actor("off1"))  # the desk keeps working
    listed = cli(["officer", "list", "--as", "it1"], env={"CCDESK_PIN": PINS["it1"]})
    assert listed.exit_code == 0 and "it1" in listed.stdout
    assert str(desk.paths.backups_dir) in listed.stderr  # …with a warning
