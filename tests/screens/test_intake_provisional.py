"""The intake decision step tells the officer when the due date crosses a provisional day off
(docs/calendar.md): received Mon 23/11/2026 09:15, 3 working days cross 24/11 (Culture Day, not
yet confirmed by an official text); a same-day procedure does not."""

from __future__ import annotations

from ccdesk.app import DeskApp
from screens.intake_decision import DecisionStep
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into


async def _to_decision(pilot, code: str, fee: str | None) -> None:  # noqa: ANN001
    await pilot.press("f2")
    await settle(pilot)
    await type_into(pilot, "#procedure-query", code)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await type_into(pilot, "#id_number", "001085012345")
    await type_into(pilot, "#full_name", "Đặng Văn Đức")
    await type_into(pilot, "#phone", "0912345678")
    if fee is not None:
        await type_into(pilot, "#fee_amount", fee)
    await pilot.press("f8")
    await settle(pilot)
    await pilot.press("f7", "f8")
    await settle(pilot)


async def test_decision_step_warns_about_a_provisional_day(services, actor) -> None:  # noqa: ANN001
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_decision(pilot, "1.004873", fee="15000")
        assert isinstance(app.screen, DecisionStep)
        assert "09:15 27/11/2026" in str(app.screen.query_one("#decision-due").content)
        warning = str(app.screen.query_one("#decision-provisional").content)
        assert "24/11/2026" in warning


async def test_no_warning_when_no_provisional_day_is_crossed(services, actor) -> None:  # noqa: ANN001
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_decision(pilot, "1.001193", fee=None)
        assert isinstance(app.screen, DecisionStep)
        assert "17:00 23/11/2026" in str(app.screen.query_one("#decision-due").content)
        assert not app.screen.query("#decision-provisional")
