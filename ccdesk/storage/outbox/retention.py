"""Dropping acknowledged outbox rows after a retention window (SF-SERVER-RESTORED,
docs/design/sync-failures.md).

The desk keeps acknowledged rows for ``sync_retention_days`` (config; default 90; 0 keeps them
forever) so that a district server restored from an older backup can be sent again what it
lost; after the window they are deleted. Without this the outbox grows forever (≈ 2.5 kB of
payload per dossier).

What may be pruned: a row the server acknowledged (stored ``acked``, or stored ``pending``
inside an ``outbox_acked`` range; never waiting, in flight, quarantined or in conflict) that no
span of ``outbox_ack_log`` acknowledged inside the window covers. The window is measured from
the acknowledgement, not from the row's creation: a commune offline for four months sends rows
that are already four months old, and those are exactly the ones a district backup taken
before the push does not have. Times are the server's clock as the desk measured it (see
:func:`retention_now`). A trigger (``outbox_keep_unacked``) refuses to delete any row the
server has not acknowledged, whatever the code around it does.

How: in chunks of :data:`CHUNK_ROWS` rows, each its own write transaction, so the desk's intake
waits at most one chunk, and a ``kill -9`` loses at most the chunk in progress (rolled back
whole: its rows are still there). The deleted seqs are kept as runs in ``outbox_pruned``.

When the server later shows it lost seqs (``/hello``: new epoch, or ``received_through_seq``
below what the desk acknowledged) some of which were pruned, the desk cannot send them again:
:func:`note_lost` marks those runs, and the run ends with "needs a human" (40) naming them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlmodel import Session

from ccdesk.storage import crashpoint
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.write import utcnow

if TYPE_CHECKING:
    from ccdesk.storage.engine import Database

DEFAULT_DAYS = 90      # as ccdesk.config.Config.sync_retention_days (a test keeps them equal)
# Rows per transaction: 2,000 rows take ≈ 20 ms (the longest 0.1-0.9 s on the shared development
# machine), far below the 15 s a desk's intake waits for the write lock, while the per-commit
# fsync stays a small share of the work (bench/prune.py).
CHUNK_ROWS = 2000
# A pause after each transaction: without it the next one takes the write lock again before a
# waiting intake's busy handler wakes up, and that intake can starve for seconds (bench/prune.py:
# a concurrent writer's longest wait 0.7-6.7 s without, 0.2-1.0 s with 10 ms). Only a backlog
# pays it; a day's worth of rows is one transaction.
PAUSE_S = 0.01
MAX_SEQ = outbox.MAX_SEQ

Interval = tuple[int, int]


@dataclass
class PruneResult:
    """What one prune did (or, with ``dry_run``, would do); ``to_json`` is ``sync prune --json``."""

    window_days: int
    dry_run: bool = False
    cutoff: str | None = None          # acknowledged before this (UTC, server clock) = prunable
    rows: int = 0
    bytes: int = 0                     # payload bytes; the file keeps its size (see docs/sync.md)
    first_seq: int | None = None
    last_seq: int | None = None
    chunks: int = 0
    longest_chunk_s: float = 0.0       # longest hold of the write lock, commit included
    complete: bool = True              # False: stopped early (time limit); the rest waits
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def retention_now(session: Session, desk_now: datetime | None = None) -> datetime:
    """"Now" for the window: the earlier of the desk's clock and the server's as last measured
    (desk clock + the offset from the last ``/hello``).

    Acknowledgements are stamped in the server's clock (``outbox._log_ack``). Taking the earlier
    of the two here means a clock that is fixed after the offset was measured prunes less, not
    more: a dead CMOS battery put it in 2000, the offset said +26 years, and once the date is
    set right desk clock + offset would be 2052. Left uncaught: a clock moved forward since the
    last ``/hello``, then a prune before the next one (``sync run`` says hello first)."""
    desk_now = desk_now or utcnow()
    return min(desk_now, desk_now + timedelta(seconds=outbox.clock_offset(session)))


def prune(db: Database, window_days: int, *, now: datetime | None = None,
          chunk_rows: int = CHUNK_ROWS, dry_run: bool = False,
          should_stop: Callable[[], bool] | None = None,
          pause_s: float = PAUSE_S) -> PruneResult:
    """Delete (or with ``dry_run`` only count) the rows acknowledged more than ``window_days``
    ago. ``now`` is the desk's clock (tests); ``should_stop`` ends it between chunks (a run's
    time limit). Call with the sync lock held, or alone: each chunk re-reads the state in its
    own transaction, so a run settling or re-sending rows meanwhile is never contradicted."""
    result = PruneResult(window_days=window_days, dry_run=dry_run)
    if window_days <= 0:
        return result                       # 0 = keep forever
    started = time.monotonic()
    with db.session() as session:
        cutoff = retention_now(session, now) - timedelta(days=window_days)
    result.cutoff = cutoff.isoformat() + "Z"
    if dry_run:
        with db.session() as session:
            _count(session, cutoff, result)
        result.seconds = round(time.monotonic() - started, 3)
        return result
    after = 0
    while True:
        if should_stop is not None and should_stop():
            result.complete = False
            break
        done, locked_at = db.write(lambda s, a=after: _locked_chunk(s, cutoff, a, chunk_rows))
        if done is None:
            break
        result.longest_chunk_s = max(result.longest_chunk_s, time.monotonic() - locked_at)
        crashpoint.crash_point("prune_after_chunk")
        if pause_s:
            time.sleep(pause_s)
        count, nbytes, first, last = done
        result.chunks += 1
        result.rows += count
        result.bytes += nbytes
        result.first_seq = first if result.first_seq is None else result.first_seq
        result.last_seq = last
        after = last
    if result.complete:
        # Spans acknowledged before the cutoff now protect nothing: every row only they
        # covered is gone. Only after a complete pass, so a row a stopped prune left behind
        # keeps its span until a later prune deletes it.
        db.write(lambda s: _forget_old_spans(s, cutoff))
    result.longest_chunk_s = round(result.longest_chunk_s, 4)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def note_lost(session: Session, through: int, now: datetime | None = None) -> list[Interval]:
    """The server holds this device's seqs only up to ``through`` (restored from a backup):
    mark the pruned runs beyond it lost and return them (they can no longer be sent)."""
    now = now or utcnow()
    lost: list[Interval] = []
    for first, last, pruned_at in _sql(session, "SELECT first_seq, last_seq, pruned_at "
                                       "FROM outbox_pruned WHERE lost_at IS NULL AND "
                                       "last_seq > ? ORDER BY first_seq", (through,)).fetchall():
        if first <= through:
            _sql(session, "UPDATE outbox_pruned SET last_seq = ? WHERE first_seq = ?",
                 (through, first))
            _sql(session, "INSERT INTO outbox_pruned (first_seq, last_seq, pruned_at, lost_at) "
                 "VALUES (?, ?, ?, ?)", (through + 1, last, pruned_at, now.isoformat(" ")))
            first = through + 1
        else:
            _sql(session, "UPDATE outbox_pruned SET lost_at = ? WHERE first_seq = ?",
                 (now.isoformat(" "), first))
        lost.append((first, last))
    return lost


def describe(ranges: list[Interval], limit: int = 5) -> str:
    """``120–480, 600`` for messages (at most ``limit`` ranges, then ``…``)."""
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in ranges[:limit]]
    return ", ".join(parts) + (", …" if len(ranges) > limit else "")


# ---- internals -----------------------------------------------------------------------------
def _sql(session: Session, sql: str, params: Any = ()) -> Any:
    return session.connection().exec_driver_sql(sql, params)


def _spans(session: Session, cutoff: datetime) -> tuple[list[Interval], list[int]]:
    """Merged seq spans acknowledged at or after ``cutoff`` (protected), and the ids of the
    log rows older than it."""
    protected: list[Interval] = []
    old: list[int] = []
    for row_id, first, last, at in _sql(session, "SELECT id, first_seq, last_seq, acked_at "
                                        "FROM outbox_ack_log").fetchall():
        when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        if when >= cutoff:
            protected.append((first, last))
        else:
            old.append(row_id)
    merged: list[Interval] = []
    for first, last in sorted(protected):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged, old


def _minus(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``intervals`` without the seqs in ``holes`` (both sorted and disjoint)."""
    out: list[Interval] = []
    for lo, hi in intervals:
        for h_lo, h_hi in holes:
            if h_hi < lo or h_lo > hi:
                continue
            if h_lo > lo:
                out.append((lo, h_lo - 1))
            lo = h_hi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return out


