"""USB bundles for communes without a link (SF-BUNDLE-TWICE, after ODK Briefcase).

A bundle is a zip named ``<commune>_<device>_<from>-<to>.ccbundle`` holding ``manifest.json``
(ids, seq range, count, sha256 of the records), ``manifest.sig`` (the device's Ed25519 signature
of the manifest) and ``records.jsonl.gz`` (the same records as a push). Scans the relay does not
have whole yet ride along as ``files/<sha256>``, oldest first up to :data:`MAX_FILE_BYTES` in
all, each named with its size in the signed manifest (docs/sync.md, "Files"). Exporting changes
no state: rows are acked, and files marked sent, only when the district's signed ack file comes
back (``sync import-ack``).

The district's side (reading, checking and importing a bundle) is :mod:`sync.server.bundles`:
the desk never imports the server.
"""

from __future__ import annotations

import gzip
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlmodel import Session, select

from ccdesk.ids import uuid7
from ccdesk.models import Office, Outbox, StoredFile
from ccdesk.storage.files import write_private_file
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.write import utcnow
from sync import keys, protocol, replies
from sync.inbox import apply_change
from sync.state import SyncConflict, SyncState

if TYPE_CHECKING:
    from ccdesk.services.context import DeskContext
    from ccdesk.storage.engine import Database

BUNDLE_FORMAT = "ccdesk-bundle/1"
ACK_FORMAT = "ccdesk-ack/1"
CHUNK = 1000   # records per district transaction when a bundle is imported
# Scan bytes one bundle carries: under the relay's 64 MiB body limit with the records beside
# them; what does not fit goes in the next bundle.
MAX_FILE_BYTES = 48 * 1024 * 1024
MAX_ACK_FILES = 100_000
log = logging.getLogger(__name__)


class BundleError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code, self.message = code, message or code


# ---- commune side -------------------------------------------------------------------------
def export_bundle(db: Database, out_dir: Path) -> tuple[Path, int, int, int, int]:
    """Write a signed bundle of every pending row and the unsent scans that fit; returns
    (file, count, first, last, files).

    With nothing pending the bundle still goes when the desk has been enrolled: it carries no
    records, only the desk's pull cursor (``changes_after``), so a desk without a link still gets
    its results, corrections and online filings back in the ack (docs/sync.md, "USB
    bundles"); ``count`` is then 0."""
    with db.session() as session:
        office = session.get(Office, 1)
        state = session.get(SyncState, 1)
        if office is None or office.is_training:
            raise BundleError("training")
        if state is None or state.enrolled_at is None:
            raise BundleError("not_enrolled")
        rows = outbox.pending_rows(session, limit=10_000_000)
    rows = [row for row in rows if row.intact]
    scans = _scans(db)
    lines = b"".join(protocol.dumps(protocol.record_of(
        r.seq, r.mutation_id, r.op, r.entity_id, r.client_time, r.payload)) + b"\n"
        for r in rows)
    records = gzip.compress(lines, compresslevel=9, mtime=0)
    first, last = (rows[0].seq, rows[-1].seq) if rows else (0, 0)
    manifest = protocol.dumps({
        "format": BUNDLE_FORMAT, "bundle_id": uuid7(), "device_id": state.device_id,
        "commune": state.commune_code, "demo": office.is_demo, "first_seq": first,
        "last_seq": last, "count": len(rows),
        "records_sha256": protocol.sha256_hex(records),
        "files": [{"sha256": sha, "size": len(data)} for sha, data in scans],
        "changes_after": state.pull_cursor,
        "created_at": utcnow().isoformat() + "Z"})
    out_dir.mkdir(parents=True, exist_ok=True)
    span = f"{first}-{last}" if rows else f"changes-{state.pull_cursor}"
    target = out_dir / f"{state.commune_code}_{state.device_id[:8]}_{span}.ccbundle"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", manifest)
        zf.writestr("manifest.sig", keys.sign(state.private_key, manifest))
        zf.writestr("records.jsonl.gz", records)
        for sha, data in scans:   # scans do not compress: stored as they are
            zf.writestr(f"files/{sha}", data)
    # Owner-only and atomic: a half-written bundle never carries the final name.
    write_private_file(target, buffer.getvalue())
    return target, len(rows), first, last, len(scans)


def _changes_of(ack: dict[str, Any], cursor: int) -> replies.Changes | None:
    """The change feed page the ack carries, checked like a pull's (None: it carries none)."""
    raw = ack.get("changes")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise replies.BadUpstreamValue("ack", "changes", raw, "an object")
    page = replies.changes(raw, cursor)
    return replace(page, resync=raw.get("resync") is True)


def _apply_changes(session: Session, ctx: DeskContext,
                   page: replies.Changes) -> dict[str, int]:
    """Apply a page of changes and move the pull cursor (forward only, unless the relay started
    the feed again from 0) in the caller's transaction."""
    outcomes = Counter(apply_change(session, ctx, change) for change in page.changes)
    row = session.get(SyncState, 1)
    row.pull_cursor = page.cursor if page.resync else max(row.pull_cursor, page.cursor)
    session.add(row)
    return {"pulled": outcomes["applied"],
            "pull_conflicts": outcomes["conflict"], "more_changes": int(page.more)}


