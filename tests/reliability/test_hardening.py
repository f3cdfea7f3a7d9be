"""Issue 12 on the desk: folders and files ccdesk did not create keep their modes, a truncated
or foreign database is never made a new desk, and private files are written 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime
from pathlib import Path

import pytest

from ccdesk.domain.errors import StorageError, ValidationError
from ccdesk.paths import ensure_private_dir
from ccdesk.services import Services
from ccdesk.storage import backup as bk
from ccdesk.storage import soundness
from ccdesk.storage.files import read_bounded, write_private_file
from tests.reliability.conftest import Desk, make_paths, run_ccdesk


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- 12.1: an existing folder is never chmodded ----------------------------------------------

def test_an_existing_shared_folder_keeps_its_mode_when_a_database_is_put_in_it(
        tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    paths = make_paths(tmp_path / "home")
    Services.open(shared / "desk.sqlite3", paths).close()
    assert _mode(shared) == 0o755
    assert _mode(shared / "desk.sqlite3") == 0o600


def test_only_the_folders_ccdesk_creates_get_0700(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    old = os.umask(0)
    try:
        ensure_private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert (_mode(tmp_path), _mode(tmp_path / "a"), _mode(tmp_path / "a" / "b")) == \
        (0o755, 0o700, 0o700)


def test_a_device_or_fifo_given_as_database_is_refused_and_its_folder_untouched(
        tmp_path: Path) -> None:
    """``--db /dev/full`` as root made /dev 0700; the same with a FIFO in a private folder."""
    folder = tmp_path / "dev"
    folder.mkdir()
    folder.chmod(0o755)
    fifo = folder / "full"
    os.mkfifo(fifo, 0o666)
    fifo.chmod(0o666)
    result = run_ccdesk(["--lang", "en", "--db", str(fifo), "officer", "list"], tmp_path / "h",
                        timeout=30)
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr and str(fifo) in result.stderr
    assert "Traceback" not in result.stderr
    assert _mode(folder) == 0o755 and _mode(fifo) == 0o666
    assert stat.S_ISFIFO(fifo.stat().st_mode)


# ---- 12.8: a truncated database is damaged, not a new desk ------------------------------------

def _device_id(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT device_id FROM office WHERE id = 1").fetchone()[0]
    finally:
        con.close()


def test_a_database_truncated_to_zero_bytes_is_damaged_and_names_the_newest_backup(
        desk: Desk) -> None:
    device = _device_id(desk.db_path)
    good = bk.take_backup(desk.db_path, desk.paths.backups_dir, now=datetime(2026, 11, 22, 7))
    desk.services.close()
    for extra in ("-wal", "-shm"):
        desk.db_path.with_name(desk.db_path.name + extra).unlink(missing_ok=True)
    desk.db_path.write_bytes(b"")
    result = run_ccdesk(["--lang", "en", "officer", "list"], desk.paths.data_dir.parent)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "damaged or unreadable" in result.stderr and str(good) in result.stderr
    assert "Traceback" not in result.stderr
    assert desk.db_path.stat().st_size == 0  # nothing was written into it
    # The desk app's path says the same, and the backup still holds the old identity.
    app = run_ccdesk(["--lang", "en"], desk.paths.data_dir.parent)
    assert app.returncode == 2 and str(good) in app.stderr
    assert _device_id(good) == device


def test_a_foreign_header_is_damaged_and_a_foreign_sqlite_database_is_refused(
        tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(StorageError) as err:
        Services.open(other, paths)
    assert err.value.key == "reliability.security.not_ccdesk_db"
    assert other.read_bytes() == before
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"PK\x03\x04 a zip, not a database" * 50)
    with pytest.raises(soundness.DatabaseDamaged):
        Services.open(junk, paths)


# ---- 12.10: private files ---------------------------------------------------------------------

def test_write_private_file_creates_0600_under_an_open_umask_and_keeps_a_users_mode(
        tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        new = write_private_file(tmp_path / "new.pdf", b"x")
    finally:
        os.umask(old)
    assert _mode(new) == 0o600
    mine = tmp_path / "mine.pdf"
    mine.write_bytes(b"old")
    mine.chmod(0o640)
    write_private_file(mine, b"new")
    assert mine.read_bytes() == b"new" and _mode(mine) == 0o640
    assert not list(tmp_path.glob("*.part"))


def test_write_private_file_never_replaces_a_device_or_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValidationError) as err:
        write_private_file(fifo, b"x")
    assert err.value.key == "reliability.security.not_a_file"
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing", "large", "zero"])
def test_read_bounded_refuses_what_is_not_a_small_regular_file(tmp_path: Path,
                                                                kind: str) -> None:
    target = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "large":
        target.write_bytes(b"a" * 2049)
    elif kind == "zero":
        target = Path("/dev/zero")  # read only: never written, never chmodded
    with pytest.raises(ValidationError) as err:
        read_bounded(target, 2048)
    assert str(target) in err.value.message()
    expected = {"fifo": "not_a_file", "folder": "not_a_file", "missing": "no_such_file",
                "large": "too_large", "zero": "not_a_file"}[kind]
    assert err.value.key == f"reliability.security.{expected}"


# ---- 12.13: --training never reaches the real database ------------------------------------

def test_training_with_a_sub_command_is_refused_and_writes_nothing(desk: Desk, cli) -> None:
    from tests.reliability.conftest import table_counts

    desk.services.close()
    before = table_counts(desk.db_path)
    result = cli(["--training", "demo", "seed", "--dossiers", "3", "--force"])
    assert result.exit_code == 2 and "--training" in result.stderr
    assert table_counts(desk.db_path) == before


def test_demo_seed_force_over_real_data_needs_an_it_officer(desk: Desk, cli) -> None:
    from tests.reliability.conftest import PINS, intake, table_counts

    intake(desk, desk.actor("off1"))
    desk.services.close()
    before = table_counts(desk.db_path)
    unattended = cli(["demo", "seed", "--dossiers", "2", "--force"])
    assert unattended.exit_code == 2 and "--as" in unattended.stderr
    lead = cli(["demo", "seed", "--dossiers", "2", "--force", "--as", "lead1"],
               env={"CCDESK_PIN": PINS["lead1"]})
    assert lead.exit_code == 2 and "Refused" in lead.stderr
    after = table_counts(desk.db_path)
    assert after["dossier"] == before["dossier"]
    it = cli(["demo", "seed", "--dossiers", "2", "--force", "--as", "it1"],
             env={"CCDESK_PIN": PINS["it1"]})
    assert it.exit_code == 0, it.stderr
    assert table_counts(desk.db_path)["dossier"] == before["dossier"] + 2


# ---- 12.9: codes stay the commune's ------------------------------------------------------------

@pytest.mark.parametrize("code", ["../../etc/passwd", "a/../../etc", "<script>", "x" * 65, "",
                                  "000.17.22.H56-261123-0001\n"])
def test_strings_that_are_not_dossier_codes_are_refused(code: str) -> None:
    from ccdesk.domain.codes import is_valid_code

    assert not is_valid_code(code)
    assert is_valid_code("000.17.22.H56-261123-0001")


@pytest.mark.parametrize("pattern", ["{yymmdd}-{seq:04}", "../{agency}-{seq}",
                                     "{agency}<b>{seq}", "{agency}-{seq"])
def test_a_pattern_without_the_agency_or_with_unsafe_text_is_refused(pattern: str) -> None:
    from ccdesk.domain.codes import check_pattern

    with pytest.raises(ValidationError):
        check_pattern(pattern)


def test_an_enrolled_desk_cannot_switch_to_another_communes_agency(desk: Desk) -> None:
    from ccdesk.domain.errors import InvalidInput
    from ccdesk.services.office import OfficeSettings

    it = desk.actor("it1")
    office = desk.services.office.get()
    settings = OfficeSettings(office.governing_body, office.unit_name, "000.17.22.H99",
                              office.place_name)
    con = sqlite3.connect(desk.db_path)  # what `sync enroll` records for the commune
    con.execute("UPDATE office SET commune_code = '26734'")
    con.commit()
    con.close()
    with pytest.raises((ValidationError, InvalidInput)) as info:
        desk.services.office.update(it, settings)
    assert "26734" in info.value.message("en")
    assert desk.services.office.get().agency_code == "000.17.22.H56"
    # The same agency with other headers is fine, and the commune cannot be dropped.
    desk.services.office.update(it, OfficeSettings("UBND XÃ AN PHÚ MỚI", office.unit_name,
                                                   "000.17.22.H56", office.place_name))
    assert desk.services.office.get().commune_code == "26734"
