"""Pulling the upstream's changes for this commune (docs/sync.md, "Client behaviour").

Each page of changes is checked (sync/replies.py) and applied in one transaction with the
cursor move; the transaction's work returns what it applied, and the run's counters move after
the commit. Cursors only move forward, except the resync the server asks for (410).
"""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session

from ccdesk.services.context import DeskContext
from ccdesk.storage.outbox.write import utcnow
from sync import replies
from sync.client import GONE, SyncFailure
from sync.inbox import apply_change
from sync.link import Link
from sync.outcome import RunResult, StopRun
from sync.state import SyncState


def pull(link: Link, ctx: DeskContext, cursor: int, result: RunResult) -> None:
    """Apply every change after ``cursor``, page by page."""
    resynced = False
    while True:
        try:
            page = link.call(lambda c=cursor: link.client.changes(c), "changes",
                             lambda reply, c=cursor: replies.changes(reply.data, c))
        except StopRun:
            raise
        except SyncFailure as failure:
            if failure.kind == GONE and not resynced:
                cursor, resynced = 0, True   # the server lost our cursor: start over
                continue
            raise link.stop_for(failure) from failure

        def work(session: Session, page: replies.Changes = page,
                 reset: bool = resynced) -> Counter[str]:
            outcomes = Counter(apply_change(session, ctx, change) for change in page.changes)
            row = session.get(SyncState, 1)
            row.pull_cursor = page.cursor if reset else max(row.pull_cursor, page.cursor)
            row.last_success_at = utcnow()
            session.add(row)
            return outcomes

        outcomes = link.db.write(work)
        result.pulled += outcomes["applied"]
        result.pull_conflicts += outcomes["conflict"]
        cursor = page.cursor
        if not page.more:
            break
