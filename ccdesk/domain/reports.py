"""The rules of report form II.06a/VPCP/KSTT (docs/reports.md; docs/design/domain-rules.md,
on time): where one dossier is counted.

Pure functions, no database: :func:`classify` is the specification. ``ReportService`` computes
the same counts in one SQL aggregate for speed, and the tests check the two agree.

Counting choices (see docs/reports.md):

* A dossier refused at intake (Mẫu 03, never taken in) is not "received" and not counted.
* Received: carried over when received before the period and still open at its start; else
  online (``online_full``/``online_partial``) or direct/postal.
* Resolved in the period: its processing ended before the period's end. Processing ends when
  the result is ready (not when the citizen collects it), or the dossier is stopped, withdrawn
  or refused; :func:`processing_end`. Results and stops are judged early / on time / late by
  that moment against the due time then in force; withdrawn dossiers, and dossiers refused
  because the citizen never brought the requested supplement, count as on time, as the form's
  column heading reads (docs/reports.md says which text this rests on).
* In progress at the period's end: within time or overdue, judged as the dossier stood at the
  period's end (or now, for a period that has not ended), replayed from its event history
  (:attr:`DossierFacts.history`). Waiting for the citizen's supplement, or not yet accepted
  (clock not started), is within time.
* Dossiers that only got a supplement slip at intake and were not accepted by the period's end
  ("guidance given, not completed") stay in the table as above and are also shown on a line of
  their own (:func:`guidance_at`).
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
from ccdesk.domain.vocabulary import ONLINE_CHANNELS, Channel, RatingLevel, Regime

__all__ = ["ONLINE_CHANNELS", "ValidationError"]

CHANNELS = Channel.values()   # the order of the report's channel columns (plain str: JSON keys)
# Regimes whose Mẫu 04 may move the due time when sent in time (Decree 118/2025 art. on
# extension requests); the 2018 apology letter only promises a new date.
EXTENSION_MOVES_DUE = frozenset({Regime.R2025})
RATING_LEVELS = RatingLevel.values()
# Where a dossier's processing ends (Decision 766 formula sheet: NgayKetThucXuLy), and the
# states that reopen it (only an upstream correction can move a dossier back).
ENDED_STATUSES = frozenset({"result_ready", "returned", "stopped", "withdrawn", "refused"})
OPEN_STATUSES = frozenset({"received", "in_progress", "handed_off", "waiting_supplement"})
# Ends the form counts as on time whatever the due time: the citizen withdrew, or never brought
# the supplement asked for ("đúng hạn, bao gồm cả hồ sơ ... trả lại/xin rút").
NOT_JUDGED_ENDS = frozenset({"withdrawn", "refused"})
WAITING = "waiting_supplement"


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
class Step:
    """One event of a dossier's history: when, the status after it and the due time then in
    force (None before acceptance)."""

    at: datetime
    status: str
    due_at: datetime | None = None


@dataclass(frozen=True)
class DossierFacts:
    """The columns of a dossier the report reads, and its history in event order.

    Without ``history`` (facts built by hand) the columns stand for every moment after
    receipt and the end of processing is ``ready_at`` or ``closed_at``.
    """

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
    ready_at: datetime | None = None
    history: tuple[Step, ...] = ()


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
    guidance: bool = False


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
    return not (f.status == "refused" and f.supplement_rounds == 0)


def _judged(f: DossierFacts, due: datetime | None,
            extensions: tuple[ExtensionFacts, ...]) -> datetime | None:
    """``due`` after the extension rule: the due time before the first extension that the
    regime does not let move it (or that came after the due time had passed)."""
    for ext in sorted(extensions, key=lambda e: e.seq):
        if f.regime not in EXTENSION_MOVES_DUE or ext.at > ext.original_due:
            return ext.original_due
    return due


def judged_due(f: DossierFacts) -> datetime | None:
    """The due time the dossier is judged against today, after the extension rule."""
    return _judged(f, f.due_at, f.extensions)


def judge(due: datetime | None, at: datetime) -> Outcome:
    """early (trước hạn: an earlier day) / on time (đúng hạn) / late (quá hạn).

    The same rule ``DossierService`` writes as ``timeliness`` on return.
    """
    if due is None:
        return Outcome.ON_TIME
    if at.date() < due.date():
        return Outcome.EARLY
    return Outcome.ON_TIME if at <= due else Outcome.LATE


def processing_end(f: DossierFacts) -> Step | None:
    """When processing ended (NgayKetThucXuLy): the first event into an ended state, with the
    due time then in force; None while it runs. The citizen's pick-up is not the end: a result
    ready on time and collected late was resolved on time."""
    if not f.history:
        at = f.ready_at or f.closed_at
        if at is None:
            return None
        status = "result_ready" if f.ready_at is not None else f.status
        return Step(at, status, f.due_at)
    end = None
    for step in f.history:
        if step.status in ENDED_STATUSES:
            end = end or step
        elif step.status in OPEN_STATUSES:
            end = None  # reopened (an upstream correction)
    return end


def end_outcome(f: DossierFacts, end: Step) -> Outcome:
    """early / on time / late for a dossier whose processing ended at ``end``."""
    if end.status in NOT_JUDGED_ENDS:
        return Outcome.ON_TIME
    return judge(_judged(f, end.due_at, f.extensions), end.at)


def state_at(f: DossierFacts, moment: datetime, *, inclusive: bool) -> Step | None:
    """The dossier as it stood at ``moment``: the last event before it (or at it, when
    ``inclusive``), None if it did not exist yet."""
    last = None
    for step in f.history:
        if step.at > moment or (step.at == moment and not inclusive):
            break
        last = step
    return last


def open_outcome(f: DossierFacts, period: Period, now: datetime) -> Outcome:
    """within / overdue for a dossier still in progress at the period's end, judged as it
    stood then (or now, for a period that has not ended)."""
    running = now < period.end_at
    as_of = now if running else period.end_at
    if not f.history:
        due = judged_due(f)
        if due is None or f.accepted_at is None:
            return Outcome.WITHIN
        if f.paused_at is not None and f.paused_at < period.end_at:
            return Outcome.WITHIN
        return Outcome.OVERDUE if due < as_of else Outcome.WITHIN
    state = state_at(f, as_of, inclusive=running)
    if state is None or state.status == WAITING or state.due_at is None:
        return Outcome.WITHIN
    in_force = tuple(e for e in f.extensions if e.at < as_of or (running and e.at == as_of))
    due = _judged(f, state.due_at, in_force)
    return Outcome.OVERDUE if due is not None and due < as_of else Outcome.WITHIN


def intake_supplement(f: DossierFacts) -> bool:
    """The desk answered the first visit with a supplement slip (Mẫu 02), not an acceptance."""
    if f.history:
        return f.history[0].status == WAITING
    return f.supplement_rounds > 0 and (f.accepted_at is None or f.accepted_at > f.received_at)


def guidance_at(f: DossierFacts, period: Period) -> bool:
    """"Guidance given, not completed": a supplement slip at intake and no acceptance before
    the period's end (the citizen had not come back with a complete dossier)."""
    return intake_supplement(f) and (f.accepted_at is None or f.accepted_at >= period.end_at)


