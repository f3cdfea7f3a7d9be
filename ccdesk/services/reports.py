"""Reports: the desk's counts for today and the II.06a period report.

The period report is one SQL aggregate over ``ix_dossier_facts`` (migration 0010): each dossier's
report facts (the day received, the day and kind of the end of processing, the channel, the day
accepted) are small integers kept by a trigger at every event, so a year of a busy desk is
counted from one narrow index, in group order, without loading a row into Python. A dossier
still running at the end of a period that has ended, whose row has changed since, is judged
from its event history as it stood then (domain: :func:`ccdesk.domain.reports.open_outcome`).
The tests check the aggregate against :func:`ccdesk.domain.reports.classify`, fed by
:func:`load_facts`, dossier by dossier. Times are compared as the text SQLAlchemy stores
(``YYYY-MM-DD HH:MM:SS.ffffff``), which sorts like the datetimes themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import text

from ccdesk.domain.indicators import MAX_SUPPLEMENTS_ON_TIME, Indicators766, OnTime766
from ccdesk.domain.lifecycle import RUNNING_STATUSES, Action, Status
from ccdesk.domain.queue import QueueWait
from ccdesk.domain.reports import (
    CHANNELS,
    EXTENSION_MOVES_DUE,
    Counts,
    DossierFacts,
    ExtensionFacts,
    OfficerSatisfaction,
    Period,
    Satisfaction,
    Step,
)
from ccdesk.services.context import DeskContext
from ccdesk.services.queue import QueueService
from ccdesk.services.search import db_time
from ccdesk.storage.outbox.sql import UNSYNCED_COUNT_SQL

_MOVES = ", ".join(f"'{r}'" for r in sorted(EXTENSION_MOVES_DUE))

# The due time a dossier is judged against today (domain.reports.judged_due): the due time
# before the first extension the rules do not let move it. Extensions are rare, so the
# sub-query only runs for dossiers that have one.
_JUDGED_DUE = f"""CASE WHEN d.extensions > 0 THEN COALESCE(
    (SELECT e.original_due FROM extension e WHERE e.dossier_id = d.id
       AND (d.regime NOT IN ({_MOVES}) OR e.at > e.original_due) ORDER BY e.seq LIMIT 1),
    d.due_at) ELSE d.due_at END"""

# rf_channel (migration 0010) -> channel
CHANNEL_CODES = ("direct", "postal", "online_full", "online_partial")
assert set(CHANNEL_CODES) == set(CHANNELS)


def _iso(expr: str) -> str:
    """An ISO time written by ``datetime.isoformat()`` in event data, as the columns store it."""
    return f"substr(replace({expr}, 'T', ' ') || '.000000', 1, 26)"


# The due time an event set (domain: ccdesk.services.reports.history): a supplement's return,
# an extension, an upstream correction.
_EVENT_DUE = _iso("""CASE e.action WHEN 'supplement_received' THEN json_extract(e.data, '$.due_at')
    WHEN 'extend' THEN json_extract(e.data, '$.new_due')
    WHEN 'upstream_update' THEN json_extract(e.data, '$.changed.due_at') END""")
# As the dossier stood at the period's end (domain.reports.open_outcome), read from its events:
# the status after the last event before the end, and the due time then in force (the last one
# an event set, or the one set at acceptance), after the extension rule for the extensions
# issued before the end.
_STATUS_THEN = """(SELECT e.to_status FROM dossierevent e
    WHERE e.dossier_id = d.id AND e.at < :end ORDER BY e.id DESC LIMIT 1)"""
_DUE_THEN = f"""COALESCE((SELECT {_EVENT_DUE} FROM dossierevent e
    WHERE e.dossier_id = d.id AND e.at < :end
      AND e.action IN ('supplement_received', 'extend', 'upstream_update')
      AND {_EVENT_DUE} IS NOT NULL ORDER BY e.id DESC LIMIT 1),
    CASE WHEN d.rf_intake_supplement = 1 THEN NULL ELSE d.original_due_at END)"""
_JUDGED_THEN = f"""COALESCE((SELECT x.original_due FROM extension x
    WHERE x.dossier_id = d.id AND x.at < :end
      AND (d.regime NOT IN ({_MOVES}) OR x.at > x.original_due) ORDER BY x.seq LIMIT 1),
    {_DUE_THEN})"""
_FROM_HISTORY = f"""CASE WHEN {_STATUS_THEN} = 'waiting_supplement' OR ({_DUE_THEN}) IS NULL
           THEN 3
         WHEN {_JUDGED_THEN} < :end THEN 4 ELSE 3 END"""

# Still running at the period's end: 3 within time, 4 overdue. Judged from the row when the row
# is what it was then (the period has not ended, or the dossier has not changed since), else
# from the history. Only these few rows read the table and the events (SQLite seeks the row only
# when a CASE branch needs one of its columns).
_OPEN = f"""CASE WHEN NOT :running AND d.updated_at >= :end THEN {_FROM_HISTORY}
         WHEN d.status = 'waiting_supplement' OR d.accepted_at IS NULL OR d.due_at IS NULL
           THEN 3
         WHEN {_JUDGED_DUE} < :as_of THEN 4 ELSE 3 END"""

# One pass over ix_dossier_facts in (procedure, field) order: the GROUP BY needs no sort, and
# only dossiers still running at the period's end read the table (SQLite seeks the row only
# when a CASE branch needs one of its columns). Each sum is a test on small integers; days are
# date.toordinal() (:s and :e the first and last day). A dossier is in the period when it was
# received by its last day and its processing had not ended before its first.
_ENDED = "d.rf_end_day <= :e"
_IN_PERIOD = "d.rf_received_day >= :s"
# Several counters share one SUM: a row adds 1 << (SLOT_BITS * slot) to it, and the three
# fields of the total are read back with shifts. SQLite pays per aggregate per row, so packing
# three counters into each halves the cost of a year. A field holds up to 2^21 - 1 dossiers of
# one procedure in one period (a desk takes about a thousand a year per procedure); COUNT(*)
# checks it.
SLOT_BITS = 21
_SLOT = tuple(1 << (SLOT_BITS * i) for i in range(3))


def _packed(cases: str) -> str:
    """``SUM(CASE … END)`` where ``cases`` maps each row to 0 or one of the three slots."""
    return f"SUM(CASE {cases} ELSE 0 END)"


def unpack(total: int | None) -> tuple[int, int, int]:
    value = total or 0
    mask = (1 << SLOT_BITS) - 1
    return value & mask, (value >> SLOT_BITS) & mask, value >> (2 * SLOT_BITS)


_NEW = f"{_IN_PERIOD} AND d.rf_channel"
_SUMS = (
    "COUNT(*)",
    # received in the period by channel: direct, postal, fully online | partly online, carried
    _packed(f"WHEN {_NEW} = 0 THEN {_SLOT[0]} WHEN {_NEW} = 1 THEN {_SLOT[1]} "
            f"WHEN {_NEW} = 2 THEN {_SLOT[2]}"),
    _packed(f"WHEN {_NEW} = 3 THEN {_SLOT[0]} WHEN d.rf_received_day < :s THEN {_SLOT[1]}"),
    # resolved: early, on time (3 = withdrawn or refused: on time by the form), late
    _packed("WHEN d.rf_end_day IS NULL OR d.rf_end_day > :e THEN 0 WHEN d.rf_end_class = 0 "
            f"THEN {_SLOT[0]} WHEN d.rf_end_class = 2 THEN {_SLOT[2]} "
            f"WHEN d.rf_end_class IN (1, 3) THEN {_SLOT[1]}"),
    # in progress: within, overdue (evaluated only for the few dossiers not ended by then)
    _packed(f"WHEN d.rf_end_day IS NULL OR d.rf_end_day > :e THEN CASE ({_OPEN}) "
            f"WHEN 4 THEN {_SLOT[1]} ELSE {_SLOT[0]} END"),
    # fees of the dossiers accepted in the period
    "SUM(CASE WHEN d.rf_accepted_day >= :s AND d.rf_accepted_day <= :e "
    "THEN d.fee_amount ELSE 0 END)",
)
_PERIOD_SQL = f"""
SELECT d.procedure_code, d.field, {", ".join(_SUMS)}
FROM dossier d INDEXED BY ix_dossier_facts
WHERE d.rf_received_day IS NOT NULL AND d.rf_received_day <= :e
  AND (d.rf_end_day IS NULL OR d.rf_end_day >= :s)
