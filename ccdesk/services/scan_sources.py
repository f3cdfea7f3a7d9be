"""Where a digitised paper comes from: the desk's scanner (SANE), the folder a network scanner
writes into, or the citizen's USB stick (docs/attachments.md, "Sources").

Everything here only *reads* what it did not create: a listed file is opened read-only, never
renamed, deleted or chmodded, and a listing is bounded in entries visited, depth and files
returned, so a stick holding a whole photo library or a looping mount cannot stall the desk.
A file is offered only when its first bytes say PDF, JPEG or PNG (``filestore.sniff_type``),
whatever its name.

The scanner is driven through SANE's ``scanimage`` command, where it is installed: its output
is read from a pipe with a bound on size and time, and kept in memory until it is stored (a
scanned page is a few MB; the bound is the store's own, ``MAX_ATTACHMENT_BYTES``).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ccdesk.domain.errors import ValidationError
from ccdesk.storage.filestore import MAX_ATTACHMENT_BYTES, sniff_type

# Bounds of a listing (docs/attachments.md, "Limits").
MAX_LISTED = 200          # files offered, newest first
MAX_VISITED = 5000        # folder entries looked at, in all
MAX_DEPTH = 3             # folders below a stick's root
SCAN_FORMATS = ("jpeg", "png", "pdf")
SCAN_SECONDS = 180        # one page at 600 dpi on a slow USB scanner stays well below this
_HEAD = 8                 # bytes enough to tell the three types apart


@dataclass(frozen=True)
class Candidate:
    """A file that may be attached: where it is, its size, when it was written, its type."""

    path: Path
    size: int
    modified: datetime
    mime: str

    @property
    def name(self) -> str:
        return self.path.name


def default_usb_roots(user: str | None = None) -> list[Path]:
    """Where desktop Linux mounts removable media for the logged-in user (udisks2)."""
    user = user or _user()
    return [Path("/media") / user, Path("/run/media") / user]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _head(path: Path) -> bytes:
    """The first bytes of a regular file, read-only; b"" for anything unreadable."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, _HEAD)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _candidate(entry: os.DirEntry[str]) -> Candidate | None:
    """The entry as a candidate when it is a regular file (not followed through a link) of an
    accepted type and size."""
    try:
        if not entry.is_file(follow_symlinks=False):
            return None
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    if info.st_size == 0 or info.st_size > MAX_ATTACHMENT_BYTES:
        return None
    mime = sniff_type(_head(Path(entry.path)))
    if mime is None:
        return None
    return Candidate(Path(entry.path), info.st_size, datetime.fromtimestamp(info.st_mtime), mime)


def _walk(root: Path, depth: int, budget: list[int]) -> Iterator[os.DirEntry[str]]:
    """Entries under ``root`` down to ``depth`` folders, at most ``budget[0]`` in all; hidden
    entries and links to folders are skipped (a link loop must not be followed)."""
    try:
        with os.scandir(root) as entries:
            listed = list(entries)
    except OSError:
        return
    for entry in sorted(listed, key=lambda e: e.name):
        if budget[0] <= 0:
            return
        budget[0] -= 1
        if entry.name.startswith("."):
            continue
        try:
            folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if folder:
            if depth > 0:
                yield from _walk(Path(entry.path), depth - 1, budget)
        else:
            yield entry


def newest(entries: Iterable[os.DirEntry[str]], limit: int = MAX_LISTED) -> list[Candidate]:
    found = [c for e in entries if (c := _candidate(e)) is not None]
    found.sort(key=lambda c: (c.modified, c.name), reverse=True)
    return found[:limit]


def folder_files(folder: str | Path, limit: int = MAX_LISTED) -> list[Candidate]:
    """The scan folder's files, newest first (its own level only: a scanner writes there).
    ``folder`` as config.toml gives it ("" when not set)."""
    if isinstance(folder, str):
        if not folder.strip():
            raise ValidationError("attachments.no_scan_folder")
        folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValidationError("attachments.folder_missing", path=str(folder))
    return newest(_walk(folder, 0, [MAX_VISITED]), limit)


def usb_media(roots: Iterable[Path]) -> list[Path]:
    """The mounted sticks: each folder directly under a media root (``/media/<user>/<label>``)."""
    found: list[Path] = []
    for root in roots:
        with contextlib.suppress(OSError):
            found += sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                            and not p.name.startswith("."))
    return found


def usb_files(roots: Iterable[Path], limit: int = MAX_LISTED) -> list[Candidate]:
    """PDF, JPEG and PNG files on the mounted sticks, newest first (bounded walk)."""
    media = usb_media(roots)
    if not media:
        raise ValidationError("attachments.no_usb")
    budget = [MAX_VISITED]
    entries = (e for stick in media for e in _walk(stick, MAX_DEPTH, budget))
    return newest(entries, limit)


# ---- the scanner ----------------------------------------------------------------------------

def scanimage_command(device: str = "", fmt: str = "jpeg", resolution: int = 300
                      ) -> list[str]:
    """The ``scanimage`` call for one page in ``fmt`` (``SCAN_FORMATS``)."""
    if fmt not in SCAN_FORMATS:
        raise ValidationError("core.err.choice", field="scan_format",
                              allowed=", ".join(SCAN_FORMATS))
    program = shutil.which("scanimage")
    if program is None:
        raise ValidationError("attachments.no_scanimage")
    command = [program, f"--format={fmt}", f"--resolution={resolution}"]
    if device:
        command.insert(1, f"--device-name={device}")
    return command


def scan_page(device: str = "", fmt: str = "jpeg", *, limit: int = MAX_ATTACHMENT_BYTES,
              seconds: float = SCAN_SECONDS) -> bytes:
    """One page from the scanner, as the bytes ``scanimage`` wrote (bounded in size and time).

    SANE's own words on a failure go to the message only as their last line (a device name,
    "no SANE devices found"): they name hardware, never a person."""
    command = scanimage_command(device, fmt)
    # SANE's messages go to a private temporary file: a pipe nobody reads while the page is
    # read could fill and stall the scan.
    with tempfile.TemporaryFile() as errors_file:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=errors_file)
        except OSError as exc:
            raise ValidationError("attachments.scan_failed",
                                  detail=exc.strerror or type(exc).__name__) from None
        timer = threading.Timer(seconds, proc.kill)
        timer.start()
        try:
            data = _read_bounded(proc, limit)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        errors_file.seek(0)
        errors = errors_file.read(4096)
    if data is None:
        raise ValidationError("reliability.security.too_large", path="scanimage",
                              limit=f"{limit // (1024 * 1024)} MiB")
    if code != 0 or not data:
        detail = errors.decode("utf-8", "replace").strip().splitlines()
        text = detail[-1][:200] if detail else ""
        if code < 0:
            text = text or "timeout"
        if "no sane devices" in text.lower() or "no devices" in text.lower():
            raise ValidationError("attachments.no_scanner")
        raise ValidationError("attachments.scan_failed", detail=text or f"exit {code}")
    return data


def _read_bounded(proc: subprocess.Popen[bytes], limit: int) -> bytes | None:
    """Everything the process writes to its stdout, or ``None`` (and the process killed) once
    it passes ``limit`` bytes."""
    assert proc.stdout is not None
    chunks: list[bytes] = []
    total = 0
    while chunk := proc.stdout.read(1024 * 1024):
        total += len(chunk)
        if total > limit:
            proc.kill()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def usb_roots_from(configured: Iterable[str]) -> list[Path]:
    """The media roots config.toml names (``usb_roots``), else the desktop's own."""
    roots = [Path(root).expanduser() for root in configured if str(root).strip()]
    return roots or default_usb_roots()
