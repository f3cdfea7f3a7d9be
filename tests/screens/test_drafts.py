"""Leaving safely: a half-typed intake is never dropped without a y/n; log-out, switch officer
and lock-now are keys and palette commands; the palette offers the current screen's actions."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from ccdesk.app import DeskApp
from screens.home import HomeScreen
from screens.intake_applicant import ApplicantStep
from screens.intake_procedure import ProcedureStep
from screens.login import LoginScreen
from screens.modals.confirm import ConfirmModal
from screens.modals.lock import LockModal
from screens.register import RegisterScreen
from tests.screens.burst import burst
from tests.screens.conftest import PIN, SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen


async def half_typed(pilot) -> None:  # noqa: ANN001
    await settle(pilot)
    await burst(pilot, "<f2>", "1.001193", "<enter>", "001085012345", "<enter>",
                "Đặng Văn Đức")
    assert isinstance(pilot.app.screen, ApplicantStep)
    assert pilot.app.screen.query_one("#full_name", Input).value == "Đặng Văn Đức"


async def test_quitting_mid_intake_asks_and_can_keep_the_draft(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await half_typed(pilot)
        await pilot.press("f3")  # away from the intake: the draft stays in its area
        await settle(pilot)
        for key in ("ctrl+q", "f10"):
            await pilot.press(key)
            await wait_for_screen(pilot, ConfirmModal, tries=500)
            assert "Đặng Văn Đức" in str(app.screen.query_one(".modal-detail").content)
            await pilot.press("n")  # keep it: back to the intake as it was left
            await wait_for_screen(pilot, ApplicantStep, tries=500)
            assert app.screen.query_one("#full_name", Input).value == "Đặng Văn Đức"
            assert app.is_running
        await pilot.press("ctrl+q")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_quitting_without_a_draft_does_not_ask(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_f2_during_an_intake_asks_before_starting_a_new_one(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await half_typed(pilot)
        await pilot.press("f2")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("n")
        await wait_for_screen(pilot, ApplicantStep, tries=500)
        assert app.screen.query_one("#full_name", Input).value == "Đặng Văn Đức"
        await pilot.press("f2")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("y")
        await wait_for_screen(pilot, ProcedureStep, tries=500)
        assert app.screen.query_one("#procedure-query", Input).value == ""
        assert app.intake_draft() is None


async def test_log_out_and_switch_officer_ask_then_forget_the_session(services,
                                                                      actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await half_typed(pilot)
        for key in ("ctrl+o", "ctrl+t"):
            await pilot.press(key)
            await wait_for_screen(pilot, ConfirmModal, tries=500)
            await pilot.press("n")
            await wait_for_screen(pilot, ApplicantStep, tries=500)
        await pilot.press("ctrl+t")
        await wait_for_screen(pilot, ConfirmModal, tries=500)
        await pilot.press("y")
        await wait_for_screen(pilot, LoginScreen, tries=500)
        assert app.actor is None
        await pilot.press("f2", "f4")  # no area opens before a login
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        await type_into(pilot, "#pin", PIN)
        await pilot.press("enter")
        await wait_for_screen(pilot, HomeScreen, tries=500)  # the PIN's hash takes a moment
        await settle(pilot)
        assert app.actor is not None and app.intake_draft() is None
        await pilot.press("f2")
        await wait_for_screen(pilot, ProcedureStep, tries=500)  # a fresh intake, nothing left over


async def test_lock_now_is_a_key_and_keeps_the_draft(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await half_typed(pilot)
        await pilot.press("ctrl+l")
        await wait_for_screen(pilot, LockModal, tries=500)
        await type_into(pilot, "#unlock-pin", PIN)
        await pilot.press("enter")
        await wait_for_screen(pilot, ApplicantStep, tries=500)
        assert app.screen.query_one("#full_name", Input).value == "Đặng Văn Đức"


async def test_the_palette_offers_the_screen_actions_and_the_session(services,
                                                                     actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await half_typed(pilot)
        await pilot.press("ctrl+p")
        await wait_for_screen(pilot, CommandPalette, tries=500)
        listed = app.screen.query_one(CommandList)
        for _ in range(30):
            await pilot.pause(0.1)
            if listed.option_count:
                break
        shown = [str(listed.get_option_at_index(i).prompt)
                 for i in range(listed.option_count)]
        for wanted in ("Tiếp (F8)", "Đăng xuất", "Đổi cán bộ", "Khóa màn hình"):
            assert any(wanted in line for line in shown), (wanted, shown)
        await pilot.press(*"khoa man hinh")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for_screen(pilot, LockModal, tries=500)


async def test_esc_and_f4_lead_back_to_the_start_of_an_area(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RegisterScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("escape")  # intake step 1: home
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