GROUP BY d.procedure_code, d.field
"""
# The guidance line, from the few dossiers whose first visit got a supplement slip
# (ix_dossier_guidance): received as online / direct or postal / carried over, and resolved.
_GUIDANCE_SQL = f"""
SELECT d.procedure_code, d.field,
  SUM({_IN_PERIOD} AND d.rf_channel >= 2), SUM({_IN_PERIOD} AND d.rf_channel < 2),
  SUM(d.rf_received_day < :s), SUM({_ENDED} IS 1)
FROM dossier d INDEXED BY ix_dossier_guidance
WHERE d.rf_intake_supplement = 1 AND d.rf_received_day IS NOT NULL
  AND d.rf_received_day <= :e AND (d.rf_end_day IS NULL OR d.rf_end_day >= :s)
  AND (d.rf_accepted_day IS NULL OR d.rf_accepted_day > :e)
GROUP BY d.procedure_code, d.field
"""


@dataclass(frozen=True)
class TodayCounts:
    received_today: int
    due_today: int
    overdue: int
    waiting_supplement: int
    ready_to_return: int
    not_synced: int


@dataclass
class ReportRow:
    field: str
    procedure_code: str
    procedure_name: str
    counts: Counts


@dataclass
class FieldGroup:
    """The rows of one field (lĩnh vực) and their subtotal."""

    field: str
    rows: list[ReportRow]
    counts: Counts


@dataclass
class PeriodReport:
    period: Period
    generated_at: datetime
    groups: list[FieldGroup]
    total: Counts
    channels: dict[str, int]
    satisfaction: Satisfaction
    fees_collected: int
    # "Guidance given, not completed": the dossiers of the table that only got a supplement
    # slip at intake and were not accepted by the period's end (already counted above).
    guidance: Counts = field(default_factory=Counts)
    # Dossiers received in the period that are digitised, and those reusing an earlier
    # digitised result (docs/attachments.md, "Digitised dossier").
    digitised: int = 0
    digitised_tracked: bool = True
    reused: int = 0
    notes: list[str] = field(default_factory=list)
    # queue tickets issued in the period, per procedure group (empty when the office has none)
    queue_waits: list[QueueWait] = field(default_factory=list)

    @property
    def rows(self) -> list[ReportRow]:
        return [row for group in self.groups for row in group.rows]


class ReportService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def today_counts(self, now: datetime | None = None) -> TodayCounts:
        """The desk's dashboard numbers at ``now`` (default: the context's clock)."""
        now = now or self.ctx.now()
        start = datetime.combine(now.date(), time.min)
        end = start + timedelta(days=1)
        params = {"start": db_time(start), "end": db_time(end), "now": db_time(now),
                  "waiting": Status.WAITING_SUPPLEMENT.value,
                  "ready": Status.RESULT_READY.value}
        # One status at a time so each count is a range scan of ix_dossier_status_due.
        running = sorted(s.value for s in RUNNING_STATUSES)
        per_status = " + ".join(
            f"(SELECT COUNT(*) FROM dossier WHERE status = '{s}' AND due_at {{cmp}})"
            for s in running)
        sql = f"""SELECT
          (SELECT COUNT(*) FROM dossier WHERE received_at >= :start AND received_at < :end),
          {per_status.format(cmp=">= :start AND due_at < :end")},
          {per_status.format(cmp="< :now")},
          (SELECT COUNT(*) FROM dossier WHERE status = :waiting),
          (SELECT COUNT(*) FROM dossier WHERE status = :ready),
          ({UNSYNCED_COUNT_SQL})"""
        with self.ctx.db.engine.connect() as conn:
            row = conn.execute(text(sql), params).one()
        return TodayCounts(*row)

    def period_report(self, start: date, end: date) -> PeriodReport:
        """Form II.06a for ``start``..``end`` (inclusive), with channels, satisfaction, fees."""
        period = Period(start, end)
        now = self.ctx.now()
        params = {"start": db_time(period.start_at), "end": db_time(period.end_at),
                  "as_of": db_time(min(period.end_at, now)), "running": now < period.end_at,
                  "s": period.start.toordinal(), "e": period.end.toordinal()}
        with self.ctx.db.engine.connect() as conn:
            rows = conn.execute(text(_PERIOD_SQL), params).all()
            guidance_rows = conn.execute(text(_GUIDANCE_SQL), params).all()
            names = dict(conn.execute(text("SELECT code, name FROM procedure")).all())
            satisfaction = _satisfaction(conn, params)
            digitised, reused = _digitised(conn, params)
        by_row: dict[tuple[str, str], ReportRow] = {}
        channels = dict.fromkeys(CHANNELS, 0)
        fees = 0
        guidance = Counts()
        for code, field_name, rows_in, *sums in rows:
            received, received_more, resolved, in_progress, fee = sums
            direct, postal, online_full = unpack(received)
            online_partial, carried, _ = unpack(received_more)
            early, on_time, late = unpack(resolved)
            within, overdue, _ = unpack(in_progress)
            counts = Counts(online_full + online_partial, direct + postal, carried, early,
                            on_time, late, within, overdue)
            if counts.received != rows_in:
                raise RuntimeError(f"report counters overflowed for {code}")
            for channel, n in zip(CHANNEL_CODES, (direct, postal, online_full, online_partial),
                                  strict=True):
                channels[channel] += n
            fees += fee or 0
            by_row[(field_name, code)] = ReportRow(field_name, code, names.get(code, code),
                                                   counts)
        for _code, _field, g_online, g_direct, g_carried, g_resolved in guidance_rows:
            # never accepted by the period's end: resolved on time, or waiting (within time)
            guidance += Counts(g_online, g_direct, g_carried, on_time=g_resolved,
                               within=g_online + g_direct + g_carried - g_resolved)
        groups: list[FieldGroup] = []
        total = Counts()
        for key in sorted(by_row):
            row = by_row[key]
            if not groups or groups[-1].field != row.field:
                groups.append(FieldGroup(field=row.field, rows=[], counts=Counts()))
            groups[-1].rows.append(row)
            groups[-1].counts += row.counts
            total += row.counts
        return PeriodReport(period=period, generated_at=now, groups=groups, total=total,
                            channels=channels, satisfaction=satisfaction, fees_collected=fees,
                            guidance=guidance, queue_waits=QueueService(self.ctx).waits(start, end),
                            digitised=digitised, reused=reused)

    def indicators_766(self, start: date, end: date) -> Indicators766:
        """The desk-side Decision 766 indicators (on time, channels, satisfaction)."""
        return indicators_766(self.ctx, start, end)


_INDICATORS_SQL = f"""
SELECT SUM(ended), SUM(ended AND rf_end_class < 2 AND supplement_rounds <= :max_rounds),
  {", ".join(f"SUM(received AND rf_channel = {i})" for i in range(len(CHANNEL_CODES)))}
