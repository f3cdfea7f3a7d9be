"""State transitions of outbox rows, which the sync engine drives (docs/sync.md, "Client storage").

``pending → in_flight → acked | conflict | quarantined``; ``in_flight → pending`` at start
after a crash (SF-STUCK-IN-FLIGHT); ``acked → pending`` when the server lost them
(SF-SERVER-RESTORED). A row is acked only on a per-record result from the server or a signed
ack file (SF-EARLY-ACK). Payloads are never touched (a trigger forbids it).

How states are stored (migration ``0005_outbox_ranges``): a batch in
flight is one ``outbox_in_flight`` row (its seq range), and acknowledged rows are
``outbox_acked`` seq ranges over rows whose stored state stays ``pending``. Only held rows
(quarantined, conflict) and rows a person settles get a state of their own. A push of
thousands of rows therefore writes a few small rows per batch instead of rewriting every
outbox row (payload included) twice, and a crash needs no per-row repair: dropping the in-flight
ranges puts their rows back in the queue.

Invariants of the ranges: ``outbox_acked`` ranges are disjoint; every stored-pending row inside
one was acknowledged by a per-record result; a row released from quarantine or re-sent after a
server restore is cut out of them. In-flight ranges are disjoint and never overlap an
acknowledged one (a batch takes only rows outside both).

Retention (migration ``0006_outbox_retention``, :mod:`.retention`): every settle that
acknowledges rows also notes their seq span and the time in ``outbox_ack_log``; acknowledged
rows older than the window may be deleted, and ``outbox_pruned`` keeps which seqs were. A range
may therefore describe seqs whose rows are gone: every reader here counts or reads the rows it
finds, so counts stay right, and :func:`max_acked_seq` adds the pruned runs back.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from ccdesk.models import Outbox
from ccdesk.storage.outbox.sql import (
    ACKED_COUNT_SQL,
    HELD_COUNTS_SQL,
    IN_FLIGHT_COUNT_SQL,
    OLDEST_UNSYNCED_SQL,
    UNSYNCED_COUNT_SQL,
)
from ccdesk.storage.outbox.write import utcnow

PENDING, IN_FLIGHT, ACKED = "pending", "in_flight", "acked"
CONFLICT, QUARANTINED = "conflict", "quarantined"
STATES = (PENDING, IN_FLIGHT, ACKED, CONFLICT, QUARANTINED)
HELD = (CONFLICT, QUARANTINED)
MAX_SEQ = 9223372036854775807

T = Outbox.__table__


class OutboxRow(NamedTuple):
    """What a batch needs of one row. A tuple, not a dataclass: a push reads thousands of
    rows, and a frozen dataclass costs more to build than the row costs to read."""

    seq: int
    mutation_id: str
    op: str
    entity_id: str
    client_time: str              # as stored (UTC); sent verbatim, never used for ordering
    payload: bytes                # the canonical JSON's UTF-8 bytes, as hashed and as sent
    payload_sha256: str

    @property
    def intact(self) -> bool:
        """The stored payload still hashes to its digest (disk damage shows here, not upstream)."""
        return hashlib.sha256(self.payload).hexdigest() == self.payload_sha256


class Ranges:
    """Sorted disjoint ``(first, last)`` seq ranges with a membership test."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        self.items = sorted((int(a), int(b)) for a, b in ranges)
        self._firsts = [a for a, _b in self.items]

    def find(self, seq: int) -> int | None:
        """Index of the range holding ``seq``, or None."""
        i = bisect_right(self._firsts, seq) - 1
        return i if i >= 0 and self.items[i][1] >= seq else None

    def __contains__(self, seq: int) -> bool:
        return self.find(seq) is not None


def _sql(session: Session, sql: str, params: Sequence[Any] | list[Sequence[Any]] = ()) -> Any:
    return session.connection().exec_driver_sql(sql, params)


