"""Typing at machine speed, and the chip ID card's QR code read by a keyboard-mode scanner."""

from __future__ import annotations

import sqlite3

from textual.widgets import Input, Label

from ccdesk.app import DeskApp
from screens.intake_applicant import ApplicantStep
from screens.intake_checklist import ChecklistStep
from screens.modals.form_preview import FormPreview
from tests.screens.burst import burst, burst_handled_late
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, wait_for_screen

APPLICANT = {"id_number": "001085012345", "full_name": "Đặng Văn Đức",
             "date_of_birth": "01/01/1985", "phone": "0912345678", "email": "duc@vidu.vn",
             "address": "Thôn Đông, xã An Phú"}


async def test_a_whole_intake_typed_at_scanner_speed(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Each step is one burst of keys with no pause; Enter and Tab move between fields
        # and F8 to the next step while the keys after them are already on their way.
        fields = [part for name in APPLICANT for part in (APPLICANT[name], "<enter>")]
        # The card line after the address: old ID, sex (a list: left unset), issue date.
        card = ["012345678", "<enter>", "<tab>", "15/04/2021", "<enter>"]
        await burst(pilot, "<f2>", "1.001193", "<enter>", *fields, *card,
                    "<tab>", "2", "<f8>")
        assert isinstance(app.screen, ChecklistStep), sorted(
            (str(w.id), w.value) for w in app.screen.query(Input))
        await burst(pilot, "<f7>", "<f8>", "<f5>", "y")
        await wait_for_screen(pilot, FormPreview, tries=500)
    row = sqlite3.connect(services.db.path).execute(
        "select applicant_id_number, applicant_name, applicant_dob, applicant_phone,"
        " applicant_email, applicant_address, sets, owner_name, owner_address, status,"
        " procedure_code, applicant_old_id, applicant_sex, applicant_id_issued"
        " from dossier").fetchone()
    assert row == ("001085012345", "Đặng Văn Đức", "1985-01-01", "0912345678", "duc@vidu.vn",
                   "Thôn Đông, xã An Phú", 2, "", "", "received",
                   "1.001193", "012345678", "", "2021-04-15")


CARD = "001085012345|012345678|Lê Văn Tám|01011985|Nam|Số 5, thôn Đông, xã An Phú|15042021"


async def _applicant_step(pilot) -> None:  # noqa: ANN001
    await settle(pilot)
    await burst(pilot, "<f2>", "1.001193", "<enter>")
    assert isinstance(pilot.app.screen, ApplicantStep)


async def test_a_card_scanned_into_any_field_fills_the_applicant(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _applicant_step(pilot)
        await burst(pilot, "<tab>", "<tab>", "<tab>")  # the scanner fires into the phone field
        assert app.focused is not None and app.focused.id == "phone"
        await burst(pilot, CARD, "<enter>")
        values = {str(w.id): w.value for w in app.screen.query(Input)}
        assert (values["id_number"], values["full_name"], values["date_of_birth"],
                values["address"], values["phone"]) == (
            "001085012345", "Lê Văn Tám", "01/01/1985", "Số 5, thôn Đông, xã An Phú", "")
        status = str(app.screen.query_one("#scan-status", Label).content)
        for shown in ("001085012345", "Lê Văn Tám", "Nam", "012345678", "15/04/2021"):
            assert shown in status
        assert app.screen.draft.card is not None and app.screen.draft.card.sex == "male"
        assert app.focused.id == "phone"


async def test_a_malformed_or_partial_scan_changes_nothing(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _applicant_step(pilot)
        await burst(pilot, "Trần", "<enter>")  # typed by hand into the ID field
        await burst(pilot, "<shift+tab>", "001085012345|012345678|Lê Văn Tám|0101", "<enter>")
        values = {str(w.id): w.value for w in app.screen.query(Input)}
        assert values["id_number"] == "Trần" and values["full_name"] == ""
        assert values["date_of_birth"] == "" and values["address"] == ""
        status = app.screen.query_one("#scan-status", Label)
        assert "7 phần" in str(status.content) and status.has_class("-error")
        assert app.screen.draft.card is None


async def test_the_slip_qr_opens_its_dossier_at_the_register_and_home(services,
                                                                       actor) -> None:
    from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
    from screens.dossier import DossierScreen

    code = services.intake.submit(actor, IntakeRequest(
        "1.004873", Applicant("Lê Thị Hoà", "001185012345"),
        [ChecklistEntry(p, True) for p in (1, 2)], fee_amount=0), Decision.ACCEPT).dossier.code
    # What the printed slip's QR code holds (docs/forms.md, "The QR code").
    from ccdesk.forms.service import FormService

    printed = FormService(services).document(code, "01").pages[0].blocks[0].qr_data
    assert printed.startswith("CCDESK1|" + code + "|")
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, printed, "<enter>")  # home: nothing focused, the scanner just types
        assert isinstance(app.screen, DossierScreen) and app.screen.code == code
        await burst(pilot, "<f4>")
        await settle(pilot)                     # the register is up before the next scan
        await burst(pilot, printed, "<enter>")  # the register's search field
        assert isinstance(app.screen, DossierScreen) and app.screen.code == code
        await burst(pilot, "<escape>", "<f3>", "000.17.22.H56-261123-9999", "<enter>")
        assert not isinstance(app.screen, DossierScreen)
        assert any("9999" in n.message for n in app._notifications)


async def test_a_scan_is_told_from_a_person_by_when_its_keys_arrived(services,
                                                                      actor) -> None:
    """On a busy machine the screens get round to a scan's keys late, with pauses between them
    longer than a person's: still a scan (screens/keyflow.py). Its r and v stay text at home,
    its trailing s on the dossier it opened is no key press; the same keys pressed on their own
    digitise and list the verifications."""
    from ccdesk.forms.service import FormService
    from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
    from screens.dossier import DossierScreen
    from screens.home import HomeScreen
    from screens.keyflow import SCAN_GAP
    from screens.modals.attach import AttachModal
    from screens.verification import VerificationScreen

    code = services.intake.submit(actor, IntakeRequest(
        "1.004873", Applicant("Lê Thị Hoà", "001185012345"),
        [ChecklistEntry(p, True) for p in (1, 2)], fee_amount=0), Decision.ACCEPT).dossier.code
    fields = FormService(services).document(code, "01").pages[0].blocks[0].qr_data.split("|")
    fields[4] = "giấy hẹn trả kết quả, bản vẽ"  # a paper name with the letters r and v
    scan = "|".join(fields)
    r, v = scan.index("r"), scan.index("v")
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst_handled_late(pilot, (scan[:r],), (scan[r:v],), (scan[v:], "<enter>"),
                                 ("s",))
        assert isinstance(app.screen, DossierScreen) and app.screen.code == code
        await pilot.pause(SCAN_GAP + 0.05)
        await pilot.press("s")                  # a person's s
        await wait_for_screen(pilot, AttachModal)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await pilot.press("f3")
        await wait_for_screen(pilot, HomeScreen)
        await pilot.pause(SCAN_GAP + 0.05)
        await pilot.press("v")                  # a person's v
        await wait_for_screen(pilot, VerificationScreen)


async def test_one_tab_per_checklist_row(services, actor) -> None:
    from textual.widgets import Checkbox

    from screens.intake_checklist import DocumentRow

    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "<f2>", "1.001193", "<enter>", "001085012345", "<enter>",
                    "Đặng Văn Đức", "<f8>")
        assert isinstance(app.screen, ChecklistStep)
        rows = list(app.screen.query(DocumentRow))
        assert len(rows) >= 2
        # Space ticks, Tab goes to the next document; → reaches the quantity of this one.
        await burst(pilot, " ", "<tab>", "<right>", "<right>", "3", "<tab>", " ")
        boxes = [row.query_one(".doc-received", Checkbox).value for row in rows]
        assert boxes[:3] == [True, False, True][:len(rows)]
        assert rows[1].query_one(".doc-quantity", Input).value == "3"
