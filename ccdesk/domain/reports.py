"""The rules of report form II.06a/VPCP/KSTT: where one dossier is counted
(docs/design/domain-rules.md, on time).

Pure functions, no database: :func:`classify` is the specification. ``ReportService`` computes
the same counts in one SQL aggregate for speed, and the tests check the two agree.

Counting choices (see docs/reports.md):

* A dossier refused at intake (Mẫu 03, never taken in) is not "received" and not counted.
* Received: carried over when received before the period and still open at its start; else
  online (``online_full``/``online_partial``) or direct/postal.
* Resolved in the period: closed before the period's end. Returned and stopped dossiers are
  judged early / on time / late against their due time; withdrawn dossiers, and dossiers closed
  because the citizen never brought the requested supplement (returned for supplement), count
  as on time, as the form's notes say.
* In progress at the period's end: within time or overdue, judged at the period's end (or now,
  for a period that has not ended). Waiting for the citizen's supplement, or not yet accepted
  (clock not started), is within time.
* Extensions (Mẫu 04): under the 2025 regime an extension issued before the due time it replaces
  moves the due time; under the 2018 regime, or when issued after the due time had passed, the
  apology does not make a late dossier on time: it is judged against the due time it had before
  that extension.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.vocabulary import ONLINE_CHANNELS, Channel, RatingLevel, Regime, Status

__all__ = ["ONLINE_CHANNELS", "ValidationError"]

CHANNELS = Channel.values()   # the order of the report's channel columns (plain str: JSON keys)
# Regimes whose Mẫu 04 may move the due time when sent in time (Decree 118/2025 art. on
# extension requests); the 2018 apology letter only promises a new date.
EXTENSION_MOVES_DUE = frozenset({Regime.R2025})
RATING_LEVELS = RatingLevel.values()


class ReceivedAs(StrEnum):
    ONLINE = "online"
    DIRECT_POSTAL = "direct_postal"
    CARRIED_OVER = "carried_over"


class Outcome(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    WITHIN = "within"
    OVERDUE = "overdue"

    @property
    def resolved(self) -> bool:
        return self in (Outcome.EARLY, Outcome.ON_TIME, Outcome.LATE)


@dataclass(frozen=True)
class ExtensionFacts:
    seq: int
    at: datetime
    original_due: datetime
    new_due: datetime


@dataclass(frozen=True)
class DossierFacts:
    """The columns of a dossier the report reads."""

    status: str
    channel: str
    received_at: datetime
    accepted_at: datetime | None = None
    due_at: datetime | None = None
    closed_at: datetime | None = None
    paused_at: datetime | None = None
    supplement_rounds: int = 0
    regime: str = "2025"
    extensions: tuple[ExtensionFacts, ...] = ()


@dataclass(frozen=True)
class Period:
    """Whole days ``start``..``end`` inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValidationError("reports.err.date_order", field="to")

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Classification:
    received: ReceivedAs
    outcome: Outcome


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})-[Hh]([12])$")
_NINE = re.compile(r"^(\d{4})-9[Mm]$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(spec: str) -> Period:
    """``2026-10`` (month), ``2026-Q3`` (quarter), ``2026-H1`` (6 months), ``2026-9M``
    (first 9 months), ``2026`` (year)."""
    spec = spec.strip()

    def months(year: int, first: int, last: int) -> Period:
        return Period(date(year, first, 1),
                      date(year, last, _calendar.monthrange(year, last)[1]))

    try:
        if m := _MONTH.match(spec):
            month = int(m[2])
            if 1 <= month <= 12:
                return months(int(m[1]), month, month)
        elif m := _QUARTER.match(spec):
            q = int(m[2])
            return months(int(m[1]), 3 * q - 2, 3 * q)
        elif m := _HALF.match(spec):
            h = int(m[2])
            return months(int(m[1]), 6 * h - 5, 6 * h)
        elif m := _NINE.match(spec):
            return months(int(m[1]), 1, 9)
        elif m := _YEAR.match(spec):
            return months(int(m[1]), 1, 12)
    except ValueError:
        pass
    raise ValidationError("reports.err.period", field="period", value=spec)


def counted(f: DossierFacts) -> bool:
    """False for a dossier refused at intake: it was never taken in for resolution."""
    return not (f.status == Status.REFUSED and f.supplement_rounds == 0)


def judged_due(f: DossierFacts) -> datetime | None:
    """The due time the dossier is judged against, after the extension rule."""
    for ext in sorted(f.extensions, key=lambda e: e.seq):
        if f.regime not in EXTENSION_MOVES_DUE or ext.at > ext.original_due:
            return ext.original_due
    return f.due_at


def judge(due: datetime | None, at: datetime) -> Outcome:
    """early (trước hạn: an earlier day) / on time (đúng hạn) / late (quá hạn).

    The same rule ``DossierService`` writes as ``timeliness`` on return.
    """
    if due is None:
        return Outcome.ON_TIME
    if at.date() < due.date():
        return Outcome.EARLY
    return Outcome.ON_TIME if at <= due else Outcome.LATE


def classify(f: DossierFacts, period: Period, now: datetime) -> Classification | None:
    """Where ``f`` goes in the report of ``period`` (None: not in it)."""
    if not counted(f) or f.received_at >= period.end_at:
        return None
    if f.closed_at is not None and f.closed_at < period.start_at:
        return None
    if f.received_at < period.start_at:
        received = ReceivedAs.CARRIED_OVER
    elif f.channel in ONLINE_CHANNELS:
        received = ReceivedAs.ONLINE
    else:
        received = ReceivedAs.DIRECT_POSTAL
    due = judged_due(f)
    if f.closed_at is not None and f.closed_at < period.end_at:
        if f.status in (Status.WITHDRAWN, Status.REFUSED):
            outcome = Outcome.ON_TIME
        else:
            outcome = judge(due, f.closed_at)
    else:
        as_of = min(period.end_at, now)
        if due is None or f.accepted_at is None:
            outcome = Outcome.WITHIN
        elif f.paused_at is not None and f.paused_at < period.end_at:
            outcome = Outcome.WITHIN
        else:
            outcome = Outcome.OVERDUE if due < as_of else Outcome.WITHIN
    return Classification(received, outcome)


@dataclass
class Counts:
    """One row of the II.06a table (or its total)."""

    online: int = 0
    direct_postal: int = 0
    carried_over: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    within: int = 0
    overdue: int = 0

    @property
    def received(self) -> int:
        return self.online + self.direct_postal + self.carried_over

    @property
    def resolved(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def in_progress(self) -> int:
        return self.within + self.overdue

    @property
    def on_time_rate(self) -> float | None:
        """(early + on time) / resolved, or None when nothing was resolved."""
        return (self.early + self.on_time) / self.resolved if self.resolved else None

    def add(self, c: Classification) -> None:
        setattr(self, c.received.value, getattr(self, c.received.value) + 1)
        setattr(self, c.outcome.value, getattr(self, c.outcome.value) + 1)

    def __iadd__(self, other: Counts) -> Counts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def as_json(self) -> dict[str, dict[str, int]]:
        return {
            "received": {"total": self.received, "online": self.online,
                         "direct_postal": self.direct_postal,
                         "carried_over": self.carried_over},
            "resolved": {"total": self.resolved, "early": self.early, "on_time": self.on_time,
                         "late": self.late},
            "in_progress": {"total": self.in_progress, "within": self.within,
                            "overdue": self.overdue},
        }


def tally(facts: list[DossierFacts], period: Period, now: datetime) -> Counts:
    """The II.06a totals of ``facts`` by the rules above (the reference implementation)."""
    counts = Counts()
    for f in facts:
        c = classify(f, period, now)
        if c is not None:
            counts.add(c)
    return counts


@dataclass
class Satisfaction:
    """Ratings by level; the rate is (very satisfied + satisfied) / all ratings."""

    very_satisfied: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    by_officer: list[OfficerSatisfaction] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.very_satisfied + self.satisfied + self.dissatisfied

    @property
    def rate(self) -> float | None:
        return (self.very_satisfied + self.satisfied) / self.total if self.total else None


@dataclass
class OfficerSatisfaction:
    officer_id: int | None
    name: str
    very_satisfied: int = 0
    satisfied: int = 0
    dissatisfied: int = 0

    @property
    def total(self) -> int:
        return self.very_satisfied + self.satisfied + self.dissatisfied

    @property
    def rate(self) -> float | None:
        return (self.very_satisfied + self.satisfied) / self.total if self.total else None