def _fetch(session: Session, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Plain tuples straight from the driver's cursor, in the session's transaction: for the
    thousands of rows of a batch, SQLAlchemy's per-row result objects cost more than the read."""
    cursor = session.connection().connection.cursor()
    try:
        return cursor.execute(sql, params).fetchall()
    finally:
        cursor.close()


# The payload as its stored UTF-8 bytes (what its digest covers and what a batch embeds),
# without decoding it to text and encoding it back twice; a database in another text encoding
# (never one ccdesk creates) reads it as text and encodes it.
_PENDING_SQL = ("SELECT device_seq, mutation_id, op, entity_id, client_time, {payload}, "
                "payload_sha256 FROM outbox WHERE state = 'pending' AND device_seq > ? "
                "AND device_seq < ? ORDER BY device_seq LIMIT ?")


def _pending_sql(session: Session) -> tuple[str, bool]:
    """The statement reading waiting rows, and whether it returns payloads as bytes."""
    utf8 = str(_sql(session, "PRAGMA encoding").scalar()).upper() == "UTF-8"
    return _PENDING_SQL.format(payload="CAST(payload AS BLOB)" if utf8 else "payload"), utf8


def acked_ranges(session: Session) -> Ranges:
    return Ranges(_sql(session, "SELECT first_seq, last_seq FROM outbox_acked").fetchall())


def in_flight_ranges(session: Session) -> Ranges:
    return Ranges(_sql(session, "SELECT first_seq, last_seq FROM outbox_in_flight").fetchall())


def recover_in_flight(session: Session) -> int:
    """Return rows a crashed run left in flight to pending (call with the sync lock held)."""
    returned = _sql(session, "SELECT COALESCE(SUM(records), 0) FROM outbox_in_flight").scalar()
    _sql(session, "DELETE FROM outbox_in_flight")
    # Rows marked one by one before migration 0005.
    legacy = session.connection().execute(
        update(T).where(T.c.state == IN_FLIGHT).values(state=PENDING, batch_id=None))
    return int(returned or 0) + (legacy.rowcount or 0)


def pending_rows(session: Session, limit: int, after_seq: int = 0, *,
                 one_gap: bool = False) -> list[OutboxRow]:
    """The oldest waiting rows in device-seq order (never ordered by the client clock,
    SF-WRONG-CLOCK): stored-pending rows outside every acknowledged and in-flight range.

    The ranges are few, so this reads gap by gap (one index seek each) instead of filtering a
    million acknowledged rows; plain driver SQL, because the rows go straight into a batch.
    ``one_gap`` stops at the first range after the first row: rows for batches, whose seq
    range must hold only their own rows (and held ones), never another range's."""
    covered = sorted(acked_ranges(session).items + in_flight_ranges(session).items)
    sql, as_bytes = _pending_sql(session)
    out: list[OutboxRow] = []
    lo = after_seq
    for first, last in [*covered, (MAX_SEQ, MAX_SEQ)]:
        if last <= lo:
            continue
        if first > lo + 1:
            rows = _fetch(session, sql, (lo, first, limit - len(out)))
            if as_bytes:
                out.extend(map(OutboxRow._make, rows))
            else:
                out.extend(OutboxRow(*row[:5], row[5].encode(), row[6]) for row in rows)
            if len(out) >= limit or (one_gap and out):
                break
        lo = max(lo, last)
    return out


def mark_in_flight(session: Session, seqs: list[int], batch_id: str) -> None:
    """Rows about to be sent in ``batch_id`` (a crash leaves them so until the next start).

    ``seqs`` come from one gap of :func:`pending_rows`: the range holds exactly them and rows
    with a state of their own. (A held row released while the batch flies reads as in flight
    until the batch is answered; it is not in the batch, so it stays waiting after.)"""
    _sql(session, "INSERT INTO outbox_in_flight (batch_id, first_seq, last_seq, records, at) "
         "VALUES (?, ?, ?, ?, ?)", (batch_id, min(seqs), max(seqs), len(seqs),
                                     utcnow().isoformat(" ")))


def back_to_pending(session: Session, batch_id: str) -> None:
    """The batch's outcome is unknown or failed: its rows go back to the queue."""
    _sql(session, "DELETE FROM outbox_in_flight WHERE batch_id = ?", (batch_id,))


def note_error(session: Session, seqs: list[int], error: str) -> None:
    """Keep why these waiting rows were not acknowledged (rare: e.g. no result for them)."""
    session.connection().execute(
        update(T).where(T.c.device_seq.in_(seqs), T.c.state == PENDING).values(last_error=error))


def settle(session: Session, outcomes: Iterable[tuple[int, str, str]],
           now: datetime | None = None, batch_id: str | None = None) -> dict[str, int]:
    """Apply per-record outcomes ``(seq, state, reason)``; returns counts by new state.

    Rows acked without a reason become ranges (no row is rewritten); held rows and rows a
    person settled (a reason) get their state per row. ``batch_id`` ends that batch's flight
    in the same transaction."""
    now = now or utcnow()
    outcomes = list(outcomes)
    acked = [seq for seq, state, reason in outcomes if state == ACKED and not reason]
    others = [{"s": seq, "st": state, "err": reason, "at": now if state == ACKED else None}
              for seq, state, reason in outcomes if state != ACKED or reason]
    if others:
        # First, so a quarantined row inside the batch no longer counts as waiting there.
        session.connection().execute(
            update(T).where(T.c.device_seq == bindparam("s"))
            .values(state=bindparam("st"), last_error=bindparam("err"),
                    acked_at=bindparam("at")), others)
    if acked:
        per_row = _ack_ranges(session, acked, now)
        if per_row:
            for start in range(0, len(per_row), 500):
                session.connection().execute(
                    update(T).where(T.c.device_seq.in_(per_row[start:start + 500]))
                    .values(state=ACKED, last_error="", acked_at=now))
    acked_now = acked + [p["s"] for p in others if p["st"] == ACKED]
    if acked_now:
        _log_ack(session, min(acked_now), max(acked_now), now)
    if batch_id is not None:
        back_to_pending(session, batch_id)
    counts: dict[str, int] = {ACKED: len(acked)} if acked else {}
    for p in others:
        counts[p["st"]] = counts.get(p["st"], 0) + 1
    return counts


def clock_offset(session: Session) -> float:
    """The server's clock minus the desk's, as measured at the last ``/hello`` (0 if never)."""
    return float(_sql(session, "SELECT clock_offset_s FROM sync_state WHERE id = 1").scalar()
                 or 0.0)


def _log_ack(session: Session, first: int, last: int, now: datetime) -> None:
    """Note that rows in ``first..last`` were acknowledged at ``now`` (for the retention window).

    The time is the server's clock as last measured (desk clock + offset), not the desk's own:
    a desk whose clock fell back to 2000 after a power cut would otherwise stamp fresh
    acknowledgements 26 years old, and prune them as soon as the clock is fixed
    (SF-WRONG-CLOCK). A span that follows the newest one on the same day joins it, so the
    log stays about a row a day; the joined span may cover rows acknowledged earlier that
    day, which only keeps them longer."""
    stamp = now + timedelta(seconds=clock_offset(session))
    newest = _sql(session, "SELECT id, first_seq, last_seq, acked_at FROM outbox_ack_log "
                  "ORDER BY id DESC LIMIT 1").fetchone()
    if newest is not None and first > newest[2] and _when(newest[3]).date() == stamp.date():
        _sql(session, "UPDATE outbox_ack_log SET last_seq = ?, acked_at = ? WHERE id = ?",
             (last, max(stamp, _when(newest[3])).isoformat(" "), newest[0]))
        return
    _sql(session, "INSERT INTO outbox_ack_log (first_seq, last_seq, acked_at) VALUES (?, ?, ?)",
         (first, last, stamp.isoformat(" ")))


def _when(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _ack_ranges(session: Session, seqs: list[int], now: datetime) -> list[int]:
    """Acknowledge ``seqs`` by range; returns those that need a per-row state instead (rows
    not stored as pending, e.g. an ack file for a row held meanwhile).

    A range runs over consecutive waiting rows that are all acknowledged: a waiting row
    without a result (or released meanwhile) ends it, so it is never covered."""
    acked = sorted(set(seqs))
    stored_pending = [r[0] for r in _fetch(
        session, "SELECT device_seq FROM outbox WHERE state = 'pending' "
        "AND device_seq BETWEEN ? AND ? ORDER BY device_seq", (acked[0], acked[-1]))]
    # Only the ranges that meet this span can hold one of its rows.
    covered = Ranges(r for r in acked_ranges(session).items
                     if r[0] <= acked[-1] and r[1] >= acked[0])
    if stored_pending == acked and not covered.items:
        # A batch's usual answer: every waiting row of its span acknowledged, none before.
        runs = [(acked[0], acked[-1])]
        per_row: list[int] = []
    else:
        runs, per_row = _runs(stored_pending, acked, covered)
    if runs:
        stamp = now.isoformat(" ")
        for first, end in runs:
            # Both ends are outside every range, so any range meeting this one lies inside it.
            _sql(session, "DELETE FROM outbox_acked WHERE first_seq BETWEEN ? AND ?",
                 (first, end))
        _sql(session, "INSERT INTO outbox_acked (first_seq, last_seq, acked_at) "
             "VALUES (?, ?, ?)", [(first, end, stamp) for first, end in runs])
        _merge(session, runs)
    return per_row


def _runs(stored_pending: list[int], acked: list[int],
          covered: Ranges) -> tuple[list[tuple[int, int]], list[int]]:
    """The new acknowledged ranges over ``stored_pending`` (sorted) for ``acked``, and the
    acked seqs that are not stored pending (they need a per-row state)."""
    pending_set = set(stored_pending)
    per_row = [seq for seq in acked if seq not in pending_set]
    wanted = set(acked)
    runs: list[tuple[int, int]] = []
    start = last = None
    for seq in stored_pending:
        if seq in covered:
            continue                      # acknowledged before: nothing to do
        if seq in wanted:
            if start is None:
                start = seq
            last = seq
        elif start is not None:
            runs.append((start, last))
            start = None
    if start is not None:
        runs.append((start, last))
    return runs, per_row


def _merge(session: Session, touched: list[tuple[int, int]]) -> None:
    """Join each new range with its neighbours when no waiting row lies between them, so the
    table stays a handful of rows (usually one) however many batches were sent."""
    new = {first for first, _last in touched}
    current = acked_ranges(session).items
    merged: list[tuple[int, int]] = []
    for first, last in current:
        if merged:
            p_first, p_last = merged[-1]
            if (first in new or p_first in new) and (
                    first == p_last + 1 or not _waiting_between(session, p_last, first)):
                merged[-1] = (p_first, last)
                new.add(p_first)
                continue
        merged.append((first, last))
    if len(merged) < len(current):
        _replace_ranges(session, merged)


def _waiting_between(session: Session, after: int, before: int) -> bool:
    return bool(_sql(session, "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' "
                     "AND device_seq > ? AND device_seq < ?)", (after, before)).scalar())


def _replace_ranges(session: Session, ranges: list[tuple[int, int]]) -> None:
    stamps = dict(_sql(session, "SELECT first_seq, acked_at FROM outbox_acked").fetchall())
    latest = max(stamps.values()) if stamps else utcnow().isoformat(" ")
    _sql(session, "DELETE FROM outbox_acked")
    if ranges:
        _sql(session, "INSERT INTO outbox_acked (first_seq, last_seq, acked_at) "
             "VALUES (?, ?, ?)",
             [(first, last, stamps.get(first, latest)) for first, last in ranges])


def _cut(session: Session, seqs: Iterable[int]) -> None:
    """Take ``seqs`` out of the acknowledged ranges (they are waiting again)."""
    items = acked_ranges(session).items
    hit = False
    for seq in sorted(set(seqs)):
        i = Ranges(items).find(seq)
        if i is None:
            continue
        first, last = items[i]
        items[i:i + 1] = [r for r in ((first, seq - 1), (seq + 1, last)) if r[0] <= r[1]]
        hit = True
    if hit:
        _replace_ranges(session, items)


def quarantine(session: Session, seq: int, reason: str) -> None:
    """Hold one row with its reason; the rest of the queue goes on (SF-POISON-RECORD)."""
    session.connection().execute(
        update(T).where(T.c.device_seq == seq).values(state=QUARANTINED, last_error=reason))


def release(session: Session, seqs: list[int] | None = None) -> int:
    """A person asks to retry quarantined rows (all, or the given seqs)."""
    sql = "SELECT device_seq FROM outbox WHERE state = 'quarantined'"
    params: tuple[int, ...] = ()
    if seqs:
        sql += f" AND device_seq IN ({', '.join('?' * len(seqs))})"
        params = tuple(seqs)
    released = [r[0] for r in _sql(session, sql, params)]
    if not released:
        return 0
    for start in range(0, len(released), 500):
        session.connection().execute(
            update(T).where(T.c.device_seq.in_(released[start:start + 500]))
            .values(state=PENDING, last_error=""))
    _cut(session, released)   # a merged range may span a held row: it must not cover it now
    return len(released)


def resend_after(session: Session, server_seq: int) -> int:
    """The server lost rows past ``server_seq`` (restored from a backup): send them again
    (SF-SERVER-RESTORED)."""
    by_range = _sql(session, "SELECT COALESCE(SUM((SELECT COUNT(*) FROM outbox o "
                    "WHERE o.state = 'pending' AND o.device_seq BETWEEN MAX(a.first_seq, ?) "
                    "AND a.last_seq)), 0) FROM outbox_acked a WHERE a.last_seq > ?",
                    (server_seq + 1, server_seq)).scalar()
    _sql(session, "DELETE FROM outbox_acked WHERE first_seq > ?", (server_seq,))
    _sql(session, "UPDATE outbox_acked SET last_seq = ? WHERE last_seq > ?",
         (server_seq, server_seq))
    per_row = session.connection().execute(
        update(T).where(T.c.state == ACKED, T.c.device_seq > server_seq)
        .values(state=PENDING, acked_at=None, batch_id=None)).rowcount or 0
    return int(by_range or 0) + per_row


def counts_by_state(session: Session) -> dict[str, int]:
    """Rows per effective state, every state present (zero when empty)."""
    out = dict.fromkeys(STATES, 0)
    unsynced = _sql(session, UNSYNCED_COUNT_SQL).scalar() or 0
    out[IN_FLIGHT] = _sql(session, IN_FLIGHT_COUNT_SQL).scalar() or 0
    out[PENDING] = unsynced - out[IN_FLIGHT]
    out[ACKED] = _sql(session, ACKED_COUNT_SQL).scalar() or 0
    out.update({state: n for state, n in _sql(session, HELD_COUNTS_SQL)})
    return out


def oldest_pending_time(session: Session) -> datetime | None:
    """Client time (UTC) of the oldest row still waiting, for the age shown in status."""
    value = _sql(session, OLDEST_UNSYNCED_SQL).scalar()
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def max_acked_seq(session: Session) -> int:
    """The highest acknowledged seq (compared with the server's view in ``/hello``), counting
    rows pruned after the retention window: the server must still have them, and if it says it
    does not, the desk has to notice (:func:`.retention.note_lost`)."""
    best = max(
        _sql(session, "SELECT MAX(device_seq) FROM outbox WHERE state = 'acked'").scalar() or 0,
        _sql(session, "SELECT MAX(last_seq) FROM outbox_pruned WHERE lost_at IS NULL").scalar()
        or 0)
    for first, last in reversed(acked_ranges(session).items):
        if last <= best:
            break
        top = _sql(session, "SELECT MAX(device_seq) FROM outbox WHERE state = 'pending' "
                   "AND device_seq BETWEEN ? AND ?", (first, last)).scalar()
        if top:
            return max(best, top)
    return best


def states_of(session: Session, seqs: Iterable[int]) -> dict[int, str]:
    """The effective state of each of ``seqs`` that exists."""
    seqs = list(seqs)
    if not seqs:
        return {}
    acked, flying = acked_ranges(session), in_flight_ranges(session)
    out: dict[int, str] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        for seq, state in _sql(session, "SELECT device_seq, state FROM outbox WHERE device_seq "
                               f"IN ({', '.join('?' * len(chunk))})", tuple(chunk)):
            if state == PENDING and seq in acked:
                state = ACKED
            elif state == PENDING and seq in flying:
                state = IN_FLIGHT
            out[seq] = state
    return out


def listed(session: Session, state: str, limit: int = 200) -> list[Outbox]:
    """Held rows in one state, oldest first (for ``sync quarantine`` and ``sync conflicts``)."""
    if state not in HELD:
        raise ValueError(f"only held states are stored per row: {state!r}")
    return list(session.exec(select(Outbox).where(Outbox.state == state)
                             .order_by(Outbox.device_seq).limit(limit)).all())
