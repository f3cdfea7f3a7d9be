"""Intake for someone else through the screens: an organisation's dossier (its fields shown by
the kind chosen, its tax code checked at the field) and a marriage naming the other spouse."""

from __future__ import annotations

import sqlite3

from textual.widgets import Select

from ccdesk.app import DeskApp
from screens.intake_applicant import ApplicantStep
from screens.intake_checklist import ChecklistStep
from screens.intake_decision import DecisionStep
from screens.modals.form_preview import FormPreview
from screens.widgets.field import FormField
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen
from tests.screens.test_intake import _to_applicant


def shown(screen, name: str) -> bool:  # noqa: ANN001 - a screen
    """Whether field ``name`` is on screen: itself and its group displayed."""
    field = screen.query_one(f"#field-{name}", FormField)
    return field.display and field.parent.display


async def _accept_all(pilot) -> str:  # noqa: ANN001
    """From the applicant step: every paper received, accept, and the slip's dossier code."""
    await pilot.press("f8")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChecklistStep), pilot.app.screen
    await pilot.press("f7", "f8")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DecisionStep)
    await pilot.press("f5", "y")
    await wait_for_screen(pilot, FormPreview)
    return pilot.app.screen.code


async def test_an_organisations_dossier_through_the_screens(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot, "2.000884")
        screen = app.screen
        assert isinstance(screen, ApplicantStep)
        assert not shown(screen, "owner_name")          # a citizen's own dossier by default
        screen.query_one("#applicant_kind", Select).value = "organisation"
        await settle(pilot)
        assert shown(screen, "owner_name") and shown(screen, "owner_tax_code")
        assert not shown(screen, "owner_id_number")    # an organisation has a tax code
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Trần Văn Bình")
        await type_into(pilot, "#owner_name", "Công ty TNHH Xây dựng An Phú")
        await type_into(pilot, "#owner_tax_code", "0314409059")   # wrong check digit
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ApplicantStep)    # nothing moves on
        assert "mã số thuế" in screen.query_one("#field-owner_tax_code", FormField).error_text
        await type_into(pilot, "#owner_tax_code", "0314409058")
        code = await _accept_all(pilot)
    row = sqlite3.connect(services.db.path).execute(
        "SELECT applicant_kind, applicant_name, owner_name, owner_tax_code, owner_id_number "
        "FROM dossier WHERE code = ?", (code,)).fetchone()
    assert row == ("organisation", "Trần Văn Bình", "Công ty TNHH Xây dựng An Phú",
                   "0314409058", "")


async def test_a_marriage_asks_for_the_other_spouse(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot, "1.000894")
        screen = app.screen
        assert "Người cùng đăng ký kết hôn" in [
            str(label.content) for label in screen.query(".group-title")]
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Trần Văn Bình")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ApplicantStep)
        assert "chưa nhập" in screen.query_one("#field-party2_name", FormField).error_text
        await type_into(pilot, "#party2_name", "Lê Thị Hồng")
        await type_into(pilot, "#party2_id_number", "001195006789")
        code = await _accept_all(pilot)
    row = sqlite3.connect(services.db.path).execute(
        "SELECT applicant_kind, party2_name, party2_id_number FROM dossier WHERE code = ?",
        (code,)).fetchone()
    assert row == ("citizen", "Lê Thị Hồng", "001195006789")


async def test_a_one_party_procedure_has_no_second_party(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_applicant(pilot, "1.001193")
        assert not app.screen.query("#party2-fields")
