"""Online filings waiting for reception (docs/tui.md, "Online filings"): a few lines of them on
home and in the register, the whole list on its own screen (F12), and an ordinary intake
started from one. The conversion of a filing into the intake's answers is the service's
(``services.online_filings.start_intake``); these screens only show and hand over.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import fmt_datetime, t
from ccdesk.services.online_filings import pull_age_minutes
from screens.base import DeskScreen
from screens.intake_applicant import ApplicantStep
from screens.intake_draft import IntakeDraft

if TYPE_CHECKING:
    from ccdesk.models import OnlineFiling
    from ccdesk.services import Services
    from screens.sync import SyncPort

SHOWN = 3  # filings listed on home and in the register; the rest are on the F12 screen
OPEN_KEY = "f12"
COLUMNS = ("portal", "applicant", "procedure", "filed")
# Column headings: the dossier's own field names where they are the same words.
HEADINGS = {"portal": "tui.filings.col_portal", "applicant": "vocab.field.applicant",
            "procedure": "vocab.field.procedure", "filed": "tui.filings.col_filed"}


def age_text(minutes: int) -> str:
    if minutes < 120:
        return t("tui.filings.minutes", n=minutes)
    if minutes < 48 * 60:
        return t("tui.filings.hours", n=minutes // 60)
    return t("tui.filings.days", n=minutes // (24 * 60))


def staleness(status: Any, online: bool | None) -> str:
    """Offline (or not known to be online), the list is what was last pulled: say how old.
    A desk with no upstream gets no filings: nothing to say."""
    if online or status is None or not getattr(status, "upstream", ""):
        return ""
    last = getattr(status, "last_success_at", None) if status is not None else None
    if isinstance(last, str):
        last = datetime.fromisoformat(last.removesuffix("Z")).replace(tzinfo=None)
    minutes = pull_age_minutes(last, datetime.now(UTC).replace(tzinfo=None))
    return t("tui.filings.never") if minutes is None else \
        t("tui.filings.stale", age=age_text(minutes))


def summary_text(filings: list[OnlineFiling], count: int, stale: str) -> str:
    """The home/register lines: the count and the key, the age when offline (second, so a
    short screen still shows it), then up to :data:`SHOWN` filings."""
    if not count:
        lines = [t("tui.filings.none")]
    else:
        lines = [f"[b]{t('tui.filings.summary', count=count)}[/b]  "
                 f"[dim]{t('tui.filings.open_hint')}[/dim]"]
    if stale:
        lines.append(f"[i]{stale}[/i]")
    lines += [t("tui.filings.row", code=f.portal_code, name=f.applicant_name,
                procedure=f.procedure_code,
                filed=fmt_datetime(f.filed_at) if f.filed_at else "—")
              for f in filings[:SHOWN]]
    if count > SHOWN:
        lines.append(t("tui.filings.more", count=count - SHOWN))
    return "\n".join(lines)


def start_filing_intake(screen: Screen, services: Services, portal_code: str) -> None:
    """Open the intake's applicant step with the filing's answers typed in."""
    try:
        start = services.online_filings.start_intake(portal_code)
        procedure = services.catalog.procedure(start.procedure_code)
    except CcdeskError as err:
        screen.notify(err.message(), severity="error")
        return
    draft = IntakeDraft(procedure, prefill=dict(start.fields), portal_code=portal_code)
    draft.request = start.request
    screen.app.push_screen(ApplicantStep(services, draft))


class FilingsLines(Static):
    """The few lines home and the register show; refreshed by :meth:`load` off the UI thread."""

    def __init__(self, services: Services, port: SyncPort | None, *, always: bool = False,
                 load_on_mount: bool = True, **kwargs: Any) -> None:
        super().__init__("", markup=True, **kwargs)
        self.services, self.port = services, port
        self.always = always  # shown offline with no filing waiting too (home)
        self.load_on_mount = load_on_mount  # False: the screen loads them with its own
        self.count = 0        # waiting, as last loaded: the F12 key shows only when some do
        self.display = False  # until loaded: nothing to show yet

    def on_mount(self) -> None:
        if self.load_on_mount:
            self.load()

    @work(exclusive=True, thread=True, group="filings-lines")
    def load(self) -> None:
        filings = self.services.online_filings.waiting(limit=SHOWN)
        count = self.services.online_filings.count_waiting()
        status = self.port.status() if self.port is not None else None
        self.app.call_from_thread(self._show, filings, count, staleness(status, None))
        online = self.port.online() if self.port is not None else None
        self.app.call_from_thread(self._show, filings, count, staleness(status, online))

    def _show(self, filings: list[OnlineFiling], count: int, stale: str) -> None:
        if self.is_mounted:
            if count != self.count:
                self.count = count
                self.screen.refresh_bindings()
            self.update(summary_text(filings, count, stale))
            self.display = bool(count) or (self.always and bool(stale))


def any_waiting(screen: Screen) -> bool:
    """Whether the screen's filing lines list any (its F12 key is shown only then)."""
    found = screen.query(FilingsLines)
    return bool(found) and found.first(FilingsLines).count > 0


class FilingsScreen(DeskScreen):
    """The whole list of online filings waiting for reception; Enter/F8 receives one."""

    TITLE_KEY = "tui.filings.title"
    HELP_KEY = "tui.help.online_filings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "receive", "vocab.action.accept", id="receive"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def __init__(self, services: Services, port: SyncPort | None = None) -> None:
        super().__init__(services)
        self.port = port

    def compose_body(self) -> ComposeResult:
        with Vertical(id="filings"):
            yield Label("", id="filings-status")
            yield DataTable(id="filings-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="filings-stale", classes="hint")

    @property
    def table(self) -> DataTable:
        return self.query_one("#filings-table", DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._load()

    def on_resumed(self) -> None:
        self._load()   # one may have been received meanwhile

    @work(exclusive=True, thread=True, group="filings")
    def _load(self) -> None:
        filings = self.services.online_filings.waiting()
        count = self.services.online_filings.count_waiting()
        status = self.port.status() if self.port is not None else None
        self.app.call_from_thread(self._show, filings, count, staleness(status, None))
        online = self.port.online() if self.port is not None else None
        self.app.call_from_thread(self._show_stale, staleness(status, online))

    def _show(self, filings: list[OnlineFiling], count: int, stale: str) -> None:
        if not self.query("#filings-table"):
            return
        table = self.table
        table.clear(columns=True)
        rows = [(f.portal_code, f.applicant_name, f.procedure_code,
                 fmt_datetime(f.filed_at) if f.filed_at else "—") for f in filings]
        for n, key in enumerate(COLUMNS):
            header = t(HEADINGS[key])
            width = max([cell_len(header), *(cell_len(r[n]) for r in rows)])
            table.add_column(header, key=key, width=width)
        for row in rows:
            table.add_row(*row, key=row[0])
        self.query_one("#filings-status", Label).update(
            t("tui.filings.summary", count=count) if count else t("tui.filings.none"))
        self._show_stale(stale)

    def _show_stale(self, stale: str) -> None:
        if self.query("#filings-stale"):
            self.query_one("#filings-stale", Label).update(stale)

    @on(DataTable.RowSelected, "#filings-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        start_filing_intake(self, self.services, str(event.row_key.value))

    def action_receive(self) -> None:
        if self.table.row_count:
            row_key, _ = self.table.coordinate_to_cell_key(self.table.cursor_coordinate)
            start_filing_intake(self, self.services, str(row_key.value))

    def action_back(self) -> None:
        self.dismiss()
