"""How the relay stores a batch (sync/server/store.py): payloads and snapshots as the canonical
JSON text, new SQLite files with 16 KiB pages, a record's file references found however its
``files`` key was written (the batch is not looked into when its text names no files), and
the garbage collector's pause around a batch (sync/server/body.py) kept bounded."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from sync import protocol
from sync.server.body import _GcPause
from sync.server.store import SQLITE_PAGE_SIZE, DistrictStore
from tests.sync.files.kit import scan, sha
from tests.sync.helpers import ServerThread
from tests.sync.server.relay_kit import NAME, create, enrol, event, results


@pytest.fixture
def relay_at(tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    path = tmp_path / "district.sqlite3"
    store = DistrictStore.open(f"sqlite:///{path}", files_dir=tmp_path / "relay-files")
    srv = ServerThread(store)
    yield srv, path
    srv.stop()
    store.engine.dispose()


def stored(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as con:
        return con.execute(sql).fetchall()


def test_payloads_and_snapshots_are_stored_as_their_canonical_text(
        relay_at: tuple[ServerThread, Path]) -> None:
    relay, path = relay_at
    device = enrol(relay.store, relay.url)
    records = [create(1, "X-1"), event(2, "X-1", "received", "in_progress")]
    assert [r["result"] for r in results(device.batch(records))] == ["applied", "applied"]
    rows = stored(path, "SELECT typeof(payload), payload FROM district_mutation "
                        "ORDER BY device_seq")
    assert rows == [("text", protocol.dumps(r["payload"]).decode()) for r in records]
    assert NAME in str(rows[0][1])                     # Vietnamese text, not bytes or escapes
    assert stored(path, "SELECT typeof(snapshot), snapshot FROM district_dossier") == [
        ("text", protocol.dumps(records[0]["payload"]).decode())]
    assert stored(path, "PRAGMA page_size") == [(SQLITE_PAGE_SIZE,)]


def test_an_existing_database_keeps_its_pages(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA page_size = 4096")
        con.execute("CREATE TABLE kept (a)")
    store = DistrictStore.open(f"sqlite:///{path}")
    relay = ServerThread(store)
    try:
        device = enrol(store, relay.url)
        assert results(device.batch([create(1, "X-1")]))[0]["result"] == "applied"
    finally:
        relay.stop()
        store.engine.dispose()
    assert stored(path, "PRAGMA page_size") == [(4096,)]
    assert stored(path, "SELECT typeof(payload) FROM district_mutation") == [("text",)]


def test_a_files_key_written_with_an_escape_still_references_the_file(
        relay_at: tuple[ServerThread, Path]) -> None:
    relay, _path = relay_at
    device = enrol(relay.store, relay.url)
    data = scan(5000, 3)
    record = create(1, "X-1")
    record["payload"]["files"] = [{"item": 0, "sha256": sha(data), "size": len(data),
                                   "mime": "image/jpeg"}]
    body = orjson.dumps({"batch_id": "b-escaped", "device_id": device.device_id,
                         "commune": device.commune, "demo": False, "seen_cursor": 0,
                         "first_seq": 1, "last_seq": 1, "records": [record]})
    escaped = body.replace(b'"files"', b'"\\u0066iles"')
    assert escaped != body
    assert results(device.post("/batches", escaped))[0]["result"] == "applied"
    path = f"/files/{sha(data)}?offset=0"
    answer = httpx.patch(device.url + protocol.API_PREFIX + path, content=data,
                         headers=device.headers("PATCH", path, data), timeout=30)
    assert answer.status_code == 200 and answer.json()["complete"] is True


def test_a_batch_without_files_references_none(relay_at: tuple[ServerThread, Path]) -> None:
    relay, path = relay_at
    device = enrol(relay.store, relay.url)
    assert results(device.batch([create(1, "X-1")]))[0]["result"] == "applied"
    assert stored(path, "SELECT COUNT(*) FROM district_file_ref") == [(0,)]
    data = scan(3000, 4)
    path_qs = f"/files/{sha(data)}?offset=0"
    refused = httpx.patch(device.url + protocol.API_PREFIX + path_qs, content=data,
                          headers=device.headers("PATCH", path_qs, data), timeout=30)
    assert refused.status_code >= 400


def test_the_collector_pause_ends_with_the_last_batch_or_after_its_bound() -> None:
    assert gc.isenabled()
    pause = _GcPause()
    with pause:
        with pause:                    # a second batch meanwhile shares the pause
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    # Batches that always overlap: the collector comes back once the pause outlived its bound.
    pause.MAX_PAUSE_S = 0.0
    pause.__enter__()
    pause.__enter__()
    pause.__exit__()
    assert gc.isenabled()
    pause.__exit__()
    assert gc.isenabled()
    # A collector someone else turned off stays off.
    gc.disable()
    try:
        with pause:
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
