"""The file store of digitised papers in backups, restores and integrity checks, with real
files: missing, tampered and orphaned ones (ccdesk/storage/store_copies.py)."""

from __future__ import annotations

import stat
from datetime import datetime

from ccdesk.services.startup import Upkeep, files_check
from ccdesk.storage import backup as bk
from ccdesk.storage.filestore import FileStore
from ccdesk.storage.store_copies import check_store, pool_for
from tests.conftest import submit_intake
from tests.services.attach_kit import pdf_bytes, png_bytes, write


def _attach(desk, officer, tmp_path, seed: int) -> str:
    code = submit_intake(desk, officer).dossier.code
    path = write(tmp_path / "in" / f"scan-{seed}.png", png_bytes(seed))
    return desk.attachments.attach_path(officer, code, 1, path).files[0].sha256


def test_each_backup_copies_only_the_new_files_into_its_pool(desk, officer, tmp_path):
    first = _attach(desk, officer, tmp_path, 1)
    backup = bk.take_backup(desk.db.path, desk.paths.backups_dir, now=datetime(2026, 11, 23, 9))
    pool = FileStore(pool_for(backup))
    assert pool.root == desk.paths.backups_dir / f"{desk.db.path.stem}-files"
    assert list(pool.hashes()) == [first] and pool.verify(first)
    assert stat.S_IMODE(pool.path_of(first).stat().st_mode) == 0o600
    copied_at = pool.path_of(first).stat().st_mtime_ns
    second = _attach(desk, officer, tmp_path, 2)
    bk.take_backup(desk.db.path, desk.paths.backups_dir, now=datetime(2026, 11, 23, 10))
    assert set(pool.hashes()) == {first, second}
    assert pool.path_of(first).stat().st_mtime_ns == copied_at   # not copied again


def test_a_copy_elsewhere_carries_its_own_pool(desk, officer, tmp_path):
    sha = _attach(desk, officer, tmp_path, 3)
    target = tmp_path / "usb" / "desk-copy.sqlite3"
    target.parent.mkdir()
    bk.backup_to(desk.db.path, target)
    assert FileStore(tmp_path / "usb" / "desk-copy-files").verify(sha)


def test_a_damaged_file_is_not_carried_into_the_backups(desk, officer, tmp_path):
    sha = _attach(desk, officer, tmp_path, 4)
    desk.attachments.path_of(sha).write_bytes(png_bytes(99))     # tampered in the store
    backup = bk.take_backup(desk.db.path, desk.paths.backups_dir)
    assert not FileStore(pool_for(backup)).has(sha)


def test_restore_brings_back_missing_and_tampered_files(desk, officer, tmp_path):
    lost, tampered = _attach(desk, officer, tmp_path, 5), _attach(desk, officer, tmp_path, 6)
    backup = bk.take_backup(desk.db.path, desk.paths.backups_dir, now=datetime(2026, 11, 23, 9))
    desk.attachments.path_of(lost).unlink()
    desk.attachments.path_of(tampered).write_bytes(pdf_bytes("not the scan"))
    assert not check_store(desk.db.path).sound
    report = bk.restore(backup, desk.db.path, desk.paths.backups_dir,
                        now=datetime(2026, 11, 23, 11))
    assert report.files is not None and report.files.copied == 2 and not report.files.missing
    assert desk.attachments.store.verify(lost) and desk.attachments.store.verify(tampered)
    assert check_store(desk.db.path).sound


def test_restore_says_which_files_the_backup_lacks(desk, officer, tmp_path):
    sha = _attach(desk, officer, tmp_path, 7)
    backup = bk.take_backup(desk.db.path, desk.paths.backups_dir, now=datetime(2026, 11, 23, 9))
    FileStore(pool_for(backup)).path_of(sha).unlink()
    desk.attachments.path_of(sha).unlink()
    report = bk.restore(backup, desk.db.path, desk.paths.backups_dir,
                        now=datetime(2026, 11, 23, 11))
    assert report.files is not None and report.files.missing == (sha,)


def test_the_check_reports_missing_damaged_and_orphans_without_crashing(desk, officer, tmp_path):
    missing, damaged = _attach(desk, officer, tmp_path, 8), _attach(desk, officer, tmp_path, 9)
    kept = _attach(desk, officer, tmp_path, 10)
    orphan = desk.attachments.stage_file(write(tmp_path / "abandoned.png", png_bytes(11)), 1)
    desk.attachments.path_of(missing).unlink()
    desk.attachments.path_of(damaged).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    found = check_store(desk.db.path)
    assert (found.named, found.missing, found.damaged) == (3, (missing,), (damaged,))
    assert found.orphans == (orphan.blob.sha256,)
    assert kept not in found.missing + found.damaged
    assert check_store(desk.db.path, verify=False).damaged == ()
    error = files_check(desk)
    assert error is not None and error.key == "attachments.check_failed"
    assert "1" in error.message("en") and "missing" in error.message("en")
    notices = Upkeep(due=("schedule",)).run(desk)
    assert ("warning", error.message()) in notices


def test_a_store_never_made_is_sound(desk):
    found = check_store(desk.db.path)
    assert found.sound and found.named == 0 and found.orphans == ()
    assert files_check(desk) is None
