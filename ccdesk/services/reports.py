"""Reports: the desk's counts for today and the II.06a period report.

The period report is one SQL aggregate over ``ix_dossier_facts`` (migration 0010): each dossier's
report facts (the day received, the day and kind of the end of processing, the channel, the day
accepted) are small integers kept by a trigger at every event, so a year of a busy desk is
counted from one narrow index, in group order, without loading a row into Python. What a period
that has ended cannot read from today's row (a dossier still running at the period's end whose
row has changed since) is replayed from its event history with the domain's own rule
(:func:`ccdesk.domain.reports.open_outcome`); the tests check the aggregate against
:func:`ccdesk.domain.reports.classify` dossier by dossier. Times are compared as the text
SQLAlchemy stores (``YYYY-MM-DD HH:MM:SS.ffffff``), which sorts like the datetimes themselves.
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
from ccdesk.domain.reports import (
    CHANNELS,
    EXTENSION_MOVES_DUE,
    Classification,
    Counts,
    DossierFacts,
    ExtensionFacts,
    OfficerSatisfaction,
    Period,
    ReceivedAs,
    Satisfaction,
    Step,
    guidance_at,
    open_outcome,
)
from ccdesk.services.context import DeskContext
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

RECEIVED_AS = ("online", "direct_postal", "carried_over")
OUTCOMES = ("early", "on_time", "late", "within", "overdue")
REPLAY = len(OUTCOMES)   # "o" of a dossier whose state at the period's end needs its history
# rf_channel (migration 0010) -> channel
CHANNEL_CODES = ("direct", "postal", "online_full", "online_partial")
assert set(CHANNEL_CODES) == set(CHANNELS)

# Still running at the period's end: judged from the row when the row is what it was then (the
# period has not ended, or the dossier has not changed since); otherwise REPLAY. Only these few
# rows read the table (SQLite seeks the row only when a CASE branch needs one of its columns).
_OPEN = f"""CASE WHEN NOT :running AND d.updated_at >= :end THEN {REPLAY}
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
# "guidance given, not completed": a supplement slip at intake, no acceptance by the period's
# end. Such a dossier is never accepted by then, so it is resolved on time (refused, withdrawn,
# or stopped with no due time) or within time (waiting): two outcomes to count.
_GUIDANCE = ("d.rf_intake_supplement = 1 AND (d.rf_accepted_day IS NULL "
             "OR d.rf_accepted_day > :e)")
