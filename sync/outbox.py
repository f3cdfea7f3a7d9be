"""State transitions of outbox rows, owned by sync (sync.md, "Client storage").

``pending → in_flight → acked | conflict | quarantined``; ``in_flight → pending`` at start after a
crash (F7); ``acked → pending`` when the server lost them (F3). A row is acked only on a per-record
result from the server or a signed ack file (F2). Payloads are never touched (a trigger forbids it).
Bulk paths use SQLAlchemy Core: a push may move thousands of rows a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from ccdesk.models import Outbox
from ccdesk.storage.outbox import utcnow

PENDING, IN_FLIGHT, ACKED = "pending", "in_flight", "acked"
CONFLICT, QUARANTINED = "conflict", "quarantined"
STATES = (PENDING, IN_FLIGHT, ACKED, CONFLICT, QUARANTINED)

T = Outbox.__table__


@dataclass(frozen=True)
class OutboxRow:
    """What a batch needs of one row."""

    seq: int
    mutation_id: str
    op: str
    entity_id: str
    client_time: str              # as stored (UTC); sent verbatim, never used for ordering
    payload: str
    payload_sha256: str

    @property
    def intact(self) -> bool:
        """The stored payload still hashes to its digest (disk damage shows here, not upstream)."""
        return hashlib.sha256(self.payload.encode()).hexdigest() == self.payload_sha256


def recover_in_flight(session: Session) -> int:
    """Return rows a crashed run left in flight to pending (call with the sync lock held)."""
    result = session.connection().execute(
        update(T).where(T.c.state == IN_FLIGHT).values(state=PENDING, batch_id=None))
    return result.rowcount or 0


def pending_rows(session: Session, limit: int, after_seq: int = 0) -> list[OutboxRow]:
    """The oldest pending rows in device-seq order (never ordered by the client clock, F12).

    Plain driver SQL: the rows go straight into the batch, and result processing would cost
    more than the query on a push of thousands."""
    rows = session.connection().exec_driver_sql(
        "SELECT device_seq, mutation_id, op, entity_id, client_time, payload, payload_sha256 "
        "FROM outbox WHERE state = 'pending' AND device_seq > ? ORDER BY device_seq LIMIT ?",
        (after_seq, limit)).fetchall()
    return [OutboxRow(*row) for row in rows]


def mark_in_flight(session: Session, seqs: list[int], batch_id: str) -> None:
    """Rows about to be sent in ``batch_id`` (a crash leaves them here until the next start)."""
    session.connection().execute(
        update(T).where(T.c.device_seq.in_(seqs), T.c.state == PENDING)
        .values(state=IN_FLIGHT, batch_id=batch_id, attempts=T.c.attempts + 1))


def back_to_pending(session: Session, seqs: list[int], error: str) -> None:
    """The batch's outcome is unknown or failed: its rows go back to the queue."""
    session.connection().execute(
        update(T).where(T.c.device_seq.in_(seqs), T.c.state == IN_FLIGHT)
        .values(state=PENDING, batch_id=None, last_error=error))


def settle(session: Session, outcomes: Iterable[tuple[int, str, str]],
           now: datetime | None = None) -> dict[str, int]:
    """Apply per-record outcomes ``(seq, state, reason)``; returns counts by new state."""
    now = now or utcnow()
    conn = session.connection()
    acked = [seq for seq, state, reason in outcomes if state == ACKED and not reason]
    others = [{"s": seq, "st": state, "err": reason, "at": now if state == ACKED else None}
              for seq, state, reason in outcomes if state != ACKED or reason]
    # The common case, a whole batch acked, is one statement per 500 rows (not one per row).
    for start in range(0, len(acked), 500):
        conn.execute(update(T).where(T.c.device_seq.in_(acked[start:start + 500]))
                     .values(state=ACKED, last_error="", acked_at=now))
    if others:
        conn.execute(update(T).where(T.c.device_seq == bindparam("s"))
                     .values(state=bindparam("st"), last_error=bindparam("err"),
                             acked_at=bindparam("at")), others)
    counts: dict[str, int] = {ACKED: len(acked)} if acked else {}
    for p in others:
        counts[p["st"]] = counts.get(p["st"], 0) + 1
    return counts


def quarantine(session: Session, seq: int, reason: str) -> None:
    """Hold one row with its reason; the rest of the queue goes on (F6)."""
    session.connection().execute(
        update(T).where(T.c.device_seq == seq).values(state=QUARANTINED, last_error=reason))


def release(session: Session, seqs: list[int] | None = None) -> int:
    """A person asks to retry quarantined rows (all, or the given seqs)."""
    stmt = update(T).where(T.c.state == QUARANTINED)
    if seqs:
        stmt = stmt.where(T.c.device_seq.in_(seqs))
    return session.connection().execute(stmt.values(state=PENDING, last_error="")).rowcount or 0


def resend_after(session: Session, server_seq: int) -> int:
    """The server lost rows past ``server_seq`` (restored from a backup): send them again (F3)."""
    return session.connection().execute(
        update(T).where(T.c.state == ACKED, T.c.device_seq > server_seq)
        .values(state=PENDING, acked_at=None, batch_id=None)).rowcount or 0


def counts_by_state(session: Session) -> dict[str, int]:
    """Rows per state, every state present (zero when empty)."""
    rows = session.connection().execute(
        select(T.c.state, func.count()).group_by(T.c.state)).all()
    out = dict.fromkeys(STATES, 0)
    out.update({state: n for state, n in rows})
    return out


def oldest_pending_time(session: Session) -> datetime | None:
    """Client time (UTC) of the oldest row still waiting, for the age shown in status."""
    return session.connection().execute(
        select(func.min(T.c.client_time)).where(T.c.state.in_((PENDING, IN_FLIGHT)))).scalar()


def max_acked_seq(session: Session) -> int:
    """The highest acknowledged seq (compared with the server's view in ``/hello``)."""
    return session.connection().execute(
        select(func.max(T.c.device_seq)).where(T.c.state == ACKED)).scalar() or 0


def listed(session: Session, state: str, limit: int = 200) -> list[Outbox]:
    """Rows in one state, oldest first (for ``sync quarantine`` and ``sync conflicts``)."""
    from sqlmodel import select as sm_select

    return list(session.exec(sm_select(Outbox).where(Outbox.state == state)
                             .order_by(Outbox.device_seq).limit(limit)).all())
