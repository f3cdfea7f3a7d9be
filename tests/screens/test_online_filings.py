"""Online filings at the desk, through the screens at 80×24 (docs/tui.md, "Online filings"):
the list on home and in the register, offline marked with the age of the last pull, and one
received with the ordinary intake screens, prefilled, keeping the portal's code."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader
from sqlmodel import delete
from textual.widgets import DataTable, Input, Label, Select, Static

from ccdesk.app import DeskApp
from ccdesk.models import OnlineFiling
from ccdesk.services.online_filings import store_filing
from screens.dossier import DossierScreen
from screens.filings import FilingsScreen
from screens.home import HomeScreen
from screens.intake_applicant import ApplicantStep
from screens.intake_checklist import ChecklistStep
from screens.intake_decision import DecisionStep
from screens.modals.form_preview import FormPreview
from screens.register import RegisterScreen
from tests.screens.conftest import NOW, SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen

UNIT = "000.17.22.H56"


def portal(n: int) -> str:
    return f"{UNIT}-261122-{n:04d}"


def file_online(services, n: int, name: str = "Lê Thị Hồng Nhung") -> str:  # noqa: ANN001
    data = {"portal_code": portal(n), "procedure_code": "1.004873",
            "procedure_name": "Xác nhận tình trạng hôn nhân", "applicant_name": name,
            "applicant_id_number": "001190012345", "applicant_phone": "0987654321",
            "applicant_email": "", "applicant_address": "Thôn Đông, xã An Phú", "summary": "",
            "filed_at": f"2026-11-22T20:{n:02d}:00", "channel": "online_full"}
    services.ctx.db.write(lambda s: store_filing(s, data, f"change-{n}", NOW))
    return portal(n)


def offline_since(services, hours: int) -> None:  # noqa: ANN001
    """The desk last pulled ``hours`` ago from an upstream that no longer answers."""
    last = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours, minutes=5)
    with sqlite3.connect(services.db.path) as con:
        con.execute("INSERT OR IGNORE INTO sync_state (id) VALUES (1)")
        done = con.execute("UPDATE sync_state SET upstream_url = 'http://127.0.0.1:9', "
                           "last_success_at = ? WHERE id = 1", (last.isoformat(sep=" "),))
        assert done.rowcount == 1


def text_of(screen, selector: str) -> str:  # noqa: ANN001
    return str(screen.query_one(selector, Static).content)


async def test_home_and_register_list_them_and_one_is_received_prefilled(services,
                                                                         actor) -> None:
    first = file_online(services, 1)
    second = file_online(services, 2, name="Phạm Quốc Việt")
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        home = text_of(app.screen, "#home-filings")
        assert "Hồ sơ nộp trực tuyến chờ tiếp nhận: 2" in home
        assert first in home and "Phạm Quốc Việt" in home and "F12" in home
        assert "Mất kết nối" not in home                # no upstream: no age to give

        await pilot.press("f12")
        await settle(pilot)
        assert isinstance(app.screen, FilingsScreen)
        table = app.screen.query_one("#filings-table", DataTable)
        assert [str(k.value) for k in table.rows] == [first, second]
        await pilot.press("enter")                      # the first one, received
        await settle(pilot)

        screen = app.screen
        assert isinstance(screen, ApplicantStep)
        assert screen.query_one("#full_name", Input).value == "Lê Thị Hồng Nhung"
        assert screen.query_one("#id_number", Input).value == "001190012345"
        assert screen.query_one("#phone", Input).value == "0987654321"
        assert screen.query_one("#channel", Select).value == "online_full"
        assert first in str(screen.query_one("#portal-line", Label).content)
        await type_into(pilot, "#fee_amount", "15000")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistStep)
        await pilot.press("f7", "f8")
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        await pilot.press("f5", "y")
        await wait_for_screen(pilot, FormPreview)
        await settle(pilot)
        code = app.screen.code
        slip = str(app.screen.query_one("#preview-text", Static).content)
        assert code in slip and first in slip
        await pilot.press("p")                          # no printer: the PDF is saved
        await settle(pilot)
        await wait_for_screen(pilot, DossierScreen)
        assert f"Mã hồ sơ trên Cổng DVC: {first}" in text_of(app.screen, "#dossier-info")

        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RegisterScreen)
        listed = text_of(app.screen, "#register-filings")
        assert "chờ tiếp nhận: 1" in listed and second in listed and first not in listed
        await type_into(pilot, "#query", first)         # the portal's code finds ours
        await settle(pilot)
        register = app.screen.query_one("#register-table", DataTable)
        assert [str(k.value) for k in register.rows] == [code]
        register.focus()
        register.move_cursor(row=0)
        await settle(pilot)
        assert first in str(app.screen.query_one("#register-status", Label).content)

        await pilot.press("f3")
        await settle(pilot)
        assert "chờ tiếp nhận: 1" in text_of(app.screen, "#home-filings")

    (pdf,) = services.paths.forms_dir.glob("*.pdf")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert code in text and first in text
    row = sqlite3.connect(services.db.path).execute(
        "select d.portal_code, d.channel, d.status, f.dossier_code from dossier d "
        "join online_filing f on f.portal_code = d.portal_code").fetchone()
    assert row == (first, "online_full", "received", code)


async def test_offline_the_list_is_marked_with_the_age_of_the_last_pull(services,
                                                                        actor) -> None:
    code = file_online(services, 3)
    offline_since(services, 3)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = text_of(app.screen, "#home-filings")
        assert code in home and "Mất kết nối: danh sách kéo về 3 giờ trước" in home
        await pilot.press("f12")
        await settle(pilot)
        stale = str(app.screen.query_one("#filings-stale", Label).content)
        assert stale == "Mất kết nối: danh sách kéo về 3 giờ trước."
        app.services.ctx.db.write(lambda s: s.exec(delete(OnlineFiling)))
        await pilot.press("escape")
        await settle(pilot)
        home = text_of(app.screen, "#home-filings")       # none left, still offline
        assert app.screen.query_one("#home-filings").display
        assert "Không có hồ sơ nộp trực tuyến" in home and "3 giờ trước" in home