def classify(f: DossierFacts, period: Period, now: datetime) -> Classification | None:
    """Where ``f`` goes in the report of ``period`` (None: not in it)."""
    if not counted(f) or f.received_at >= period.end_at:
        return None
    end = processing_end(f)
    if end is not None and end.at < period.start_at:
        return None
    if f.received_at < period.start_at:
        received = ReceivedAs.CARRIED_OVER
    elif f.channel in ONLINE_CHANNELS:
        received = ReceivedAs.ONLINE
    else:
        received = ReceivedAs.DIRECT_POSTAL
    if end is not None and end.at < period.end_at:
        outcome = end_outcome(f, end)
    else:
        outcome = open_outcome(f, period, now)
    return Classification(received, outcome, guidance_at(f, period))


# The II.06a count columns headed by a word of the dossier's vocabulary, worded alike on the
# printed form, the CLI table and the screen; the other headings are each surface's own (the
# print follows the circular, the screens abbreviate).
VOCABULARY_HEADINGS = {"early": "vocab.timeliness.early", "on_time": "vocab.timeliness.on_time",
                       "late": "vocab.timeliness.late", "in_progress": "vocab.status.in_progress",
                       "within": "vocab.timeliness.within", "overdue": "vocab.timeliness.overdue"}


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
        self.add_outcome(c.outcome)

    def add_outcome(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

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


def tally(facts: list[DossierFacts], period: Period, now: datetime,
          *, guidance_only: bool = False) -> Counts:
    """The II.06a totals of ``facts`` by the rules above (the reference implementation);
    ``guidance_only``: the line of the dossiers given guidance and not completed."""
    counts = Counts()
    for f in facts:
        c = classify(f, period, now)
        if c is not None and (c.guidance or not guidance_only):
            counts.add(c)
    return counts


@dataclass
class Satisfaction:
    """Ratings by level; the rate is (very satisfied + satisfied) / all ratings."""

    very_satisfied: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    by_officer: list[OfficerSatisfaction] = field(default_factory=list)
    # of the ratings above, those the officer recorded because the citizen did not answer
    officer_fallback: int = 0

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
