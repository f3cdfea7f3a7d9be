"""Intake (F2) end to end through the screens, checking what was stored."""

from __future__ import annotations

import sqlite3

from pypdf import PdfReader
from textual.widgets import Checkbox, Input, OptionList, Static

from ccdesk.app import DeskApp
from screens.dossier import DossierScreen
from screens.intake_applicant import ApplicantStep
from screens.intake_checklist import ChecklistStep
from screens.intake_decision import DecisionStep
from screens.intake_procedure import ProcedureStep
from screens.modals.form_preview import FormPreview
from screens.widgets.chrome import TitleBar
from screens.widgets.field import FormField
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen


async def _to_applicant(pilot, query: str = "khai sinh") -> None:  # noqa: ANN001
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProcedureStep)
    await type_into(pilot, "#procedure-query", query)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def test_procedure_search_is_accent_insensitive(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        for query in ("khai sinh", "dang ky", "Đăng ký khai sinh"):
            await type_into(pilot, "#procedure-query", query)
            await settle(pilot)
            results = app.screen.query_one("#procedure-results", OptionList)
            ids = [results.get_option_at_index(i).id for i in range(results.option_count)]
            assert "1.001193" in ids, query


async def test_accept_stores_dossier_with_due_time(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot, "1.001193")
        assert isinstance(app.screen, ApplicantStep)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        await type_into(pilot, "#phone", "0912345678")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistStep)
        procedure = services.catalog.procedure("1.001193")  # one row per document, and
        boxes = list(app.screen.query(".doc-received").results(Checkbox))  # each condition
        assert len(boxes) == len(procedure.documents)
        conditional = [d for d in procedure.documents if d.condition]
        shown = [str(label.content) for label in app.screen.query(".doc-cond")]
        assert conditional and len(shown) == len(conditional)
        assert all(d.condition in text for d, text in zip(conditional, shown, strict=True))
        await pilot.press("f7", "f8")
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        due = str(app.screen.query_one("#decision-due").content)
        assert "17:00 23/11/2026" in due  # same-day procedure received 09:15 on a Monday
        await pilot.press("f5")
        await pilot.press("y")
        await wait_for_screen(pilot, FormPreview)
        await settle(pilot)
        preview = app.screen
        code = preview.code
        text = str(preview.query_one("#preview-text", Static).content)
        assert code in text and "Đặng Văn Đức" in text  # the slip (Mẫu 01) as text
        await pilot.press("p")  # no printer configured: the PDF is saved
        await settle(pilot)
        await wait_for_screen(pilot, DossierScreen)
    saved = list(services.paths.forms_dir.glob("*.pdf"))
    assert len(saved) == 1
    pdf_text = "".join(page.extract_text() for page in PdfReader(saved[0]).pages)
    assert code in pdf_text
    row = sqlite3.connect(services.db.path).execute(
        "select status, applicant_name, applicant_phone, due_at from dossier where code = ?",
        (code,)).fetchone()
    assert row == ("received", "Đặng Văn Đức", "0912345678", "2026-11-23 17:00:00.000000")


async def test_bad_input_is_shown_at_the_field(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot)
        await type_into(pilot, "#id_number", "12345", keys=True)
        await pilot.pause()
        field = app.screen.query_one("#field-id_number", FormField)
        assert "12 chữ số" in field.error_text  # shown while typing
        await type_into(pilot, "#phone", "12ab")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ApplicantStep)  # nothing moves on
        assert "chưa nhập" in app.screen.query_one("#field-full_name", FormField).error_text
        assert app.screen.query_one("#field-phone", FormField).error_text
    count = sqlite3.connect(services.db.path).execute("select count(*) from dossier").fetchone()
    assert count == (0,)


async def test_returning_citizen_fills_in(services, actor) -> None:
    from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest

    services.intake.submit(actor, IntakeRequest(
        "1.001193", Applicant("Lê Thị Hoà", "001185012345", phone="0987654321",
                              address="Thôn 3, An Phú"),
        [ChecklistEntry(p, True) for p in (1, 2, 3)]), Decision.ACCEPT)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot)
        await type_into(pilot, "#id_number", "001185012345")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#full_name", Input).value == "Lê Thị Hoà"
        assert screen.query_one("#phone", Input).value == "0987654321"
        assert screen.query_one("#address", Input).value == "Thôn 3, An Phú"


async def test_refuse_needs_a_reason(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Trần Văn Bình")
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("f8")  # nothing ticked
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        await pilot.press("f7")  # refused before the y/n question: the reason is missing
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        assert "bắt buộc" in app.screen.query_one("#field-reason", FormField).error_text
        await type_into(pilot, "#reason", "Không thuộc thẩm quyền của xã")
        await pilot.press("f7", "y")
        await wait_for_screen(pilot, FormPreview)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
    row = sqlite3.connect(services.db.path).execute(
        "select d.status, e.reason from dossier d join dossierevent e on e.dossier_id = d.id"
    ).fetchone()
    assert row == ("refused", "Không thuộc thẩm quyền của xã")


async def test_language_switch_keeps_a_half_typed_intake(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        app.change_language("en")
        await settle(pilot)
        assert "applicant" in app.screen.query_one(TitleBar).heading
        assert app.screen.query_one("#full_name", Input).value == "Đặng Văn Đức"
        assert app.screen.query_one("#id_number", Input).value == "001085012345"
