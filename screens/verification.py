"""Checklist items confirmed in a national database instead of on paper (docs/verification.md):
the mark at intake (F6 on the checklist), the state of each item on the dossier screen, the
line on home and the pending list (``v`` on home). Everything shown comes from the desk's own
file, so it works offline; the checks themselves run in ``ccdesk verify run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Static

from ccdesk.domain.verification import subject_of
from ccdesk.domain.vocabulary import VerificationState
from ccdesk.i18n import t
from ccdesk.services.verification import age_text
from screens.base import DeskScreen

if TYPE_CHECKING:
    from ccdesk.models import ProcedureDocument
    from ccdesk.services import Services
    from ccdesk.services.verification import ItemState, QueueRow
    from screens.intake_draft import IntakeDraft

MARK = "⌕"   # the item's own mark: to verify in the national database
OPEN_KEY = "v"
COLUMNS = ("code", "document", "state", "age")
HEADERS = {"code": "vocab.field.code", "document": "tui.dossier.doc_name",
           "state": "verification.tui.col_state", "age": "verification.tui.col_age"}
MIN_CELL = 12   # a wrapped column (the paper, the state) never gets narrower
GAPS = 2 * len(COLUMNS) + 2   # DataTable's cell padding and the scroll bar


class VerifyMark(Label):
    """Under a document the catalogue says a database holds: shown when it is marked."""

    DEFAULT_CLASSES = "doc-verify"

    def __init__(self, doc: ProcedureDocument, on: bool) -> None:
        record = t(f"vocab.national_record.{doc.national_record}")
        super().__init__(f"{MARK} {t('verification.tui.marked', record=record)}")
        self.display = on

    def show(self, on: bool) -> None:
        self.display = on


def toggle_verify(screen: DeskScreen, row: Any, draft: IntakeDraft) -> None:
    """Mark or unmark ``row`` (a checklist ``DocumentRow``): only a document a database holds,
    and only when the person's 12-digit ID number was entered; otherwise say why."""
    if row is None:
        return
    if not row.doc.national_record:
        screen.notify(t("verification.err.not_verifiable", position=row.doc.position),
                      severity="warning")
        return
    request = draft.request
    subject = subject_of(applicant_kind=request.owner.kind, applicant_name=request.applicant
                         .full_name, applicant_id_number=request.applicant.id_number,
                         applicant_id_type=request.applicant.id_type,
                         applicant_dob=request.applicant.date_of_birth,
                         owner_name=request.owner.name, owner_id_number=request.owner.id_number,
                         owner_id_type=request.owner.id_type)
    if not row.verify and not subject.can_be_looked_up:
        screen.notify(t("verification.err.no_id_number", position=row.doc.position),
                      severity="warning")
        return
    row.set_verify(not row.verify)


def item_cell(state: ItemState) -> str:
    """The dossier screen's "received" cell of a marked item: its state and how long ago."""
    value = VerificationState(state.state)
    if value == VerificationState.VERIFIED:
        return f"✓ {MARK} {t('vocab.verification.verified')}"
    text = f"{MARK} {t(f'vocab.verification.{value.value}')} · {age_text(state.age_minutes)}"
    if value.needs_paper and state.supplement_round:
        text += " · " + t("verification.tui.asked", round=state.supplement_round)
    return text


def _cells(row: QueueRow) -> dict[str, str]:
    state = (t("verification.tui.owed") if row.owes_supplement
             else t(f"vocab.verification.{row.state}"))
    if row.last_error:
        state += f" ({row.last_error})"
    return {"code": row.dossier_code, "document": f"{row.position}. {row.document}",
            "state": state, "age": age_text(row.age_minutes)}


class VerificationLines(Static):
    """Home's line: how many items wait for the database, and the key to the list."""

    def __init__(self, services: Services, *, load_on_mount: bool = True, **kwargs: Any,
                 ) -> None:
        super().__init__("", markup=True, **kwargs)
        self.services = services
        self.display = False
        self.load_on_mount = load_on_mount  # False: the screen loads it with its own figures

    def on_mount(self) -> None:
        if self.load_on_mount:
            self.load()

    @work(exclusive=True, thread=True, group="verification-lines")
    def load(self) -> None:
        rows = self.services.verification.pending()
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[QueueRow]) -> None:
        if not self.is_mounted:
            return
        owed = sum(1 for r in rows if r.owes_supplement)
        self.display = bool(rows)
        self.update(t("verification.tui.home_line", waiting=len(rows) - owed, owed=owed,
                      open_key=OPEN_KEY))


class VerificationScreen(DeskScreen):
    """Every item waiting for the database, or whose paper must still be asked for."""

    TITLE_KEY = "verification.tui.title"
    HELP_KEY = "verification.tui.help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "tui.key.open_dossier", id="open"),
        Binding("r", "reload", "tui.key.refresh", id="reload"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="verification"):
            yield Label(t("verification.tui.offline_note"), id="verification-note",
                        classes="hint")
            yield DataTable(id="verification-list", cursor_type="row", zebra_stripes=True)
            yield Label("", id="verification-empty")

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, thread=True, group="verification-list")
    def _load(self) -> None:
        rows = self.services.verification.pending()
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[QueueRow]) -> None:
        if not self.is_mounted:
            return
        table = self.query_one("#verification-list", DataTable)
        table.clear(columns=True)
        cells = [_cells(row) for row in rows]
        headers = {key: t(HEADERS[key]) for key in COLUMNS}
        widths = {key: max([len(headers[key]), *(len(c[key]) for c in cells)])
                  for key in COLUMNS}
        # The code and the age keep their width; the paper and the state share what is left
        # (at 80 columns both wrap onto more lines rather than scroll sideways).
        left = self.app.size.width - GAPS - widths["code"] - widths["age"]
        widths["state"] = min(widths["state"], max(MIN_CELL, left // 2))
        widths["document"] = max(MIN_CELL, min(widths["document"], left - widths["state"]))
        for key in COLUMNS:
            table.add_column(headers[key], width=widths[key], key=key)
        for row, cell in zip(rows, cells, strict=True):
            table.add_row(*(cell[key] for key in COLUMNS), height=None,
                          key=f"{row.dossier_code}#{row.position}")
        self.query_one("#verification-empty", Label).update(
            "" if rows else t("verification.cli.none"))
        if rows:
            table.focus()

    @on(DataTable.RowSelected, "#verification-list")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    def action_open(self) -> None:
        table = self.query_one("#verification-list", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self._open(str(key.value))

    def _open(self, key: str) -> None:
        from screens.dossier import DossierScreen

        self.app.push_screen(DossierScreen(self.services, key.rpartition("#")[0]))

    def action_back(self) -> None:
        self.dismiss()
