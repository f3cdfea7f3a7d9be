"""The relay's file endpoints, by hand-built signed requests (docs/sync.md, "Files";
docs/relay-security.md): only referenced files, bounded, resumable, verified, served by URL."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from sync import protocol
from sync.server import files
from tests.sync.files.kit import scan, sha
from tests.sync.helpers import ServerThread
from tests.sync.server.relay_kit import Device, create, enrol, event, results


def with_files(seq: int, code: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    record = create(seq, code)
    record["payload"]["files"] = entries
    return record


def entry(data: bytes, size: int | None = None) -> dict[str, Any]:
    return {"item": 0, "sha256": sha(data), "size": len(data) if size is None else size,
            "mime": "image/jpeg"}


def status(device: Device, h: str) -> httpx.Response:
    return device.get(f"/files/{h}")


def patch(device: Device, h: str, offset: int, body: bytes) -> httpx.Response:
    path = f"/files/{h}?offset={offset}"
    return httpx.patch(device.url + protocol.API_PREFIX + path, content=body,
                       headers=device.headers("PATCH", path, body), timeout=30)


def pushed(relay: ServerThread, entries: list[dict[str, Any]], code: str = "X-1"
           ) -> Device:
    device = enrol(relay.store, relay.url)
    assert results(device.batch([with_files(1, code, entries)]))[0]["result"] == "applied"
    return device


def test_chunks_resume_repeat_and_complete(relay: ServerThread) -> None:
    data = scan(300_000, 7)
    h = sha(data)
    device = pushed(relay, [entry(data)])
    assert status(device, h).json() | {"service": None} == {
        "service": None, "sha256": h, "size": len(data), "received": 0, "complete": False}
    assert patch(device, h, 0, data[:100_000]).json()["received"] == 100_000
    # A chunk re-sent after a lost answer changes nothing; one from the future is refused.
    assert patch(device, h, 0, data[:100_000]).json()["received"] == 100_000
    ahead = patch(device, h, 150_000, data[150_000:200_000])
    assert (ahead.status_code, ahead.json()["error"], ahead.json()["received"]) == (
        409, "offset_mismatch", 100_000)
    # An overlapping chunk appends only what is new.
    assert patch(device, h, 50_000, data[50_000:200_000]).json()["received"] == 200_000
    done = patch(device, h, 200_000, data[200_000:]).json()
    assert (done["received"], done["complete"]) == (len(data), True)
    stored = relay.store.files.path_of(h)
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert not any((relay.store.files_dir / ".partial").iterdir())


def test_a_file_that_does_not_hash_to_its_name_is_refused_and_restarts(
        relay: ServerThread) -> None:
    data = scan(120_000, 8)
    h = sha(data)
    device = pushed(relay, [entry(data)])
    damaged = data[:-1] + bytes([data[-1] ^ 1])
    assert patch(device, h, 0, damaged[:60_000]).status_code == 200
    last = patch(device, h, 60_000, damaged[60_000:])
    assert (last.status_code, last.json()["error"]) == (422, "hash_mismatch")
    assert status(device, h).json()["received"] == 0       # back to the start, clean
    assert not relay.store.files.path_of(h).exists()
    assert patch(device, h, 0, data).json()["complete"] is True


def test_only_a_file_a_pushed_dossier_of_the_commune_lists(relay: ServerThread) -> None:
    data = scan(50_000, 9)
    h = sha(data)
    stranger = enrol(relay.store, relay.url)
    refused = patch(stranger, h, 0, data)
    assert (refused.status_code, refused.json()["error"]) == (404, "not_referenced")
    pushed(relay, [entry(data)])
    # Another commune's desk may not send (or probe) this commune's file.
    other = enrol(relay.store, relay.url, commune="26735")
    for answer in (status(other, h), patch(other, h, 0, data)):
        assert (answer.status_code, answer.json()["error"]) == (404, "not_referenced")
    # A record's file list entry that is not a file reference is no reference.
    device = pushed(relay, [{"sha256": "../../etc/passwd", "size": 1, "mime": "image/jpeg"},
                            {"sha256": sha(b"x"), "size": -1, "mime": "image/jpeg"},
                            {"sha256": sha(b"y"), "size": 1, "mime": "text/html"}], "X-2")
    for h2 in (sha(b"x"), sha(b"y")):
        assert status(device, h2).json()["error"] == "not_referenced"
    assert status(device, "a" * 63 + "G").status_code == 400   # not a name: never reaches SQL


def test_oversize_files_and_chunks_are_refused(relay: ServerThread) -> None:
    data = scan(1000, 10)
    h = sha(data)
    device = pushed(relay, [entry(data, size=files.MAX_FILE_BYTES + 1)])
    big = status(device, h)
    assert (big.status_code, big.json()["error"]) == (413, "file_too_large")
    assert patch(device, h, 0, data).status_code == 413
    small = scan(2000, 11)
    device = pushed(relay, [entry(small)], "X-2")
    # A chunk beyond the body limit is refused on its declared length, before it is read.
    chunk = patch(device, sha(small), 0, b"\0" * (256 * 1024 + 1))
    assert (chunk.status_code, chunk.json()["error"]) == (413, "too_large")
    past = patch(device, sha(small), 0, small + b"more")
    assert (past.status_code, past.json()["error"]) == (400, "beyond_size")


def test_unsigned_or_replayed_chunks_are_refused(relay: ServerThread) -> None:
    data = scan(5000, 12)
    h = sha(data)
    device = pushed(relay, [entry(data)])
    path = f"/files/{h}?offset=0"
    url = device.url + protocol.API_PREFIX + path
    assert httpx.patch(url, content=data, timeout=30).status_code == 401
    signed = device.headers("PATCH", path, data)
    assert httpx.patch(url, content=data[:10] + b"!" + data[11:], headers=signed,
                       timeout=30).json()["error"] == "bad_signature"


def test_the_served_url_needs_its_signature_and_expires(relay: ServerThread) -> None:
    data = scan(40_000, 13)
    h = sha(data)
    device = pushed(relay, [entry(data)])
    assert patch(device, h, 0, data).json()["complete"]
    with relay.store.engine.connect() as conn:
        (link,) = files.links(conn, ["X-1"])["X-1"]
    assert link["sha256"] == h and link["mime"] == "image/jpeg"
    got = httpx.get(relay.url + link["path"], timeout=30)
    assert (got.status_code, got.content) == (200, data)
    assert got.headers["content-type"] == "image/jpeg"
    forged = link["path"].replace("sig=", "sig=0")[:len(link["path"])]
    assert httpx.get(relay.url + forged, timeout=30).status_code == 404
    secret = relay.store.files.secret()
    old = files.signed_path(secret, h, datetime.now() - timedelta(days=files.FILE_URL_DAYS + 1))
    assert httpx.get(relay.url + old, timeout=30).status_code == 404


def test_a_completed_file_sends_its_dossier_snapshot_again(relay: ServerThread) -> None:
    data = scan(10_000, 14)
    h = sha(data)
    device = pushed(relay, [entry(data)])
    with relay.store.engine.begin() as conn:
        conn.execute(text("INSERT INTO upstream_dossier (code, commune_code, demo, "
                          "known_upstream, snapshot_state, sent_hash, attempts) VALUES "
                          "('X-1', '26734', false, true, 'sent', 'old', 0)"))
    assert patch(device, h, 0, data).json()["complete"]
    with relay.store.engine.connect() as conn:
        state = conn.execute(text("SELECT snapshot_state FROM upstream_dossier")).scalar()
    assert state == "pending"


def test_bytes_written_but_never_committed_are_cut_back(relay: ServerThread) -> None:
    """A crash between a chunk's write and its commit leaves bytes past the count: the next
    chunk at the committed count cuts them off, so the file still verifies."""
    data = scan(90_000, 15)
    h = sha(data)
    device = pushed(relay, [entry(data)])
    assert patch(device, h, 0, data[:30_000]).json()["received"] == 30_000
    partial = relay.store.files_dir / ".partial" / h
    with partial.open("ab") as file:            # what a crashed write would leave
        file.write(b"\0" * 20_000)
    assert patch(device, h, 30_000, data[30_000:]).json()["complete"] is True
    assert relay.store.files.path_of(h).read_bytes() == data


def test_a_paper_attached_later_is_referenced_by_its_event(relay: ServerThread) -> None:
    data = scan(20_000, 16)
    h = sha(data)
    device = pushed(relay, [])
    later = event(2, "X-1", "received", "in_progress")
    later["payload"]["event"]["data"] = {"files": [entry(data)]}
    assert results(device.batch([later]))[0]["result"] == "applied"
    assert patch(device, h, 0, data).json()["complete"] is True


def test_files_begun_and_left_unfinished_are_bounded_per_desk(relay: ServerThread) -> None:
    scans = [scan(3000, 100 + n) for n in range(files.MAX_PARTIAL_PER_DEVICE + 1)]
    device = pushed(relay, [entry(s) for s in scans])
    for data in scans[:-1]:
        assert patch(device, sha(data), 0, data[:1000]).json()["received"] == 1000
    refused = patch(device, sha(scans[-1]), 0, scans[-1][:1000])
    assert (refused.status_code, refused.json()["error"]) == (409, "too_many_partial")
    # Finishing one makes room.
    assert patch(device, sha(scans[0]), 1000, scans[0][1000:]).json()["complete"]
    assert patch(device, sha(scans[-1]), 0, scans[-1]).json()["complete"]
