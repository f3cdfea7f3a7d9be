"""Listing and settling conflicts (SF-LOST-CONFLICT): a person decides, nothing is overwritten
silently.

* A **pull** conflict is an upstream change for a dossier the desk has moved on since. Taking
  ``upstream`` applies it now (with its ``upstream_update`` event); taking ``local`` keeps the
  desk's state, and the next push carries it (the server sees the desk has read the change).
* A **push** conflict is a desk event the district refused to apply over its own change. The
  mutation is stored upstream either way, so the outbox row becomes acked. Taking ``upstream``
  leaves the district's state there; taking ``local`` records a ``keep_local`` event (from the
  district's state to the desk's) whose mutation the next push carries, so the district's
  dossier takes the desk's state. If the district moved again meanwhile, that is a new
  conflict, shown again.
"""

from __future__ import annotations

import orjson
from sqlmodel import Session, select

from ccdesk.domain.lifecycle import Action
from ccdesk.models import Dossier, Outbox
from ccdesk.services.context import SYSTEM, Actor, DeskContext
from ccdesk.services.recording import load_office, record_event
from ccdesk.storage.engine import Database
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.write import utcnow
from sync.inbox import write_upstream_update
from sync.state import SyncConflict


class ConflictError(Exception):
    """No open conflict with that number."""


def open_conflicts(db: Database) -> list[SyncConflict]:
    with db.session() as session:
        return list(session.exec(select(SyncConflict).where(SyncConflict.resolved_at.is_(None))
                                 .order_by(SyncConflict.id)).all())


def resolve_conflict(ctx: DeskContext, conflict_id: int, take: str,
                     actor: Actor = SYSTEM) -> None:
    """Settle one conflict by taking the ``upstream`` or the ``local`` version."""
    if take not in ("upstream", "local"):
        raise ValueError(take)

    def work(session: Session) -> None:
        conflict = session.get(SyncConflict, conflict_id)
        if conflict is None or conflict.resolved_at is not None:
            raise ConflictError(conflict_id)
        if conflict.side == "pull" and take == "upstream":
            dossier = session.exec(select(Dossier).where(
                Dossier.code == conflict.dossier_code)).first()
            if dossier is not None:
                write_upstream_update(session, ctx, dossier, orjson.loads(conflict.detail))
        if conflict.side == "push" and conflict.mutation_id:
            row = session.exec(select(Outbox).where(
                Outbox.mutation_id == conflict.mutation_id)).first()
            if row is not None and row.state == outbox.CONFLICT:
                outbox.settle(session, [(row.device_seq, outbox.ACKED, f"conflict:{take}")])
        if conflict.side == "push" and take == "local":
            _send_desk_state(session, ctx, actor, conflict)
        conflict.resolved_at = utcnow()
        conflict.resolution = take
        session.add(conflict)

    ctx.db.write(work)


def _send_desk_state(session: Session, ctx: DeskContext, actor: Actor,
                     conflict: SyncConflict) -> None:
    """The desk's state goes upstream as an event from the district's state, which the
    district applies (its optimistic check compares the event's starting state with its own)."""
    dossier = session.exec(select(Dossier).where(Dossier.code == conflict.dossier_code)).first()
    if dossier is None or not conflict.upstream_status \
            or conflict.upstream_status == dossier.status:
        return
    record_event(session, ctx, actor, load_office(session), dossier, Action.KEEP_LOCAL.value,
                 from_status=conflict.upstream_status, changes={"status": dossier.status},
                 data={"conflict": conflict.id})