FROM (SELECT d.rf_end_day >= :s AND d.rf_end_day <= :e AND d.rf_end_class < 3
               AND d.rf_accepted_day IS NOT NULL AS ended,
             d.rf_received_day >= :s AS received, d.rf_end_class, d.rf_channel,
             d.supplement_rounds
      FROM dossier d INDEXED BY ix_dossier_facts
      WHERE d.rf_received_day IS NOT NULL AND d.rf_received_day <= :e
        AND (d.rf_end_day IS NULL OR d.rf_end_day >= :s) LIMIT -1)
"""


def indicators_766(ctx: DeskContext, start: date, end: date) -> Indicators766:
    """The desk-side Decision 766 indicators for ``start``..``end`` (domain.indicators)."""
    period = Period(start, end)
    params = {"s": period.start.toordinal(), "e": period.end.toordinal(),
              "start": db_time(period.start_at), "end": db_time(period.end_at),
              "max_rounds": MAX_SUPPLEMENTS_ON_TIME}
    with ctx.db.engine.connect() as conn:
        ended, on_time, *channels = conn.execute(text(_INDICATORS_SQL), params).one()
        satisfaction = _satisfaction(conn, params)
        digitised, reused = _digitised(conn, params)
    return Indicators766(
        period=period, on_time=OnTime766(ended or 0, on_time or 0),
        channels={c: n or 0 for c, n in zip(CHANNEL_CODES, channels, strict=True)},
        dissatisfied=satisfaction.dissatisfied, ratings=satisfaction.total,
        officer_fallback=satisfaction.officer_fallback, digitised=digitised, reused=reused)


# The dossiers received in the period (``rf_received_day``: as the indicators' ``received``)
# that have a live attachment: digitised when every received required item has one
# (docs/attachments.md, "Digitised dossier"); reusing when one of them is a reused result.
# Only dossiers with attachments are visited (ix_attachment_dossier).
_DIGITISED_SQL = """
SELECT COALESCE(SUM(NOT EXISTS (
         SELECT 1 FROM checklistitem c WHERE c.dossier_id = d.id AND c.received
           AND c.requirement = 'required'
           AND NOT EXISTS (SELECT 1 FROM attachment a WHERE a.checklist_item_id = c.id
                             AND a.removed_at IS NULL))), 0),
       COALESCE(SUM(EXISTS (SELECT 1 FROM attachment a WHERE a.dossier_id = d.id
                              AND a.removed_at IS NULL AND a.source = :reused)), 0)