def _where(session: Session, cutoff: datetime, after: int) -> list[tuple[str, Interval]]:
    """Where prunable rows may be, as ``(stored state, seq interval)``, in seq order: stored
    ``pending`` rows inside acknowledged ranges, and rows stored ``acked`` anywhere, each
    outside the spans acknowledged inside the window and after seq ``after``."""
    protected, _old = _spans(session, cutoff)
    acked = [(max(a, after + 1), b) for a, b in outbox.acked_ranges(session).items if b > after]
    pending = _minus(acked, protected)
    per_row = _minus([(after + 1, MAX_SEQ)], protected)
    return [(outbox.PENDING, i) for i in pending] + [(outbox.ACKED, i) for i in per_row]


def _locked_chunk(session: Session, cutoff: datetime, after: int,
                  limit: int) -> tuple[tuple[int, int, int, int] | None, float]:
    """One chunk, and when its transaction got the write lock: the time until the commit is
    done is how long the desk's other writers are kept waiting by it."""
    session.connection()                      # BEGIN IMMEDIATE: the write lock is ours here
    locked_at = time.monotonic()
    return _prune_chunk(session, cutoff, after, limit), locked_at


def _prune_chunk(session: Session, cutoff: datetime, after: int,
                 limit: int) -> tuple[int, int, int, int] | None:
    """Delete up to ``limit`` prunable rows after seq ``after``, the lowest seqs first."""
    found: list[tuple[int, int]] = []
    budget = {outbox.PENDING: limit, outbox.ACKED: limit}
    for state, (lo, hi) in _where(session, cutoff, after):
        if budget[state] <= 0:
            continue                         # the lowest ``limit`` of this state are in hand
        # One walk of the (state, device_seq) index over one interval.
        rows = _sql(session, "SELECT device_seq, length(CAST(payload AS BLOB)) FROM outbox "
                    "WHERE state = ? AND device_seq BETWEEN ? AND ? ORDER BY device_seq "
                    "LIMIT ?", (state, lo, hi, budget[state])).fetchall()
        budget[state] -= len(rows)
        found += rows
    if not found:
        return None
    found = sorted(found)[:limit]
    seqs = [seq for seq, _n in found]
    deleted = _sql(session, "DELETE FROM outbox WHERE device_seq IN "
                   "(SELECT value FROM json_each(?))", (orjson.dumps(seqs).decode(),)).rowcount
    if deleted != len(seqs):                 # cannot happen inside one transaction; never guess
        raise RuntimeError(f"prune deleted {deleted} of {len(seqs)} rows")
    _record_runs(session, seqs)
    crashpoint.crash_point("prune_in_chunk")   # before the commit: the chunk must roll back
    return len(seqs), sum(n or 0 for _s, n in found), seqs[0], seqs[-1]


