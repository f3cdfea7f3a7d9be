"""The Decision 766 indicators the desk's own data can compute (docs/reports.md gives each
formula and its source).

Decision 766/QĐ-TTg (2022) scores how provinces serve citizens from the national portal's data;
its formula sheet reads the on-time indicator as "end of processing not after the appointment"
(``NgayKetThucXuLy ≤ NgayHenTra``), with time waiting for a supplement subtracted and a dossier
asked for a supplement more than once counted late. The desk computes the same from its own
dossiers, so a commune sees the figure the province will see before the portal shows it:

* on time: of the dossiers whose processing ended in the period (result ready, stopped;
  withdrawals and refusals after a supplement slip are not judged), those that ended by their
  due time (supplement waits already move it, ``DossierService``) with at most one supplement
  request;
* channel mix: the dossiers received in the period by channel (``KenhThucHien``);
* digitised share: the dossiers received in the period that are digitised (Circular
  01/2023/TT-VPCP: every received required paper scanned or an earlier digitised result
  reused; ``DuocSoHoa``), over those received; and the share reusing an earlier result
  ("tái sử dụng kết quả số hóa"; docs/attachments.md);
* satisfaction: 100 % − (late rate + rate of dissatisfied ratings), both over the dossiers whose
  processing ended in the period.

Pure functions: ``ReportService.indicators_766`` computes the counts in SQL and the tests check
them against :func:`tally_766`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ccdesk.domain.reports import (
    CHANNELS,
    NOT_JUDGED_ENDS,
    DossierFacts,
    Outcome,
    Period,
    counted,
    end_outcome,
    processing_end,
)
from ccdesk.i18n import t

# "Yêu cầu bổ sung quá 01 lần" is late whatever the dates say (formula sheet of Decision 766).
MAX_SUPPLEMENTS_ON_TIME = 1


@dataclass
class OnTime766:
    """Dossiers whose processing ended in the period, and how many of them on time."""

    ended: int = 0
    on_time: int = 0

    @property
    def late(self) -> int:
        return self.ended - self.on_time

    @property
    def rate(self) -> float | None:
        return self.on_time / self.ended if self.ended else None


def judged_766(f: DossierFacts) -> bool:
    """Whether the dossier's end counts in the indicator: its processing ended, the clock had
    started, and it was not a withdrawal or a refusal (nothing the desk did late or on time)."""
    end = processing_end(f)
    return end is not None and f.accepted_at is not None and end.status not in NOT_JUDGED_ENDS


def on_time_766(f: DossierFacts) -> bool:
    """Ended by the due time (waits already subtracted) after at most one supplement request."""
    end = processing_end(f)
    if end is None or f.supplement_rounds > MAX_SUPPLEMENTS_ON_TIME:
        return False
    return end_outcome(f, end) in (Outcome.EARLY, Outcome.ON_TIME)


def tally_766(facts: list[DossierFacts], period: Period) -> OnTime766:
    """The on-time indicator's counts for ``period`` (the reference implementation)."""
    result = OnTime766()
    for f in facts:
        end = processing_end(f)
        if not counted(f) or not judged_766(f) or end is None:
            continue
        if period.start_at <= end.at < period.end_at:
            result.ended += 1
            result.on_time += on_time_766(f)
    return result


@dataclass
class Indicators766:
    period: Period
    on_time: OnTime766
    channels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    dissatisfied: int = 0         # dissatisfied ratings given in the period
    ratings: int = 0              # all ratings given in the period
    officer_fallback: int = 0     # of those, recorded by the officer (the citizen did not answer)
    digitised: int | None = None  # None: not counted (a figure built without the desk's data)
    reused: int = 0               # dossiers reusing an earlier digitised result

    @property
    def received(self) -> int:
        return sum(self.channels.values())

    def channel_share(self, channel: str) -> float | None:
        return self.channels[channel] / self.received if self.received else None

    @property
    def online_share(self) -> float | None:
        online = self.channels["online_full"] + self.channels["online_partial"]
        return online / self.received if self.received else None

    @property
    def digitised_share(self) -> float | None:
        if self.digitised is None or not self.received:
            return None
        return self.digitised / self.received

    @property
    def reused_share(self) -> float | None:
        if self.digitised is None or not self.received:
            return None
        return self.reused / self.received

    @property
    def dissatisfied_rate(self) -> float | None:
        return self.dissatisfied / self.on_time.ended if self.on_time.ended else None

    @property
    def satisfaction(self) -> float | None:
        """100 % − (late rate + dissatisfied rate), floored at 0; None with nothing ended."""
        if not self.on_time.ended:
            return None
        late = self.on_time.late / self.on_time.ended
        return max(0.0, 1.0 - late - (self.dissatisfied_rate or 0.0))


def indicator_lines(r: Indicators766, percent: Callable[[float | None], str]
                    ) -> list[tuple[str, str]]:
    """(label, value) pairs in the user's language, for the command and the reports screen."""
    o = r.on_time
    channels = ", ".join(f"{t('vocab.channel.' + c)} {n} ({percent(r.channel_share(c))})"
                         for c, n in r.channels.items())
    digitised = (t("reports.indicators.digitised_value", rate=percent(r.digitised_share),
                   count=r.digitised, received=r.received) if r.digitised is not None
                 else t("reports.table.digitised_untracked"))
    reused = t("reports.indicators.digitised_value", rate=percent(r.reused_share),
               count=r.reused, received=r.received)
    return [
        (t("reports.indicators.on_time"),
         t("reports.indicators.on_time_value", rate=percent(o.rate), on_time=o.on_time,
           ended=o.ended, late=o.late)),
        (t("reports.indicators.channels"), channels),
        (t("reports.indicators.online"), percent(r.online_share)),
        (t("reports.indicators.digitised"), digitised),
        (t("reports.indicators.reused"), reused),
        (t("reports.indicators.satisfaction"),
         t("reports.indicators.satisfaction_value", rate=percent(r.satisfaction),
           dissatisfied=r.dissatisfied, ratings=r.ratings)
         + " " + t("rating.report.fallback", count=r.officer_fallback)),
    ]
