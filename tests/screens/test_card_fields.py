"""The chip ID card's seven fields on the applicant step: a scan fills all of them, the officer
can type them by hand, and the dossier stores them (``dossier show --json`` prints them)."""

from __future__ import annotations

import sqlite3

import pytest
from textual.widgets import Input, Select

from ccdesk.app import DeskApp
from ccdesk.commands.dossier import detail_json
from ccdesk.i18n import set_language
from screens.intake_applicant import ApplicantStep
from screens.intake_checklist import ChecklistStep
from screens.modals.form_preview import FormPreview
from tests.screens.burst import burst
from tests.screens.conftest import SIZE
from tests.screens.fit import cut_messages
from tests.screens.helpers import settle, type_into, wait_for_screen

CARD = "001085012345|012345678|Lê Văn Tám|01011985|Nam|Số 5, thôn Đông, xã An Phú|15042021"
CARD_COLUMNS = ("applicant_id_number, applicant_old_id, applicant_name, applicant_dob,"
                " applicant_sex, applicant_address, applicant_id_issued")


def stored(services) -> tuple:  # noqa: ANN001
    return sqlite3.connect(services.db.path).execute(
        f"select {CARD_COLUMNS} from dossier").fetchone()


async def _applicant_step(pilot) -> None:  # noqa: ANN001
    await settle(pilot)
    await burst(pilot, "<f2>", "1.001193", "<enter>")
    assert isinstance(pilot.app.screen, ApplicantStep)


async def _receive(pilot) -> None:  # noqa: ANN001
    """From the applicant step: on, tick everything, accept, confirm."""
    await pilot.press("f8")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChecklistStep), [
        (f.id, f.error_text) for f in pilot.app.screen.query(".form-field") if f.error_text]
    await burst(pilot, "<f7>", "<f8>", "<f5>", "y")
    await wait_for_screen(pilot, FormPreview, tries=500)


async def test_a_scan_fills_all_seven_fields_and_they_are_stored(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _applicant_step(pilot)
        await burst(pilot, CARD, "<enter>")
        screen = app.screen
        values = {str(w.id): w.value for w in screen.query(Input)}
        assert (values["id_number"], values["old_id_number"], values["full_name"],
                values["date_of_birth"], values["address"], values["id_issued_on"]) == (
            "001085012345", "012345678", "Lê Văn Tám", "01/01/1985",
            "Số 5, thôn Đông, xã An Phú", "15/04/2021")
        assert screen.query_one("#sex", Select).value == "male"
        await _receive(pilot)
    assert stored(services) == ("001085012345", "012345678", "Lê Văn Tám", "1985-01-01",
                                "male", "Số 5, thôn Đông, xã An Phú", "2021-04-15")


async def test_the_card_fields_typed_by_hand_are_stored(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _applicant_step(pilot)
        await type_into(pilot, "#id_number", "001185012345")
        await type_into(pilot, "#full_name", "Nguyễn Thị Hoà")
        await type_into(pilot, "#date_of_birth", "02/03/1985")
        await type_into(pilot, "#old_id_number", "123456789")
        app.screen.query_one("#sex", Select).value = "female"
        await type_into(pilot, "#id_issued_on", "10/10/2022")
        await _receive(pilot)
    assert stored(services) == ("001185012345", "123456789", "Nguyễn Thị Hoà", "1985-03-02",
                                "female", "", "2022-10-10")
    code = sqlite3.connect(services.db.path).execute("select code from dossier").fetchone()[0]
    shown = detail_json(services.dossiers.detail(code), "")
    assert (shown["applicant_old_id"], shown["applicant_sex"],
            shown["applicant_id_issued"]) == ("123456789", "female", "2022-10-10")


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("old_id_number", "12345", "9"),
    ("id_issued_on", "01/01/1980", None),  # before the birth date
    ("id_issued_on", "01/01/2030", None),  # in the future (the clock says 2026)
])
async def test_bad_card_fields_are_shown_at_the_field_and_nothing_is_saved(
        services, actor, field, value, problem) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _applicant_step(pilot)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Lê Văn Tám")
        await type_into(pilot, "#date_of_birth", "01/01/1985")
        await type_into(pilot, f"#{field}", value)
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ApplicantStep)
        error = app.screen.query_one(f"#field-{field}").error_text
        assert error and (problem is None or problem in error), error
        assert app.screen.query_one(f"#{field}", Input).value == value  # kept
        assert not cut_messages(app)
    assert stored(services) is None


async def test_a_sex_that_contradicts_the_cccd_number_is_refused(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _applicant_step(pilot)
        await type_into(pilot, "#id_number", "001085012345")  # 4th digit 0: male
        await type_into(pilot, "#full_name", "Lê Văn Tám")
        app.screen.query_one("#sex", Select).value = "female"
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ApplicantStep)
        assert app.screen.query_one("#field-sex").error_text


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_card_line_fits(services, actor, lang, size) -> None:
    """The three card fields share one line, labels and inputs whole, at 80 and 120."""
    set_language(lang)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=size) as pilot:
        await _applicant_step(pilot)
        await burst(pilot, CARD, "<enter>")
        await settle(pilot)
        screen = app.screen
        rows = {screen.query_one(f"#field-{name}").region.y
                for name in ("old_id_number", "sex", "id_issued_on")}
        assert len(rows) == 1, rows
        for name, text in (("old_id_number", "012345678"), ("id_issued_on", "15/04/2021")):
            control = screen.query_one(f"#{name}", Input)
            assert control.content_region.width > len(text), (name, control.content_region)
            assert control.region.right <= size[0]
        assert not cut_messages(app)
