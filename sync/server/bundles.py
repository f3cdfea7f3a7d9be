"""The district's side of USB bundles (the desk's side is :mod:`sync.bundle`, docs/sync.md).

A bundle is checked in the order that costs an attacker the most and the relay the least: each
zip member is read with a cap whatever its header claims, the manifest's signature is checked
against the enrolled device's key *before* anything is decompressed, the records' sha256 is
checked against the signed manifest, and only then are the records decompressed, with a cap
(an unsigned 1 MB bundle used to be inflated to 1 GiB first; docs/relay-security.md).

The district imports in chunks, each one an idempotent batch (``<bundle id>:<n>``), so a bundle
imported twice, or killed half-way and imported again, puts every record on the server once.
The scans a bundle carries (``files/<sha256>``, listed with their sizes in the signed manifest)
are each read with that size as their cap and checked against their name before anything is
imported; they are kept after the records (which reference them, metadata first) and the ack
names those the district now has whole (docs/sync.md, "Files").
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from sync import keys, protocol
from sync.bundle import ACK_FORMAT, BUNDLE_FORMAT, CHUNK, BundleError
from sync.server.store import Device, DistrictError, DistrictStore

CRASH_ENV = "CCDESK_DISTRICT_CRASH_AFTER_CHUNK"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 256
MAX_BUNDLE_FILE_BYTES = 64 * 1024 * 1024          # what `district import` reads from a file
MAX_RECORDS_BYTES = 512 * 1024 * 1024             # the records once decompressed
MAX_ACK_CHANGES = 2000                            # changes an ack file carries home


def _member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One member's bytes, never more than ``limit`` (a zip header may lie about its size)."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise BundleError("bad_bundle", f"{name} is larger than {limit} bytes")
    with zf.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise BundleError("bad_bundle", f"{name} is larger than {limit} bytes")
    return data


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise BundleError("bad_bundle", f"records are larger than {limit} bytes uncompressed")
    if not inflater.eof:
        raise BundleError("bad_bundle", "records are truncated")
    if inflater.unused_data:   # the desk writes one gzip member (sync/bundle.py)
        raise BundleError("bad_bundle", "unexpected data after the records")
    return out


def read_bundle(data: bytes, device_of: Callable[[str], Device],
                max_records_bytes: int = MAX_RECORDS_BYTES
                ) -> tuple[dict[str, Any], Device, list[Any]]:
    """The manifest, the signing device and the records of an authentic bundle, or a
    :class:`BundleError` (nothing is decompressed for a bundle whose signature fails)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest_raw = _member(zf, "manifest.json", MAX_MANIFEST_BYTES)
            signature = _member(zf, "manifest.sig", MAX_SIGNATURE_BYTES).decode()
            manifest = orjson.loads(manifest_raw)
            if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
                raise BundleError("bad_bundle", "unknown format")
            device = _signer(manifest, manifest_raw, signature, device_of)
            records_gz = _member(zf, "records.jsonl.gz", len(data))
        if protocol.sha256_hex(records_gz) != manifest.get("records_sha256"):
            raise BundleError("bad_bundle", "records do not match the manifest")
        lines = _gunzip(records_gz, max_records_bytes).splitlines()
        records = [orjson.loads(line) for line in lines if line.strip()]
    except BundleError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, zlib.error, struct.error) as exc:
        # zipfile reports damaged headers in many ways (unsupported method, "encrypted"…).
        raise BundleError("bad_bundle", "not a readable ccdesk bundle") from exc
    if len(records) != manifest.get("count"):
        raise BundleError("bad_bundle", "record count does not match the manifest")
    return manifest, device, records


def _signer(manifest: dict[str, Any], manifest_raw: bytes, signature: str,
            device_of: Callable[[str], Device]) -> Device:
    try:
        device = device_of(str(manifest.get("device_id"))[:80])
    except DistrictError as exc:
        raise BundleError("bad_bundle", "unknown device") from exc
    if not keys.verify(device.public_key, manifest_raw, signature):
        raise BundleError("bad_bundle", "signature does not match the device")
    if device.status != "active":
        raise BundleError("revoked", "device revoked")
    return device


