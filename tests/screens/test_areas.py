"""Register (F4), reports (F5), sync (F6), settings (F9), help (F1) and Textual's own strings."""

from __future__ import annotations

import sqlite3
from datetime import date

from textual.command import CommandList, CommandPalette
from textual.content import Content
from textual.widgets import DataTable, Input, Label, Select, Static

from ccdesk.app import DeskApp
from ccdesk.demo import seed_demo
from ccdesk.services import SYSTEM
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from screens.dossier import DossierScreen
from screens.modals.help import HelpModal
from screens.register import PAGE_SIZE, RegisterScreen
from screens.reports import ReportsScreen
from screens.settings import SettingsScreen
from screens.sync import SyncScreen
from screens.widgets.chrome import KeyBar, TitleBar
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen

PEOPLE = (("Đặng Thị Hoà", "001185012345", "0912000001"),
          ("Đỗ Văn Đức", "001085012346", "0912000002"),
          ("Nguyễn Văn An", "001085012347", "0912000003"))


def receive(services, actor) -> list[str]:  # noqa: ANN001
    codes = []
    for name, id_number, phone in PEOPLE:
        result = services.intake.submit(actor, IntakeRequest(
            "1.001193", Applicant(name, id_number, phone=phone),
            [ChecklistEntry(p, True) for p in (1, 2, 3)]), Decision.ACCEPT)
        codes.append(result.dossier.code)
    return codes


def table_codes(table: DataTable) -> list[str]:
    return [str(key.value) for key in table.rows]


async def test_register_searches_filters_and_opens(services, actor) -> None:
    codes = receive(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RegisterScreen)
        assert sorted(table_codes(screen.table)) == sorted(codes)
        await type_into(pilot, "#query", "dang thi hoa", keys=True)  # typed, no accents
        await settle(pilot)
        assert table_codes(screen.table) == [codes[0]]
        await type_into(pilot, "#query", "duc")  # đ folds to d
        await settle(pilot)
        assert table_codes(screen.table) == [codes[1]]
        await type_into(pilot, "#query", "")
        screen.query_one("#status", Select).value = "waiting_supplement"
        await settle(pilot)
        assert table_codes(screen.table) == []
        screen.query_one("#status", Select).clear()
        await type_into(pilot, "#date_from", "32/13/2026")
        await settle(pilot)
        assert "dd/mm/yyyy" in str(screen.query_one("#register-status", Label).content)
        await type_into(pilot, "#date_from", "23/11/2026")
        await settle(pilot)
        assert len(table_codes(screen.table)) == 3
        screen.table.focus()
        await pilot.press("enter")
        await wait_for_screen(pilot, DossierScreen)
        assert app.screen.code in codes


async def test_register_fetches_the_next_page_by_key(services, actor) -> None:
    seed_demo(services, PAGE_SIZE + 30, 30, 7, False)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        table = app.screen.table
        assert table.row_count == PAGE_SIZE  # one page, not the whole table
        table.focus()
        table.move_cursor(row=PAGE_SIZE - 1)
        await settle(pilot)
        assert table.row_count == PAGE_SIZE + 30
        assert len(set(table_codes(table))) == PAGE_SIZE + 30