_SUMS = (
    # received: online, direct/postal, carried over
    f"SUM({_IN_PERIOD} AND d.rf_channel >= 2)", f"SUM({_IN_PERIOD} AND d.rf_channel < 2)",
    "SUM(d.rf_received_day < :s)",
    # resolved: early, on time (3 = withdrawn or refused: on time by the form), late
    f"SUM({_ENDED} AND d.rf_end_class = 0)", f"SUM({_ENDED} AND d.rf_end_class IN (1, 3))",
    f"SUM({_ENDED} AND d.rf_end_class = 2)",
    # in progress: within, overdue
    f"SUM(CASE WHEN {_ENDED} THEN 0 ELSE ({_OPEN}) = 3 END)",
    f"SUM(CASE WHEN {_ENDED} THEN 0 ELSE ({_OPEN}) = 4 END)",
    # channels of the dossiers received in the period
    *(f"SUM({_IN_PERIOD} AND d.rf_channel = {i})" for i in range(len(CHANNEL_CODES))),
    # fees of the dossiers accepted in the period
    "SUM(CASE WHEN d.rf_accepted_day >= :s AND d.rf_accepted_day <= :e "
    "THEN d.fee_amount ELSE 0 END)",
    # the guidance line: received as (3), and how many of them resolved (on time)
    f"SUM(CASE WHEN {_GUIDANCE} THEN {_IN_PERIOD} AND d.rf_channel >= 2 ELSE 0 END)",
    f"SUM(CASE WHEN {_GUIDANCE} THEN {_IN_PERIOD} AND d.rf_channel < 2 ELSE 0 END)",
    f"SUM(CASE WHEN {_GUIDANCE} THEN d.rf_received_day < :s ELSE 0 END)",
    f"SUM(CASE WHEN {_GUIDANCE} THEN {_ENDED} IS 1 ELSE 0 END)",
    # the dossiers to replay from their history
    f"group_concat(CASE WHEN {_ENDED} THEN NULL WHEN ({_OPEN}) = {REPLAY} THEN d.id END)",
)
_PERIOD_SQL = f"""
SELECT d.procedure_code, d.field, {", ".join(_SUMS)}
FROM dossier d INDEXED BY ix_dossier_facts
WHERE d.rf_received_day IS NOT NULL AND d.rf_received_day <= :e
  AND (d.rf_end_day IS NULL OR d.rf_end_day >= :s)
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
    # No scan attachments exist in the data model yet, so nothing can be counted as digitised.
    digitised: int = 0
    digitised_tracked: bool = False
    notes: list[str] = field(default_factory=list)

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
        running = now < period.end_at
        params = {"start": db_time(period.start_at), "end": db_time(period.end_at),
                  "as_of": db_time(min(period.end_at, now)), "running": running,
                  "s": period.start.toordinal(), "e": period.end.toordinal()}
        with self.ctx.db.engine.connect() as conn:
            rows = conn.execute(text(_PERIOD_SQL), params).all()
            names = dict(conn.execute(text("SELECT code, name FROM procedure")).all())
            satisfaction = _satisfaction(conn, params)
            replay = [int(i) for row in rows if row[-1] for i in row[-1].split(",")]
            replayed = _replay(conn, replay, period, now)
        by_row: dict[tuple[str, str], ReportRow] = {}
        channels = dict.fromkeys(CHANNELS, 0)
        fees = 0
        guidance = Counts()
        for code, field_name, *sums in rows:
            (online, direct, carried, early, on_time, late, within, overdue, *sums) = sums
            counts = Counts(online or 0, direct or 0, carried or 0, early or 0, on_time or 0,
                            late or 0, within or 0, overdue or 0)
            for channel, n in zip(CHANNEL_CODES, sums[:len(CHANNEL_CODES)], strict=True):
                channels[channel] += n or 0
            fee, g_online, g_direct, g_carried, g_resolved, _ = sums[len(CHANNEL_CODES):]
            fees += fee or 0
            g_received = (g_online or 0) + (g_direct or 0) + (g_carried or 0)
            guidance += Counts(g_online or 0, g_direct or 0, g_carried or 0,
                               on_time=g_resolved or 0,
                               within=g_received - (g_resolved or 0))
            for c in replayed.get((code, field_name), ()):
                counts.add_outcome(c.outcome)
                if c.guidance:  # counted within above, as waiting; judged again here
                    guidance.within -= 1
                    guidance.add_outcome(c.outcome)
            by_row[(field_name, code)] = ReportRow(field_name, code, names.get(code, code),
                                                   counts)
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
                            guidance=guidance)

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
    return Indicators766(
        period=period, on_time=OnTime766(ended or 0, on_time or 0),
        channels={c: n or 0 for c, n in zip(CHANNEL_CODES, channels, strict=True)},
        dissatisfied=satisfaction.dissatisfied, ratings=satisfaction.total)


def _replay(conn, ids: list[int], period: Period,  # noqa: ANN001
            now: datetime) -> dict[tuple[str, str], list[Classification]]:
    """The outcome at the period's end of dossiers still running then whose row has changed
    since, replayed from their history by the domain rule; by (procedure, field)."""
    out: dict[tuple[str, str], list[Classification]] = {}
    for key, facts in load_facts(conn, ids):
        # received-as is already counted by the aggregate; only the outcome is replayed
        c = Classification(ReceivedAs.ONLINE, open_outcome(facts, period, now),
                           guidance_at(facts, period))
        out.setdefault(key, []).append(c)
    return out


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
    sql = """SELECT officer_id, SUM(level = 'very_satisfied'), SUM(level = 'satisfied'),
                    SUM(level = 'dissatisfied')
             FROM rating INDEXED BY ix_rating_report
             WHERE at >= :start AND at < :end GROUP BY officer_id"""
    names = dict(conn.execute(text("SELECT id, full_name FROM officer")).all())
    result = Satisfaction()
    for officer_id, very, satisfied, dissatisfied in conn.execute(text(sql), params):
        entry = OfficerSatisfaction(officer_id, names.get(officer_id, ""), very or 0,
                                    satisfied or 0, dissatisfied or 0)
        result.by_officer.append(entry)
        result.very_satisfied += entry.very_satisfied
        result.satisfied += entry.satisfied
        result.dissatisfied += entry.dissatisfied
    result.by_officer.sort(key=lambda o: (o.name, o.officer_id or 0))
    return result
