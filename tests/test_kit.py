"""The shared test kit (tests/conftest.py) does what the other tests rely on."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import psycopg
import pytest

from ccdesk.paths import Paths
from ccdesk.services import SYSTEM
from tests.conftest import FakeClock, open_copy
from tests.sync.helpers import _listening, pg_url


def test_each_test_gets_its_own_owner_only_copy_of_a_template(db_templates, tmp_path: Path
                                                              ) -> None:  # noqa: ANN001
    first = Paths(data_dir=tmp_path / "a" / "data", config_dir=tmp_path / "a" / "config")
    second = Paths(data_dir=tmp_path / "b" / "data", config_dir=tmp_path / "b" / "config")
    one = open_copy(db_templates.desk, first, FakeClock())
    two = open_copy(db_templates.desk, second, FakeClock())
    try:
        one.officers.add(SYSTEM, "mai", "Lê Thị Mai", "officer", "2468")
        assert {o.username for o in two.officers.list()} == {"lan", "hung"}
        assert {o.username for o in one.officers.list()} == {"lan", "hung", "mai"}
        assert stat.S_IMODE(first.default_db.stat().st_mode) == 0o600
    finally:
        one.close()
        two.close()


def test_postgresql_is_skipped_only_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]   # closed below: nothing listens there
    monkeypatch.setenv("CCDESK_TEST_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:{free_port}/test")
    assert pg_url() is None


@pytest.mark.pg
def test_a_postgresql_server_error_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    if not _listening("127.0.0.1", 5432):
        pytest.skip("PostgreSQL not listening at 127.0.0.1:5432")
    monkeypatch.setenv("CCDESK_TEST_PG_URL",
                       "postgresql+psycopg://postgres@127.0.0.1:5432/ccdesk_no_such_database")
    with pytest.raises(psycopg.OperationalError, match="ccdesk_no_such_database"):
        pg_url()
