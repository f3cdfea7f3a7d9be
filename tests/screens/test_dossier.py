"""A whole dossier through the app: intake with a missing document, supplement, hand-off,
result back, ready, return with a rating; then the stored state and the event history."""

from __future__ import annotations

import sqlite3

from textual.widgets import DataTable, OptionList

from ccdesk.app import DeskApp
from ccdesk.domain.lifecycle import Action
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from screens.dossier import DossierScreen
from screens.modals.action import ActionModal, ActionPicker
from screens.modals.confirm import ConfirmModal
from screens.modals.form_preview import FormPreview
from screens.modals.rating import RatingModal
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen


async def choose_action(pilot, action: Action) -> None:  # noqa: ANN001 - Pilot
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ActionPicker)
    options = pilot.app.screen.query_one("#actions", OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(action.value)
    await pilot.press("enter")
    await wait_for_screen(pilot, ActionModal)


async def confirm(pilot, then: type = DossierScreen) -> None:  # noqa: ANN001 - Pilot
    await pilot.press("f8")
    await wait_for_screen(pilot, ConfirmModal)
    await pilot.press("y")
    await wait_for_screen(pilot, then)
    await settle(pilot)


async def test_whole_dossier_through_the_app(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        # Intake: procedure 1.004884 (5 working days, provincial fee), one document missing.
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#procedure-query", "dang ky lai khai sinh")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        await type_into(pilot, "#fee_amount", "5.000")
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("space")  # tick the first document only
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("f6", "y")  # request a supplement: Mẫu 02 is shown
        await wait_for_screen(pilot, FormPreview)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DossierScreen)
        code = screen.code
        assert "Chưa tính hạn" in str(screen.query_one("#dossier-due").content)

        await choose_action(pilot, Action.SUPPLEMENT_RECEIVED)
        await confirm(pilot)
        assert "còn 5 ngày làm việc" in str(app.screen.query_one("#dossier-due").content)

        await choose_action(pilot, Action.HAND_OFF)
        await type_into(pilot, "#body", "Phòng Tư pháp")
        await confirm(pilot, then=FormPreview)  # the hand-off control sheet
        assert "Phòng Tư pháp" in str(app.screen.query_one("#preview-text").content)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await choose_action(pilot, Action.RESULT_BACK)
        await confirm(pilot)
        await choose_action(pilot, Action.MARK_READY)
        await confirm(pilot)
        await choose_action(pilot, Action.RETURN_RESULT)
        await confirm(pilot, then=RatingModal)
        await pilot.press("1")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        assert isinstance(app.screen, DossierScreen)
        events = app.screen.query_one("#dossier-events", DataTable)
        assert events.row_count == 7

    db = sqlite3.connect(services.db.path)
    assert db.execute("select status, handling_body from dossier where code = ?",
                      (code,)).fetchone() == ("returned", "Phòng Tư pháp")
    actions = [r[0] for r in db.execute(
        "select action from dossierevent order by id").fetchall()]
    assert actions == ["request_supplement", "supplement_received", "hand_off", "result_back",
                       "mark_ready", "return_result", "rate"]
    assert db.execute("select level from rating").fetchone() == ("very_satisfied",)
    assert db.execute("select count(*) from outbox").fetchone() == (7,)


async def test_extend_needs_a_later_due_time(services, actor) -> None:
    result = services.intake.submit(actor, IntakeRequest(
        "1.004873", Applicant("Lê Thị Hoà", "001185012345"),
        [ChecklistEntry(p, True) for p in (1, 2)], fee_amount=0), Decision.ACCEPT)
    code = result.dossier.code
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(DossierScreen(services, code))
        await settle(pilot)
        await choose_action(pilot, Action.EXTEND)
        await type_into(pilot, "#new_due", "31/02/2026")
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, ActionModal)  # not a date: stays, says the format
        assert "HH:MM dd/mm/yyyy" in app.screen.query_one("#field-new_due").error_text
        await type_into(pilot, "#new_due", "16:00 04/12/2026")
        await type_into(pilot, "#late_body", "Phòng Tư pháp")
        await type_into(pilot, "#reason", "Chờ xác minh")
        await confirm(pilot, then=FormPreview)  # the apology letter with the new due time
        assert "04/12/2026" in str(app.screen.query_one("#preview-text").content)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
    row = sqlite3.connect(services.db.path).execute(
        "select due_at, extensions from dossier").fetchone()
    assert row == ("2026-12-04 16:00:00.000000", 1)


async def test_second_supplement_round_warns_before_confirming(services, actor) -> None:
    code = services.intake.submit(actor, IntakeRequest(
        "1.004884", Applicant("Lê Thị Hoà", "001185012345"), [ChecklistEntry(1, True)],
        fee_amount=0), Decision.SUPPLEMENT).dossier.code
    services.dossiers.act(actor, code, Action.SUPPLEMENT_RECEIVED, received_positions=[2, 3])
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(DossierScreen(services, code))
        await settle(pilot)
        await choose_action(pilot, Action.REQUEST_SUPPLEMENT)
        await type_into(pilot, "#extra_item", "Bản sao giấy khai sinh cũ")
        await pilot.press("f8")
        await wait_for_screen(pilot, ConfirmModal)
        detail = app.screen.query_one(".modal-detail")
        assert "Nghị định 63/2010" in str(detail.content)
        await pilot.press("y")
        await wait_for_screen(pilot, FormPreview)  # Mẫu 02 for the citizen
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
    rounds = sqlite3.connect(services.db.path).execute(
        "select supplement_rounds, status from dossier").fetchone()
    assert rounds == (2, "waiting_supplement")
