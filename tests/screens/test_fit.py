"""Every screen and dialog at 80×24 and 120×40, in Vietnamese and English: every message shown
is painted whole (joined across its wrapped lines), and the tables keep their required columns.

The walk is the desk's own: the keys an officer presses, real services on a real SQLite file,
with the messages the issue found cut (the phone rule, the CCCD hint, the reports date error,
the sync remedy, the second-supplement warning, the login lock-out, the set-up intro) brought
onto the screen on the way. See docs/tui.md, "Text that fits".
"""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label

from ccdesk.app import DeskApp
from ccdesk.demo import seed_demo
from ccdesk.domain.lifecycle import Action
from ccdesk.i18n import set_language, t
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from screens.dossier import DossierScreen
from screens.modals.confirm import ConfirmModal
from screens.modals.form_preview import FormPreview
from screens.modals.lock import LockModal
from screens.modals.rating import RatingModal
from screens.queue import QueueGroupPicker
from screens.register import COLUMN_FIELDS, RegisterScreen
from screens.reports import ReportsScreen
from screens.widgets.chrome import TrainingBanner
from tests.screens.fit import (
    column_labels,
    cut_messages,
    header_painted,
    normal,
    painted,
    screen_lines,
)
from tests.screens.helpers import settle, type_into

SIZES = [(80, 24), (120, 40)]
NUMBER_COLUMNS = 11  # II.06a: received (4), resolved (4), in progress (3)
LANGS = ["vi", "en"]


class Walk:
    """Collects what is cut on each screen visited, to report them all at once."""

    def __init__(self, pilot: Pilot) -> None:
        self.pilot = pilot
        self.problems: list[str] = []

    async def check(self, where: str) -> None:
        await settle(self.pilot)
        for widget in self.pilot.app.screen.query(Input):
            widget.cursor_blink = False
        self.problems += [f"[{where}] {cut}" for cut in cut_messages(self.pilot.app)]

    def expect(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(message)


def receive(services, actor, *, missing: bool = False) -> str:  # noqa: ANN001
    positions = (1,) if missing else (1, 2, 3)
    decision = Decision.SUPPLEMENT if missing else Decision.ACCEPT
    return services.intake.submit(actor, IntakeRequest(
        "1.001193", Applicant("Nguyễn Thị Hoà", "001185012345", phone="0912345678",
                              address="Thôn 3, xã An Phú"),
        [ChecklistEntry(p, True) for p in positions]), decision).dossier.code


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    set_language(request.param)
    return request.param


@pytest.mark.slow  # about 20 s each: the whole desk, walked
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_every_area_shows_its_messages_whole(services, actor, lang, size) -> None:
    seed_demo(services, 30, 20, 7, False)
    handed = receive(services, actor)  # the longest status, newest: on the register's top row
    services.dossiers.act(actor, handed, Action.HAND_OFF, body="Phòng Tư pháp")
    code = receive(services, actor, missing=True)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=size) as pilot:
        walk = Walk(pilot)
        await walk.check("home")

        await pilot.press("f4")
        await walk.check("register")
        await _register_columns(walk, size)

        await pilot.press("f5")
        await walk.check("reports")
        await _report_columns(walk, size)
        await type_into(pilot, "#from", "31/02/2026")
        await pilot.press("f8")
        await walk.check("reports, bad date")
        walk.expect(bool(app.screen.query_one("#field-from").error_text),
                    "reports: a bad date shows no error")

        await pilot.press("f6")
        await walk.check("sync")
        await pilot.press("f8")
        await walk.check("sync, not enrolled")

        await pilot.press("f9")
        await walk.check("settings")

        await pilot.press("f2")
        await walk.check("intake, procedure")
        await type_into(pilot, "#procedure-query", "khai sinh")
        await settle(pilot)
        await pilot.press("enter")
        await walk.check("intake, applicant")
        await type_into(pilot, "#id_number", "12345")
        await type_into(pilot, "#phone", "09123")
        await walk.check("intake, applicant with errors")
        await pilot.press("f1")
        await walk.check("help")
        await pilot.press("escape")
        await type_into(pilot, "#id_number", "001185012345")
        await type_into(pilot, "#full_name", "Nguyễn Thị Hoà")
        await type_into(pilot, "#phone", "0912345678")
        await pilot.press("f8")
        await walk.check("intake, checklist")
        await pilot.press("f8")  # nothing ticked: on to the decision with everything missing
        await walk.check("intake, decision")
        await pilot.press("f6")  # ask for a supplement: its confirmation
        await walk.check("intake, supplement confirmation")
        await pilot.press("escape")

        app.push_screen(DossierScreen(services, code))
        await walk.check("dossier")
        _checklist_columns(walk, size)
        app.push_screen(ConfirmModal(t("tui.dossier.confirm", action=t(
            "vocab.action.request_supplement"), code=code), t("core.warn.supplement_round")))
        await walk.check("second supplement warning")
        await pilot.press("n")
        await pilot.press("a")
        await walk.check("action picker")
        await pilot.press("enter")
        await walk.check("action dialog")
        await pilot.press("escape")
        await settle(pilot)
        app.push_screen(FormPreview(services, actor, code, "06"))
        await walk.check("form preview 06")
        await pilot.press("escape")
        await pilot.press("p")
        await walk.check("form picker")
        await pilot.press("escape")
        app.push_screen(RatingModal())
        await walk.check("rating")
        await pilot.press("escape")
        app.push_screen(RatingModal(can_ask_citizen=True))
        await walk.check("rating, ask the citizen")
        await pilot.press("escape")
        app.push_screen(QueueGroupPicker(["Bảo trợ xã hội", "Chứng thực", "Hộ tịch", "Đất đai"]))
        await walk.check("queue group picker")
        await pilot.press("escape")
        app.push_screen(LockModal(services, actor))
        await settle(pilot)
        await type_into(pilot, "#unlock-pin", "1111")
        await pilot.press("enter")
        await walk.check("lock, wrong PIN")
    assert not walk.problems, "\n".join(walk.problems)


