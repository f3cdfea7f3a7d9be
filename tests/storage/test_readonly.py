"""The read-only connections the desk's reads before (or without) the ORM share."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from ccdesk.storage.outbox.status import read_status_file
from ccdesk.storage.readonly import read_only
from tests.conftest import DatabaseTemplates, copy_database


@pytest.mark.parametrize("folder", ["plain", "số #1", "a?b", "100% đúng"])
def test_any_folder_name_is_read_and_nothing_is_written(tmp_path: Path, folder: str) -> None:
    db = tmp_path / folder / "desk.sqlite3"
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (42)")
    with closing(read_only(db)) as con:
        assert con.execute("SELECT x FROM t").fetchone() == (42,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            con.execute("INSERT INTO t VALUES (1)")
    assert sorted(p.name for p in db.parent.iterdir()) == ["desk.sqlite3"]


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "nothing.sqlite3"
    with pytest.raises(sqlite3.OperationalError):
        read_only(db)
    assert not db.exists()


def test_the_sync_status_reads_a_desk_in_a_folder_with_a_hash_in_its_name(
        tmp_path: Path, db_templates: DatabaseTemplates) -> None:
    """``ccdesk sync status`` opened ``file:{path}``: a ``#`` there cut the name short, and the
    status of a real desk read as "not migrated yet" (``None``)."""
    db = copy_database(db_templates.desk, tmp_path / "xã #2" / "desk.sqlite3")
    status = read_status_file(db)
    assert status is not None and status.pending == 0
