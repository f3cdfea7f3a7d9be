"""The linked groups received (liên thông), newest first, from the register (F11): each with
its state derived from its members; a state filter; Enter opens the group (docs/linked.md)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Select

from ccdesk.domain.linked import GroupState
from ccdesk.i18n import fmt_date, t
from ccdesk.services.linked import GroupView
from screens.base import DeskScreen
from screens.linked_group import LinkedGroupScreen

SHOWN = 200   # the newest groups listed; older ones are found through their members' codes


class LinkedListScreen(DeskScreen):
    TITLE_KEY = "linked.tui.list_title"
    HELP_KEY = "linked.tui.help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "linked.tui.key_open_group", id="open"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="linked-list"):
            yield Select([(s.label(), s.value) for s in GroupState],
                         prompt=t("linked.tui.any_state"), id="group-state-filter",
                         compact=True)
            yield DataTable(id="group-list", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#group-list", DataTable)
        table.add_columns(t("linked.tui.col_group"), t("linked.tui.col_kind"),
                          t("vocab.field.due_at"), t("linked.tui.col_state"))
        self._load()
        table.focus()

    def on_resumed(self) -> None:
        self._load()

    @on(Select.Changed, "#group-state-filter")
    def _filter(self) -> None:
        self._load()

    @work(exclusive=True, thread=True, group="linked-list")
    def _load(self) -> None:
        groups = self.services.linked.recent(SHOWN)
        self.app.call_from_thread(self._show, groups)

    def _show(self, groups: list[GroupView]) -> None:
        wanted = self.query_one("#group-state-filter", Select).value
        table = self.query_one("#group-list", DataTable)
        table.clear()
        for group in groups:
            if isinstance(wanted, str) and group.state.value != wanted:
                continue
            table.add_row(group.code, group.spec.code,
                          f"{group.due_at:%H:%M} {fmt_date(group.due_at)}",
                          group.state.label(), key=group.code)

    def action_open(self) -> None:
        table = self.query_one("#group-list", DataTable)
        if table.row_count:
            code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.push_screen(LinkedGroupScreen(self.services, str(code)))

    @on(DataTable.RowSelected, "#group-list")
    def _selected(self) -> None:
        self.action_open()

    def action_back(self) -> None:
        self.app.pop_screen()