FROM (SELECT DISTINCT dossier_id FROM attachment WHERE removed_at IS NULL) x
JOIN dossier d ON d.id = x.dossier_id
WHERE d.rf_received_day >= :s AND d.rf_received_day <= :e
"""


def _digitised(conn, params: dict[str, Any]) -> tuple[int, int]:  # noqa: ANN001
    """(digitised, reusing) dossiers received in the period."""
    from ccdesk.domain.vocabulary import AttachmentSource

    row = conn.execute(text(_DIGITISED_SQL),
                       {**params, "reused": AttachmentSource.REUSED.value}).one()
    return int(row[0]), int(row[1])


_FACT_COLUMNS = ("id, procedure_code, field, status, channel, received_at, accepted_at, due_at, "
                 "original_due_at, closed_at, paused_at, supplement_rounds, regime, ready_at")


def load_facts(conn, ids: Iterable[int]  # noqa: ANN001
               ) -> list[tuple[tuple[str, str], DossierFacts]]:
    """Dossiers with their history, as the report's domain rules read them."""
    result = []
    ids = list(ids)
    for start in range(0, len(ids), 500):   # bound the number of SQL variables
        chunk = ids[start:start + 500]
        marks = ", ".join(str(int(i)) for i in chunk)
        events: dict[int, list[tuple[Any, ...]]] = {}
        for row in conn.execute(text(
                "SELECT dossier_id, at, action, from_status, to_status, data FROM dossierevent "
                f"WHERE dossier_id IN ({marks}) ORDER BY dossier_id, id")):
            events.setdefault(row[0], []).append(row[1:])
        extensions: dict[int, list[ExtensionFacts]] = {}
        for row in conn.execute(text(
                "SELECT dossier_id, seq, at, original_due, new_due FROM extension "
                f"WHERE dossier_id IN ({marks})")):
            extensions.setdefault(row[0], []).append(
                ExtensionFacts(row[1], _dt(row[2]), _dt(row[3]), _dt(row[4])))
        for r in conn.execute(text(f"SELECT {_FACT_COLUMNS} FROM dossier "
                                   f"WHERE id IN ({marks})")):
            facts = DossierFacts(
                status=r.status, channel=r.channel, received_at=_dt(r.received_at),
                accepted_at=_dt(r.accepted_at), due_at=_dt(r.due_at),
                closed_at=_dt(r.closed_at), paused_at=_dt(r.paused_at),
                supplement_rounds=r.supplement_rounds, regime=r.regime,
                extensions=tuple(extensions.get(r.id, ())), ready_at=_dt(r.ready_at),
                history=history(events.get(r.id, []), _dt(r.original_due_at)))
            result.append(((r.procedure_code, r.field), facts))
    return result


