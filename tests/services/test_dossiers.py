from __future__ import annotations

import sqlite3
from datetime import datetime

import orjson
import pytest

from ccdesk.domain.errors import PermissionDenied, TransitionError, ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.services import Actor, Services
from ccdesk.services.dossiers import action_warnings, timeliness
from ccdesk.services.intake import (
    Applicant,
    ChecklistEntry,
    Decision,
    IntakeRequest,
    MissingItem,
)

CITIZEN = Applicant("Bùi Thị Mai", "036190001234", phone="0987654321")


def accept_land_dossier(desk: Services, officer: Actor) -> str:
    request = IntakeRequest("1.012783", CITIZEN, [ChecklistEntry(1, True), ChecklistEntry(2, True)],
                            fee_amount=50000)
    return desk.intake.submit(officer, request, Decision.ACCEPT).dossier.code


def test_full_path_with_hand_off_and_rating(desk: Services, officer: Actor, clock) -> None:
    code = accept_land_dossier(desk, officer)
    due = desk.dossiers.detail(code).dossier.due_at
    assert due == datetime(2026, 12, 1, 9, 15)  # 5 WD: 25, 26, 27, 30/11, 1/12 (24/11 off)
    desk.dossiers.act(officer, code, Action.HAND_OFF, body="Chi nhánh VPĐKĐĐ")
    clock.advance(days=2)
    desk.dossiers.act(officer, code, Action.RESULT_BACK)
    desk.dossiers.act(officer, code, Action.MARK_READY)
    result = desk.dossiers.act(officer, code, Action.RETURN_RESULT)
    assert result.dossier.status == "returned"
    assert orjson.loads(result.event.data)["timeliness"] == "early"
    desk.dossiers.rate(officer, code, "very_satisfied")
    detail = desk.dossiers.detail(code)
    assert [e.action for e in detail.events] == [
        "accept", "hand_off", "result_back", "mark_ready", "return_result", "rate"]
    assert detail.rating.level == "very_satisfied"
    assert detail.dossier.handling_body == "Chi nhánh VPĐKĐĐ"
    with sqlite3.connect(desk.db.path) as con:
        assert con.execute("SELECT count(*) FROM outbox").fetchone()[0] == 6
    with pytest.raises(ValidationError):
        desk.dossiers.rate(officer, code, "satisfied")  # only once


def test_illegal_action_changes_nothing(desk: Services, officer: Actor) -> None:
    code = accept_land_dossier(desk, officer)
    with pytest.raises(TransitionError):
        desk.dossiers.act(officer, code, Action.RETURN_RESULT)
    detail = desk.dossiers.detail(code)
    assert detail.dossier.status == "received" and len(detail.events) == 1


def test_supplement_wait_does_not_count_against_the_desk(desk: Services, officer: Actor,
                                                         clock) -> None:
    code = accept_land_dossier(desk, officer)
    due = desk.dossiers.detail(code).dossier.due_at
    desk.dossiers.act(officer, code, Action.HAND_OFF, body="Chi nhánh VPĐKĐĐ")
    desk.dossiers.act(officer, code, Action.REQUEST_SUPPLEMENT,
                      items=[MissingItem("Sơ đồ thửa đất", "thiếu chữ ký")])
    clock.advance(days=3)  # Mon 23 -> Thu 26: 25 and 26 are working days (24 is off)
    result = desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED)
    assert result.dossier.status == "handed_off"  # back where it was
    assert result.dossier.due_at == desk.ctx.calendar.shift_for_pause(
        due, datetime(2026, 11, 23, 9, 15), datetime(2026, 11, 26, 9, 15))
    assert result.dossier.due_at == datetime(2026, 12, 3, 9, 15)


def test_second_supplement_round_warns(desk: Services, officer: Actor) -> None:
    code = accept_land_dossier(desk, officer)
    first = desk.dossiers.act(officer, code, Action.REQUEST_SUPPLEMENT,
                              items=[MissingItem("Bản vẽ")])
    assert first.warnings == ()
    desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED)
    before = desk.dossiers.detail(code).dossier
    # the action's form warns before it is recorded, with what the service returns after
    assert action_warnings(before, Action.REQUEST_SUPPLEMENT) == ["core.warn.supplement_round"]
    assert action_warnings(before, Action.EXTEND) == []
    second = desk.dossiers.act(officer, code, Action.REQUEST_SUPPLEMENT,
                               items=[MissingItem("Bản vẽ có xác nhận")])
    assert second.warnings == ("core.warn.supplement_round",)
    assert second.dossier.supplement_rounds == 2


