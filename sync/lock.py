"""One sync process per database at a time (SF-STUCK-IN-FLIGHT): an advisory ``flock`` beside
the file.

The kernel drops the lock when the holder dies, even by ``kill -9``, so a crash never leaves a
stale lock behind and the next run can resume within seconds.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class LockBusy(Exception):
    """Another sync process kept the lock for longer than we were willing to wait."""


class SyncLock:
    def __init__(self, path: Path, wait: float = 0.0) -> None:
        self.path = path
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> SyncLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockBusy(str(self.path)) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str:
        """The pid written by the current holder (for ``sync doctor``), or ''."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""
