"""Reports: the desk's counts for today and the II.06a period report.

The period report is one SQL aggregate that applies the rules of ``ccdesk.domain.reports`` in
``CASE`` expressions, so a year of a busy desk is counted in the database without loading a row
into Python; the tests check it against :func:`ccdesk.domain.reports.classify` dossier by dossier.
Times are compared as the text SQLAlchemy stores (``YYYY-MM-DD HH:MM:SS.ffffff``), which sorts
like the datetimes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import text

from ccdesk.domain.lifecycle import RUNNING_STATUSES, Status
from ccdesk.domain.reports import (
    CHANNELS,
    EXTENSION_MOVES_DUE,
    ONLINE_CHANNELS,
    Counts,
    OfficerSatisfaction,
    Period,
    Satisfaction,
)
from ccdesk.services.context import DeskContext
from ccdesk.services.search import db_time
from ccdesk.storage.outbox.sql import UNSYNCED_COUNT_SQL

_RUNNING = ", ".join(f"'{s.value}'" for s in sorted(RUNNING_STATUSES))
_ONLINE = ", ".join(f"'{c}'" for c in sorted(ONLINE_CHANNELS))
_MOVES = ", ".join(f"'{r}'" for r in sorted(EXTENSION_MOVES_DUE))

# The due time a dossier is judged against (domain.reports.judged_due): the due time before the
# first extension the rules do not let move it. Extensions are rare, so the sub-query only runs
# for dossiers that have one.
_JUDGED_DUE = f"""CASE WHEN d.extensions > 0 THEN COALESCE(
    (SELECT e.original_due FROM extension e WHERE e.dossier_id = d.id
       AND (d.regime NOT IN ({_MOVES}) OR e.at > e.original_due) ORDER BY e.seq LIMIT 1),
    d.due_at) ELSE d.due_at END"""

RECEIVED_AS = ("online", "direct_postal", "carried_over")
OUTCOMES = ("early", "on_time", "late", "within", "overdue")

# Each dossier the period touches is classified once, in a sub-query that "LIMIT -1" keeps
# from being flattened into the outer query (flattened, SQLite evaluated the CASE expressions
# again inside every SUM); the classes are small integers, indexes into RECEIVED_AS and
# OUTCOMES. The rows come from ix_dossier_report (migration 0004) in (procedure, field) order,
# so the GROUP BY needs no sort of a million rows and no table look-up.
_CLASSIFIED = f"""
SELECT d.procedure_code AS procedure_code, d.field AS field,
  CASE WHEN d.received_at < :start THEN 2 WHEN d.channel IN ({_ONLINE}) THEN 0 ELSE 1 END AS r,
  CASE WHEN d.closed_at IS NOT NULL AND d.closed_at < :end THEN
         CASE WHEN d.status IN ('withdrawn', 'refused') THEN 1
              WHEN jdue IS NULL THEN 1
              WHEN substr(d.closed_at, 1, 10) < substr(jdue, 1, 10) THEN 0
              WHEN d.closed_at <= jdue THEN 1 ELSE 2 END
       ELSE
         CASE WHEN jdue IS NULL OR d.accepted_at IS NULL THEN 3
              WHEN d.paused_at IS NOT NULL AND d.paused_at < :end THEN 3
              WHEN jdue < :as_of THEN 4 ELSE 3 END
  END AS o,
  d.channel AS channel,
  CASE WHEN d.accepted_at >= :start AND d.accepted_at < :end THEN d.fee_amount ELSE 0 END
    AS fee
FROM (SELECT d.procedure_code, d.field, d.channel, d.status, d.received_at, d.accepted_at,
             d.closed_at, d.paused_at, d.fee_amount, {_JUDGED_DUE} AS jdue
      FROM dossier d INDEXED BY ix_dossier_report
      WHERE d.received_at < :end AND (d.closed_at IS NULL OR d.closed_at >= :start)
        AND NOT (d.status = 'refused' AND d.supplement_rounds = 0)) d
LIMIT -1
"""
# Per (procedure, field): the II.06a counts, the channels of the dossiers received in the
# period (r < 2) and the fees of those accepted in it. A dossier accepted in the period was
# received before its end and closed (if ever) after its start, so it is always in the set.
_PERIOD_SQL = (
    "SELECT procedure_code, field, "
    + ", ".join(f"SUM(r = {i})" for i in range(len(RECEIVED_AS))) + ", "
    + ", ".join(f"SUM(o = {i})" for i in range(len(OUTCOMES))) + ", "
    + ", ".join(f"SUM(r < 2 AND channel = '{c}')" for c in CHANNELS)
    + f", SUM(fee) FROM ({_CLASSIFIED}) GROUP BY procedure_code, field"
)


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
        params = {"start": db_time(period.start_at), "end": db_time(period.end_at),
                  "as_of": db_time(min(period.end_at, now))}
        with self.ctx.db.engine.connect() as conn:
            rows = conn.execute(text(_PERIOD_SQL), params).all()
            names = dict(conn.execute(text("SELECT code, name FROM procedure")).all())
            satisfaction = _satisfaction(conn, params)
        by_row: dict[tuple[str, str], ReportRow] = {}
        channels = dict.fromkeys(CHANNELS, 0)
        fees = 0
        width = len(RECEIVED_AS) + len(OUTCOMES)
        for code, field_name, *sums in rows:
            counts = Counts(**dict(zip(RECEIVED_AS + OUTCOMES, sums[:width], strict=True)))
            for channel, n in zip(CHANNELS, sums[width:width + len(CHANNELS)], strict=True):
                channels[channel] += n
            fees += sums[-1] or 0
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
                            channels=channels, satisfaction=satisfaction, fees_collected=fees)


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
