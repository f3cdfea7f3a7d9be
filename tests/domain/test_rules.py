"""II.06a rules on hand-built dossiers: every column and the edge cases
(docs/design/domain-rules.md, on time)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ccdesk.domain.reports import (
    Classification,
    DossierFacts,
    ExtensionFacts,
    Outcome,
    Period,
    ReceivedAs,
    ValidationError,
    classify,
    judge,
    parse_period,
    tally,
)

OCT = Period(date(2026, 10, 1), date(2026, 10, 31))
AFTER = datetime(2026, 12, 15, 9, 0)  # "now", well after the period


def facts(received: str, *, status: str = "in_progress", channel: str = "direct",
          due: str | None = "2026-10-20 17:00", closed: str | None = None,
          accepted: str | None = "same", paused: str | None = None, rounds: int = 0,
          regime: str = "2025", extensions: tuple[ExtensionFacts, ...] = ()) -> DossierFacts:
    at = datetime.fromisoformat
    return DossierFacts(
        status=status, channel=channel, received_at=at(received),
        accepted_at=at(received) if accepted == "same" else (at(accepted) if accepted else None),
        due_at=at(due) if due else None, closed_at=at(closed) if closed else None,
        paused_at=at(paused) if paused else None, supplement_rounds=rounds, regime=regime,
        extensions=extensions)


def cls(f: DossierFacts, now: datetime = AFTER, period: Period = OCT):
    return classify(f, period, now)


@pytest.mark.parametrize(("channel", "expected"), [
    ("direct", ReceivedAs.DIRECT_POSTAL), ("postal", ReceivedAs.DIRECT_POSTAL),
    ("online_full", ReceivedAs.ONLINE), ("online_partial", ReceivedAs.ONLINE)])
def test_received_in_the_period_by_channel(channel: str, expected: ReceivedAs) -> None:
    assert cls(facts("2026-10-05 09:00", channel=channel)).received == expected


def test_carried_over_is_received_before_and_still_open_at_the_start() -> None:
    open_at_start = facts("2026-09-28 09:00", channel="online_full",
                          closed="2026-10-02 10:00", status="returned")
    assert cls(open_at_start).received == ReceivedAs.CARRIED_OVER
    closed_before = facts("2026-09-28 09:00", closed="2026-09-30 10:00", status="returned")
    assert cls(closed_before) is None


def test_received_after_the_period_is_not_in_it() -> None:
    assert cls(facts("2026-11-01 00:00")) is None
    assert cls(facts("2026-10-31 23:59")) is not None


def test_refused_at_intake_is_never_received() -> None:
    refused = facts("2026-10-05 09:00", status="refused", accepted=None, due=None,
                    closed="2026-10-05 09:00")
    assert cls(refused) is None


@pytest.mark.parametrize(("closed", "outcome"), [
    ("2026-10-19 16:00", Outcome.EARLY),       # an earlier day than the due day
    ("2026-10-20 08:00", Outcome.ON_TIME),     # the due day, before the due time
    ("2026-10-20 17:00", Outcome.ON_TIME),     # exactly at the due time
    ("2026-10-20 17:01", Outcome.LATE),
    ("2026-10-27 10:00", Outcome.LATE)])
def test_resolved_early_on_time_late(closed: str, outcome: Outcome) -> None:
    f = facts("2026-10-13 09:00", status="returned", closed=closed)
    assert cls(f) == Classification(ReceivedAs.DIRECT_POSTAL, outcome)


def test_withdrawn_counts_as_resolved_on_time_even_after_the_due_time() -> None:
    f = facts("2026-10-13 09:00", status="withdrawn", closed="2026-10-28 10:00")
    assert cls(f).outcome == Outcome.ON_TIME


def test_returned_for_supplement_counts_as_resolved_on_time() -> None:
    """Asked for a supplement at intake, never completed, closed (refused) weeks later."""
    f = facts("2026-10-02 09:00", status="refused", accepted=None, due=None, rounds=1,
              closed="2026-10-29 10:00")
    assert cls(f) is not None and cls(f).outcome == Outcome.ON_TIME


def test_stopped_is_judged_like_a_return() -> None:
    f = facts("2026-10-13 09:00", status="stopped", closed="2026-10-22 10:00")
    assert cls(f).outcome == Outcome.LATE


def test_closed_after_the_period_is_still_in_progress_at_its_end() -> None:
    f = facts("2026-10-13 09:00", status="returned", closed="2026-11-03 10:00",
              due="2026-11-05 10:00")
    assert cls(f).outcome == Outcome.WITHIN
    late = facts("2026-10-13 09:00", status="returned", closed="2026-11-03 10:00",
                 due="2026-10-30 10:00")
    assert cls(late).outcome == Outcome.OVERDUE


def test_waiting_for_supplement_is_within_time_even_past_due() -> None:
    paused = facts("2026-10-13 09:00", status="waiting_supplement", due="2026-10-16 09:00",
                   paused="2026-10-15 10:00", rounds=1)
    assert cls(paused).outcome == Outcome.WITHIN
    not_accepted = facts("2026-10-13 09:00", status="waiting_supplement", accepted=None,
                         due=None, paused="2026-10-13 09:00", rounds=1)
    assert cls(not_accepted) == Classification(ReceivedAs.DIRECT_POSTAL, Outcome.WITHIN,
                                               guidance=True)


def test_open_dossier_is_judged_at_now_when_the_period_has_not_ended() -> None:
    f = facts("2026-10-13 09:00", due="2026-10-20 17:00")
    assert cls(f, now=datetime(2026, 10, 18, 9, 0)).outcome == Outcome.WITHIN
    assert cls(f, now=datetime(2026, 10, 21, 9, 0)).outcome == Outcome.OVERDUE


def _ext(at: str, old: str, new: str, seq: int = 1) -> ExtensionFacts:
    return ExtensionFacts(seq, datetime.fromisoformat(at), datetime.fromisoformat(old),
                          datetime.fromisoformat(new))


def test_extension_sent_in_time_moves_the_due_time_under_2025() -> None:
    ext = _ext("2026-10-19 10:00", "2026-10-20 17:00", "2026-10-27 17:00")
    f = facts("2026-10-13 09:00", status="returned", closed="2026-10-26 10:00",
              due="2026-10-27 17:00", extensions=(ext,))
    assert cls(f).outcome == Outcome.EARLY


def test_extension_sent_after_the_due_time_does_not_excuse_lateness() -> None:
    ext = _ext("2026-10-21 10:00", "2026-10-20 17:00", "2026-10-27 17:00")
    f = facts("2026-10-13 09:00", status="returned", closed="2026-10-26 10:00",
              due="2026-10-27 17:00", extensions=(ext,))
    assert cls(f).outcome == Outcome.LATE


def test_extension_under_the_2018_regime_does_not_move_the_due_time() -> None:
    ext = _ext("2026-10-19 10:00", "2026-10-20 17:00", "2026-10-27 17:00")
    f = facts("2026-10-13 09:00", status="returned", closed="2026-10-26 10:00",
              due="2026-10-27 17:00", extensions=(ext,), regime="2018")
    assert cls(f).outcome == Outcome.LATE
    still_open = facts("2026-10-13 09:00", due="2026-10-27 17:00", extensions=(ext,),
                       regime="2018")
    assert cls(still_open).outcome == Outcome.OVERDUE


def test_second_extension_late_judges_against_the_first_new_due() -> None:
    first = _ext("2026-10-19 10:00", "2026-10-20 17:00", "2026-10-23 17:00", seq=1)
    second = _ext("2026-10-26 10:00", "2026-10-23 17:00", "2026-10-30 17:00", seq=2)
    f = facts("2026-10-13 09:00", status="returned", closed="2026-10-23 16:00",
              due="2026-10-30 17:00", extensions=(second, first))
    assert cls(f).outcome == Outcome.ON_TIME


def test_tally_columns_and_invariants() -> None:
    dossiers = [
        facts("2026-10-05 09:00", channel="online_full", status="returned",
              closed="2026-10-06 09:00"),                                   # online, early
        facts("2026-10-05 09:00", status="returned", closed="2026-10-20 10:00"),  # on time
        facts("2026-10-05 09:00", channel="postal", status="returned",
              closed="2026-10-22 10:00"),                                   # late
        facts("2026-09-25 09:00", channel="online_partial"),                # carried, overdue
        facts("2026-10-25 09:00", due="2026-11-04 09:00"),                  # within
        facts("2026-10-25 09:00", status="refused", accepted=None, due=None,
              closed="2026-10-25 09:00"),                                   # not counted
    ]
    counts = tally(dossiers, OCT, AFTER)
    assert (counts.online, counts.direct_postal, counts.carried_over) == (1, 3, 1)
    assert (counts.early, counts.on_time, counts.late) == (1, 1, 1)
    assert (counts.within, counts.overdue) == (1, 1)
    assert counts.received == counts.resolved + counts.in_progress == 5
    assert counts.on_time_rate == pytest.approx(2 / 3)
    assert counts.as_json()["received"] == {"total": 5, "online": 1, "direct_postal": 3,
                                            "carried_over": 1}


def test_judge_agrees_with_the_label_written_on_return() -> None:
    from ccdesk.services.dossiers import timeliness

    due = datetime(2026, 10, 20, 17, 0)
    for returned in (datetime(2026, 10, 19, 9), datetime(2026, 10, 20, 9), due,
                     datetime(2026, 10, 20, 17, 1), datetime(2026, 10, 21, 8)):
        assert judge(due, returned).value == timeliness(due, returned)


@pytest.mark.parametrize(("spec", "start", "end"), [
    ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
    ("2026-2", date(2026, 2, 1), date(2026, 2, 28)),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("2026-q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2026-9M", date(2026, 1, 1), date(2026, 9, 30)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31))])
def test_parse_period(spec: str, start: date, end: date) -> None:
    assert parse_period(spec) == Period(start, end)


@pytest.mark.parametrize("spec", ["2026-13", "2026-Q5", "26-10", "tháng 10", "", "2026-00"])
def test_parse_period_rejects_with_the_value_named(spec: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_period(spec)
    assert info.value.field == "period"
    assert "YYYY-MM" in info.value.message("en")
    assert info.value.message("vi").startswith("Kỳ báo cáo:")


def test_period_refuses_end_before_start() -> None:
    with pytest.raises(ValidationError):
        Period(date(2026, 10, 2), date(2026, 10, 1))
