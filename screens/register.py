"""Register (F4), the Sổ theo dõi: search as you type, filters, pages fetched by key.

Nothing loads the whole table: the search service returns keyset pages of ``PAGE_SIZE`` rows and
the next page is fetched when the cursor nears the end, so a million dossiers stay instant. Each
query runs in an exclusive thread worker: typing is never blocked, and a newer query cancels the
older one. A keystroke's worker first waits ``DEBOUNCE_S``: typed faster than that, only the
last keystroke queries. A page that arrives for an older request than the newest is dropped.
The filters live beside it (screens/register_filters.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Input, Label, Select
from textual.worker import get_current_worker

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import fmt_datetime, t
from ccdesk.services.search import SORTS, PageKey, RegisterFilter, RegisterPage, RegisterRow
from screens.base import DeskScreen
from screens.dossier import DossierScreen
from screens.filings import OPEN_KEY, FilingsLines, FilingsScreen, any_waiting
from screens.register_filters import RegisterFilters
from screens.widgets.columns import (
    ColumnSpec,
    choose_columns,
    fit_cell,
    in_display_order,
    natural_width,
    shared_prefix,
)

if TYPE_CHECKING:
    from ccdesk.services import Services

PAGE_SIZE = 100
PREFETCH_ROWS = 10  # fetch the next page when the cursor is this close to the end
DEBOUNCE_S = 0.13  # a keystroke's query waits this long for the next keystroke

# The columns in the order shown, and in the order kept when the terminal is narrow: the desk
# looks for a dossier's code, where it stands and when it is due before whose it is and which
# procedure (an officer at 80 columns must still see the due date beside a long status).
COLUMNS = ("code", "applicant", "status", "due", "procedure", "received")
# Each column's heading is the vocabulary's label of the field it shows.
COLUMN_FIELDS = {"code": "code", "applicant": "applicant", "status": "status", "due": "due_at",
                 "procedure": "procedure", "received": "received_at"}
PRIORITY = ("code", "status", "due", "applicant", "procedure", "received")
REQUIRED = 3  # code, status and due are shown at any width
MIN_NAME = 12  # a name shorter than this is no help: drop the column instead
SCROLLBAR = 2


class RegisterScreen(DeskScreen):
    """The register area."""

    TITLE_KEY = "tui.register.title"
    HELP_KEY = "tui.help.register"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f7", "toggle_filters", "tui.key.filters", id="filters"),
        Binding("f8", "open", "tui.key.open", id="open"),
        Binding(OPEN_KEY, "online_filings", "tui.key.online_filings", id="online_filings"),
        Binding("f11", "linked_groups", "linked.tui.key_groups", id="linked_groups", show=False),
        Binding("down", "to_table", "tui.key.results", id="to_table", show=False),
        Binding("escape", "back", "tui.key.back", id="back", show=False),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._next: PageKey | None = None
        self._request: tuple[str, RegisterFilter, str] | None = None
        self._rows: list[RegisterRow] = []
        self._layout: dict[str, int] = {}
        self._short_codes = ""  # the agency prefix left out of codes when room is short
        self._generation = 0  # the newest request; pages of older ones are not shown

    def compose_body(self) -> ComposeResult:
        fields = sorted({p.field for p in self.services.catalog.search("", limit=10_000)})
        with Vertical(id="register"):
            with Horizontal(classes="register-line"):
                yield Input(placeholder=t("tui.register.search_placeholder"), id="query",
                            compact=True)
                yield Select([(t(f"tui.register.sort_{s}"), s) for s in SORTS], value="newest",
                             allow_blank=False, id="sort", compact=True)
            yield RegisterFilters(fields, id="filters")
            yield FilingsLines(self.services, getattr(self.app, "sync", None),
                               id="register-filings")
            yield DataTable(id="register-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="register-status", classes="hint")

    @property
    def table(self) -> DataTable:
        return self.query_one("#register-table", DataTable)

    def on_mount(self) -> None:
        self._rows, self._layout = [], {}
        self.query_one("#query", Input).focus()
        self._reload()

    def on_resumed(self) -> None:
        if self._request is not None:
            self._reload()  # a dossier may have changed while it was open
        if self.query("#register-filings"):
            self.query_one("#register-filings", FilingsLines).load()  # one may be received

    # ---- asking -----------------------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _criteria_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed,
                          ) -> None:
        typed = isinstance(event, Input.Changed) and event.input.id == "query"
        self._reload(DEBOUNCE_S if typed else 0.0)

    def _reload(self, delay: float = 0.0) -> None:
        try:
            filters = self.query_one("#filters", RegisterFilters).read()
        except CcdeskError as err:
            self._say(err.message(), error=True)
            return
        self._request = (self.query_one("#query", Input).value, filters,
                         str(self.query_one("#sort", Select).value))
        self._generation += 1
        self._load(*self._request, None, self._generation, delay)

    @work(exclusive=True, thread=True, group="register")
    def _load(self, query: str, filters: RegisterFilter, sort: str,
              after: PageKey | None, generation: int, delay: float = 0.0) -> None:
        if delay:
            time.sleep(delay)
            if get_current_worker().is_cancelled:
                return  # another keystroke came: its worker asks instead
        try:
            page = self.services.search.register_page(query, filters, sort, after, PAGE_SIZE)
        except CcdeskError as err:
            self.app.call_from_thread(self._say, err.message(), True)
            return
        self.app.call_from_thread(self._show, page, after is not None, generation)

    # ---- showing ----------------------------------------------------------------------------
    def _show(self, page: RegisterPage, append: bool, generation: int) -> None:
        if generation != self._generation:
            return  # a newer request was made while this one ran
        if not self.query("#register-table"):
            return  # being recomposed (language switch): on_mount loads again
        table = self.table
        if not append:
            self._rows = []
            table.clear()
        self._rows.extend(page.rows)
        if not self._fit_columns():
            for row in page.rows:
                self._add_row(row)
        self._next = page.next_after
        key = "tui.register.more" if self._next else "tui.register.all"
        self._say(t(key, count=table.row_count))

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> bool:
        """Choose the columns for the table's width (see ``PRIORITY``); rebuild the table when
        the choice changed. Returns whether it was rebuilt (all loaded rows included)."""
        if not self.query("#register-table"):
            return False
        room = (self.table.size.width or self.app.size.width - 2) - SCROLLBAR
        cells = [self._cells(row, "") for row in self._rows]
        headers = {key: t(f"vocab.field.{COLUMN_FIELDS[key]}") for key in COLUMNS}

        def spec(key: str, prefix: str = "") -> ColumnSpec:
            column = [c[key] for c in ([self._cells(r, prefix) for r in self._rows]
                                       if prefix else cells)]
            minimum = MIN_NAME if key == "applicant" else None
            return ColumnSpec(key, natural_width(headers[key], column), minimum)

        prefix = ""
        layout = choose_columns(room, [spec(key) for key in PRIORITY], REQUIRED)
        if "applicant" not in layout:  # the agency code every row shares makes room for names
            prefix = shared_prefix([row.code for row in self._rows])
            if prefix:
                layout = choose_columns(room, [spec(key, prefix) for key in PRIORITY],
                                        REQUIRED)
        if layout == self._layout and prefix == self._short_codes:
            return False
        self._layout, self._short_codes = layout, prefix
        table = self.table
        cursor = table.cursor_row
        table.clear(columns=True)
        for key in in_display_order(layout, COLUMNS):
            table.add_column(headers[key], width=layout[key], key=key)
        for row in self._rows:
            self._add_row(row)
        if self._rows:
            table.move_cursor(row=min(cursor, len(self._rows) - 1))
        return True

    def _cells(self, row: RegisterRow, prefix: str) -> dict[str, str]:
        code = row.code
        if prefix and code.startswith(prefix):
            code = "…" + code[len(prefix):]
        return {"code": code, "applicant": row.who,
                "status": t(f"vocab.status.{row.status}"),
                "due": fmt_datetime(row.due_at) if row.due_at else "—",
                "procedure": row.procedure_code, "received": fmt_datetime(row.received_at)}

    def _add_row(self, row: RegisterRow) -> None:
        cells = self._cells(row, self._short_codes)
        self.table.add_row(*(fit_cell(cells[key], self._layout[key])
                             for key in in_display_order(self._layout, COLUMNS)), key=row.code)

    def _say(self, message: str, error: bool = False) -> None:
        status = self.query_one("#register-status", Label)
        status.update(message)
        status.set_class(error, "error")

    @on(DataTable.RowHighlighted, "#register-table")
    def _portal_code(self, event: DataTable.RowHighlighted) -> None:
        """A dossier filed online: its portal code under the table (the code column is ours)."""
        row = next((r for r in self._rows if r.code == event.row_key.value), None)
        if row is not None and row.portal_code:
            self._say(t("tui.dossier.portal", code=row.portal_code))
        elif row is not None and self._request is not None:
            key = "tui.register.more" if self._next else "tui.register.all"
            self._say(t(key, count=self.table.row_count))

    @on(DataTable.RowHighlighted, "#register-table")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if (self._next is not None and self._request is not None
                and event.cursor_row >= self.table.row_count - PREFETCH_ROWS):
            next_key, self._next = self._next, None
            self._load(*self._request, next_key, self._generation)

    @on(Input.Submitted, "#query")
    def _code_entered(self, event: Input.Submitted) -> None:
        """A slip's QR code scanned into the search field (or a code typed whole): open it."""
        from screens.dossier import open_scanned_code

        open_scanned_code(self, event.value, quiet=True)

    async def action_back(self) -> None:
        """Esc: back home."""
        await self.app.run_action("area('home')")

    @on(DataTable.RowSelected, "#register-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    # ---- actions ----------------------------------------------------------------------------
    def action_open(self) -> None:
        if self.table.row_count:
            row_key, _ = self.table.coordinate_to_cell_key(self.table.cursor_coordinate)
            self._open(str(row_key.value))

    def _open(self, code: str) -> None:
        self.app.push_screen(DossierScreen(self.services, code))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "online_filings":
            return any_waiting(self)
        return super().check_action(action, parameters)

    def action_online_filings(self) -> None:
        self.app.push_screen(FilingsScreen(self.services, getattr(self.app, "sync", None)))

    def action_linked_groups(self) -> None:
        # the linked groups (docs/linked.md)
        from screens.linked_list import LinkedListScreen

        self.app.push_screen(LinkedListScreen(self.services))

    def action_to_table(self) -> None:
        self.table.focus()

    def action_toggle_filters(self) -> None:
        self.query_one("#filters", RegisterFilters).toggle()
