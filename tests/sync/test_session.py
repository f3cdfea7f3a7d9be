"""Pushes without a hello while the relay's last answer holds (sync/session.py): the first
batch carries what the relay must hold, and anything else sends the desk back to a hello."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from sync import protocol, session
from sync.client import SyncClient
from tests.sync.helpers import Desk, ServerThread, assert_invariants, copy_database
from tests.sync.server.relay_kit import create, enrol
from tests.sync.test_push import engine
from tests.sync.test_push import enrol as enrol_desk


@pytest.fixture
def hellos(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """One entry per ``GET /hello`` the desk made."""
    seen: list[int] = []
    hello = SyncClient.hello

    def counting(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(1)
        return hello(self, *args, **kwargs)

    monkeypatch.setattr(SyncClient, "hello", counting)
    yield seen


def _push_ok(desk: Desk, server: ServerThread) -> None:
    result = engine(desk).push()
    assert result.exit_code == 0 and result.acked == result.records_sent > 0, result
    assert_invariants(desk, server.store)


def test_the_next_push_skips_the_hello(desk: Desk, sqlite_server: ServerThread,
                                       hellos: list[int]) -> None:
    desk.intake(3, events=True)
    enrol_desk(desk, sqlite_server)
    _push_ok(desk, sqlite_server)
    assert len(hellos) == 1 and session.path_for(desk.db_path).is_file()
    desk.intake(2)
    _push_ok(desk, sqlite_server)
    assert len(hellos) == 1
    # A run with nothing to push, or a pull, always says hello.
    assert engine(desk).push().exit_code == 0
    assert engine(desk).pull().exit_code == 0
    assert len(hellos) == 3


def test_a_relay_without_sessions_gets_a_hello_every_run(
        desk: Desk, sqlite_server: ServerThread, hellos: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "SESSION_S", 0)
    desk.intake(2)
    enrol_desk(desk, sqlite_server)
    _push_ok(desk, sqlite_server)
    desk.intake(2)
    _push_ok(desk, sqlite_server)
    assert len(hellos) == 2 and not session.path_for(desk.db_path).exists()


def test_a_new_relay_epoch_sends_the_desk_back_to_hello(
        desk: Desk, sqlite_server: ServerThread, hellos: list[int]) -> None:
    desk.intake(3)
    enrol_desk(desk, sqlite_server)
    _push_ok(desk, sqlite_server)
    sqlite_server.store.set_epoch()       # e.g. the relay restored from a backup
    desk.intake(1)
    result = engine(desk).push()
    assert result.exit_code == 0, result
    # Refused (409 hello_needed), then the hello saw the new epoch: the relay still holds
    # seqs 1-3, so only the new row goes.
    assert len(hellos) == 2 and result.acked == result.records_sent == 1
    from sync import service

    assert service.status(desk.services).epoch == sqlite_server.store.epoch
    assert_invariants(desk, sqlite_server.store)


def test_a_desk_restored_from_an_older_file_says_hello(
        tmp_path: Path, desk: Desk, sqlite_server: ServerThread, hellos: list[int]) -> None:
    """The session file outlives the database restored under it: the restored file has fewer
    acknowledged seqs than the relay holds, so its first batch is refused (409 hello_needed)
    and the hello's restore checks run (codes skipped, seqs never reused)."""
    from ccdesk.paths import Paths
    from ccdesk.services import Services

    desk.intake(2)
    enrol_desk(desk, sqlite_server)
    _push_ok(desk, sqlite_server)
    backup = tmp_path / "desk-backup.sqlite3"
    copy_database(desk.db_path, backup)
    desk.intake(2)
    _push_ok(desk, sqlite_server)
    assert len(hellos) == 1
    path, root = desk.db_path, desk.root
    desk.services.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    backup.replace(path)
    desk.services = Services.open(path, Paths(root / "data", root / "config"))
    desk.intake(1)          # before any sync: it reuses a code the relay holds (docs/sync.md)
    result = engine(desk).push()
    assert len(hellos) == 2 and result.codes_upstream_only == 1, result   # seq 4's code
    assert (result.exit_code, result.quarantined) == (40, 1)   # held for a person, not merged
    (new_code,) = desk.intake(1)
    assert new_code.endswith("-0005")                          # counters moved past the relay's
    assert engine(desk).push().exit_code == 40                 # still the quarantined one
    assert_invariants(desk, sqlite_server.store)


@pytest.mark.parametrize("expect", [
    {"epoch": "other", "through": 0},          # another epoch
    {"epoch": None, "through": 1},             # more than the relay holds
    "garbage",
])
def test_the_relay_refuses_a_batch_whose_expectation_is_wrong(
        sqlite_server: ServerThread, expect: object) -> None:
    store = sqlite_server.store
    device = enrol(store, sqlite_server.url)
    if isinstance(expect, dict) and expect["epoch"] is None:
        expect = dict(expect, epoch=store.epoch)
    body = orjson.dumps({"batch_id": str(uuid.uuid4()), "device_id": device.device_id,
                         "commune": device.commune, "seen_cursor": 0, "first_seq": 1,
                         "last_seq": 1, "records": [create(1, "X.1-0001")], "expect": expect})
    answer = device.post("/batches", body)
    assert answer.status_code == 409 and answer.json()["error"] == "hello_needed"
    assert store.stats()[0]["dossiers"] == 0
    # The right expectation is applied.
    body = orjson.loads(body) | {"expect": {"epoch": store.epoch, "through": 0}}
    answer = device.post("/batches", orjson.dumps(body))
    assert answer.status_code == 200 and answer.json()["results"][0]["result"] == "applied"


@pytest.mark.parametrize("value", [-1, 10 ** 12, "3600", 1.5])
def test_a_session_length_out_of_range_is_refused(value: object) -> None:
    from sync import replies

    good = {"epoch": "e1", "limits": {}, "device": {}, "accept_demo": False}
    assert replies.hello(good | {"session_s": 3600}).session_s == 3600
    with pytest.raises(replies.BadUpstreamValue):
        replies.hello(good | {"session_s": value})
