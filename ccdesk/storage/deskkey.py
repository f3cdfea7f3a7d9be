"""The desk's secret key: 32 random bytes in an owner-only file *outside* the database.

It peppers the PIN hashes (so a copied database or backup alone gives nothing to try PINs
against) and keys the audit trail's chain (so a line forged with plain ``sqlite3`` does not
verify). Default place: ``<config dir>/desk.key`` (``CCDESK_KEY_FILE`` moves it, e.g. to a
removable key). Backups never contain it; IT keeps a copy apart from the backups
(docs/operations.md, "PIN policy" and "Threat model").
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from pathlib import Path

from ccdesk.domain.errors import StorageError
from ccdesk.paths import ensure_private_dir
from ccdesk.storage.readonly import read_only

KEY_BYTES = 32


def read_key(path: Path) -> bytes | None:
    """The key in ``path``, ``None`` when the file does not exist; a damaged file is an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError("reliability.security.key_unreadable", path=str(path),
                           detail=exc.strerror or type(exc).__name__) from exc
    if len(data) != KEY_BYTES:
        raise StorageError("reliability.security.key_damaged", path=str(path))
    return data


def create_key(path: Path) -> bytes:
    """Create the key file (0600, never over an existing one) and return the key."""
    ensure_private_dir(path.parent)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        existing = read_key(path)
        assert existing is not None
        return existing
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def derive(key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose ("pin-pepper", "audit-chain"): one secret, separate uses."""
    return hmac.new(key, b"ccdesk:" + purpose.encode(), hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A short public name of the key, stored in the database to tell "wrong key" from
    "missing key" without revealing anything about it."""
    return derive(key, "key-id").hex()[:16]


# ---- the key of each open database ----------------------------------------------------------

_KEYS: dict[str, bytes | None] = {}


def register(db_path: str, key: bytes | None) -> None:
    """Services on ``db_path`` (as its engine URL names it) use ``key``."""
    _KEYS[db_path] = key


def registered_key(db_path: str) -> bytes | None:
    return _KEYS.get(db_path)


def stored_key_id(db_path: Path) -> str | None:
    """The key id the database was sealed with (``None``: new, or before migration 0008)."""
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return None
    con = read_only(db_path)
    try:
        row = con.execute("SELECT key_id FROM audit_seal WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return row[0] if row else None


def open_desk_key(key_file: Path, db_path: Path) -> bytes:
    """The key for ``db_path``: read from ``key_file``, created there for a database that has
    none yet. A database sealed with a key whose file is missing, or with another key, is
    refused with a message naming the file (PINs and the audit chain depend on it)."""
    key = read_key(key_file)
    expected = stored_key_id(db_path)
    if key is None:
        if expected:
            raise StorageError("reliability.security.key_missing", path=str(key_file),
                               db=str(db_path))
        return create_key(key_file)
    if expected and expected != key_id(key):
        raise StorageError("reliability.security.key_wrong", path=str(key_file),
                           db=str(db_path))
    return key
