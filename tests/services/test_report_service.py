"""ReportService on dossiers recorded through the real services, step by step in time."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ccdesk.domain.lifecycle import Action
from ccdesk.domain.reports import Counts
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.intake import (
    Applicant,
    Decision,
)
from tests.conftest import submit_intake
from tests.services.conftest import FakeClock
from tests.services.reports_kit import make_desk

LAND, SIGNATURE = "1.012783", "2.000884"
PERSON = Applicant("Phạm Văn Khoa", "001085012345", phone="0912345678")


def submit(desk: Services, actor: Actor, procedure: str, channel: str = "direct",
           decision: Decision = Decision.ACCEPT, reason: str = "") -> str:
    missing = (1,) if decision == Decision.SUPPLEMENT else ()
    return submit_intake(desk, actor, procedure, applicant=PERSON, missing=missing,
                         decision=decision, reason=reason, channel=channel,
                         fee_amount=50_000 if procedure == LAND else None).dossier.code


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    """Ten dossiers around November 2026, each column of II.06a hit at least once
    (built once; the tests only read, moving the clock)."""
    desk, officer = make_desk(tmp_path_factory.mktemp("november"), datetime(2026, 10, 28))
    desk.officers.add(SYSTEM, "hung", "Trần Văn Hùng", "lead", "56781234")
    lead = desk.officers.authenticate("hung", "56781234")
    clock = desk.ctx.clock
    def at(day: str, hour: int = 9, minute: int = 0) -> None:
        clock.now = datetime.fromisoformat(day).replace(hour=hour, minute=minute)

    act = desk.dossiers.act
    at("2026-10-28")
    submit(desk, officer, LAND)                                   # A: carried over, overdue
    at("2026-11-02")
    b = submit(desk, officer, SIGNATURE, channel="online_full")   # B: online, on time
    c = submit(desk, lead, LAND, channel="postal")                # C: early
    at("2026-11-02", 10)
    act(officer, b, Action.MARK_READY)
    act(officer, b, Action.RETURN_RESULT)
    desk.dossiers.rate(officer, b, "very_satisfied")
    at("2026-11-03")
    d = submit(desk, officer, SIGNATURE)                          # D: late
    submit(desk, officer, SIGNATURE, decision=Decision.SUPPLEMENT)  # E: waiting, within
    submit(desk, officer, SIGNATURE, decision=Decision.REFUSE,
           reason="Không thuộc thẩm quyền")                      # F: never received
    at("2026-11-04")
    act(officer, d, Action.MARK_READY)
    act(officer, d, Action.RETURN_RESULT)
    g = submit(desk, officer, SIGNATURE)                          # G: withdrawn = on time
    act(officer, g, Action.WITHDRAW, reason="Công dân xin rút")
    at("2026-11-05")
    act(officer, c, Action.MARK_READY)
    act(lead, c, Action.RETURN_RESULT)
    desk.dossiers.rate(lead, c, "dissatisfied")
    j = submit(desk, officer, LAND)                               # J: extended in time, early
    at("2026-11-10")
    act(lead, j, Action.EXTEND, reason="Chờ đo đạc", new_due=datetime(2026, 11, 20, 9))
    at("2026-11-18")
    act(officer, j, Action.MARK_READY)
    act(officer, j, Action.RETURN_RESULT)
    at("2026-11-27")
    submit(desk, officer, LAND, channel="online_partial")         # H: within (due December)
    i = submit(desk, officer, SIGNATURE)                          # I: ready, not collected:
    at("2026-11-27", 10)
    act(officer, i, Action.MARK_READY)
    yield desk, clock
    desk.close()


@pytest.fixture
def november(shared) -> Services:
    return shared[0]


@pytest.fixture
def nov_clock(shared) -> FakeClock:
    return shared[1]


def test_period_report_every_column(november: Services, nov_clock: FakeClock) -> None:
    nov_clock.now = datetime(2026, 12, 10, 9)
    report = november.reports.period_report(date(2026, 11, 1), date(2026, 11, 30))
    # I's result was ready on the due day: resolved on time, though nobody has collected it.
    assert report.total == Counts(online=2, direct_postal=6, carried_over=1, early=2,
                                  on_time=3, late=1, within=2, overdue=1)
    assert report.total.received == report.total.resolved + report.total.in_progress == 9
    assert report.total.on_time_rate == pytest.approx(5 / 6)
    # E only got a supplement slip: counted (within time) and shown on its own line.
    assert report.guidance == Counts(direct_postal=1, within=1)
    assert report.channels == {"direct": 5, "postal": 1, "online_full": 1,
                               "online_partial": 1}
    assert report.fees_collected == 10_000 * 4 + 50_000 * 3
    by_code = {row.procedure_code: row.counts for row in report.rows}
    assert by_code[LAND] == Counts(online=1, direct_postal=2, carried_over=1, early=2,
                                   within=1, overdue=1)
    assert by_code[SIGNATURE] == Counts(online=1, direct_postal=4, on_time=3, late=1,
                                        within=1)
    assert [g.field for g in report.groups] == ["Chứng thực", "Đất đai"]


def test_satisfaction_for_the_desk_and_each_officer(november: Services,
                                                    nov_clock: FakeClock) -> None:
    nov_clock.now = datetime(2026, 12, 10, 9)
    s = november.reports.period_report(date(2026, 11, 1), date(2026, 11, 30)).satisfaction
    assert (s.very_satisfied, s.satisfied, s.dissatisfied, s.rate) == (1, 0, 1, 0.5)
    per = {o.name: (o.total, o.rate) for o in s.by_officer}
    assert per == {"Nguyễn Thị Lan": (1, 1.0), "Trần Văn Hùng": (1, 0.0)}


def test_the_month_before_and_a_period_still_running(november: Services,
                                                     nov_clock: FakeClock) -> None:
    nov_clock.now = datetime(2026, 12, 10, 9)
    october = november.reports.period_report(date(2026, 10, 1), date(2026, 10, 31))
    assert october.total == Counts(direct_postal=1, within=1)
    nov_clock.now = datetime(2026, 11, 6, 9)  # judged at "now" while the period runs
    running = november.reports.period_report(date(2026, 11, 1), date(2026, 11, 30))
    assert running.total.overdue == 1  # A only (its due 04/11 has passed)
    assert running.total.received == running.total.resolved + running.total.in_progress


def test_today_counts(november: Services, nov_clock: FakeClock) -> None:
    nov_clock.now = datetime(2026, 11, 27, 11)
    today = november.reports.today_counts()
    assert today.received_today == 2           # H and I
    assert today.due_today == 1                # I, due 17:00 today
    assert today.overdue == 1                  # A
    assert today.waiting_supplement == 1       # E
    assert today.ready_to_return == 1          # I
    with november.db.engine.connect() as conn:
        pending = conn.exec_driver_sql("SELECT COUNT(*) FROM outbox").scalar_one()
    assert today.not_synced == pending > 0
    later = november.reports.today_counts(datetime(2026, 11, 27, 17, 30))
    assert later.overdue == 2 and later.due_today == 1


def test_an_empty_period(desk: Services) -> None:
    report = desk.reports.period_report(date(2025, 1, 1), date(2025, 12, 31))
    assert report.total == Counts() and report.rows == []
    assert report.total.on_time_rate is None and report.satisfaction.rate is None
    assert sum(report.channels.values()) == 0 and report.fees_collected == 0
