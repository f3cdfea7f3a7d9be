"""The relay judges a request on its headers before reading its body, reads bodies under a cap
with an idle timeout, and checks a bundle's signature before decompressing anything
(docs/relay-security.md, "Body limits")."""

from __future__ import annotations

import gzip
import io
import time
import tracemalloc
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from sync import keys, protocol
from sync.bundle import BUNDLE_FORMAT, BundleError
from sync.server.body import Limits
from sync.server.bundles import import_bundle
from sync.server.store import DistrictStore
from tests.sync.helpers import COMMUNE, ServerThread
from tests.sync.server.relay_kit import Device, create, enrol, raw_request

SQLITE = pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
SMALL = Limits(max_batch_bytes=64 * 1024, max_bundle_bytes=256 * 1024,
               max_small_bytes=4 * 1024, idle_timeout_s=1.0)


@pytest.fixture
def small_server(sqlite_url: str) -> Iterator[ServerThread]:
    store = DistrictStore.open(sqlite_url, max_batch_bytes=SMALL.max_batch_bytes)
    srv = ServerThread(store, limits=SMALL)
    yield srv
    srv.stop()
    store.engine.dispose()


def _head(path: str, length: int, extra: str = "") -> bytes:
    return (f"POST {protocol.API_PREFIX}{path} HTTP/1.1\r\nHost: relay\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
            ).encode()


def _status(answer: bytes) -> int:
    assert answer, "no answer: the server waited for a body it should have refused"
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("path", ["/batches", "/bundles", "/devices/enroll"])
def test_a_huge_declared_body_is_refused_before_it_is_read(small_server: ServerThread,
                                                           path: str) -> None:
    started = time.monotonic()
    answer = raw_request(small_server.port, _head(path, 600 * 1024 * 1024), wait=5)
    assert _status(answer) == 413 and time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/batches", "/bundles"])
def test_an_unsigned_request_is_refused_on_its_headers(small_server: ServerThread,
                                                       path: str) -> None:
    # Within the size limit but unsigned: answered without waiting for the body.
    answer = raw_request(small_server.port, _head(path, 60 * 1024), wait=5)
    assert _status(answer) == 401
    assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "unauthenticated"


