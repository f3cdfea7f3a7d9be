"""What every service needs: the database, the calendar, a clock, who acts and from where."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ccdesk.domain.errors import PermissionDenied

if TYPE_CHECKING:  # Actor must stay importable without SQLAlchemy (the login screen uses it)
    from ccdesk.domain.calendar import WorkCalendar
    from ccdesk.storage.engine import Database

ROLES = ("officer", "lead", "it", "trainer")

# Permission -> roles that hold it. "lead" adds to "officer"; "trainer" only in a sandbox.
PERMISSIONS: dict[str, frozenset[str]] = {
    "desk": frozenset({"officer", "lead", "trainer"}),
    "extend": frozenset({"lead"}),
    "reports_all": frozenset({"lead", "it"}),
    "catalog": frozenset({"lead", "it"}),
    "calendar": frozenset({"lead", "it"}),
    "settings": frozenset({"it"}),
    "officers": frozenset({"it"}),
    "sync": frozenset({"it"}),
    "backup": frozenset({"it"}),
    "audit": frozenset({"lead", "it"}),
    # Digitised papers (docs/attachments.md): the desk's officers, and IT for bulk digitising.
    "digitise": frozenset({"officer", "lead", "it", "trainer"}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in officer, or the system (CLI run by IT, sync, setup)."""

    officer_id: int | None
    username: str
    role: str

    def can(self, permission: str, *, training: bool = False) -> bool:
        if self.role == "trainer" and not training:
            return False
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str, *, training: bool = False) -> None:
        if not self.can(permission, training=training):
            raise PermissionDenied("core.err.permission", role=self.role,
                                   permission=permission)


SYSTEM = Actor(officer_id=None, username="system", role="it")


def detect_terminal(env: dict[str, str] | None = None) -> str:
    """The terminal an action came from: the SSH client's address when present, else the tty."""
    env = dict(os.environ) if env is None else env
    ssh = env.get("SSH_CLIENT") or env.get("SSH_CONNECTION")
    if ssh:
        return "ssh:" + ssh.split()[0]
    try:
        return os.ttyname(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        return "local"


@dataclass
class DeskContext:
    db: Database
    calendar: WorkCalendar
    clock: Callable[[], datetime] = datetime.now
    terminal: str = field(default_factory=detect_terminal)

    def now(self) -> datetime:
        """Local wall-clock time to the second (forms print hours and minutes)."""
        return self.clock().replace(microsecond=0)
