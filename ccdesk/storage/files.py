"""Reading outside files with a bound, and writing private files.

Two rules from docs/operations.md ("Files and folders"):

* Everything ccdesk writes that holds personal data or keys is created owner-only (0600), through
  :func:`write_private_file`. A file that exists already and that ccdesk did not create keeps its
  mode: ``--out report.pdf`` onto a file the user made replaces its content and keeps the mode the
  user gave it (a warning is logged when others can read it). A device, FIFO or folder is never
  written over: ``--out /dev/null`` as root must not turn ``/dev/null`` into a regular file.
* Every file ccdesk reads from outside (catalogues, bundles, ack files) goes through
  :func:`read_bounded`: a regular file of at most ``limit`` bytes, or a clear refusal naming the
  file. ``/dev/zero`` or a FIFO once made commands hang while memory grew by gigabytes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

from ccdesk.domain.errors import ValidationError

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PRIVATE_FILE_MODE = 0o600
# Bounds of what ccdesk reads from outside. A bundle holds at most a few hundred thousand
# compressed records (~170 B each); its ack names each one.
MAX_BUNDLE_BYTES = 256 * MiB
MAX_TEXT_FILE_BYTES = 16 * MiB          # catalogues, calendars, config


def open_regular_file(path: Path) -> int:
    """A read-only descriptor of the regular file ``path``; anything else (missing, a folder,
    a FIFO, a device, unreadable) is refused with a :class:`ValidationError` naming it."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ValidationError("reliability.security.no_such_file", path=str(path)) from None
    except IsADirectoryError:
        raise ValidationError("reliability.security.not_a_file", path=str(path)) from None
    except OSError as exc:
        raise ValidationError("reliability.security.unreadable", path=str(path),
                              detail=exc.strerror or type(exc).__name__) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValidationError("reliability.security.not_a_file", path=str(path))
    return fd


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing anything else or anything larger than
    ``limit`` bytes with a :class:`ValidationError` that names the file."""
    fd = open_regular_file(path)
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            raise ValidationError("reliability.security.too_large", path=str(path),
                                  limit=_size_text(limit))
        chunks, total = [], 0
        while True:  # the size may grow while we read: never take more than the limit
            chunk = os.read(fd, min(MiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ValidationError("reliability.security.too_large", path=str(path),
                                      limit=_size_text(limit))
        return b"".join(chunks)
    except OSError as exc:
        raise ValidationError("reliability.security.unreadable", path=str(path),
                              detail=exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)


def read_bounded_text(path: Path, limit: int) -> str:
    """:func:`read_bounded` decoded as UTF-8 (a leading BOM is dropped)."""
    data = read_bounded(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("reliability.security.not_utf8", path=str(path)) from None


def _size_text(limit: int) -> str:
    """``256 KiB`` rather than ``262144 B``: the unit a person reads."""
    for unit, size in (("MiB", MiB), ("KiB", 1024)):
        if limit >= size:
            return f"{limit // size} {unit}"
    return f"{limit} B"


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty and owner-only (0600) unless it exists; ``True`` if created here.

    An existing file keeps its mode (see :func:`tighten_own_file` for the desk's database).
    Creating it ourselves matters: SQLite gives the ``-wal`` and ``-shm`` files the database
    file's mode, so a database born 0644 under the usual umask would leak through them.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def tighten_own_file(path: Path) -> None:
    """Make an existing *regular* file that this user owns owner-only; anything else (a device,
    someone else's file) is left alone and logged when others can read it."""
    try:
        info = path.lstat()
    except OSError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
        with contextlib.suppress(OSError):
            path.chmod(PRIVATE_FILE_MODE)
            return
    log.warning("file readable by others", extra={"file": str(path), "mode": oct(mode)})


def check_writable_target(path: Path) -> Path:
    """``path`` resolved (symlinks followed), refused unless it is new or a regular file."""
    target = path.resolve()
    try:
        info = target.stat()
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError("reliability.security.not_a_file", path=str(path))
    return target


def write_private_file(path: Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file renamed into place), created
    0600; an existing regular file keeps its own mode. Returns the path written.

    Raises :class:`ValidationError` for a target that is a device, FIFO or folder, and
    :class:`OSError` for the disk's own failures (full, read-only), for the caller to word.
    """
    target = check_writable_target(path)
    try:
        keep_mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        keep_mode = None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        # mkstemp made it 0600; a file the user already had keeps the mode they chose.
        if keep_mode is not None and keep_mode != PRIVATE_FILE_MODE:
            os.chmod(tmp, keep_mode)
            if keep_mode & 0o077:
                log.warning("output file readable by others",
                            extra={"file": str(target), "mode": oct(keep_mode)})
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def open_private_append(path: Path):  # noqa: ANN201 - a binary file object
    """Open ``path`` for appending, created 0600 when new (logs of sync runs)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    return os.fdopen(fd, "ab")