def test_a_chunked_body_is_cut_at_the_limit(small_server: ServerThread) -> None:
    """No Content-Length to judge: the server stops at the limit and answers while the client
    is still sending (it never waits for, or keeps, the rest)."""
    desk = enrol(small_server.store, small_server.url)
    signing = desk.headers("POST", "/batches", b"")
    head = (f"POST {protocol.API_PREFIX}/batches HTTP/1.1\r\nHost: relay\r\n"
            "Transfer-Encoding: chunked\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in signing.items()) + "\r\n").encode()
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
    started = time.monotonic()
    answer = raw_request(small_server.port, head, chunk * 8, wait=5)   # 128 KiB, never ended
    assert _status(answer) == 413 and time.monotonic() - started < 5


def test_a_stalled_body_times_out(small_server: ServerThread) -> None:
    desk = enrol(small_server.store, small_server.url)
    body = b"x" * 1000
    signing = desk.headers("POST", "/batches", body)
    extra = "".join(f"{k}: {v}\r\n" for k, v in signing.items())
    started = time.monotonic()
    answer = raw_request(small_server.port, _head("/batches", len(body), extra), body[:100],
                         wait=10)
    assert _status(answer) == 408 and time.monotonic() - started < 8


def test_an_enrolment_body_is_small(small_server: ServerThread) -> None:
    big = orjson.dumps({"code": "X" * 10_000, "device_id": "d", "public_key": "k"})
    answer = httpx.post(small_server.url + protocol.API_PREFIX + "/devices/enroll", content=big)
    assert answer.status_code == 413


# ---- bundles -------------------------------------------------------------------------------

def _bundle(device: Device, records_gz: bytes, count: int, *, signer: str | None = None
            ) -> bytes:
    manifest = protocol.dumps({
        "format": BUNDLE_FORMAT, "bundle_id": str(uuid.uuid4()), "device_id": device.device_id,
        "commune": COMMUNE, "demo": False, "first_seq": 1, "last_seq": count, "count": count,
        "records_sha256": protocol.sha256_hex(records_gz), "created_at": "2026-01-01T00:00:00Z"})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", manifest)
        zf.writestr("manifest.sig", keys.sign(signer or device.pem, manifest))
        zf.writestr("records.jsonl.gz", records_gz)
    return out.getvalue()


def _zero_bomb(mebibytes: int) -> bytes:
    """``mebibytes`` MiB of zeros as concatenated gzip members (a few hundred bytes each)."""
    return gzip.compress(b"\0" * (1 << 20), compresslevel=9, mtime=0) * mebibytes


def _peak_bytes(work: object) -> int:
    tracemalloc.start()
    try:
        work()   # type: ignore[operator]
    except BundleError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@SQLITE
def test_an_unsigned_bundle_bomb_is_refused_before_it_is_decompressed(
        server: ServerThread) -> None:
    device = enrol(server.store, server.url)
    bomb = _bundle(device, _zero_bomb(256), 1, signer=keys.new_private_key())
    assert len(bomb) < 1024 * 1024
    with pytest.raises(BundleError) as err:
        import_bundle(server.store, bomb)
    assert "signature" in err.value.message
    assert _peak_bytes(lambda: import_bundle(server.store, bomb)) < 32 * 1024 * 1024


@SQLITE
def test_a_signed_bundle_is_still_decompressed_under_a_cap(server: ServerThread) -> None:
    device = enrol(server.store, server.url)
    single = zlib.compressobj(9, zlib.DEFLATED, 31)
    records = single.compress(b"\n" * (16 << 20)) + single.flush()
    with pytest.raises(BundleError) as err:
        import_bundle(server.store, _bundle(device, records, 1), max_records_bytes=1 << 20)
    assert "larger than" in err.value.message
    with pytest.raises(BundleError):   # several gzip members: not what a desk writes
        import_bundle(server.store, _bundle(device, _zero_bomb(4), 1))
    padded = io.BytesIO()   # a manifest that inflates to 4 MiB: read no further than 64 KiB
    with zipfile.ZipFile(padded, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b"{}" + b" " * (4 << 20))
        zf.writestr("manifest.sig", "x")
        zf.writestr("records.jsonl.gz", b"")
    with pytest.raises(BundleError) as err:
        import_bundle(server.store, padded.getvalue())
    assert "manifest.json is larger than" in err.value.message
    ok = _bundle(device, gzip.compress(orjson.dumps(create(1, "BUNDLE-1")) + b"\n"), 1)
    ack = orjson.loads(orjson.loads(import_bundle(server.store, ok))["ack"])
    assert [r["result"] for r in ack["results"]] == ["applied"]


@SQLITE
def test_a_bundle_over_http_needs_a_signed_request(server: ServerThread) -> None:
    device = enrol(server.store, server.url)
    ok = _bundle(device, gzip.compress(orjson.dumps(create(1, "BUNDLE-2")) + b"\n"), 1)
    unsigned = httpx.post(server.url + protocol.API_PREFIX + "/bundles", content=ok)
    assert unsigned.status_code == 401
    signed = device.post("/bundles", ok)
    assert signed.status_code == 200
    assert orjson.loads(signed.json()["ack"])["results"][0]["result"] == "applied"


def test_district_import_reads_a_bounded_amount(tmp_path: Path) -> None:
    from tests.sync.test_cli import run

    started = time.monotonic()
    result = run(tmp_path / "district", "district", "import", "/dev/zero",
                 "--out", str(tmp_path / "ack.json"))
    # Not a regular file: a user error (exit 2) naming the file, read no further.
    assert result.returncode == 2 and "/dev/zero" in result.stderr
    assert time.monotonic() - started < 30
