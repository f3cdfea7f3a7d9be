"""One forwarder at a time (docs/upstream.md, "Delivery"): a lease row in ``upstream_config``.
A lease left by a process of this machine that is gone is taken over at once; another
machine's expires after :data:`LEASE_S`."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update

from sync.server.store import utcnow
from sync.upstream.outcome import EXIT_PARTIAL, Stop
from sync.upstream.records import Recorder
from sync.upstream.tables import CONFIG

LEASE_S = 120


class Lease:
    """This forwarder's hold on the lease (``owner`` is host:pid:nonce)."""

    def __init__(self, recorder: Recorder, clock: Callable[[], float]) -> None:
        self.recorder, self.clock = recorder, clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._taken_at = float("-inf")

    def take(self) -> bool:
        """Take or renew the lease; False when another forwarder holds it."""
        now = utcnow()
        with self.recorder.begin() as conn:
            holder = conn.execute(select(CONFIG.c.lock_owner).where(CONFIG.c.id == 1)).scalar()
            dead = holder if holder and gone(holder) else self.owner
            taken = conn.execute(update(CONFIG).where(
                CONFIG.c.id == 1,
                or_(CONFIG.c.lock_until.is_(None), CONFIG.c.lock_until < now,
                    CONFIG.c.lock_owner.in_([self.owner, dead])))
                .values(lock_owner=self.owner,
                        lock_until=now + timedelta(seconds=LEASE_S))).rowcount
        if taken:
            self._taken_at = self.clock()
        return bool(taken)

    def renew(self) -> None:
        """Renew the lease when a quarter of it has gone (not on every group: a commit each)."""
        if self.clock() - self._taken_at < LEASE_S / 4:
            return
        if not self.take():
            raise Stop(EXIT_PARTIAL, "locked")

    def release(self) -> None:
        with self.recorder.begin() as conn:
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1,
                                              CONFIG.c.lock_owner == self.owner)
                         .values(lock_owner=None, lock_until=None))


def gone(owner: str) -> bool:
    """Whether ``owner`` (host:pid:nonce) was a process of this machine that no longer runs."""
    host, _sep, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
