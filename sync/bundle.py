"""USB bundles for communes without a link (F14, after ODK Briefcase).

A bundle is a zip named ``<commune>_<device>_<from>-<to>.ccbundle`` holding ``manifest.json``
(ids, seq range, count, sha256 of the records), ``manifest.sig`` (the device's Ed25519 signature
of the manifest) and ``records.jsonl.gz`` (the same records as a push). Exporting changes no
state: rows are acked only when the district's signed ack file comes back (``sync import-ack``).

The district imports in chunks, each one an idempotent batch (``<bundle id>:<n>``), so a bundle
imported twice, or killed half-way and imported again, puts every record on the server once.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlmodel import Session, select

from ccdesk.ids import uuid7
from ccdesk.models import Office, Outbox
from ccdesk.storage.files import write_private_file
from ccdesk.storage.outbox import utcnow
from sync import keys, outbox, protocol
from sync.state import SyncConflict, SyncState

if TYPE_CHECKING:
    from ccdesk.storage.engine import Database
    from sync.server.store import DistrictStore

BUNDLE_FORMAT = "ccdesk-bundle/1"
ACK_FORMAT = "ccdesk-ack/1"
CHUNK = 1000
CRASH_ENV = "CCDESK_DISTRICT_CRASH_AFTER_CHUNK"


class BundleError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code, self.message = code, message or code


# ---- commune side -------------------------------------------------------------------------
def export_bundle(db: Database, out_dir: Path) -> tuple[Path, int, int, int] | None:
    """Write a signed bundle of every pending row; returns (file, count, first, last)."""
    with db.session() as session:
        office = session.get(Office, 1)
        state = session.get(SyncState, 1)
        if office is None or office.is_training:
            raise BundleError("training")
        if state is None or state.enrolled_at is None:
            raise BundleError("not_enrolled")
        rows = outbox.pending_rows(session, limit=10_000_000)
    rows = [row for row in rows if row.intact]
    if not rows:
        return None
    lines = b"\n".join(protocol.dumps(protocol.record_of(
        r.seq, r.mutation_id, r.op, r.entity_id, r.client_time, r.payload))
        for r in rows) + b"\n"
    records = gzip.compress(lines, compresslevel=9, mtime=0)
    manifest = protocol.dumps({
        "format": BUNDLE_FORMAT, "bundle_id": uuid7(), "device_id": state.device_id,
        "commune": state.commune_code, "demo": office.is_demo, "first_seq": rows[0].seq,
        "last_seq": rows[-1].seq, "count": len(rows),
        "records_sha256": protocol.sha256_hex(records),
        "created_at": utcnow().isoformat() + "Z"})
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{state.commune_code}_{state.device_id[:8]}_{rows[0].seq}-{rows[-1].seq}.ccbundle"
    target = out_dir / name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", manifest)
        zf.writestr("manifest.sig", keys.sign(state.private_key, manifest))
        zf.writestr("records.jsonl.gz", records)
    # Owner-only and atomic: a half-written bundle never carries the final name.
    write_private_file(target, buffer.getvalue())
    return target, len(rows), rows[0].seq, rows[-1].seq


def import_ack(db: Database, data: bytes) -> dict[str, int]:
    """Apply a district ack file: rows become acked only here (and by push)."""
    try:
        wrapper = orjson.loads(data)
        ack_text = wrapper["ack"]
        ack = orjson.loads(ack_text)
        signature = wrapper["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError("bad_ack") from exc
    if not isinstance(ack, dict) or not isinstance(ack_text, str):
        raise BundleError("bad_ack")  # valid JSON, but not an ack object
    with db.session() as session:
        state = session.get(SyncState, 1)
    if state is None or not state.server_public_key or ack.get("format") != ACK_FORMAT \
            or ack.get("device_id") != state.device_id \
            or not keys.verify(state.server_public_key, ack_text.encode(), signature):
        raise BundleError("bad_ack")
    counts = {"acked": 0, "quarantined": 0, "conflicts": 0}
    now = utcnow()

    def work(session: Session) -> None:
        results = {r.get("seq"): r for r in ack.get("results", []) if isinstance(r, dict)}
        seqs = [seq for seq in results if isinstance(seq, int)]
        # Rows not acknowledged yet (acknowledgement may be a seq range, not a row's state).
        waiting = sorted(seq for seq, state in outbox.states_of(session, seqs).items()
                         if state != outbox.ACKED)
        rows = [row for start in range(0, len(waiting), 500)
                for row in session.exec(select(Outbox).where(
                    Outbox.device_seq.in_(waiting[start:start + 500]))).all()]
        outcomes = []
        for row in rows:
            r = results[row.device_seq]
            if r.get("id") != row.mutation_id:
                continue
            if r.get("result") in (protocol.APPLIED, protocol.DUPLICATE):
                outcomes.append((row.device_seq, outbox.ACKED, ""))
                counts["acked"] += 1
            elif r.get("result") == protocol.CONFLICT:
                outcomes.append((row.device_seq, outbox.CONFLICT, "conflict: bundle"))
                session.add(SyncConflict(at=now, side="push", dossier_code=row.entity_id,
                                         mutation_id=row.mutation_id,
                                         upstream_status=str(r.get("upstream_status", "")),
                                         detail=protocol.dumps(r).decode()))
                counts["conflicts"] += 1
            elif r.get("result") == protocol.REJECTED:
                reason = f"{r.get('code', 'rejected')}: {r.get('message', '')}"[:300]
                outcomes.append((row.device_seq, outbox.QUARANTINED, reason))
                counts["quarantined"] += 1
        outbox.settle(session, outcomes, now)

    db.write(work)
    return counts


# ---- district side ------------------------------------------------------------------------
def read_bundle(data: bytes) -> tuple[dict[str, Any], bytes, str, list[dict[str, Any]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest_raw = zf.read("manifest.json")
            signature = zf.read("manifest.sig").decode()
            records_gz = zf.read("records.jsonl.gz")
        manifest = orjson.loads(manifest_raw)
        if not isinstance(manifest, dict):
            raise BundleError("bad_bundle", "the manifest is not a JSON object")
        if manifest.get("format") != BUNDLE_FORMAT:
            raise BundleError("bad_bundle", "unknown format")
        if protocol.sha256_hex(records_gz) != manifest.get("records_sha256"):
            raise BundleError("bad_bundle", "records do not match the manifest")
        lines = gzip.decompress(records_gz).splitlines()
        records = [orjson.loads(line) for line in lines if line.strip()]
    except BundleError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, zlib.error, struct.error) as exc:
        # zipfile reports damaged headers in many ways (unsupported method, "encrypted"…).
        raise BundleError("bad_bundle", "not a readable ccdesk bundle") from exc
    if len(records) != manifest.get("count"):
        raise BundleError("bad_bundle", "record count does not match the manifest")
    return manifest, manifest_raw, signature, records


def import_bundle(store: DistrictStore, data: bytes, chunk_records: int = CHUNK) -> bytes:
    """Import a bundle idempotently and return the signed ack file; each ``chunk_records``
    records are one transaction (an idempotent batch), so a killed import resumes cleanly."""
    import os

    from sync.server.store import DistrictError

    manifest, manifest_raw, signature, records = read_bundle(data)
    try:
        device = store.device(str(manifest.get("device_id")))
    except DistrictError as exc:
        raise BundleError("bad_bundle", "unknown device") from exc
    if not keys.verify(device.public_key, manifest_raw, signature):
        raise BundleError("bad_bundle", "signature does not match the device")
    if device.status != "active":
        raise BundleError("revoked", "device revoked")
    results: list[dict[str, Any]] = []
    for n, start in enumerate(range(0, len(records), chunk_records)):
        chunk = records[start:start + chunk_records]
        body = {"batch_id": f"{manifest['bundle_id']}:{n}", "device_id": device.device_id,
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
    ack = protocol.dumps({"format": ACK_FORMAT, "bundle_id": manifest["bundle_id"],
                          "device_id": device.device_id, "epoch": store.epoch,
                          "at": datetime.now().isoformat(), "results": results}).decode()
    return protocol.dumps({"ack": ack, "signature": store.sign(ack.encode())})


def _seq(record: Any) -> Any:
    """A record's seq, tolerating a malformed record (the server rejects it on its own, F6)."""
    return record.get("seq") if isinstance(record, dict) else None


def ack_counts(ack_file: bytes) -> dict[str, int]:
    """Counts by result in an ack file (for the district's own message)."""
    ack = orjson.loads(orjson.loads(ack_file)["ack"])
    counts = dict.fromkeys(protocol.RESULTS, 0)
    for r in ack["results"]:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    return counts
