"""The batch compression dictionary (sync/dictionaries, docs/sync.md "Compression
dictionaries"): negotiated at /hello, named in the signed batch query, checked against the zstd
frame before anything is decompressed, and a fallback to plain zstd when either side lacks it."""

from __future__ import annotations

import types
import uuid
from collections.abc import Iterator

import orjson
import pytest
import zstandard

from sync import dictionaries, keys, protocol
from sync.client import SyncClient
from sync.server.body import Limits
from sync.server.store import DistrictStore
from tests.sync.helpers import Desk, ServerThread, assert_invariants
from tests.sync.server.relay_kit import create, enrol
from tests.sync.test_push import engine
from tests.sync.test_push import enrol as enrol_desk

NAME = "dossier-v1"
NEWEST = "dossier-v2"       # what two up-to-date sides agree on (compact records)


def _body(device, records: list) -> bytes:  # noqa: ANN001
    return orjson.dumps({"batch_id": str(uuid.uuid4()), "device_id": device.device_id,
                         "commune": device.commune, "demo": False, "seen_cursor": 0,
                         "first_seq": 0, "last_seq": 0, "records": records})


def _post(device, body: bytes, query: str = "", wire: bytes | None = None):  # noqa: ANN001, ANN202
    path = "/batches" + query
    wire = protocol.compress(body, "zstd", NAME) if wire is None else wire
    return device.post(path, wire, encoding="zstd")


def test_the_shipped_dictionary_loads_with_its_id() -> None:
    assert NAME in dictionaries.available()
    assert dictionaries.load(NAME).dict_id() == dictionaries.KNOWN[NAME]
    with pytest.raises(KeyError):
        dictionaries.load("nope-v9")


def test_records_round_trip_through_the_dictionary() -> None:
    raw = protocol.batch_json("b", "d", "26734", False, 0, 1, 1, [
        protocol.record_json(1, str(uuid.uuid4()), protocol.OP_CREATE, "X-1",
                             "2026-12-01 08:00:00.000000",
                             '{"dossier":{"applicant_name":"Lê Thị Hoà","code":"X-1"}}')])
    wire = protocol.compress(raw, "zstd", NAME)
    assert zstandard.get_frame_parameters(wire).dict_id == dictionaries.KNOWN[NAME]
    assert protocol.decompress(wire, "zstd", 1 << 20, NAME) == raw
    # Without the dictionary the frame cannot be read: never decoded into something else.
    with pytest.raises(zstandard.ZstdError):
        protocol.decompress(wire, "zstd", 1 << 20)


def test_the_relay_names_a_dictionary_only_when_the_desk_has_it(
        sqlite_server: ServerThread) -> None:
    device = enrol(sqlite_server.store, sqlite_server.url)
    assert device.get(f"/hello?dicts={NAME}").json()["dictionary"] == NAME
    assert device.get(f"/hello?dicts=other-v3,{NAME}").json()["dictionary"] == NAME
    assert "dictionary" not in device.get("/hello").json()            # an older desk
    assert "dictionary" not in device.get("/hello?dicts=other-v3").json()
    assert "dictionary" not in device.get("/hello?dicts=BAD%20NAME").json()


def test_a_batch_with_the_dictionary_is_applied(sqlite_server: ServerThread) -> None:
    device = enrol(sqlite_server.store, sqlite_server.url)
    answer = _post(device, _body(device, [create(1, "X.1-0001")]), f"?dict={NAME}")
    assert answer.status_code == 200, answer.text
    assert [r["result"] for r in answer.json()["results"]] == ["applied"]
    assert sqlite_server.store.stats()[0]["dossiers"] == 1


@pytest.mark.parametrize(("query", "compressed_with", "error"), [
    ("?dict=nope-v9", NAME, "unknown_dictionary"),      # a name this relay lacks
    ("", NAME, "dictionary_mismatch"),                  # the frame names one, the query none
    (f"?dict={NAME}", None, "dictionary_mismatch"),     # the query names one, the frame none
])
def test_a_batch_whose_dictionary_does_not_match_is_refused(
        sqlite_server: ServerThread, query: str, compressed_with: str | None,
        error: str) -> None:
    device = enrol(sqlite_server.store, sqlite_server.url)
    body = _body(device, [create(1, "X.1-0001")])
    answer = _post(device, body, query, protocol.compress(body, "zstd", compressed_with))
    assert answer.status_code == 400 and answer.json()["error"] == error
    assert sqlite_server.store.stats()[0]["dossiers"] == 0


