"""The cheap look before every start, and when the whole file is checked (issue 17).

The look reads a few pages whatever the size, yet catches every damage case the start-up
tests cover; a page damaged in the middle is left to the whole-file check, which runs when one
is due (an unclean exit, a failed write, a restore, a week, damage found before).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from ccdesk.config import Config
from ccdesk.services.startup import EarlyLook, begin_opening, on_start
from ccdesk.storage import backup as bk
from ccdesk.storage import integrity, soundness
from tests.reliability.conftest import REPO, Desk, run_ccdesk
from tests.reliability.test_backup import _damage_pages

NOW = datetime(2026, 11, 23, 7, 30)


def _closed(desk: Desk) -> Path:
    """The desk's file with every connection closed (the WAL checkpointed into it)."""
    desk.services.close()
    return desk.db_path


def damage_a_middle_page(db: Path) -> str:
    """Overwrite one leaf page in the middle of the largest table with noise, as a failing
    sector would: neither that table's first nor its last row. Returns the table's name."""
    con = sqlite3.connect(db)
    try:
        name, pages = con.execute(
            "SELECT name, group_concat(pageno) FROM (SELECT name, pageno FROM dbstat "
            "WHERE pagetype = 'leaf' AND name NOT LIKE 'sqlite_%' ORDER BY pageno) "
            "GROUP BY name ORDER BY count(*) DESC LIMIT 1").fetchone()
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    leaves = [int(p) for p in pages.split(",")]
    assert len(leaves) >= 3, (name, leaves)
    with db.open("r+b") as fh:
        fh.seek((leaves[len(leaves) // 2] - 1) * page_size)
        fh.write(bytes((i * 91 + 7) % 256 for i in range(page_size)))
    return name


def test_the_cheap_look_passes_a_sound_desk(desk: Desk) -> None:
    db = _closed(desk)
    assert integrity.quick_look(db) is None
    soundness.check_database(db, desk.paths.backups_dir)  # raises nothing


@pytest.mark.parametrize("damage", ["zero bytes", "truncated", "bad header", "not sqlite",
                                    "pages behind the header"])
def test_the_cheap_look_catches_each_damage_case(desk: Desk, damage: str) -> None:
    good = bk.take_backup(desk.db_path, desk.paths.backups_dir, now=NOW)
    db = _closed(desk)
    size = db.stat().st_size
    if damage == "zero bytes":
        db.write_bytes(b"")
    elif damage == "truncated":
        os.truncate(db, size // 2)
    elif damage == "bad header":
        with db.open("r+b") as fh:
            fh.write(b"NOT SQLite head\0")
    elif damage == "not sqlite":
        db.write_bytes(b"this is not a database at all " * 400)
    else:
        _damage_pages(db)
    with pytest.raises(soundness.DatabaseDamaged) as err:
        soundness.check_database(db, desk.paths.backups_dir)
    assert err.value.backup == good
    # The desk app (``ccdesk`` alone) says the same before anything is shown.
    app = run_ccdesk(["--lang", "en"], desk.paths.data_dir.parent)
    assert app.returncode == 2, app.stdout + app.stderr
    assert "damaged or unreadable" in app.stderr and str(good) in app.stderr


def test_a_page_damaged_in_the_middle_is_left_to_the_whole_file_check(desk: Desk) -> None:
    db = _closed(desk)
    damage_a_middle_page(db)
    assert integrity.quick_look(db) is None  # a few pages only: this one is not among them
    assert soundness.integrity_problem(db) is not None
    with pytest.raises(soundness.DatabaseDamaged):
        soundness.check_database(db, desk.paths.backups_dir, full=True)


def test_a_full_check_is_due_weekly_and_after_each_event(desk: Desk) -> None:
    data, db = desk.paths.data_dir, desk.db_path
    assert integrity.due_reasons(data, db, NOW) == [integrity.SCHEDULE]  # never checked
    integrity.record_full_check(data, db, None, NOW)
    assert integrity.due_reasons(data, db, NOW + timedelta(days=6)) == []
    assert integrity.due_reasons(data, db, NOW + timedelta(days=7)) == [integrity.SCHEDULE]
    for reason in (integrity.WRITE, integrity.RESTORE, integrity.WRITE):
        integrity.request_full_check(data, db, reason)
    assert integrity.due_reasons(data, db, NOW) == [integrity.WRITE, integrity.RESTORE]
    integrity.record_full_check(data, db, "damaged", NOW)
    assert integrity.due_reasons(data, db, NOW) == [integrity.DAMAGED]


HOLD_MARKER = """
import os, sys, time
from pathlib import Path
from ccdesk.storage.integrity import OpenMarker
OpenMarker(Path(sys.argv[1]), Path(sys.argv[2])).open()
print("held", flush=True)
if sys.argv[3] == "crash":
    os._exit(0)  # never closed: as a power cut or a kill would leave it
time.sleep(60)
"""


def _hold_marker(desk: Desk, how: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLD_MARKER, str(desk.paths.data_dir),
                              str(desk.db_path), how], cwd=REPO, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_marker_left_by_an_unclean_exit_makes_a_full_check_due(desk: Desk) -> None:
    data, db = desk.paths.data_dir, desk.db_path
    integrity.record_full_check(data, db, None)
    _hold_marker(desk, "crash").wait(30)
    assert integrity.marker_file(data, db).exists()
    marker = integrity.OpenMarker(data, db)
    assert marker.open() is True
    assert integrity.UNCLEAN in integrity.due_reasons(data, db)
    marker.close()
    assert not integrity.marker_file(data, db).exists()  # a clean exit removes it
    again = integrity.OpenMarker(data, db)
    assert again.open() is False
    again.close()


def test_a_marker_held_by_another_running_desk_is_not_an_unclean_exit(desk: Desk) -> None:
    data, db = desk.paths.data_dir, desk.db_path
    integrity.record_full_check(data, db, None)
    other = _hold_marker(desk, "hold")
    try:
        mine = integrity.OpenMarker(data, db)
        assert mine.open() is False
        mine.close()
        assert integrity.marker_file(data, db).exists()  # the other desk still holds it
    finally:
        other.kill()
        other.wait(30)
    assert integrity.due_reasons(data, db) == []


def test_a_write_failing_on_a_damaged_file_makes_a_full_check_due(desk: Desk) -> None:
    data, db = desk.paths.data_dir, desk.db_path
    integrity.record_full_check(data, db, None)
    desk.services.db.engine.dispose()
    _damage_pages(db)
    with pytest.raises(Exception, match="malformed|not a database"):
        desk.services.db.write(lambda s: s.execute(text("UPDATE office SET unit_name = 'x'")))
    assert integrity.due_reasons(data, db) == [integrity.WRITE]


def test_a_command_runs_a_pending_full_check_and_remembers_damage(desk: Desk) -> None:
    """``on_start`` (every command) runs the whole-file check when one is pending; damage it
    finds is remembered, so the desk app checks in full before its first screen next time."""
    data, db = desk.paths.data_dir, desk.db_path
    integrity.record_full_check(data, db, None, NOW)
    on_start(desk.services, now=NOW)  # nothing pending: the cheap look only
    integrity.request_full_check(data, db, integrity.UNCLEAN)
    desk.services.db.engine.dispose()
    damage_a_middle_page(db)
    with pytest.raises(soundness.DatabaseDamaged):
        on_start(desk.services, now=NOW)
    assert integrity.due_reasons(data, db, NOW) == [integrity.DAMAGED]
    with pytest.raises(soundness.DatabaseDamaged):
        begin_opening(db, desk.paths, Config())


def test_a_restore_counts_as_the_full_check_after_it(desk: Desk) -> None:
    data, db = desk.paths.data_dir, desk.db_path
    good = bk.take_backup(db, desk.paths.backups_dir, now=NOW)
    integrity.record_full_check(data, db, "damaged", NOW)
    _closed(desk)
    _damage_pages(db)
    restored = run_ccdesk(["--lang", "en", "restore", str(good), "--yes"],
                          desk.paths.data_dir.parent)
    assert restored.returncode == 0, restored.stderr
    assert integrity.due_reasons(data, db) == []
    assert begin_opening(db, desk.paths, Config()) is not None


def test_the_early_look_reads_what_the_opening_would(desk: Desk) -> None:
    """``ccdesk`` starts the login's reads in a thread while Textual imports: the opening takes
    the same facts from it, and opens the services exactly as without it."""
    data, db = desk.paths.data_dir, desk.db_path
    integrity.record_full_check(data, db, None, datetime.now())
    _closed(desk)
    in_line = begin_opening(db, desk.paths, Config())
    early = begin_opening(db, desk.paths, Config(), EarlyLook(db))
    assert in_line is not None and early is not None
    assert early[1] == in_line[1] and early[1].officers
    in_line[0].close()
    early[0].close()


def test_the_early_look_stops_a_damaged_desk_before_anything_is_shown(desk: Desk) -> None:
    good = bk.take_backup(desk.db_path, desk.paths.backups_dir, now=NOW)
    db = _closed(desk)
    size = db.stat().st_size
    with db.open("r+b") as fh:  # the last pages of the file overwritten, its header intact
        fh.seek(size - 3 * 4096)
        fh.write(bytes((i * 53 + 5) % 256 for i in range(3 * 4096)))
    look = EarlyLook(db)
    facts, problem = look.found()
    assert facts is not None and problem is not None  # read in the thread, found there
    with pytest.raises(soundness.DatabaseDamaged) as err:
        begin_opening(db, desk.paths, Config(), look)
    assert err.value.backup == good
