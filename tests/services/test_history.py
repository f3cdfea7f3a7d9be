"""On time as the law and the national indicators count it, on histories written through the
real services: the end of processing decides (not the citizen's pick-up), and a past period
is judged as it stood at its end, from the event history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ccdesk.domain.lifecycle import Action
from ccdesk.domain.reports import Counts
from ccdesk.services.intake import MissingItem
from tests.services.reports_kit import make_desk
from tests.services.test_report_service import LAND, submit

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
APRIL = (date(2026, 4, 1), date(2026, 4, 30))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory):
    """Three dossiers received in March 2026, each resolved or collected only in April."""
    desk, officer = make_desk(tmp_path_factory.mktemp("history"), datetime(2026, 3, 2, 9))
    clock = desk.ctx.clock
    act = desk.dossiers.act
    # K: result ready before its due time, collected by the citizen weeks later.
    k = submit(desk, officer, LAND)
    k_due = desk.dossiers.detail(k).dossier.due_at
    clock.now = k_due - timedelta(hours=2)
    act(officer, k, Action.MARK_READY)
    # L: still in progress at the end of March and past its due time; in April a supplement
    # wait moves its due time past the end of March, and it is resolved then.
    clock.now = datetime(2026, 3, 16, 9)
    l_code = submit(desk, officer, LAND)
    l_due = desk.dossiers.detail(l_code).dossier.due_at
    assert l_due < datetime(2026, 4, 1)
    # M: in progress at the end of March, within its due time, resolved early in April.
    clock.now = datetime(2026, 3, 30, 9)
    m = submit(desk, officer, LAND)
    clock.now = datetime(2026, 4, 2, 9)
    act(officer, l_code, Action.REQUEST_SUPPLEMENT, items=[MissingItem("Bản vẽ", "mờ")])
    clock.now = datetime(2026, 4, 3, 9)
    act(officer, m, Action.MARK_READY)
    act(officer, m, Action.RETURN_RESULT)
    clock.now = datetime(2026, 4, 20, 9)
    act(officer, l_code, Action.SUPPLEMENT_RECEIVED)
    assert desk.dossiers.detail(l_code).dossier.due_at > datetime(2026, 4, 1)
    act(officer, k, Action.RETURN_RESULT)      # K collected on 20/04, long after its due time
    clock.now = datetime(2026, 4, 21, 9)
    act(officer, l_code, Action.MARK_READY)
    clock.now = datetime(2026, 6, 1, 9)
    yield desk
    desk.close()


def test_a_result_ready_on_time_and_collected_late_is_on_time(history) -> None:
    march = history.reports.period_report(*MARCH)
    # K ended in March (ready before its due time): resolved early or on time, never late;
    # the old rule (closed_at = the pick-up on 20/04) counted it in progress, then late.
    assert march.total.resolved == 1 and march.total.late == 0
    assert march.total.early + march.total.on_time == 1
    april = history.reports.period_report(*APRIL)
    assert april.total.carried_over == 2   # L and M, not K


def test_a_past_period_is_judged_as_it_stood_at_its_end(history) -> None:
    march = history.reports.period_report(*MARCH)
    # L and M were pending on 31/03 though both are resolved now: in progress (carried over
    # into April). L was past its due time then; the April wait that moved its due time
    # later does not make it "within time" in March.
    assert (march.total.in_progress, march.total.within, march.total.overdue) == (2, 1, 1)
    assert march.total == Counts(direct_postal=3, early=march.total.early,
                                 on_time=march.total.on_time, within=1, overdue=1)


def test_the_same_period_is_judged_the_same_on_any_later_day(history) -> None:
    clock = history.ctx.clock
    figures = []
    for day in (datetime(2026, 4, 1, 8), datetime(2026, 4, 25, 9), datetime(2026, 12, 1)):
        clock.now = day
        figures.append(history.reports.period_report(*MARCH).total)
    clock.now = datetime(2026, 6, 1, 9)
    assert figures[0] == figures[1] == figures[2]


def test_an_upstream_result_ends_processing_and_a_correction_reopens_it(tmp_path) -> None:
    """The report facts follow every event, including the district's (sync inbox)."""
    from sync.inbox import write_upstream_update

    desk, officer = make_desk(tmp_path, datetime(2026, 5, 4, 9))
    try:
        code = submit(desk, officer, LAND)
        desk.dossiers.act(officer, code, Action.HAND_OFF, body="Phòng Nông nghiệp")
        may = (date(2026, 5, 1), date(2026, 5, 31))

        def upstream(status: str, change_id: str) -> None:
            def work(session) -> None:  # noqa: ANN001
                from sqlmodel import select

                from ccdesk.models import Dossier

                dossier = session.exec(select(Dossier).where(Dossier.code == code)).one()
                write_upstream_update(session, desk.ctx, dossier, {
                    "change_id": change_id, "status": status, "kind": "status", "data": {}})

            desk.db.write(work)

        desk.ctx.clock.now = datetime(2026, 5, 5, 9)
        upstream("result_ready", "c1")
        desk.ctx.clock.now = datetime(2026, 6, 2, 9)
        assert desk.reports.period_report(*may).total.resolved == 1
        # The district takes the result back: processing has not ended after all. That moves
        # the end for May too (a documented limit: docs/reports.md, "reopened").
        upstream("in_progress", "c2")
        report = desk.reports.period_report(*may)
        assert (report.total.resolved, report.total.in_progress) == (0, 1)
    finally:
        desk.close()
