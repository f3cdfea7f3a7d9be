"""Pulling the upstream's changes for this commune (docs/sync.md, "Client behaviour").

Each page of changes is checked (sync/replies.py) and applied in one transaction with the
cursor move; the transaction's work returns what it applied, and the run's counters move after
the commit. Cursors only move forward, except the resync the server asks for (410).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from ccdesk.services.context import DeskContext
from ccdesk.storage.outbox.write import utcnow
from sync import replies
from sync.client import GONE, SyncFailure
from sync.inbox import apply_change
from sync.link import Link
from sync.outcome import EXIT_HUMAN, RunResult, StopRun
from sync.state import SyncState

# Applies a checked official-schedule payload and says what happened: in a desk run it is
# ``apply_schedule_payload(services, payload, origin="relay")`` (sync/service.py).
ScheduleSink = Callable[[dict[str, Any]], Any]


def pull(link: Link, ctx: DeskContext, cursor: int, result: RunResult,
         on_schedule: ScheduleSink | None = None) -> None:
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
        for change in page.changes:
            if change["kind"] == replies.SCHEDULE_KIND:
                change["outcome"] = apply_schedule(link, change, on_schedule)

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


def apply_schedule(link: Link, change: dict[str, Any], on_schedule: ScheduleSink | None) -> str:
    """Hand an official schedule from the feed to the calendar, in its own transaction before
    the page's: the seam stores and audits a newer edition and rebuilds the running calendar;
    the same edition changes nothing, an older one is ignored (docs/calendar.md). A re-delivery
    after a lost cursor move is therefore harmless. The sync log names editions only."""
    from ccdesk.domain.errors import CcdeskError

    version = change["data"]["version"]
    if on_schedule is None:   # an engine built without the desk's services (tests, tools)
        link.log.write("calendar_schedule", version=version, outcome="not_applied")
        return "not_applied"
    try:
        done = on_schedule(change["data"])
    except CcdeskError as err:   # e.g. the same edition with other content
        detail = f"changes: calendar_schedule {version}: {err.key}"
        link.log.write("bad_upstream_value", detail=detail)
        raise StopRun(EXIT_HUMAN, replies.BadUpstreamValue.code, detail) from err
    outcome = str(done.outcome)
    link.log.write("calendar_schedule", version=version, outcome=outcome,
                   in_force=done.in_force.isoformat())
    return outcome
