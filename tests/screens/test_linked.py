"""A linked intake (liên thông) end to end at 80×24: the group chosen at the procedure step,
the applicant and the child once, the combined checklist, F5; then the group view with its
member dossiers, the slip and the hand-off sheets saved, and a member's screen naming its
group."""

from __future__ import annotations

from pypdf import PdfReader
from textual.widgets import Checkbox, DataTable, OptionList, Static

from ccdesk.app import DeskApp
from ccdesk.domain.linked import GroupState
from screens.dossier import DossierScreen
from screens.intake_procedure import ProcedureStep
from screens.linked_group import LinkedGroupScreen
from screens.linked_intake import LinkedIntakeScreen
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into, wait_for_screen


async def _choose_group(pilot, query: str) -> None:  # noqa: ANN001
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProcedureStep)
    await type_into(pilot, "#procedure-query", query)
    await settle(pilot)
    results = pilot.app.screen.query_one("#procedure-results", OptionList)
    ids = [str(results.get_option_at_index(i).id) for i in range(results.option_count)]
    assert "linked:LT-KS" in ids, ids
    results.highlighted = ids.index("linked:LT-KS")
    results.focus()
    await pilot.press("enter")
    await settle(pilot)


async def test_linked_birth_intake_end_to_end(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await _choose_group(pilot, "lien thong")
        screen = app.screen
        assert isinstance(screen, LinkedIntakeScreen)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        await type_into(pilot, "#phone", "0912345678")
        await type_into(pilot, "#subject_name", "Đặng Minh An")
        await type_into(pilot, "#subject_date", "20/11/2026")
        boxes = list(screen.query(".doc-received").results(Checkbox))
        names = [str(b.label) for b in boxes]
        assert sum("Giấy tờ tùy thân" in n for n in names) == 1   # a shared paper: once
        # F5 with nothing ticked: refused, nothing stored
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, LinkedIntakeScreen)
        assert services.linked.recent() == []
        await pilot.press("f7")   # every paper received
        await settle(pilot)
        assert all(box.value for box in boxes)
        await pilot.press("f5")
        await wait_for_screen(pilot, LinkedGroupScreen)
        await settle(pilot)
        group = app.screen
        (view,) = services.linked.recent()
        assert group.code == view.code and view.state == GroupState.IN_PROGRESS
        assert [m.procedure_code for m in view.members] == ["1.001193", "1.004222", "1.004181"]
        assert view.subject_name == "Đặng Minh An"
        table = group.query_one("#group-members", DataTable)
        assert table.row_count == 3
        head = str(group.query_one("#group-head").content)
        assert view.code in head
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        saved = sorted(p.name for p in services.paths.forms_dir.glob("*.pdf"))
        assert len(saved) == 4 and any("mau01" in n for n in saved)
        slip = next(p for p in services.paths.forms_dir.glob("*mau01.pdf"))
        text = " ".join(page.extract_text() for page in PdfReader(slip).pages)
        assert all(m.code in text for m in view.members)
        # a member's own screen names its group and siblings; G opens the group again
        await pilot.press("down", "enter")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        info = str(app.screen.query_one("#dossier-info", Static).content)
        assert view.code in info and view.members[0].code in info
        assert app.screen.code == view.members[1].code
        await pilot.press("g")
        await wait_for_screen(pilot, LinkedGroupScreen)


async def test_an_optional_member_can_be_left_out(services, actor) -> None:
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#procedure-query", "khai tu")
        await settle(pilot)
        results = app.screen.query_one("#procedure-results", OptionList)
        ids = [str(results.get_option_at_index(i).id) for i in range(results.option_count)]
        assert ids[0] == "1.000656"          # Enter still takes the procedure itself
        results.highlighted = ids.index("linked:LT-KT")
        results.focus()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LinkedIntakeScreen)
        before = len(list(screen.query(".doc-received")))
        burial = screen.query_one("#member-1-001731", Checkbox)
        burial.value = False
        await settle(pilot)
        after = list(screen.query(".doc-received").results(Checkbox))
        assert len(after) == before - 1
        assert screen.query_one("#member-1-000656", Checkbox).disabled   # the lead: required
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        await type_into(pilot, "#subject_name", "Đặng Văn Tư")
        await type_into(pilot, "#subject_date", "21/11/2026")
        for box in after:
            box.value = True
        await pilot.press("f5")
        await wait_for_screen(pilot, LinkedGroupScreen)
    (view,) = services.linked.recent()
    assert [m.procedure_code for m in view.members] == ["1.000656", "1.004194", "1.004252"]


async def test_the_register_lists_the_groups_by_state(services, actor) -> None:
    from datetime import date

    from textual.widgets import Select

    from ccdesk.domain.lifecycle import Action
    from ccdesk.services.intake import Applicant
    from ccdesk.services.linked import LinkedRequest
    from screens.linked_list import LinkedListScreen
    from screens.register import RegisterScreen

    items = services.linked.checklist("LT-KS")
    request = LinkedRequest("LT-KS", Applicant("Đặng Văn Đức", "001085012345"), "Đặng Minh An",
                            date(2026, 11, 20), received=list(range(len(items))))
    open_group = services.linked.accept(actor, request)
    done = services.linked.accept(actor, request)
    for member in done.members:
        services.dossiers.act(actor, member.code, Action.MARK_READY)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await wait_for_screen(pilot, RegisterScreen)
        await pilot.press("f11")
        await wait_for_screen(pilot, LinkedListScreen)
        await settle(pilot)
        table = app.screen.query_one("#group-list", DataTable)
        assert table.row_count == 2
        app.screen.query_one("#group-state-filter", Select).value = GroupState.DONE.value
        await settle(pilot)
        assert table.row_count == 1
        assert table.coordinate_to_cell_key((0, 0)).row_key.value == done.code
        table.focus()
        await pilot.press("enter")
        await wait_for_screen(pilot, LinkedGroupScreen)
        assert app.screen.code == done.code
        state = str(app.screen.query_one("#group-state").content)
        assert GroupState.DONE.label("vi") in state
    assert open_group.code != done.code


async def test_the_group_screen_shows_its_keys(services, actor) -> None:
    from datetime import date

    from ccdesk.services.intake import Applicant
    from ccdesk.services.linked import LinkedRequest
    from screens.widgets.chrome import KeyBar

    items = services.linked.checklist("LT-KS")
    view = services.linked.accept(actor, LinkedRequest(
        "LT-KS", Applicant("Đặng Văn Đức", "001085012345"), "Đặng Minh An",
        date(2026, 11, 20), received=list(range(len(items)))))
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(LinkedGroupScreen(services, view.code))
        await settle(pilot)
        bar = str(app.screen.query_one(KeyBar).content)
        assert "In giấy hẹn" in bar and "Phiếu chuyển" in bar
