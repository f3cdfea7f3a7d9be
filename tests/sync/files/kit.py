"""Dossiers with scans for the file-sync tests (docs/sync.md, "Files").

What the desk's attachment service writes (a ``files`` list in the dossier's create payload,
the file in the content-addressed store, its ``stored_file`` and ``attachment`` rows), built
here directly so these tests do not depend on that service's screens."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from ccdesk.services import recording
from ccdesk.storage.filestore import FileStore, store_root_for
from tests.sync.helpers import Desk

JPEG = b"\xff\xd8\xff\xe0"


def scan(size: int, seed: int) -> bytes:
    """A JPEG-typed scan of ``size`` bytes that does not compress (like a real one)."""
    return JPEG + random.Random(seed).randbytes(size - len(JPEG))


@contextmanager
def files_in_create(monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]]
                    ) -> Iterator[None]:
    """The next dossier.create payloads list ``entries`` (as the attachment service does)."""
    original = recording.record_change

    def with_files(session: Any, office: Any, **kw: Any) -> Any:
        if kw.get("op") == "dossier.create":
            kw["payload"] = dict(kw["payload"], files=entries)
        return original(session, office, **kw)

    with monkeypatch.context() as m:
        m.setattr(recording, "record_change", with_files)
        yield


def intake_with_scans(desk: Desk, monkeypatch: pytest.MonkeyPatch, scans: list[bytes],
                      *, age_s: int = 0, listed: bool = True) -> tuple[str, list[str]]:
    """One accepted dossier whose create record lists ``scans`` (``listed=False``: the files
    are the desk's, but no record lists them); returns (code, hashes)."""
    store = FileStore(store_root_for(desk.db_path))
    blobs = [store.put_bytes(data, name=f"scan{n}.jpg") for n, data in enumerate(scans)]
    entries = [{"item": 0, "sha256": b.sha256, "size": b.size, "mime": b.mime,
                "source": "scanner", "reused_from": "", "pages": 1} for b in blobs]
    with files_in_create(monkeypatch, entries if listed else []):
        (code,) = desk.intake(1)
    con = sqlite3.connect(desk.db_path)
    try:
        dossier_id = con.execute("SELECT id FROM dossier WHERE code = ?", (code,)).fetchone()[0]
        stored_at = datetime.now() - timedelta(seconds=age_s)
        for n, blob in enumerate(blobs):
            con.execute("INSERT OR IGNORE INTO stored_file (sha256, size, mime, stored_at, "
                        "sent_bytes) VALUES (?, ?, ?, ?, 0)",
                        (blob.sha256, blob.size, blob.mime,
                         (stored_at + timedelta(microseconds=n)).isoformat(" ")))
            con.execute("INSERT INTO attachment (dossier_id, sha256, source, original_name, "
                        "pages, reused_from, added_at) VALUES (?, ?, 'scanner', ?, 1, '', ?)",
                        (dossier_id, blob.sha256, f"scan{n}.jpg", stored_at.isoformat(" ")))
        con.commit()
    finally:
        con.close()
    return code, [b.sha256 for b in blobs]


def sent(desk: Desk) -> dict[str, tuple[int, bool]]:
    """``sha256 -> (sent_bytes, sent_at is set)`` of the desk's files."""
    con = sqlite3.connect(desk.db_path)
    try:
        return {sha: (n, at is not None) for sha, n, at in con.execute(
            "SELECT sha256, sent_bytes, sent_at FROM stored_file")}
    finally:
        con.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
