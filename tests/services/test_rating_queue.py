"""The citizen's rating (one-time token, officer fallback) and queue tickets, through the real
services on a real SQLite file, and what the period report and the 766 indicators count."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.services import Actor, Services
from tests.conftest import submit_intake
from tests.services.conftest import FakeClock

DAY = date(2026, 11, 23)


def returned(desk: Services, officer: Actor) -> str:
    code = submit_intake(desk, officer, "2.000884").dossier.code
    desk.dossiers.act(officer, code, Action.MARK_READY)
    desk.dossiers.act(officer, code, Action.RETURN_RESULT)
    return code


def test_citizen_answer_spends_the_token_and_is_marked(desk: Services, officer: Actor) -> None:
    code = returned(desk, officer)
    asked = desk.citizen_rating.ask(officer, code, 60)
    question = desk.citizen_rating.question()
    assert question is not None and question.token == asked.token
    assert question.procedure_name.startswith("Chứng thực chữ ký")
    desk.citizen_rating.answer(asked.token, "satisfied")
    assert desk.citizen_rating.question() is None
    with pytest.raises(ValidationError):            # spent: a second answer writes nothing
        desk.citizen_rating.answer(asked.token, "dissatisfied")
    rating = desk.citizen_rating.close(asked.request_id)
    assert rating is not None and (rating.level, rating.source) == ("satisfied", "citizen")
    assert rating.officer_id == officer.officer_id


def test_only_a_returned_unrated_dossier_is_asked(desk: Services, officer: Actor) -> None:
    open_one = submit_intake(desk, officer, "2.000884").dossier.code
    with pytest.raises(ValidationError):
        desk.citizen_rating.ask(officer, open_one, 60)
    rated = returned(desk, officer)
    desk.dossiers.rate(officer, rated, "satisfied")
    with pytest.raises(ValidationError):
        desk.citizen_rating.ask(officer, rated, 60)
    assert desk.citizen_rating.question() is None


def test_a_token_rates_only_its_own_dossier(desk: Services, officer: Actor) -> None:
    first, second = returned(desk, officer), returned(desk, officer)
    old = desk.citizen_rating.ask(officer, first, 60)
    new = desk.citizen_rating.ask(officer, second, 60)   # asking again closes the first
    with pytest.raises(ValidationError):
        desk.citizen_rating.answer(old.token, "dissatisfied")
    with pytest.raises(ValidationError):
        desk.citizen_rating.answer("x" * 65, "satisfied")
    with pytest.raises(ValidationError):
        desk.citizen_rating.answer(new.token, "ecstatic")
    desk.citizen_rating.answer(new.token, "very_satisfied")
    assert desk.dossiers.detail(first).rating is None
    assert desk.dossiers.detail(second).rating.level == "very_satisfied"


def test_expired_question_falls_back_to_the_officer(desk: Services, officer: Actor,
                                                    clock: FakeClock) -> None:
    code = returned(desk, officer)
    asked = desk.citizen_rating.ask(officer, code, 30)
    clock.advance(seconds=31)
    assert desk.citizen_rating.question() is None
    with pytest.raises(ValidationError):
        desk.citizen_rating.answer(asked.token, "satisfied")
    assert desk.citizen_rating.close(asked.request_id) is None
    rating = desk.dossiers.rate(officer, code, "satisfied")
    assert rating.source == "officer"


def test_reports_count_officer_fallback_and_queue_waits(desk: Services, officer: Actor,
                                                        clock: FakeClock) -> None:
    by_citizen, by_officer, also_officer = (returned(desk, officer) for _ in range(3))
    asked = desk.citizen_rating.ask(officer, by_citizen, 60)
    desk.citizen_rating.answer(asked.token, "very_satisfied")
    desk.dossiers.rate(officer, by_officer, "satisfied")
    desk.dossiers.rate(officer, also_officer, "dissatisfied")

    group = desk.queue.groups()[0]
    first = desk.queue.issue(group)
    second = desk.queue.issue(group)
    assert (first.number, second.number) == (1, 2)
    clock.advance(minutes=10)
    assert desk.queue.call_next(officer).number == 1        # waited 10 minutes
    clock.advance(minutes=20)
    assert desk.queue.call_next(officer, group).number == 2  # waited 30 minutes
    assert desk.queue.call_next(officer) is None
    [line] = desk.queue.board()
    assert (line.group, line.label, line.waiting) == (group, "002", 0)

    report = desk.reports.period_report(DAY, DAY)
    s = report.satisfaction
    assert (s.total, s.officer_fallback) == (3, 2)
    [wait] = report.queue_waits
    assert (wait.group, wait.issued, wait.called) == (group, 2, 2)
    assert (wait.mean_minutes, wait.max_minutes) == (20.0, 30.0)
    indicators = desk.reports.indicators_766(DAY, DAY)
    assert (indicators.ratings, indicators.officer_fallback) == (3, 2)


def test_ticket_numbers_restart_each_day_and_groups_are_checked(desk: Services,
                                                                clock: FakeClock) -> None:
    group = desk.queue.groups()[0]
    assert desk.queue.issue(group).number == 1
    clock.now = datetime(2026, 11, 24, 8)
    assert desk.queue.issue(group).number == 1
    with pytest.raises(ValidationError):
        desk.queue.issue("Không có nhóm này")
