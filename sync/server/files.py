"""The relay's side of file sync: scans arrive in resumable chunks after their dossier
(docs/sync.md, "Files").

* **Metadata first.** A pushed record whose payload lists ``files`` (sha256, size, mime, the
  checklist item's position) creates a ``district_file`` row in the batch's transaction; only
  such a file is accepted, only from the commune whose dossier referenced it, and never
  beyond :data:`MAX_FILE_BYTES` (the desk's own limit).
* **Resumable, idempotent.** ``GET …/files/{sha256}`` says how many bytes have arrived;
  ``PATCH …/files/{sha256}?offset=N`` appends one bounded chunk at ``N`` (tus-like). A chunk
  re-sent after a lost reply changes nothing; a chunk from the wrong offset is ``409
  offset_mismatch`` with the relay's count. Bytes go to an owner-only partial file that is cut
  back to the committed count before each write, so a crash between the write and the commit
  costs one chunk, never a corrupt file.
* **Verified.** The last chunk completes the file only if its SHA-256 is its name; otherwise
  the partial is deleted, the count goes back to 0 and the answer is ``422 hash_mismatch``.
  A complete file moves into the relay's content-addressed store (``ab/abcdef…``, 0600).
* **Served** to the upstream by URL: ``GET /api/district/v1/files/{sha256}?exp=…&sig=…``, an
  HMAC of the name and expiry under a secret only this relay holds (:func:`signed_path`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection

from ccdesk.paths import ensure_private_dir
from ccdesk.storage.files import PRIVATE_FILE_MODE, MiB
from sync.server.basics import Device, DistrictError, locked, utcnow
from sync.server.filerefs import SHA256, F, R
from sync.server.models import DistrictMeta

META = DistrictMeta.__table__

MAX_FILE_BYTES = 25 * MiB           # the desk's MAX_ATTACHMENT_BYTES (ccdesk/storage/filestore)
MAX_CHUNK_BYTES = 256 * 1024        # one PATCH body (64 KiB takes 16 s at 32 kbps)
MAX_PARTIAL_PER_DEVICE = 8          # files begun, not complete, per desk (it sends one by one)
FILE_URL_DAYS = 90                  # how long a file's URL in a forwarded snapshot holds
SECRET_KEY = "files_secret"
# Where the upstream fetches a file (the district API's prefix, sync/server/routes.py).
FILE_PATH = "/api/district/v1/files"
_READ = MiB


class FileIntake:
    """Receives, verifies and keeps files under ``root`` (owner-only), one chunk at a time."""

    def __init__(self, engine: Any, root: Path) -> None:
        self.engine, self.root = engine, root

    # ---- where files live ----------------------------------------------------------------
    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _partial(self, sha256: str) -> Path:
        return self.root / ".partial" / sha256

    # ---- the device API ------------------------------------------------------------------
    def status(self, device: Device, sha256: str) -> dict[str, Any]:
        """How much of the file has arrived (``received``) and whether it is ``complete``."""
        with self.engine.connect() as conn:
            row = self._accepted(conn, device, sha256)
        return _state(row.sha256, row.size, row.received_bytes, row.complete_at)

    def write_chunk(self, device: Device, sha256: str, offset: int, data: bytes
                    ) -> dict[str, Any]:
        """Append ``data`` at ``offset``; see the module docstring for every answer."""
        if not data:
            raise DistrictError(400, "empty_chunk", "a chunk carries at least one byte")
        with self.engine.begin() as conn:
            row = self._accepted(conn, device, sha256, lock=True)
            received = row.received_bytes
            if row.complete_at is not None:
                return _state(sha256, row.size, row.size, row.complete_at)
            if offset > received:
                raise DistrictError(409, "offset_mismatch", "resume from the relay's count",
                                    extra={"received": received})
            if offset < received:
                if offset + len(data) <= received:   # a re-send of bytes the relay has
                    return _state(sha256, row.size, received, None)
                data, offset = data[received - offset:], received
            if received + len(data) > row.size:
                raise DistrictError(400, "beyond_size", "the chunk runs past the file's size")
            if received == 0 and self._partials(conn, device) >= MAX_PARTIAL_PER_DEVICE:
                raise DistrictError(409, "too_many_partial",
                                    "finish the files already begun first")
            self._append(sha256, received, data)
            received += len(data)
            complete_at = None
            if received == row.size:
                if not self._settle(sha256):
                    conn.execute(update(F).where(F.c.sha256 == sha256).values(received_bytes=0))
                    mismatch = True
                else:
                    complete_at, mismatch = utcnow(), False
                    _forward_again(conn, sha256)
            else:
                mismatch = False
            if not mismatch:
                conn.execute(update(F).where(F.c.sha256 == sha256)
                             .values(received_bytes=received, complete_at=complete_at))
        if mismatch:   # committed back to 0 above: the desk starts the file again
            raise DistrictError(422, "hash_mismatch", "the file's bytes do not match its name")
        return _state(sha256, row.size, received, complete_at)

    def receive_whole(self, device: Device, sha256: str, data: bytes) -> bool:
        """A whole file from a USB bundle (its hash already checked against the signed
        manifest): stored like the last chunk of a transfer. False when no pushed dossier of
        the device's commune references it, or it is beyond the limit."""
        try:
            state = self.status(device, sha256)
            if state["complete"]:
                return True
            if state["received"]:
                self._reset(sha256)
            return bool(self.write_chunk(device, sha256, 0, data)["complete"])
        except DistrictError:
            return False

    # ---- the upstream's fetch ------------------------------------------------------------
    def served(self, sha256: str, expires: int, signature: str, now: datetime
               ) -> tuple[Path, str]:
        """The file's path and type for a URL whose signature and expiry hold, else 404 (a
        wrong or expired link says nothing of whether the file exists)."""
        if not SHA256.fullmatch(sha256) or not hmac.compare_digest(
                signature, _signature(self.secret(), sha256, expires)) \
                or expires < _unix(now):
            raise DistrictError(404, "not_found")
        with self.engine.connect() as conn:
            row = conn.execute(select(F.c.mime, F.c.complete_at)
                               .where(F.c.sha256 == sha256)).first()
        if row is None or row.complete_at is None or not self.path_of(sha256).is_file():
            raise DistrictError(404, "not_found")
        return self.path_of(sha256), row.mime

    def secret(self) -> str:
        with self.engine.connect() as conn:
            return file_secret(conn)

    # ---- helpers -------------------------------------------------------------------------
    def _accepted(self, conn: Connection, device: Device, sha256: str, *,
                  lock: bool = False) -> Any:
        """The file's row if this device may send it: referenced by a dossier of its commune
        (``404 not_referenced`` otherwise: push the dossier first) and within the limit."""
        if not SHA256.fullmatch(sha256):
            raise DistrictError(400, "bad_name", "a file is named by its SHA-256 in hex")
        query = select(F).where(F.c.sha256 == sha256)
        row = conn.execute(locked(conn, query) if lock else query).first()
        if row is None or row.commune_code != device.commune_code:
            raise DistrictError(404, "not_referenced",
                                "no pushed dossier of this commune lists this file")
        if row.size > MAX_FILE_BYTES:
            raise DistrictError(413, "file_too_large", f"a file is at most {MAX_FILE_BYTES} B")
        return row

    @staticmethod
    def _partials(conn: Connection, device: Device) -> int:
        return conn.execute(select(func.count()).select_from(F).where(
            F.c.device_id == device.device_id, F.c.complete_at.is_(None),
            F.c.received_bytes > 0)).scalar_one()

    def _append(self, sha256: str, at: int, data: bytes) -> None:
        path = self._partial(sha256)
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            # Back to the committed count: bytes of a chunk whose commit was lost go.
            os.ftruncate(fd, at)
            os.pwrite(fd, data, at)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _settle(self, sha256: str) -> bool:
        """Move the finished partial into the store if it hashes to its name; else drop it."""
        partial = self._partial(sha256)
        digest = hashlib.sha256()
        with partial.open("rb") as file:
            while chunk := file.read(_READ):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            return False
        target = self.path_of(sha256)
        ensure_private_dir(target.parent)
        os.chmod(partial, PRIVATE_FILE_MODE)
        os.replace(partial, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True

    def _reset(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(F).where(F.c.sha256 == sha256, F.c.complete_at.is_(None))
                         .values(received_bytes=0))
        self._partial(sha256).unlink(missing_ok=True)


def _state(sha256: str, size: int, received: int, complete_at: datetime | None
           ) -> dict[str, Any]:
    from sync import protocol

    return {"service": protocol.SERVICE_NAME, "sha256": sha256, "size": int(size),
            "received": int(received), "complete": complete_at is not None}


def _forward_again(conn: Connection, sha256: str) -> None:
    """A file completing changes the snapshot of every dossier that lists it (its file list):
    the forwarder sends those snapshots again (docs/upstream.md, "Files")."""
    conn.execute(text("UPDATE upstream_dossier SET snapshot_state = 'pending' "
                      "WHERE snapshot_state = 'sent' AND code IN "
                      "(SELECT dossier_code FROM district_file_ref WHERE sha256 = :sha)"),
                 {"sha": sha256})


# ---- signed URLs ---------------------------------------------------------------------------
def new_secret() -> str:
    return secrets.token_hex(32)


def file_secret(conn: Connection) -> str:
    """The relay's secret for file URLs (``district_meta``, made when the store opens)."""
    value = conn.execute(select(META.c.value).where(META.c.key == SECRET_KEY)).scalar()
    if value is None:
        raise DistrictError(500, "no_file_secret")
    return value


def _unix(moment: datetime) -> int:
    """Seconds since the epoch of one of the relay's naive UTC times."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def _signature(secret: str, sha256: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{sha256}:{expires}".encode(),
                    hashlib.sha256).hexdigest()


def signed_path(secret: str, sha256: str, complete_at: datetime) -> str:
    """The file's path with an expiry and its HMAC. The expiry is counted from when the file
    was complete, so a dossier's snapshot (and the hash the forwarder compares) stays the same
    from one run to the next."""
    expires = _unix(complete_at + timedelta(days=FILE_URL_DAYS))
    return (f"{FILE_PATH}/{sha256}?exp={expires}"
            f"&sig={_signature(secret, sha256, expires)}")


def links(conn: Connection, codes: list[str]) -> dict[str, list[dict[str, str]]]:
    """Per dossier, the files that have arrived complete: sha256, name, mime and signed path,
    in checklist order (what the forwarder's mapping lists, docs/upstream.md "Files")."""
    if not codes:
        return {}
    rows = conn.execute(
        select(R.c.dossier_code, R.c.sha256, R.c.position, R.c.name, F.c.mime, F.c.complete_at)
        .join(F, F.c.sha256 == R.c.sha256)
        .where(R.c.dossier_code.in_(codes), F.c.complete_at.is_not(None))
        .order_by(R.c.dossier_code, R.c.position, R.c.sha256)).all()
    if not rows:
        return {}
    secret = file_secret(conn)
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        complete = r.complete_at if isinstance(r.complete_at, datetime) \
            else datetime.fromisoformat(str(r.complete_at))
        out.setdefault(r.dossier_code, []).append({
            "sha256": r.sha256, "name": r.name, "mime": r.mime,
            "path": signed_path(secret, r.sha256, complete)})
    return out