def read_files(data: bytes, manifest: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The scans an authentic bundle carries, each at most the size its signed manifest gives
    (and the relay's file limit) and hashing to its name, or a :class:`BundleError`."""
    from sync.server.filerefs import SHA256
    from sync.server.files import MAX_FILE_BYTES

    listed = manifest.get("files", [])
    if not isinstance(listed, list):
        raise BundleError("bad_bundle", "the manifest's file list is not a list")
    out = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for entry in listed:
                sha, size = (entry.get("sha256"), entry.get("size")) \
                    if isinstance(entry, dict) else (None, None)
                if not (isinstance(sha, str) and SHA256.fullmatch(sha) and type(size) is int
                        and 0 < size <= MAX_FILE_BYTES):
                    raise BundleError("bad_bundle", "a file entry of the manifest is malformed")
                content = _member(zf, f"files/{sha}", size)
                if len(content) != size or protocol.sha256_hex(content) != sha:
                    raise BundleError("bad_bundle", f"file {sha[:12]} does not match its name")
                out.append((sha, content))
    except BundleError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, zlib.error, struct.error) as exc:
        raise BundleError("bad_bundle", "not a readable ccdesk bundle") from exc
    return out


def import_bundle(store: DistrictStore, data: bytes, chunk_records: int = CHUNK, *,
                  max_records_bytes: int = MAX_RECORDS_BYTES) -> bytes:
    """Import a bundle idempotently and return the signed ack file; each ``chunk_records``
    records are one transaction (an idempotent batch), so a killed import resumes cleanly."""
    manifest, device, records = read_bundle(data, store.device, max_records_bytes)
    scans = read_files(data, manifest)
    results: list[dict[str, Any]] = []
    for n, start in enumerate(range(0, len(records), chunk_records)):
        chunk = records[start:start + chunk_records]
        body = {"batch_id": f"{manifest.get('bundle_id')}:{n}", "device_id": device.device_id,
                "commune": manifest.get("commune"), "demo": bool(manifest.get("demo")),
                "first_seq": _seq(chunk[0]), "last_seq": _seq(chunk[-1]),
                "records": chunk}
        digest = protocol.sha256_hex(protocol.dumps(chunk))
        try:
            reply = store.apply_batch(device, body, digest)
        except DistrictError as exc:
            raise BundleError(exc.code, exc.message) from exc
        ids = {r["seq"]: r.get("id") for r in chunk
               if isinstance(r, dict) and isinstance(r.get("seq"), int)}
        # The ack names every mutation id, so the desk acks exactly the rows the district has.
        results.extend(dict(r, id=r.get("id") or (ids.get(r["seq"]) if isinstance(
            r.get("seq"), int) else None)) for r in reply["results"])
        if os.environ.get(CRASH_ENV) == str(n + 1):
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
    received = [sha for sha, content in scans if store.files_dir is not None
                and store.files.receive_whole(device, sha, content)]
    body = {"format": ACK_FORMAT, "bundle_id": manifest["bundle_id"],
            "device_id": device.device_id, "epoch": store.epoch,
            "at": datetime.now().isoformat(), "results": results, "files": received}
    schedule = store.schedule_payload()
    if schedule is not None:   # the newest holiday schedule rides home, signed (docs/calendar.md)
        body["calendar_schedule"] = schedule
    after = manifest.get("changes_after")
    if isinstance(after, int) and not isinstance(after, bool) and after >= 0:
        body["changes"] = _changes_page(store, device, after)
    ack = protocol.dumps(body).decode()
    return protocol.dumps({"ack": ack, "signature": store.sign(ack.encode())})


def _changes_page(store: DistrictStore, device: Device, after: int) -> dict[str, Any]:
    """The commune's change feed after the desk's cursor, as ``GET /changes`` gives it: results,
    corrections and online filings reach a desk that has only a USB stick. At most
    :data:`MAX_ACK_CHANGES`; ``more`` says another bundle will bring the rest. A cursor the
    relay does not know (restored from a backup) starts again from 0, as a pull does."""
    try:
        page = store.changes(device, after, limit=MAX_ACK_CHANGES)
    except DistrictError as exc:
        if exc.code != "cursor_gone":
            raise
        page = dict(store.changes(device, 0, limit=MAX_ACK_CHANGES), resync=True)
    return page


def _seq(record: Any) -> Any:
    """A record's seq, tolerating a malformed record (the server rejects it on its own,
    SF-POISON-RECORD)."""
    return record.get("seq") if isinstance(record, dict) else None


def ack_counts(ack_file: bytes) -> dict[str, int]:
    """Counts by result in an ack file (for the district's own message)."""
    ack = orjson.loads(orjson.loads(ack_file)["ack"])
    counts = dict.fromkeys(protocol.RESULTS, 0)
    for r in ack["results"]:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    return counts