def test_the_first_supplement_request_warns_of_nothing_beforehand(
        desk: Services, officer: Actor) -> None:
    code = accept_land_dossier(desk, officer)
    assert action_warnings(desk.dossiers.detail(code).dossier,
                           Action.REQUEST_SUPPLEMENT) == []


def test_supplement_before_acceptance_starts_the_clock_when_complete(
        desk: Services, officer: Actor, clock) -> None:
    request = IntakeRequest("1.012783", CITIZEN, [ChecklistEntry(1, True)], fee_amount=0)
    code = desk.intake.submit(officer, request, Decision.SUPPLEMENT).dossier.code
    clock.advance(days=2)
    result = desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED,
                               received_positions=[2])
    d = result.dossier
    assert d.status == "received" and d.accepted_at == clock.now
    assert d.due_at == desk.ctx.calendar.due_at(clock.now, desk.catalog.procedure("1.012783").time)
    assert all(i.received for i in desk.dossiers.detail(code).checklist)
    assert d.fee_amount == 0  # the fee given at intake (0 here) is kept


def test_fee_owed_is_kept_or_entered_when_a_supplement_completes_the_dossier(
        desk: Services, officer: Actor) -> None:
    fixed = IntakeRequest("2.000884", CITIZEN, [ChecklistEntry(1, True)])
    code = desk.intake.submit(officer, fixed, Decision.SUPPLEMENT).dossier.code
    assert desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED,
                             received_positions=[2]).dossier.fee_amount == 10000
    provincial = IntakeRequest("1.004873", CITIZEN, [])
    code = desk.intake.submit(officer, provincial, Decision.SUPPLEMENT).dossier.code
    assert desk.dossiers.detail(code).dossier.fee_amount == 0
    with pytest.raises(ValidationError):
        desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED, fee_amount=-1)
    done = desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED, received_positions=[1],
                             fee_amount=15000)
    assert done.dossier.fee_amount == 15000


def test_extension_needs_a_lead_and_keeps_history(desk: Services, officer: Actor,
                                                  lead: Actor) -> None:
    code = accept_land_dossier(desk, officer)
    original = desk.dossiers.detail(code).dossier.due_at
    new_due = datetime(2026, 12, 7, 16, 0)
    with pytest.raises(PermissionDenied):
        desk.dossiers.act(officer, code, Action.EXTEND, reason="Chờ đo đạc", new_due=new_due)
    with pytest.raises(ValidationError):
        desk.dossiers.act(lead, code, Action.EXTEND, reason="Chờ đo đạc", new_due=original)
    desk.dossiers.act(lead, code, Action.EXTEND, reason="Chờ đo đạc", new_due=new_due,
                      late_body="Chi nhánh VPĐKĐĐ")
    detail = desk.dossiers.detail(code)
    assert detail.dossier.due_at == new_due
    assert detail.dossier.original_due_at == original
    [ext] = detail.extensions
    assert (ext.original_due, ext.new_due, ext.signer_id) == (original, new_due, lead.officer_id)


def test_stop_and_withdraw_need_a_reason(desk: Services, officer: Actor) -> None:
    code = accept_land_dossier(desk, officer)
    with pytest.raises(ValidationError):
        desk.dossiers.act(officer, code, Action.WITHDRAW)
    result = desk.dossiers.act(officer, code, Action.WITHDRAW, reason="Công dân xin rút")
    assert result.dossier.status == "withdrawn" and result.dossier.closed_at is not None


def test_reprint_is_recorded(desk: Services, officer: Actor) -> None:
    code = accept_land_dossier(desk, officer)
    desk.dossiers.record_reprint(officer, code, "01")
    events = desk.dossiers.detail(code).events
    assert events[-1].action == "reprint"
    assert orjson.loads(events[-1].data) == {"form": "01"}


def test_timeliness_buckets() -> None:
    due = datetime(2026, 11, 27, 9, 15)
    assert timeliness(due, datetime(2026, 11, 26, 16, 0)) == "early"
    assert timeliness(due, datetime(2026, 11, 27, 9, 0)) == "on_time"
    assert timeliness(due, datetime(2026, 11, 27, 10, 0)) == "late"
    assert timeliness(due, datetime(2026, 11, 30, 8, 0)) == "late"