def history(events: list[tuple[Any, ...]], original_due: datetime | None) -> tuple[Step, ...]:
    """Each event (at, action, from_status, to_status, data) with the due time in force after
    it: set at acceptance, moved by a supplement's return, an extension or an upstream
    correction (the values the services record in the event's data)."""
    steps = []
    due: datetime | None = None
    for at, action, from_status, to_status, data in events:
        details = orjson.loads(data or "{}")
        moved = None
        if from_status is None:
            due = original_due if to_status not in (Status.WAITING_SUPPLEMENT.value,
                                                    Status.REFUSED.value) else None
        elif action == Action.SUPPLEMENT_RECEIVED.value:
            moved = details.get("due_at")
        elif action == Action.EXTEND.value:
            moved = details.get("new_due")
        elif action == Action.UPSTREAM_UPDATE.value:
            moved = (details.get("changed") or {}).get("due_at")
        if isinstance(moved, str):
            due = datetime.fromisoformat(moved)
        steps.append(Step(_dt(at), to_status, due))
    return tuple(steps)


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _satisfaction(conn, params: dict[str, str]) -> Satisfaction:  # noqa: ANN001
    """Ratings given in the period, for the desk and per officer: the officer who recorded the
    rating, i.e. who handed the result back (None when it was recorded without a login)."""
    # One range of ix_rating_satisfaction per officer and level: nothing to sort.
    sql = """SELECT o.id, l.level, (SELECT COUNT(*) FROM rating r INDEXED BY ix_rating_satisfaction
               WHERE r.officer_id IS o.id AND r.level = l.level AND r.at >= :start
                 AND r.at < :end)
             FROM (SELECT id FROM officer UNION ALL SELECT NULL AS id) o,
                  (SELECT 'very_satisfied' AS level UNION ALL SELECT 'satisfied'
                   UNION ALL SELECT 'dissatisfied') l"""
    names = dict(conn.execute(text("SELECT id, full_name FROM officer")).all())
    counts: dict[int | None, dict[str, int]] = {}
    for officer_id, level, n in conn.execute(text(sql), params):
        if n:
            counts.setdefault(officer_id, {})[level] = n
    result = Satisfaction()
    for officer_id, levels in counts.items():
        entry = OfficerSatisfaction(officer_id, names.get(officer_id, ""),
                                    levels.get("very_satisfied", 0), levels.get("satisfied", 0),
                                    levels.get("dissatisfied", 0))
        result.by_officer.append(entry)
        result.very_satisfied += entry.very_satisfied
        result.satisfied += entry.satisfied
        result.dissatisfied += entry.dissatisfied
    result.by_officer.sort(key=lambda o: (o.name, o.officer_id or 0))
    result.officer_fallback = conn.execute(text(
        "SELECT COUNT(*) FROM rating WHERE source = 'officer' AND at >= :start AND at < :end"),
        params).scalar_one()
    return result
