"""The national-database checks at the desk, at 80×24: F6 marks a verifiable paper on the
checklist (refused for others and without a 12-digit ID number), the dossier shows each item's
state with its age, and home's line and the ``v`` list show what waits, from the desk's file."""

from __future__ import annotations

import sqlite3

from textual.widgets import Checkbox, DataTable, Static

from ccdesk.app import DeskApp
from screens.dossier import DossierScreen
from screens.intake_checklist import ChecklistStep, DocumentRow
from screens.intake_decision import DecisionStep
from screens.modals.form_preview import FormPreview
from screens.verification import VerificationScreen, VerifyMark
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen
from tests.screens.test_intake import _to_applicant
from tests.services.verification_kit import KNOWN, UNKNOWN, intake_marked


async def _to_checklist(pilot, id_number: str, id_type: str | None = None) -> None:  # noqa: ANN001
    await _to_applicant(pilot, "2.000884")
    if id_type is not None:
        pilot.app.screen.query_one("#id_type").value = id_type
        await settle(pilot)
    await type_into(pilot, "#id_number", id_number)
    await type_into(pilot, "#full_name", "Đặng Văn Đức")
    await type_into(pilot, "#phone", "0912345678")
    await pilot.press("f8")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChecklistStep)


def _rows(app: DeskApp) -> list[DocumentRow]:
    return list(app.screen.query(DocumentRow))


async def test_marking_an_item_at_intake_is_stored_and_shown(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_checklist(pilot, "001085012345")
        first, second = _rows(app)
        # the paper to certify: no database holds it, F6 says so and marks nothing
        first.query_one(".doc-received", Checkbox).focus()
        await pilot.press("space", "f6")
        await settle(pilot)
        assert not first.verify and not first.query(VerifyMark)
        assert any("không có trong CSDL quốc gia" in str(n.message)
                   for n in app._notifications)
        # the signer's ID paper: marked, shown with its own mark, not ticked as received
        second.query_one(".doc-received", Checkbox).focus()
        await pilot.press("space")                     # ticked first…
        await pilot.press("f6")                        # …then to verify instead
        await settle(pilot)
        mark = second.query_one(VerifyMark)
        assert second.verify and mark.display and "⌕" in str(mark.content)
        assert not second.query_one(".doc-received", Checkbox).value
        assert mark.region.bottom <= SIZE[1]           # visible at 80×24
        await pilot.press("space")                     # the paper handed in after all
        await settle(pilot)
        assert not second.verify and not mark.display
        await pilot.press("f6")                        # marked again
        await settle(pilot)
        assert second.verify and mark.display
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, DecisionStep)
        assert not app.screen.query("#decision-missing")  # it counts as handed in
        await pilot.press("f5", "y")
        await wait_for_screen(pilot, FormPreview)
        code = app.screen.code
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        table = app.screen.query_one("#dossier-checklist", DataTable)
        cells = [str(table.get_row_at(i)) for i in range(table.row_count)]
        assert "Chờ xác minh" in cells[1] and "0 phút trước" in cells[1]
    row = sqlite3.connect(services.db.path).execute(
        "select v.position, v.record, v.state, d.status from verification v "
        "join dossier d on d.id = v.dossier_id where d.code = ?", (code,)).fetchone()
    assert row == (2, "identity", "pending", "received")


async def test_marking_needs_a_12_digit_id_number(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _to_checklist(pilot, "123456789", id_type="cmnd")
        second = _rows(app)[1]
        second.query_one(".doc-received", Checkbox).focus()
        await pilot.press("f6")
        await settle(pilot)
        assert not second.verify
        assert any("12 chữ số" in str(n.message) for n in app._notifications)


async def test_home_line_and_the_pending_list(services, actor) -> None:
    waiting = intake_marked(services, actor).dossier.code
    other = intake_marked(services, actor, UNKNOWN).dossier.code
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = app.screen.query_one("#home-verify", Static)
        assert line.display and "2 mục đang chờ" in str(line.content)
        assert line.region.bottom <= SIZE[1]
        await pilot.press("v")
        await wait_for_screen(pilot, VerificationScreen)
        await settle(pilot)
        table = app.screen.query_one("#verification-list", DataTable)
        listed = [table.get_row_at(i) for i in range(table.row_count)]
        assert [r[0] for r in listed] == [waiting, other]
        assert all("Chờ xác minh" in r[2] for r in listed)
        assert KNOWN.id_number not in str(listed)      # no personal data in the list
        table.move_cursor(row=1)
        await pilot.press("enter")
        await wait_for_screen(pilot, DossierScreen)
        assert app.screen.code == other


async def test_no_line_when_nothing_waits(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#home-verify", Static).display


def test_pending_list_at_80x24(snap_compare, services, actor) -> None:  # noqa: ANN001
    """The list with one item waiting and one whose paper is owed (its dossier waits for
    another supplement), at the pinned clock."""
    from ccdesk.domain.vocabulary import VerificationState
    from ccdesk.services.intake import Decision
    from tests.screens.test_snapshots import keys, steady

    intake_marked(services, actor)
    intake_marked(services, actor, UNKNOWN, decision=Decision.SUPPLEMENT, paper_one=False)
    owed = services.verification.due()[1]
    services.verification.record_outcome(owed.id, VerificationState.NOT_FOUND)
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(keys("v")))