def _scans(db: Database) -> list[tuple[str, bytes]]:
    """Unsent scans, oldest first, while they fit in :data:`MAX_FILE_BYTES`; each read from
    the store and checked against its name (a damaged file is left for ``sync doctor``)."""
    from ccdesk.storage.filestore import FileStore, store_root_for
    from sync.files import unsent

    store = FileStore(store_root_for(db.path))
    out: list[tuple[str, bytes]] = []
    total = 0
    for file in unsent(db):
        if total + file.size > MAX_FILE_BYTES:
            continue
        try:
            with store.open(file.sha256) as source:
                data = source.read(file.size + 1)
        except OSError:
            continue
        if len(data) != file.size or protocol.sha256_hex(data) != file.sha256:
            log.warning("scan %s damaged in the store: not bundled", file.sha256[:12])
            continue
        out.append((file.sha256, data))
        total += file.size
    return out


def import_ack(db: Database, data: bytes,
               on_schedule: Callable[[dict[str, Any]], object] | None = None,
               ctx: DeskContext | None = None) -> dict[str, int]:
    """Apply a district ack file: rows become acked only here (and by push). An official
    holiday schedule the ack carries (``calendar_schedule``, docs/calendar.md) is checked with
    the rest before anything is written, then handed to ``on_schedule`` (in the desk's
    ``sync import-ack``: ``apply_schedule_payload(services, payload, origin="usb")``). The
    commune's changes it carries (``changes``: results, corrections, online filings) are applied
    as a pull applies them, in the transaction that settles the rows, when ``ctx`` is given."""
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
    files = ack.get("files", [])
    if not isinstance(files, list) or len(files) > MAX_ACK_FILES or not all(
            isinstance(f, str) and len(f) == 64 and all(c in "0123456789abcdef" for c in f)
            for f in files):
        raise BundleError("bad_upstream_value", "ack.files")
    try:
        results = replies.record_results("ack", ack.get("results", []),
                                         replies.MAX_ACK_RESULTS)
        schedule = None if ack.get("calendar_schedule") is None else replies.schedule(
            "ack", "calendar_schedule", ack["calendar_schedule"])
        page = _changes_of(ack, state.pull_cursor) if ctx is not None else None
    except replies.BadUpstreamValue as bad:
        raise BundleError(bad.code, bad.detail) from bad
    now = utcnow()
    if page is not None:
        for change in page.changes:
            if change["kind"] == replies.SCHEDULE_KIND:   # the calendar's own transaction
                done = on_schedule(change["data"]) if on_schedule is not None else None
                change["outcome"] = str(getattr(done, "outcome", "not_applied"))

    def work(session: Session) -> dict[str, int]:
        counts = {"acked": 0, "quarantined": 0, "conflicts": 0, "files": 0}
        # Rows not acknowledged yet (acknowledgement may be a seq range, not a row's state).
        waiting = sorted(seq for seq, state in outbox.states_of(session, results).items()
                         if state != outbox.ACKED)
        rows = [row for start in range(0, len(waiting), 500)
                for row in session.exec(select(Outbox).where(
                    Outbox.device_seq.in_(waiting[start:start + 500]))).all()]
        outcomes = []
        for row in rows:
            r = results[row.device_seq]
            if r.mutation_id != row.mutation_id:
                continue
            if r.result in (protocol.APPLIED, protocol.DUPLICATE):
                outcomes.append((row.device_seq, outbox.ACKED, ""))
                counts["acked"] += 1
            elif r.result == protocol.CONFLICT:
                outcomes.append((row.device_seq, outbox.CONFLICT, "conflict: bundle"))
                session.add(SyncConflict(at=now, side="push", dossier_code=row.entity_id,
                                         mutation_id=row.mutation_id,
                                         upstream_status=r.upstream_status,
                                         detail=protocol.dumps(replies.as_sent(r)).decode()))
                counts["conflicts"] += 1
            elif r.result == protocol.REJECTED:
                reason = f"{r.code or 'rejected'}: {r.message}"[:300]
                outcomes.append((row.device_seq, outbox.QUARANTINED, reason))
                counts["quarantined"] += 1
        outbox.settle(session, outcomes, now)
        counts.update(_apply_changes(session, ctx, page) if page is not None and ctx else {})
        # Scans the district received whole and verified (docs/sync.md, "Files").
        for start in range(0, len(files), 500):
            part = files[start:start + 500]
            for file in session.exec(select(StoredFile).where(
                    StoredFile.sha256.in_(part), StoredFile.sent_at.is_(None))).all():
                file.sent_bytes, file.sent_at = file.size, now
                session.add(file)
                counts["files"] += 1
        return counts

    # The counts come back from the committed transaction: a retry on a lock error counts once.
    counts = db.write(work)
    if schedule is not None and on_schedule is not None:
        done = on_schedule(schedule)   # its own transaction: stored and audited only when newer
        log.info("official schedule from the ack: edition %s, %s", schedule["version"],
                 getattr(done, "outcome", "handed on"))   # editions only: no personal data
    return counts
