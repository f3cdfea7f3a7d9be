"""A linked group (liên thông): its members with their own codes, agencies and statuses, the
state derived from them, the group's slip and one hand-off sheet per agency (docs/linked.md)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.vocabulary import Status
from ccdesk.i18n import fmt_date, get_language, t
from screens.base import DeskScreen


class LinkedGroupScreen(DeskScreen):
    """The group view: Enter opens a member dossier, P saves the slip, H the hand-off sheets."""

    TITLE_KEY = "linked.tui.group_title"
    HELP_KEY = "linked.tui.help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "tui.key.open_dossier", id="open"),
        Binding("p", "slip", "linked.tui.key_slip", id="slip"),
        Binding("h", "handoff", "linked.tui.key_handoff", id="handoff"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def __init__(self, services, code: str) -> None:  # noqa: ANN001
        super().__init__(services)
        self.code = code

    def compose_body(self) -> ComposeResult:
        with Vertical(id="linked-group"):
            yield Label("", id="group-head", classes="step-title")
            yield Label("", id="group-subject")
            yield Label("", id="group-state")
            yield DataTable(id="group-members", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#group-members", DataTable)
        table.add_columns(t("vocab.field.code"), t("vocab.field.status"),
                          t("vocab.field.procedure_code"), t("vocab.field.body"))
        self._fill()
        table.focus()

    def on_resumed(self) -> None:
        self._fill()   # a member may have moved on in its own dossier screen

    def _fill(self) -> None:
        view = self.services.linked.view(self.code)
        lang = get_language()
        kind = view.spec.kind.value
        self.query_one("#group-head", Label).update(f"{view.code} · {view.spec.title(lang)}")
        born = fmt_date(view.subject_date) if view.subject_date else ""
        self.query_one("#group-subject", Label).update(
            f"{t(f'linked.kind.{kind}')}: {view.subject_name} · {born} · "
            f"{t('vocab.field.due_at')}: {view.due_at:%H:%M} {fmt_date(view.due_at)}")
        self.query_one("#group-state", Label).update(
            t("linked.tui.state", state=view.state.label()))
        table = self.query_one("#group-members", DataTable)
        table.clear()
        for member in view.members:
            table.add_row(member.code, Status(member.status).label(), member.procedure_code,
                          member.agency.label(), key=member.code)

    def action_open(self) -> None:
        from screens.dossier import DossierScreen

        table = self.query_one("#group-members", DataTable)
        if table.row_count:
            code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.push_screen(DossierScreen(self.services, str(code)))

    @on(DataTable.RowSelected, "#group-members")
    def _selected(self) -> None:
        self.action_open()

    def action_slip(self) -> None:
        self._save(handoff=False)

    def action_handoff(self) -> None:
        self._save(handoff=True)

    @work(exclusive=True, thread=True, group="linked-print")
    def _save(self, handoff: bool) -> None:
        """Render and save under the forms folder (fpdf2 loads on the first paper)."""
        from ccdesk.forms.linked import LinkedForms
        from ccdesk.forms.service import FormService

        forms = LinkedForms(FormService(self.services))
        try:
            if handoff:
                paths = forms.save_handoffs(self.code)
                message = t("linked.tui.handoff_saved", count=len(paths),
                            folder=str(self.services.paths.forms_dir))
            else:
                message = t("linked.tui.slip_saved", path=str(forms.save_slip(self.code)))
        except CcdeskError as err:
            self.app.call_from_thread(self.show_error, err)
            return
        self.app.call_from_thread(self.notify, message)

    def action_back(self) -> None:
        self.app.pop_screen()


def member_lines(services, code: str) -> list[str]:  # noqa: ANN001
    """For a member dossier's screen: its group, the group's state and its siblings."""
    view = services.linked.group_of(code)
    if view is None:
        return []
    siblings = ", ".join(f"{m.code} ({Status(m.status).label()})"
                         for m in view.members if m.code != code)
    return [t("linked.tui.member_of", code=view.code, state=view.state.label(),
              siblings=siblings)]


def open_group(screen: DeskScreen, code: str) -> None:
    """Open the group of dossier ``code`` (nothing for an ordinary dossier)."""
    view = screen.services.linked.group_of(code)
    if view is not None:
        screen.app.push_screen(LinkedGroupScreen(screen.services, view.code))
