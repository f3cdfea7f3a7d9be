"""Every action dialog: first focus, confirm disabled until complete, nothing pre-ticked, the
service's errors shown in the open form with what was typed kept, roles shown only what they may
do, in words."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from textual.widgets import Button, Input, Label, OptionList, SelectionList

from ccdesk.app import DeskApp
from ccdesk.domain.errors import PermissionDenied, ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.services import SYSTEM
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.officers import actor_of
from screens.dossier import DossierScreen
from screens.intake_decision import DecisionStep
from screens.modals.action import ActionModal, ActionPicker
from screens.modals.confirm import ConfirmModal
from screens.widgets.field import FormField
from tests.screens.conftest import PIN, SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen


def accepted(services, actor) -> str:  # noqa: ANN001
    return services.intake.submit(actor, IntakeRequest(
        "1.004873", Applicant("Lê Thị Hoà", "001185012345"),
        [ChecklistEntry(p, True) for p in (1, 2)], fee_amount=0), Decision.ACCEPT).dossier.code


def waiting(services, actor) -> str:  # noqa: ANN001
    """Waiting for a supplement: neither document of 1.004884 brought."""
    return services.intake.submit(actor, IntakeRequest(
        "1.004884", Applicant("Lê Thị Hoà", "001185012345"), [],
        fee_amount=0), Decision.SUPPLEMENT).dossier.code


async def open_action(pilot, action: Action) -> ActionModal:  # noqa: ANN001
    await pilot.press("a")
    await wait_for_screen(pilot, ActionPicker, tries=500)
    options = pilot.app.screen.query_one("#actions", OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(action.value)
    await pilot.press("enter")
    await wait_for_screen(pilot, ActionModal, tries=500)
    await pilot.pause()
    return pilot.app.screen


async def on_dossier(app: DeskApp, pilot, code: str) -> None:  # noqa: ANN001
    await pilot.pause()
    app.push_screen(DossierScreen(app.services, code))
    await settle(pilot)


@pytest.mark.parametrize(("make", "action", "first"), [
    (waiting, Action.SUPPLEMENT_RECEIVED, "positions"),
    (waiting, Action.REFUSE, "reason"),
    (accepted, Action.REQUEST_SUPPLEMENT, "items"),
    (accepted, Action.HAND_OFF, "body"),
    (accepted, Action.EXTEND, "new_due"),
    (accepted, Action.STOP, "reason"),
])
async def test_a_dialog_opens_on_its_first_field_with_confirm_disabled(
        services, actor, make, action: Action, first: str) -> None:  # noqa: ANN001
    code = make(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await on_dossier(app, pilot, code)
        modal = await open_action(pilot, action)
        assert app.focused is not None and app.focused.id == first
        if action != Action.SUPPLEMENT_RECEIVED:  # that one may be confirmed as it stands
            assert modal.query_one("#ok", Button).disabled
            assert str(modal.query_one("#ok-why", Label).content).startswith("Chưa thể")
            await pilot.press("enter")  # Enter on an empty form never reaches the y/n
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmModal)


async def test_supplement_received_ticks_nothing_the_officer_has_not_ticked(
        services, actor) -> None:
    code = waiting(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await on_dossier(app, pilot, code)
        modal = await open_action(pilot, Action.SUPPLEMENT_RECEIVED)
        assert modal.query_one("#positions", SelectionList).selected == []
        await pilot.press("space")  # the first missing document was brought, not the second
        await pilot.press("f8")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("y")
        await wait_for_screen(pilot, DossierScreen, tries=500)
        await settle(pilot)
        toasts = [str(n.message) for n in app._notifications]
        assert any(m.startswith("Đã nhận bổ sung") for m in toasts), toasts  # not "Đã Nhận"
    rows = sqlite3.connect(services.db.path).execute(
        "select position, received from checklistitem order by position").fetchall()
    assert rows == [(1, 1), (2, 0)]


async def test_refusal_from_the_dossier_needs_a_reason(services, actor) -> None:
    code = waiting(services, actor)
    with pytest.raises(ValidationError) as err:  # the service's rule, whatever the screen
        services.dossiers.act(actor, code, Action.REFUSE, reason="  ")
    assert err.value.field == "reason"
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await on_dossier(app, pilot, code)
        modal = await open_action(pilot, Action.REFUSE)
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.screen, ActionModal)
        assert "bắt buộc" in modal.query_one("#field-reason", FormField).error_text
        await pilot.press(*"Hết thời hạn bổ sung")
        await pilot.pause()
        assert modal.query_one("#field-reason", FormField).error_text == ""  # fixed: gone
        assert not modal.query_one("#ok", Button).disabled
        await pilot.press("f8")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("y")
        await wait_for_screen(pilot, DossierScreen, tries=500)
        await settle(pilot)
    row = sqlite3.connect(services.db.path).execute(
        "select e.reason from dossierevent e where e.action = 'refuse'").fetchone()
    assert row == ("Hết thời hạn bổ sung",)


async def test_a_service_error_comes_back_into_the_open_form(services, actor) -> None:
    code = accepted(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await on_dossier(app, pilot, code)
        modal = await open_action(pilot, Action.EXTEND)
        await type_into(pilot, "#new_due", "16:00 04/12/2026")
        await type_into(pilot, "#late_body", "Phòng Tư pháp")
        await type_into(pilot, "#reason", "Chờ xác minh")
        # Meanwhile another desk extends the dossier further: this date is now too early.
        services.dossiers.act(actor, code, Action.EXTEND, reason="Chờ ý kiến",
                              new_due=datetime(2026, 12, 10, 16, 0))
        await pilot.press("f8")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("y")
        await wait_for_screen(pilot, ActionModal, tries=500)
        await settle(pilot)
        assert app.screen is modal  # still open, with everything typed
        assert "sau thời hạn hiện tại" in modal.query_one("#field-new_due", FormField).error_text
        values = {name: modal.query_one(f"#{name}", Input).value
                  for name in ("new_due", "late_body", "reason")}
        assert values == {"new_due": "16:00 04/12/2026", "late_body": "Phòng Tư pháp",
                          "reason": "Chờ xác minh"}


async def test_a_role_sees_only_what_it_may_do_and_errors_say_it_in_words(services,
                                                                         actor) -> None:
    services.officers.add(SYSTEM, "binh", "Trần Văn Bình", "officer", PIN)
    (officer,) = [o for o in services.officers.list() if o.username == "binh"]
    desk_officer = actor_of(officer)
    code = accepted(services, actor)
    with pytest.raises(PermissionDenied) as err:
        services.dossiers.act(desk_officer, code, Action.EXTEND, reason="x",
                              new_due=datetime(2026, 12, 20, 16, 0))
    message = err.value.message()
    assert "(extend)" not in message and "officer" not in message
    assert "cán bộ một cửa" in message and "gia hạn" in message
    assert "officer" not in err.value.message("en").replace("desk officer", "")
    app = DeskApp(services, actor=desk_officer)
    async with app.run_test(size=SIZE) as pilot:
        await on_dossier(app, pilot, code)
        await pilot.press("a")
        await wait_for_screen(pilot, ActionPicker, tries=500)
        options = app.screen.query_one("#actions", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert "extend" not in ids and "hand_off" in ids


async def test_decision_does_not_offer_accept_with_documents_missing(services, actor) -> None:
    from tests.screens.test_intake import _to_applicant

    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot, "1.004884")
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Trần Văn Bình")
        await type_into(pilot, "#fee_amount", "5.000")
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("f8")  # nothing ticked
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        assert not app.screen.query("#accept")
        assert not app.screen.active_bindings["f5"].enabled
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, DecisionStep)  # no y/n to accept an incomplete dossier
        await pilot.press("f7")  # refuse: the reason is missing, said beside it, no y/n
        await pilot.pause()
        assert isinstance(app.screen, DecisionStep)
        reason = app.screen.query_one("#field-reason", FormField)
        assert "bắt buộc" in reason.error_text
        await pilot.press(*"Sai thủ tục")  # the focus went to the reason: the error goes
        await pilot.pause()
        assert reason.error_text == ""
        assert app.screen.query_one("#reason", Input).value == "Sai thủ tục"


def test_attempts_left_reads_right_with_one() -> None:
    from ccdesk.i18n import t

    assert "1 tries" not in t("core.err.bad_pin", lang="en", left=1)


async def test_the_first_print_says_at_once_that_it_is_working(services, actor) -> None:
    from ccdesk.domain.lifecycle import Regime
    from ccdesk.forms.kinds import FormKind, form_id_of
    from screens.base import DeskScreen
    from screens.modals.form_preview import FormPreview

    code = accepted(services, actor)
    slip = form_id_of(FormKind.SLIP, Regime.R2025)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(FormPreview(services, actor, code, slip))
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        assert any("Đang tạo bản in" in str(n.message) for n in app._notifications)
        # While the preview is up it is busy until the file is out; with the PDF engine
        # already warmed behind the desk the print may have finished by now.
        boxes = app.screen.query(".preview-box")
        assert not boxes or boxes.first().loading
        await wait_for_screen(pilot, DeskScreen, tries=1500)  # the PDF saved, the preview closed