async def _register_columns(walk: Walk, size: tuple[int, int]) -> None:
    """The due date and status stay beside a long status; at 120 the applicant too."""
    screen = walk.pilot.app.screen
    assert isinstance(screen, RegisterScreen)
    header = header_painted(walk.pilot.app, screen.table)
    wanted = ["code", "status", "due"] + (["applicant", "procedure"] if size[0] >= 120 else [])
    for key in wanted:
        label = t(f"vocab.field.{COLUMN_FIELDS[key]}")
        walk.expect(label in header, f"[register {size}] column {label!r} not on screen: "
                                     f"{header!r}")


async def _report_columns(walk: Walk, size: tuple[int, int]) -> None:
    """II.06a never shows a table without its numbers; at 120 all eleven."""
    screen = walk.pilot.app.screen
    assert isinstance(screen, ReportsScreen)
    table = screen.query_one("#report-table", DataTable)
    header = header_painted(walk.pilot.app, table)
    numbers = [n for n in range(1, NUMBER_COLUMNS + 1) if f"({n})" in header]
    walk.expect(len(numbers) >= 3, f"[reports {size}] numbers on screen: {numbers} ({header!r})")
    if size[0] >= 120:
        walk.expect(len(numbers) == NUMBER_COLUMNS,
                    f"[reports {size}] only {numbers} of 11 number columns: {header!r}")
    else:  # the rest are a key away, and every column is reachable
        seen = set(numbers)
        for _ in range(NUMBER_COLUMNS):
            await walk.pilot.press("f7")
            await settle(walk.pilot)
            page = header_painted(walk.pilot.app, table)
            seen |= {n for n in range(1, NUMBER_COLUMNS + 1) if f"({n})" in page}
        walk.expect(seen == set(range(1, NUMBER_COLUMNS + 1)),
                    f"[reports {size}] columns never shown: {sorted(set(range(1, 12)) - seen)}")
    walk.expect(column_labels(table)[:2] == [t("vocab.field.tt"),
                                             t("reports.table.field")],
                f"[reports {size}] the TT and name columns lead: {column_labels(table)}")


def _checklist_columns(walk: Walk, size: tuple[int, int]) -> None:
    """The dossier's checklist: its columns on screen, nothing to scroll sideways to, and each
    document's name whole (wrapped inside its column, not cut)."""
    app = walk.pilot.app
    screen = app.screen
    assert isinstance(screen, DossierScreen) and screen.detail is not None
    table = screen.query_one("#dossier-checklist", DataTable)
    header = header_painted(app, table)
    for key in ("doc_name", "doc_form", "doc_received"):
        label = t(f"tui.dossier.{key}")
        walk.expect(label in header, f"[checklist {size}] column {label!r} not on screen: "
                                     f"{header!r}")
    walk.expect(table.virtual_size.width <= table.scrollable_content_region.width,
                f"[checklist {size}] {table.virtual_size.width} cells wide in "
                f"{table.scrollable_content_region.width}: it scrolls sideways")
    region = app.screen._compositor.visible_widgets[table][0]
    lines = screen_lines(app)
    name = t("tui.dossier.doc_name")
    if name not in lines[region.y][region.x:region.right]:
        return  # reported above
    left = region.x + lines[region.y][region.x:region.right].index(name)
    width = next(c.width for c in table.columns.values() if c.key == "name")
    names = normal(painted(lines, Region(left, region.y + 1, width, region.height - 1)))
    for item in screen.detail.checklist:
        walk.expect(item.name in names, f"[checklist {size}] {item.name!r} not whole: "
                                        f"{names!r}")


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_the_dossier_checklist_fits(services, actor, lang, size) -> None:
    code = receive(services, actor, missing=True)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=size) as pilot:
        app.push_screen(DossierScreen(services, code))
        walk = Walk(pilot)
        await walk.check("dossier")
        _checklist_columns(walk, size)
    assert not walk.problems, "\n".join(walk.problems)


