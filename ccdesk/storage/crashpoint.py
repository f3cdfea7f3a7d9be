"""Fault injection for the kill -9 tests: a process SIGKILLs itself at a named point.

``CCDESK_SYNC_CRASH_AT=<name>`` arms one point (tests/sync/test_crash.py); unset, a point costs
one environment lookup. Its own module so that the sync engine and outbox retention, which
both have points, need not import each other.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "CCDESK_SYNC_CRASH_AT"


def crash_point(name: str) -> None:
    """SIGKILL this process if ``name`` is the armed point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
