"""Typing at machine speed, and the chip ID card's QR code read by a keyboard-mode scanner."""

from __future__ import annotations

import sqlite3

from textual.widgets import Input

from ccdesk.app import DeskApp
from screens.intake_checklist import ChecklistStep
from screens.modals.form_preview import FormPreview
from tests.ui.burst import burst
from tests.ui.conftest import SIZE
from tests.ui.helpers import settle, wait_for_screen

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
        await burst(pilot, "<f2>", "1.001193", "<enter>", *fields,
                    "<tab>", "2", "<tab>", "<tab>", "Trần Văn Con", "<enter>", "Xóm Bắc",
                    "<f8>")
        assert isinstance(app.screen, ChecklistStep), sorted(
            (str(w.id), w.value) for w in app.screen.query(Input))
        await burst(pilot, "<f7>", "<f8>", "<f5>", "y")
        await wait_for_screen(pilot, FormPreview)
    row = sqlite3.connect(services.db.path).execute(
        "select applicant_id_number, applicant_name, applicant_dob, applicant_phone,"
        " applicant_email, applicant_address, sets, owner_name, owner_address, status,"
        " procedure_code from dossier").fetchone()
    assert row == ("001085012345", "Đặng Văn Đức", "1985-01-01", "0912345678", "duc@vidu.vn",
                   "Thôn Đông, xã An Phú", 2, "Trần Văn Con", "Xóm Bắc", "received",
                   "1.001193")