@pytest.mark.parametrize("size", [*SIZES, (100, 30)], ids=["80x24", "120x40", "100x30"])
async def test_setup_shows_its_intro_and_errors_whole(empty_services, lang, size) -> None:
    app = DeskApp(empty_services)
    async with app.run_test(size=size) as pilot:
        walk = Walk(pilot)
        await walk.check("setup")
        await pilot.press("f8")  # everything empty: every field says so
        await walk.check("setup, errors")
    assert not walk.problems, "\n".join(walk.problems)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_login_lockout_shows_whole(services, lang, size) -> None:
    app = DeskApp(services)
    async with app.run_test(size=size) as pilot:
        walk = Walk(pilot)
        await walk.check("login")
        for _ in range(6):
            await type_into(pilot, "#pin", "0000")
            await pilot.press("enter")
            await settle(pilot)
        error = app.screen.query_one("#field-pin").error_text
        walk.expect(t("core.err.officer_locked", seconds=0).split()[0] in error,
                    f"no lock-out message: {error!r}")
        await walk.check("login, locked out")
    assert not walk.problems, "\n".join(walk.problems)


async def test_the_check_catches_a_cut_label(services, actor) -> None:
    """The checker itself: a label forced to one line at 80 columns is reported as cut."""
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        label = app.screen.query_one("#sync-result")
        label.update(t("sync.hint.not_enrolled"))
        label.styles.width = "auto"  # the old Label default: as wide as its text
        await pilot.pause()
        cuts = cut_messages(app)
        assert any("ccdesk sync enroll" in cut.text for cut in cuts)
        label.styles.width = "1fr"
        await pilot.pause()
        assert not cut_messages(app)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_training_banner_keeps_the_title_and_officer(services, actor, lang, size) -> None:
    app = DeskApp(services, actor=actor, training=True)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        top = screen_lines(app)[0]
        assert t("tui.register.title") in top and actor.username in top, top
        assert not cut_messages(app)  # the banner included, whole
        banner = app.screen.query_one(TrainingBanner).region
        assert banner.y >= 1  # under the title bar, not over it


async def test_setup_on_a_database_with_data_does_not_call_it_empty(empty_services) -> None:
    """Procedures already loaded (a seeded or restored file), office details missing."""
    empty_services.catalog.import_file(BUNDLED_CATALOG)
    app = DeskApp(empty_services)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        intro = str(app.screen.query_one(".intro", Label).content)
        assert intro == t("tui.setup_notice.intro_existing")
        assert intro != t("tui.setup.intro")


async def test_setup_examples_are_placeholders_not_values(empty_services) -> None:
    app = DeskApp(empty_services)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert str(app.screen.query_one(".intro", Label).content) == t("tui.setup.intro")
        field = app.screen.query_one("#governing_body", Input)
        assert field.value == ""
        assert field.placeholder == t("tui.setup_notice.example",
                                      value=t("tui.setup.hint_governing_body"))
        assert field.placeholder.startswith("vd: ")
        style = field.get_component_rich_style("input--placeholder")
        assert style.italic


async def test_a_form_preview_keeps_its_lines_and_scrolls_sideways(services, actor) -> None:
    code = receive(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(FormPreview(services, actor, code, "06"))
        await settle(pilot)
        from ccdesk.forms.service import FormService

        text = FormService(services).render_text(code, "06")
        widest = max(len(line) for line in text.splitlines())
        preview = app.screen.query_one("#preview-text")
        scroll = app.screen.query_one("#preview-scroll")
        assert preview.size.width >= widest  # no line of the form wrapped
        assert scroll.virtual_size.width > scroll.scrollable_content_region.width
        before = screen_lines(app)
        scroll.scroll_right(animate=False)
        await pilot.pause()
        assert screen_lines(app) != before
