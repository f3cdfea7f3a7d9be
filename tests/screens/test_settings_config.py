"""Saving from the settings screen (F9) keeps what the user wrote in config.toml."""

from __future__ import annotations

from ccdesk.app import DeskApp
from ccdesk.config import Config
from ccdesk.services import SYSTEM
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into

WRITTEN = """\
# Hỏi anh Tuấn (IT huyện) trước khi đổi máy in
printer = ""                # CUPS queue
idle_lock_minutes = 15      # phòng đông người: khoá sớm hơn

[office_hours]
morning = ["07:00", "11:30"]   # giờ mùa hè
"""


async def test_a_comment_in_config_toml_survives_a_save_from_the_settings_screen(services
                                                                                ) -> None:
    path = services.paths.config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WRITTEN, encoding="utf-8")
    services.config = Config.load(path)
    services.officers.add(SYSTEM, "it", "Trần Văn Tin", "it", "97531234")
    app = DeskApp(services, actor=services.officers.authenticate("it", "97531234"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f9")
        await settle(pilot)
        await type_into(pilot, "#printer", "desk-printer")
        await pilot.press("f8")
        await settle(pilot)

    saved = path.read_text(encoding="utf-8")
    assert "# Hỏi anh Tuấn (IT huyện) trước khi đổi máy in" in saved
    assert 'printer = "desk-printer"                # CUPS queue' in saved
    assert "idle_lock_minutes = 15      # phòng đông người: khoá sớm hơn" in saved
    assert 'morning = ["07:00", "11:30"]   # giờ mùa hè' in saved
    assert Config.load(path).printer == "desk-printer"


async def test_the_counter_settings_are_saved_and_the_home_keys_follow(services) -> None:
    """F9 sets the citizen's rating wait, queue tickets and the ticket printer; a wrong wait is
    refused under its field and nothing is written; home shows F7/F8 once tickets are on."""
    path = services.paths.config_file
    services.officers.add(SYSTEM, "it", "Trần Văn Tin", "it", "97531234")
    app = DeskApp(services, actor=services.officers.authenticate("it", "97531234"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query("#quick-f7")
        await pilot.press("f9")
        await settle(pilot)
        await type_into(pilot, "#citizen_rating_seconds", "900")
        await pilot.press("f8")
        await settle(pilot)
        assert "0–600" in app.screen.query_one("#field-citizen_rating_seconds").error_text
        assert not path.exists()

        await type_into(pilot, "#citizen_rating_seconds", "45")
        await type_into(pilot, "#receipt_printer", "ve-80mm")
        app.screen.query_one("#queue_tickets").value = True
        await pilot.press("f8")
        await settle(pilot)
        saved = Config.load(path)
        assert (saved.citizen_rating_seconds, saved.queue_tickets, saved.receipt_printer) == (
            45, True, "ve-80mm")
        await pilot.press("f3")
        await settle(pilot)
        assert app.screen.query("#quick-f7") and app.screen.query("#quick-f8")