async def test_reports_show_what_was_received(services, actor) -> None:
    receive(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        table = screen.query_one("#report-table", DataTable)
        total = table.get_row_at(table.row_count - 2)
        assert str(total[2]) == str(len(PEOPLE))  # received total (right-aligned Text)
        guidance = table.get_row_at(table.row_count - 1)  # its "guidance given" line
        assert str(guidance[1]).startswith("Trong đó: Hướng dẫn")
        assert str(guidance[2]) == "0"
        assert "Trực tiếp" in str(screen.query_one("#report-channels", Static).content)
        panel = screen.query_one("#report-indicators", Static)
        assert "Giải quyết đúng hạn" in str(panel.content)
        await type_into(pilot, "#from", "30/11/2026")
        await pilot.press("enter")
        await settle(pilot)
        errors = str(screen.query_one("#field-to").error_text)
        assert errors  # the period ends before it starts: said at the field


async def test_sync_screen_works_without_network(services, actor) -> None:
    receive(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        pending = sqlite3.connect(services.db.path).execute(
            "select count(*) from outbox where state = 'pending'").fetchone()[0]
        assert f"Chờ gửi: {pending}" in str(screen.query_one("#sync-status", Static).content)
        await pilot.press("f8")
        await settle(pilot)
        result = str(screen.query_one("#sync-result", Label).content)
        assert "chưa đăng ký" in result  # not enrolled: what to do, not a traceback


async def test_sync_screen_names_dossiers_lost_by_a_restore(services, actor) -> None:
    from sync.engine import RunResult

    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        screen._finished(RunResult(codes_upstream_only=2, upstream_only_codes=[
            "000.17.22.H56-261123-0003", "000.17.22.H56-261123-0004"]))
        await pilot.pause()
        warned = [str(n.message) for n in app._notifications if n.severity == "warning"]
        assert any("2 hồ sơ" in m and "261123-0004" in m for m in warned), warned


async def test_language_switch_and_settings_permission(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#language", Select).value = "en"
        await settle(pilot)
        assert "Settings" in app.screen.query_one(TitleBar).heading
        assert "Help" in str(app.screen.query_one(KeyBar).content)
        await type_into(pilot, "#governing_body", "UBND XÃ AN PHÚ MỚI")
        await pilot.press("f8")  # a lead may not change the office headers
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert "Today" in app.screen.query_one(TitleBar).heading
    assert services.office.get().governing_body == "UBND XÃ AN PHÚ"
    assert "language = \"en\"" in services.paths.config_file.read_text()


async def test_it_officer_saves_office_headers(services) -> None:
    services.officers.add(SYSTEM, "it", "Trần Văn Tin", "it", "97531357")
    it = services.officers.authenticate("it", "97531357")
    app = DeskApp(services, actor=it)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f9")
        await settle(pilot)
        await type_into(pilot, "#unit_name", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG XÃ AN PHÚ")
        await type_into(pilot, "#printer", "desk-printer")
        await pilot.press("f8")
        await settle(pilot)
    assert services.office.get().unit_name == "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG XÃ AN PHÚ"
    assert 'printer = "desk-printer"' in services.paths.config_file.read_text()


async def test_help_palette_and_quit_toast_are_translated(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        keys = str(app.screen.query_one(".help-keys", Static).content)
        assert "Trợ giúp" in keys and "Tiếp nhận" in keys
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(Input).placeholder.startswith("Tìm lệnh")
        await pilot.press(*"zzqx")
        listed = app.screen.query_one(CommandList)
        for _ in range(50):  # Textual waits half a second before saying nothing matched
            await pilot.pause(0.1)
            if listed.option_count:
                break
        assert [str(listed.get_option_at_index(i).prompt.renderable)
                for i in range(listed.option_count)] == ["Không tìm thấy lệnh nào"]
        await pilot.press(*["backspace"] * 4)
        await pilot.press(*"so theo doi")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RegisterScreen)
        app.action_help_quit()
        await pilot.pause()
        assert any("để thoát" in str(n.message) for n in app._notifications)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert commands == ["Giao diện màu", "Phím tắt", "Chụp màn hình", "Thoát"]
        app._pick_theme()
        await pilot.pause()
        assert app.screen.query_one(Input).placeholder == "Tìm giao diện màu…"


async def test_home_counts_today(services, actor) -> None:
    receive(services, actor)
    waiting = services.intake.submit(actor, IntakeRequest(
        "1.001193", Applicant("Lê Văn Tám", "001085012348"), [ChecklistEntry(1, True)]),
        Decision.SUPPLEMENT).dossier
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen

        def count(name: str) -> int:
            card = str(screen.query_one(f"#count-{name}", Static).content)
            return int(Content.from_markup(card).plain.split("\n")[0])

        db = sqlite3.connect(services.db.path)
        received = db.execute("select count(*) from dossier").fetchone()[0]
        unsynced = db.execute("select count(*) from outbox where state = 'pending'").fetchone()[0]
        assert count("received_today") == received == len(PEOPLE) + 1
        assert count("not_synced") == unsynced > 0
        assert count("waiting_supplement") == 1 and waiting.status == "waiting_supplement"
        assert count("overdue") == 0
        assert "chưa cấu hình" in str(screen.query_one("#home-sync", Static).content)
        await pilot.click("#quick-f4", offset=(1, 0))  # the mouse works too
        await settle(pilot)
        assert isinstance(app.screen, RegisterScreen)


async def test_lead_adds_a_day_off_and_due_times_follow(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f9")
        await settle(pilot)
        await type_into(pilot, "#day", "24/11/2026")
        await type_into(pilot, "#day_name", "Nghỉ bù theo thông báo của tỉnh")
        app.screen.query_one("#add-day").press()
        await settle(pilot)
        assert "24/11/2026" in str(app.screen.query_one("#calendar-days", Static).content)
        await type_into(pilot, "#day", "24/11/2026")  # twice: refused at the field
        await type_into(pilot, "#day_name", "Lặp lại")
        app.screen.query_one("#add-day").press()
        await settle(pilot)
        assert app.screen.query_one("#field-date").error_text
    assert "2026-11-24" in services.paths.calendar_file.read_text()
    assert not services.ctx.calendar.is_working_day(date(2026, 11, 24))
    procedure = services.catalog.procedure("1.004873")  # 3 working days from Monday 23/11
    assert services.intake.preview_due(procedure).date() == date(2026, 11, 27)
