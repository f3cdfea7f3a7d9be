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


# ---- the PIN checked while it is typed (ccdesk/services/pin_ahead.py) -----------------------

class CountedHashes:
    """``verify_pin`` (one argon2id each) counted, with how many ran at once."""

    def __init__(self) -> None:
        from ccdesk.services import pins

        self.original = pins.verify_pin
        self.pins: list[str] = []
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, stored: str, pin: str, key: bytes | None) -> bool:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.pins.append(pin)
        try:
            return self.original(stored, pin, key)
        finally:
            with self.lock:
                self.running -= 1


async def _ahead_done(pilot, app) -> None:  # noqa: ANN001 - Pilot, DeskApp
    """Until the value typed last has its verdict (the officer pausing before Enter)."""
    for _ in range(1000):
        ahead = app._pin_ahead
        if ahead._thread is None and ahead._wanted is not None:
            return
        await pilot.pause(0.02)
    raise AssertionError("the PIN typed was never checked ahead")


def _failures(db) -> tuple[int, int]:  # noqa: ANN001 - Path
    """(failed attempts of "lan", login.failed audit lines)."""
    import sqlite3

    with sqlite3.connect(db) as con:
        failed = con.execute("select failed_attempts from officer where username = 'lan'"
                             ).fetchone()[0]
        audited = con.execute("select count(*) from auditlog where action = 'login.failed'"
                              ).fetchone()[0]
    return failed, audited


async def _login_typing(services, tmp_path, steps) -> tuple[object, CountedHashes, object]:  # noqa: ANN001
    """Run ``steps(pilot, app, db)`` on a desk opening as ``ccdesk`` opens it, hashes counted."""
    from ccdesk.services import pins

    db = _ready_copy(services, tmp_path)
    app = _desk_opening(db, services.paths)
    hashes = CountedHashes()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pins, "verify_pin", hashes)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                await steps(pilot, app, db)
    finally:
        app.loader.close()
    return app, hashes, db


async def test_the_right_pin_checked_while_typed_is_not_hashed_again_at_enter(
        services, tmp_path) -> None:
    async def steps(pilot, app, db) -> None:  # noqa: ANN001
        await type_into(pilot, "#pin", PIN, keys=True)
        await _ahead_done(pilot, app)
        assert app.actor is None and _failures(db) == (0, 0)  # nothing happens before Enter
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen) and app.actor is not None
        # Nothing of the PIN is kept after the login.
        assert app._pin_ahead._wanted is None and app._pin_ahead._done is None

    _, hashes, _ = await _login_typing(services, tmp_path, steps)
    assert hashes.pins == [PIN] and hashes.most == 1  # lan is a lead: 8 digits at least


async def test_a_wrong_pin_checked_while_typed_counts_once_at_enter(services, tmp_path) -> None:
    async def steps(pilot, app, db) -> None:  # noqa: ANN001
        for wrong in ("13572468", "24681358", "11112222"):  # typed, checked, never entered
            await type_into(pilot, "#pin", wrong, keys=True)
            await _ahead_done(pilot, app)
        assert _failures(db) == (0, 0)  # a check ahead counts nothing
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None
        assert "không đúng" in app.screen.query_one("#field-pin", FormField).error_text
        assert _failures(db) == (1, 1)  # Enter counted it, exactly as without the check ahead

    _, hashes, _ = await _login_typing(services, tmp_path, steps)
    assert hashes.pins == ["13572468", "24681358", "11112222"] and hashes.most == 1


async def test_a_pin_edited_after_its_check_ahead_is_checked_as_entered(services,
                                                                      tmp_path) -> None:
    async def steps(pilot, app, db) -> None:  # noqa: ANN001
        await type_into(pilot, "#pin", PIN, keys=True)
        await _ahead_done(pilot, app)                 # the right PIN, checked
        await pilot.press("backspace", "8")           # then edited: a wrong one entered
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None
        assert _failures(db) == (1, 1)
        await type_into(pilot, "#pin", "2468135", keys=True)
        await _ahead_done(pilot, app)                 # 7 digits: too short to be worth a hash
        await pilot.press("7", "enter")               # Enter at once: the hash runs at Enter
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert _failures(db) == (0, 1)

    _, hashes, _ = await _login_typing(services, tmp_path, steps)
    assert hashes.pins == [PIN, "24681358", PIN] and hashes.most == 1


# ---- the officer picked with ↑/↓ (screens/widgets/choice_line.py) ---------------------------

async def test_the_officer_is_picked_with_the_arrows_then_enter(services) -> None:
    from ccdesk.app import DeskApp
    from ccdesk.services import SYSTEM
    from screens.widgets.choice_line import ChoiceLine

    services.officers.add(SYSTEM, "minh", "Phạm Văn Minh", "officer", "1357")
    app = DeskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        picker = app.screen.query_one("#officer", ChoiceLine)
        assert app.focused is picker and picker.value is None
        assert "Chọn cán bộ" in str(picker.render())               # the prompt, nothing chosen
        await pilot.press("down")                                   # the first, by name
        assert picker.value == "lan" and "Nguyễn Thị Lan (lan)" in str(picker.render())
        await pilot.press("down", "down", "up")                     # wraps both ways
        assert picker.value == "minh" and "Phạm Văn Minh (minh)" in str(picker.render())
        assert app.focused is picker                                # still choosing
        await pilot.press("enter")                                  # chosen: on to the PIN
        assert app.focused is app.screen.query_one("#pin")
        await pilot.press(*"1357", "enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen) and app.actor.username == "minh"


async def test_the_only_officer_is_chosen_and_the_pin_focused(services) -> None:
    from ccdesk.app import DeskApp
    from screens.widgets.choice_line import ChoiceLine

    app = DeskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        picker = app.screen.query_one("#officer", ChoiceLine)
        assert picker.value == "lan" and app.focused is app.screen.query_one("#pin")
        assert str(picker.render()) == "Nguyễn Thị Lan (lan)"      # no arrows: nothing else
