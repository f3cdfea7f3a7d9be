"""At the desk, a full disk or a read-only database shows a clear message and keeps the dossier
being typed on screen; once the cause is fixed, the same dossier is saved without retyping."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from sqlalchemy import event
from textual.widgets import Input

from ccdesk.app import DeskApp
from ccdesk.i18n import set_language
from ccdesk.services.intake import Decision
from screens.intake_applicant import ApplicantStep
from screens.intake_checklist import ChecklistStep
from screens.intake_decision import DecisionStep
from tests.reliability.conftest import Desk, birth_request
from tests.screens.helpers import settle, type_into, wait_for_screen

SIZE = (80, 24)
# The ID sorts in the middle of the pre-filled ones: its index leaf is full after VACUUM, so
# saving needs a new page whatever the other tables' last pages hold.
NAME, ID_NUMBER, PHONE = "Trịnh Thị Thu", "001085030001", "0912000111"


def _pages(db: str) -> int:
    con = sqlite3.connect(db)
    try:
        con.execute("VACUUM")  # no free page left: the next page needed hits the cap
        return con.execute("PRAGMA page_count").fetchone()[0]
    finally:
        con.close()


def _cap(kind: str, db: str) -> Callable[[sqlite3.Connection, object], None]:
    if kind == "read_only":
        return lambda conn, _record: conn.execute("PRAGMA query_only = 1")
    pages = _pages(db)
    return lambda conn, _record: conn.execute(f"PRAGMA max_page_count = {pages}")


# One storage failure through the screens is enough: a read-only database takes the same path
# (StorageError -> notification, screen kept); its message is tested in test_security.py.
@pytest.mark.parametrize(("kind", "words"), [("disk_full", "Ổ đĩa đã đầy")])
async def test_storage_error_keeps_the_typed_dossier(desk: Desk, kind: str, words: str) -> None:
    set_language("vi")
    services, actor = desk.services, desk.actor("off1")
    for n in range(25):  # well-filled tables and indexes: a new row needs new pages somewhere
        services.intake.submit(actor, birth_request(name="Lê Văn Tám",
                                                    id_number=f"0010850{n * 2477:05d}"),
                               Decision.ACCEPT)
    engine = services.db.engine
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#procedure-query", "1.001193")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ApplicantStep)
        await type_into(pilot, "#id_number", ID_NUMBER)
        await type_into(pilot, "#full_name", NAME)
        await type_into(pilot, "#phone", PHONE)
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("f7", "f8")
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)

        engine.dispose()  # the disk fills up (or the folder turns read-only) now
        cap = _cap(kind, str(desk.db_path))
        event.listen(engine, "connect", cap)
        await pilot.press("f5", "y")
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)  # nothing moved on, nothing lost
        messages = [n.message for n in app._notifications]
        assert any(words in m and str(desk.db_path) in m for m in messages), messages
        assert sqlite3.connect(desk.db_path).execute(
            "SELECT count(*) FROM dossier WHERE applicant_name = ?", (NAME,)).fetchone() == (0,)
        await pilot.press("escape")
        await wait_for_screen(pilot, ChecklistStep)
        await pilot.press("escape")
        await wait_for_screen(pilot, ApplicantStep)
        assert app.screen.query_one("#full_name", Input).value == NAME
        assert app.screen.query_one("#id_number", Input).value == ID_NUMBER

        event.remove(engine, "connect", cap)  # space freed / permissions fixed
        engine.dispose()
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        await pilot.press("f5", "y")
        await settle(pilot)
    row = sqlite3.connect(desk.db_path).execute(
        "SELECT applicant_name, applicant_id_number, applicant_phone FROM dossier "
        "WHERE applicant_name = ?", (NAME,)).fetchall()
    assert row == [(NAME, ID_NUMBER, PHONE)]