def test_a_tampered_dictionary_name_breaks_the_signature(sqlite_server: ServerThread) -> None:
    """The name is part of the signed path: changing it on the way is a bad signature."""
    import httpx

    device = enrol(sqlite_server.store, sqlite_server.url)
    body = _body(device, [create(1, "X.1-0001")])
    wire = protocol.compress(body, "zstd", NAME)
    signed = device.headers("POST", f"/batches?dict={NAME}", wire)
    answer = httpx.post(f"{device.url}{protocol.API_PREFIX}/batches?dict=other-v1",
                        content=wire, headers={"Content-Encoding": "zstd", **signed})
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"


def test_a_dictionary_bomb_stops_at_the_cap(sqlite_url: str) -> None:
    store = DistrictStore.open(sqlite_url)
    srv = ServerThread(store, limits=Limits(max_decompressed_bytes=4 * 1024 * 1024))
    try:
        device = enrol(store, srv.url)
        bomb = protocol.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", "zstd", NAME)
        assert len(bomb) < 64 * 1024
        answer = _post(device, b"", f"?dict={NAME}", bomb)
        assert answer.status_code == 413 and answer.json()["error"] == "too_large"
        # Unsigned (a stranger's key): refused on the signature, before any decompression.
        stranger = type(device)(device.url, device.device_id, keys.new_private_key())
        answer = _post(stranger, b"", f"?dict={NAME}", bomb)
        assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
    finally:
        srv.stop()
        store.engine.dispose()


# ---- desk and relay together --------------------------------------------------------------
@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The dictionary each batch named."""
    seen: list[str | None] = []
    post = SyncClient.post_batch

    def recording(self, batch_id, wire, encoding, dictionary=None,  # noqa: ANN001, ANN202
                  compact=False):  # noqa: ANN001
        seen.append(dictionary)
        return post(self, batch_id, wire, encoding, dictionary, compact)

    monkeypatch.setattr(SyncClient, "post_batch", recording)
    yield seen


def _push(desk: Desk, server: ServerThread) -> None:
    desk.intake(6, events=True)
    enrol_desk(desk, server)
    result = engine(desk).push()
    assert result.exit_code == 0 and result.acked == result.records_sent > 0, result
    assert_invariants(desk, server.store)


def test_both_sides_have_it(desk: Desk, sqlite_server: ServerThread,
                            sent: list[str | None]) -> None:
    _push(desk, sqlite_server)
    assert sent and set(sent) == {NEWEST}


def test_a_desk_with_only_the_old_one_keeps_it(desk: Desk, sqlite_server: ServerThread,
                                               sent: list[str | None],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A desk not yet upgraded offers dossier-v1 only: the relay still has it."""
    import sync.handshake

    monkeypatch.setattr(sync.handshake, "dictionaries",
                        types.SimpleNamespace(available=lambda: (NAME,)))
    _push(desk, sqlite_server)
    assert sent and set(sent) == {NAME}


def test_a_desk_without_it_keeps_plain_zstd(desk: Desk, sqlite_server: ServerThread,
                                            sent: list[str | None],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.handshake

    monkeypatch.setattr(sync.handshake, "dictionaries",
                        types.SimpleNamespace(available=lambda: ()))
    _push(desk, sqlite_server)
    assert sent and set(sent) == {None}


def test_a_relay_without_it_gets_plain_zstd(desk: Desk, sqlite_server: ServerThread,
                                            sent: list[str | None],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.server.routes

    monkeypatch.setattr(sync.server.routes, "dictionaries",
                        types.SimpleNamespace(choose=lambda _offered: None,
                                              NAME=dictionaries.NAME))
    _push(desk, sqlite_server)
    assert sent and set(sent) == {None}


def test_a_dictionary_the_desk_did_not_offer_is_ignored(
        desk: Desk, sqlite_server: ServerThread, sent: list[str | None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.server.routes

    monkeypatch.setattr(sync.server.routes, "dictionaries",
                        types.SimpleNamespace(choose=lambda _offered: "future-v7",
                                              NAME=dictionaries.NAME))
    _push(desk, sqlite_server)
    assert sent and set(sent) == {None}
