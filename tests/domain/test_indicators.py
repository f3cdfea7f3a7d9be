"""Decision 766 indicators: each formula on hand-built dossiers, and the command."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ccdesk.domain.indicators import Indicators766, OnTime766, tally_766
from ccdesk.domain.reports import DossierFacts, Period, Step

MAY = Period(date(2026, 5, 1), date(2026, 5, 31))
DUE = datetime(2026, 5, 20, 17)


def life(*steps: tuple[str, str], rounds: int = 0, accepted: bool = True) -> DossierFacts:
    history = tuple(Step(datetime.fromisoformat(at), status, DUE if accepted else None)
                    for at, status in steps)
    return DossierFacts(status=history[-1].status, channel="direct",
                        received_at=history[0].at,
                        accepted_at=history[0].at if accepted else None,
                        due_at=DUE if accepted else None, supplement_rounds=rounds,
                        history=history)


def test_the_end_of_processing_against_the_due_time_decides() -> None:
    ready_on_time_collected_late = life(("2026-05-11 09:00", "received"),
                                        ("2026-05-20 16:00", "result_ready"),
                                        ("2026-05-29 09:00", "returned"))
    ready_late = life(("2026-05-11 09:00", "received"), ("2026-05-21 08:00", "result_ready"))
    assert tally_766([ready_on_time_collected_late, ready_late], MAY) == OnTime766(2, 1)


def test_more_than_one_supplement_request_is_late() -> None:
    twice = life(("2026-05-11 09:00", "received"), ("2026-05-12 09:00", "waiting_supplement"),
                 ("2026-05-13 09:00", "received"), ("2026-05-14 09:00", "waiting_supplement"),
                 ("2026-05-15 09:00", "received"), ("2026-05-18 09:00", "result_ready"),
                 rounds=2)
    once = life(("2026-05-11 09:00", "received"), ("2026-05-12 09:00", "waiting_supplement"),
                ("2026-05-13 09:00", "received"), ("2026-05-18 09:00", "result_ready"),
                rounds=1)
    assert tally_766([twice, once], MAY) == OnTime766(2, 1)


def test_withdrawals_and_guidance_only_dossiers_are_not_judged() -> None:
    withdrawn = life(("2026-05-11 09:00", "received"), ("2026-05-22 09:00", "withdrawn"))
    never_accepted = life(("2026-05-11 09:00", "waiting_supplement"),
                          ("2026-05-25 09:00", "refused"), rounds=1, accepted=False)
    running = life(("2026-05-11 09:00", "received"))
    assert tally_766([withdrawn, never_accepted, running], MAY) == OnTime766(0, 0)


def test_satisfaction_is_100_minus_late_and_dissatisfied_rates() -> None:
    ind = Indicators766(MAY, OnTime766(ended=20, on_time=18), dissatisfied=1, ratings=12,
                        channels={"direct": 6, "postal": 1, "online_full": 2,
                                  "online_partial": 1})
    assert ind.satisfaction == pytest.approx(1 - 2 / 20 - 1 / 20)
    assert ind.online_share == pytest.approx(0.3)
    assert ind.channel_share("direct") == pytest.approx(0.6)
    assert ind.digitised_share is None
    empty = Indicators766(MAY, OnTime766())
    assert empty.satisfaction is None and empty.on_time.rate is None
    assert empty.online_share is None
