"""The desk's store of digitised papers: files kept outside the database, named by content.

A scanned page is referenced from the database by the SHA-256 of its bytes (table
``stored_file``; the ``attachment`` rows tie it to a dossier's checklist item). Files live in a
folder beside the database file (``<db stem>-files/ab/abcdef…``), so a trainer's or a test's
database carries its own store and a backup or a restore can take both together
(docs/attachments.md). The store is owner-only: folders 0700, files 0600, written to a
temporary name and renamed, so a crash leaves either the whole file or nothing under its name.

Everything put into the store comes from outside (a scanner, a folder a scanner writes into, a
USB stick): it is read with a bound, its type is decided by its first bytes (never by the file
name), and its hash is computed while it is copied.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ccdesk.domain.errors import ValidationError
from ccdesk.paths import ensure_private_dir
from ccdesk.storage.files import PRIVATE_FILE_MODE, MiB, open_regular_file

# A scanned A4 page at 300 dpi is 0.3–2 MB as JPEG; a many-page PDF a few MB. 25 MiB bounds a
# file at the desk and every transfer of it (docs/attachments.md, "Limits").
MAX_ATTACHMENT_BYTES = 25 * MiB
_CHUNK = MiB
_HASH = re.compile(r"^[0-9a-f]{64}$")

# The types a dossier's papers come in, told by their first bytes.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
ACCEPTED_TYPES = tuple(mime for _, mime in _MAGIC)


@dataclass(frozen=True)
class StoredBlob:
    """What the store knows of one file: its name (the hash), size and type."""

    sha256: str
    size: int
    mime: str


def store_root_for(db_path: Path) -> Path:
    """The store that belongs to the database file ``db_path``."""
    return db_path.parent / f"{db_path.stem}-files"


def sniff_type(head: bytes) -> str | None:
    """The accepted type whose signature ``head`` starts with, or ``None``."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    return None


def is_hash(text: str) -> bool:
    """Whether ``text`` is a lower-case SHA-256 in hex (the only name the store accepts)."""
    return bool(_HASH.match(text))


class FileStore:
    """Content-addressed, owner-only files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not is_hash(sha256):
            raise ValueError("not a SHA-256 name")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put_stream(self, source: BinaryIO, *, name: str,
                   limit: int = MAX_ATTACHMENT_BYTES) -> StoredBlob:
        """Copy ``source`` into the store (hashing and bounding it on the way) and return what
        was stored. ``name`` only names the source in a refusal (a file, a scanner)."""
        ensure_private_dir(self.root)
        digest = hashlib.sha256()
        fd, temp = self._temp_file()
        size = 0
        mime: str | None = None
        try:
            while chunk := source.read(_CHUNK):
                if mime is None:
                    mime = sniff_type(chunk)
                    if mime is None:
                        raise ValidationError("attachments.bad_type", path=name)
                size += len(chunk)
                if size > limit:
                    raise ValidationError("reliability.security.too_large", path=name,
                                          limit=f"{limit // MiB} MiB")
                digest.update(chunk)
                os.write(fd, chunk)
            if mime is None:
                raise ValidationError("attachments.empty", path=name)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        os.close(fd)
        blob = StoredBlob(digest.hexdigest(), size, mime)
        self._settle(temp, blob.sha256)
        return blob

    def put_file(self, path: Path, *, limit: int = MAX_ATTACHMENT_BYTES) -> StoredBlob:
        """Store the regular file ``path`` (a FIFO, device or folder is refused)."""
        with os.fdopen(open_regular_file(path), "rb") as source:
            return self.put_stream(source, name=str(path), limit=limit)

    def put_bytes(self, data: bytes, *, name: str, limit: int = MAX_ATTACHMENT_BYTES) -> StoredBlob:
        import io

        return self.put_stream(io.BytesIO(data), name=name, limit=limit)

    def open(self, sha256: str) -> BinaryIO:
        return self.path_of(sha256).open("rb")

    def verify(self, sha256: str) -> bool:
        """Whether the file named ``sha256`` is present and still hashes to its name."""
        path = self.path_of(sha256)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as file:
                while chunk := file.read(_CHUNK):
                    digest.update(chunk)
        except OSError:
            return False
        return digest.hexdigest() == sha256

    def hashes(self) -> Iterator[str]:
        """Every file name in the store (temporary files left by a crash are skipped)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for file in sorted(folder.iterdir()):
                    if is_hash(file.name) and file.name.startswith(folder.name):
                        yield file.name

    def _temp_file(self) -> tuple[int, str]:
        import tempfile

        return tempfile.mkstemp(dir=self.root, prefix=".incoming-")

    def _settle(self, temp: str, sha256: str) -> None:
        """Move a finished temporary file under its name; the same content twice is one file."""
        target = self.path_of(sha256)
        ensure_private_dir(target.parent)
        os.chmod(temp, PRIVATE_FILE_MODE)
        if target.is_file():
            os.unlink(temp)
            return
        os.replace(temp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
