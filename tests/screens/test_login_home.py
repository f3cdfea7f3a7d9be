"""From the PIN to home (issue 17): home's figures are read while argon2id checks the PIN, and
reach the screen only after a right one."""

from __future__ import annotations

import threading

import pytest

from ccdesk.services.reports import ReportService
from screens.home import HomeScreen
from screens.login import LoginScreen
from screens.widgets.field import FormField
from tests.screens.conftest import PIN, SIZE
from tests.screens.helpers import settle, type_into
from tests.screens.test_fast_start import _desk_opening, _ready_copy

COUNT_LABEL = "Tiếp nhận hôm nay"  # the first count card's label, shown with its figure


def _card(app) -> str:  # noqa: ANN001 - DeskApp
    cards = app.screen.query("#count-received_today")
    return str(cards.first().render()) if cards else ""


async def test_a_wrong_pin_never_reveals_home(services, tmp_path) -> None:
    app = _desk_opening(_ready_copy(services, tmp_path), services.paths)
    read_during_checks: list[str] = []
    original = ReportService.today_counts

    def counted(self, now=None):  # noqa: ANN001, ANN202 - the service's own signature
        read_during_checks.append(threading.current_thread().name)
        return original(self, now)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ReportService, "today_counts", counted)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                for wrong in ("0000", "13572468", "24681358"):
                    await type_into(pilot, "#pin", wrong)
                    await pilot.press("enter")
                    await settle(pilot)
                    assert isinstance(app.screen, LoginScreen)
                    assert app.actor is None and app._home_first is None
                    assert "không đúng" in app.screen.query_one(
                        "#field-pin", FormField).error_text
                    with pytest.raises(KeyError):  # the home area was never built
                        app.get_screen_stack("home")
                    assert COUNT_LABEL not in _card(app)
                # Home's figures were read during each check, and dropped with its answer.
                assert read_during_checks.count("ccdesk-home-first") == 3
                await type_into(pilot, "#pin", PIN)
                await pilot.press("enter")
                await settle(pilot)
                assert isinstance(app.screen, HomeScreen) and app.actor is not None
                assert COUNT_LABEL in _card(app)
    finally:
        app.loader.close()


async def test_home_opens_with_the_figures_read_during_the_pin_check(services, tmp_path,
                                                                     ) -> None:
    """Home's own read is held back here: the figures it shows at once are the ones read while
    the PIN was checked."""
    app = _desk_opening(_ready_copy(services, tmp_path), services.paths)
    gate = threading.Event()
    original = ReportService.today_counts

    def held(self, now=None):  # noqa: ANN001, ANN202 - the service's own signature
        if threading.current_thread().name not in ("ccdesk-home-first", "ccdesk-open"):
            assert gate.wait(30)
        return original(self, now)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ReportService, "today_counts", held)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                await type_into(pilot, "#pin", PIN)
                await pilot.press("enter")
                for _ in range(500):
                    if isinstance(app.screen, HomeScreen):
                        break
                    await pilot.pause(0.02)
                await pilot.pause()
                assert isinstance(app.screen, HomeScreen)
                assert not gate.is_set()
                assert f"0\n{COUNT_LABEL}" in _card(app)  # shown before home's own read
                gate.set()
                await settle(pilot)
                assert COUNT_LABEL in _card(app)
    finally:
        gate.set()
        app.loader.close()