def _record_runs(session: Session, seqs: list[int]) -> None:
    """Add the deleted ``seqs`` to ``outbox_pruned`` as runs of consecutive seqs, joined to a
    run that ends right before or starts right after (never to one the server lost)."""
    runs: list[list[int]] = []
    for seq in seqs:
        if runs and seq == runs[-1][1] + 1:
            runs[-1][1] = seq
        else:
            runs.append([seq, seq])
    stamp = utcnow().isoformat(" ")
    for first, last in runs:
        before = _sql(session, "SELECT first_seq, last_seq, lost_at FROM outbox_pruned "
                      "WHERE first_seq < ? ORDER BY first_seq DESC LIMIT 1", (first,)).fetchone()
        after = _sql(session, "SELECT last_seq, lost_at FROM outbox_pruned WHERE first_seq = ?",
                     (last + 1,)).fetchone()
        if after is not None and after[1] is None:
            _sql(session, "DELETE FROM outbox_pruned WHERE first_seq = ?", (last + 1,))
            last = after[0]
        if before is not None and before[1] == first - 1 and before[2] is None:
            _sql(session, "UPDATE outbox_pruned SET last_seq = ? WHERE first_seq = ?",
                 (last, before[0]))
        else:
            _sql(session, "INSERT INTO outbox_pruned (first_seq, last_seq, pruned_at) "
                 "VALUES (?, ?, ?)", (first, last, stamp))


def _count(session: Session, cutoff: datetime, result: PruneResult) -> None:
    for state, (lo, hi) in _where(session, cutoff, 0):
        count, nbytes, first, last = _sql(
            session, "SELECT COUNT(*), SUM(length(CAST(payload AS BLOB))), MIN(device_seq), "
            "MAX(device_seq) FROM outbox WHERE state = ? AND device_seq BETWEEN ? AND ?",
            (state, lo, hi)).fetchone()
        if count:
            result.rows += count
            result.bytes += nbytes or 0
            result.first_seq = first if result.first_seq is None else min(result.first_seq,
                                                                           first)
            result.last_seq = last if result.last_seq is None else max(result.last_seq, last)


def _forget_old_spans(session: Session, cutoff: datetime) -> None:
    _protected, old = _spans(session, cutoff)
    for start in range(0, len(old), 500):
        chunk = old[start:start + 500]
        _sql(session, f"DELETE FROM outbox_ack_log WHERE id IN ({', '.join('?' * len(chunk))})",
             tuple(chunk))
