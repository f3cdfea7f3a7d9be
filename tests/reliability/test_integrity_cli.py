"""A damaged database through the real ``ccdesk`` command line: a clear message naming the newest
good backup, never a traceback; then ``ccdesk restore`` brings the desk back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ccdesk.storage import backup as bk
from tests.reliability.conftest import PINS, Desk, intake, run_ccdesk
from tests.reliability.test_backup import _damage_pages


def _prepare(desk: Desk) -> tuple[str, Path]:
    code = intake(desk, desk.actor("off1"))
    good = bk.take_backup(desk.db_path, desk.paths.backups_dir, now=datetime(2026, 11, 22, 7))
    broken = bk.take_backup(desk.db_path, desk.paths.backups_dir,
                            now=datetime(2026, 11, 23, 7))
    _damage_pages(broken)  # the newest copy is bad too: the message must skip it
    desk.services.close()  # last connection: the WAL is checkpointed into the file
    return code, good


def test_damaged_pages_give_a_message_with_the_newest_good_backup(desk: Desk) -> None:
    code, good = _prepare(desk)
    _damage_pages(desk.db_path)
    home = desk.paths.data_dir.parent
    result = run_ccdesk(["--lang", "en", "catalog", "list"], home)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "damaged or unreadable" in result.stderr
    assert str(good) in result.stderr
    restored = run_ccdesk(["--lang", "en", "restore", str(good), "--yes"], home)
    assert restored.returncode == 0, restored.stderr
    assert "Restored" in restored.stdout
    aside = [b for b in bk.list_backups(desk.paths.backups_dir) if b.kind == bk.DAMAGED]
    assert len(aside) == 1
    listed = run_ccdesk(["--lang", "en", "audit", "--dossier", code, "--json", "--as", "lead1"],
                        home, env={"CCDESK_PIN": PINS["lead1"]})
    assert listed.returncode == 0, listed.stderr
    assert '"action": "accept"' in listed.stdout


def test_a_file_that_is_not_a_database_gives_a_message_not_a_traceback(desk: Desk) -> None:
    _code, good = _prepare(desk)
    desk.db_path.write_bytes(b"this is not a database at all " * 400)
    result = run_ccdesk(["officer", "list"], desk.paths.data_dir.parent)  # Vietnamese default
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bị hỏng hoặc không đọc được" in result.stderr and str(good) in result.stderr
    assert f'ccdesk restore "{good}"' in result.stderr  # and says what to type


def test_opening_the_desk_on_a_damaged_file_names_the_good_backup(desk: Desk) -> None:
    """``ccdesk`` alone (the desk app) checks the file before showing anything."""
    _code, good = _prepare(desk)
    _damage_pages(desk.db_path)
    result = run_ccdesk(["--lang", "en"], desk.paths.data_dir.parent)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "damaged or unreadable" in result.stderr and str(good) in result.stderr
