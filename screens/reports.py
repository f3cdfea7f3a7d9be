"""Reports (F5): form II.06a for a period, channels, on-time rate, satisfaction, with charts.

The report service computes everything; this screen asks for the period and lays it out.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from ccdesk.domain.errors import CcdeskError, InvalidInput, ValidationError
from ccdesk.domain.queue import wait_lines
from ccdesk.domain.reports import VOCABULARY_HEADINGS, Counts
from ccdesk.domain.vocabulary import RatingLevel
from ccdesk.i18n import fmt_date, fmt_money, t
from ccdesk.services.reports import PeriodReport
from screens.base import DeskScreen
from screens.widgets.bars import bar_chart
from screens.widgets.columns import CELL_PADDING, column_pages, fit_cell, natural_width
from screens.widgets.field import FormField
from screens.widgets.indicators import IndicatorsPanel
from screens.widgets.validators import parse_day


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %".replace(".", ",")


# II.06a's number columns, numbered (1)…(11) as on the printed form; a legend names them.
NUMBER_COLUMNS = ("received", "online", "direct", "carried", "resolved", "early", "on_time",
                  "late", "in_progress", "within", "overdue")
# The legend's names of those columns: the screen's own short words for two of them, the rest
# as the CLI report and the vocabulary word them.
HEADINGS = {"received": "tui.reports.col_received", "online": "reports.table.online",
            "direct": "tui.reports.col_direct", "carried": "reports.short.carried_over",
            "resolved": "reports.table.resolved", **VOCABULARY_HEADINGS}
MIN_NAME = 20  # the field / procedure name keeps at least this much; numbers page beside it
SCROLLBAR = 2


def count_cells(c: Counts) -> list[str]:
    """The 11 number columns of II.06a, in the form's order."""
    return [str(v) for v in (c.received, c.online, c.direct_postal, c.carried_over, c.resolved,
                             c.early, c.on_time, c.late, c.in_progress, c.within, c.overdue)]


class ReportsScreen(DeskScreen):
    """The reports area."""

    TITLE_KEY = "tui.reports.title"
    HELP_KEY = "tui.help.reports"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "compute", "tui.key.compute", id="compute"),
        Binding("f7", "next_columns", "tui.report_columns.key", id="next_columns"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._table_rows: list[tuple[str, str, list[str]]] = []
        self._page = 0
        self._pages: list[list[int]] = []

    def compose_body(self) -> ComposeResult:
        today = self.host.now().date()
        with VerticalScroll(id="reports", classes="form"):
            with Horizontal(id="period"):
                yield FormField(t("reports.field.from"), Input(
                    fmt_date(today.replace(day=1)), id="from", compact=True), name="from")
                yield FormField(t("reports.field.to"), Input(fmt_date(today), id="to",
                                                           compact=True), name="to")
            yield Static("", id="report-summary")
            yield Label(t("tui.reports.ii06a"), classes="section")
            yield Label("", id="report-columns", classes="hint")
            yield DataTable(id="report-table", zebra_stripes=True, cursor_type="row")
            yield Static(self._legend(), id="report-legend", classes="hint")
            yield Label(t("tui.reports.channels"), classes="section")
            yield Static("", id="report-channels")
            yield Label(t("vocab.field.rating"), classes="section")
            yield Static("", id="report-satisfaction")
            yield Static("", id="report-rating-source", classes="hint")
            yield Label(t("queue.report.title"), classes="section")
            yield Static("", id="report-queue")
            yield Label(t("reports.indicators.panel"), classes="section")
            yield IndicatorsPanel("", id="report-indicators")

    def on_mount(self) -> None:
        self._table_rows, self._page = [], 0
        self._lay_out_table()
        self.action_compute()

    @staticmethod
    def _legend() -> str:
        return " · ".join(f"({number}) {t(HEADINGS[name])}"
                          for number, name in enumerate(NUMBER_COLUMNS, start=1))

    @on(Input.Submitted)
    def action_compute(self) -> None:
        self.clear_errors()
        try:
            start, end = self._period()
        except CcdeskError as err:
            self.show_error(err)
            return
        self.query_one("#report-table").loading = True
        self._build_report(start, end)

    def _period(self) -> tuple[date, date]:
        errors, days = [], []
        for name in ("from", "to"):
            try:
                value = parse_day(self.query_one(f"#{name}", Input).value, name)
                if value is None:
                    raise ValidationError("core.err.required", field=name)
                days.append(value)
            except ValidationError as err:
                errors.append(err)
        if errors:
            raise InvalidInput(errors)
        return days[0], days[1]

    def place_error(self, err: CcdeskError) -> bool:
        if err.field == "to" or err.field == "from":
            return super().place_error(err)
        return False

    @work(exclusive=True, thread=True, group="report")
    def _build_report(self, start: date, end: date) -> None:
        try:
            report = self.services.reports.period_report(start, end)
            indicators = self.services.reports.indicators_766(start, end)
        except CcdeskError as err:
            self.app.call_from_thread(self._failed, err)
            return
        self.app.call_from_thread(self._show, report)
        self.app.call_from_thread(self.query_one(IndicatorsPanel).show, indicators)

    def _failed(self, err: CcdeskError) -> None:
        self.query_one("#report-table").loading = False
        self.show_error(err)

    def _show(self, report: PeriodReport) -> None:
        total, sat = report.total, report.satisfaction
        self.query_one("#report-summary", Static).update(t(
            "tui.reports.summary", start=fmt_date(report.period.start),
            end=fmt_date(report.period.end), received=total.received, resolved=total.resolved,
            in_progress=total.in_progress, on_time=percent(total.on_time_rate),
            satisfied=percent(sat.rate), ratings=sat.total,
            fees=fmt_money(report.fees_collected))
            + "\n" + t("attachments.report_line", digitised=report.digitised,
                        received=total.received, reused=report.reused))
        self.query_one("#report-table", DataTable).loading = False
        rows: list[tuple[str, str, list[str]]] = []
        for number, group in enumerate(report.groups, start=1):
            rows.append((str(number), group.field, count_cells(group.counts)))
            rows.extend(("", f"  {row.procedure_code} {row.procedure_name}",
                         count_cells(row.counts)) for row in group.rows)
        rows.append(("", t("reports.table.total"), count_cells(total)))
        rows.append(("", t("reports.guidance.line"), count_cells(report.guidance)))
        self._table_rows = rows
        self._lay_out_table()
        self.query_one("#report-channels", Static).update(bar_chart(
            [(t(f"vocab.channel.{name}"), count) for name, count in report.channels.items()]))
        self.query_one("#report-satisfaction", Static).update(bar_chart(
            [(level.label(), getattr(sat, level)) for level in RatingLevel]))
        self.query_one("#report-rating-source", Static).update(
            f"{t('rating.report.source_citizen')}: {sat.total - sat.officer_fallback} · "
            f"{t('rating.report.source_officer')}: {sat.officer_fallback}")
        self.query_one("#report-queue", Static).update(
            "\n".join(wait_lines(report.queue_waits)) or t("queue.report.none"))

    # ---- the II.06a table at any width ----------------------------------------------------------
    def on_resize(self) -> None:
        self._lay_out_table()

    def action_next_columns(self) -> None:
        if len(self._pages) > 1:
            self._page = (self._page + 1) % len(self._pages)
            self._lay_out_table()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_columns":
            return len(self._pages) > 1  # every number already shows: no key to page them
        return True

    def _lay_out_table(self) -> None:
        """Rebuild the table for its width: the TT and name columns, then as many of the 11
        number columns as fit whole, the rest on further pages (F7). A table is never
        shown without its numbers: the name column gives way to them first."""
        if not self.query("#report-table"):
            return
        table = self.query_one("#report-table", DataTable)
        room = (table.size.width or self.app.size.width - 4) - SCROLLBAR
        headers = [f"({number})" for number in range(1, len(NUMBER_COLUMNS) + 1)]
        widths = [natural_width(header, (row[2][i] for row in self._table_rows))
                  for i, header in enumerate(headers)]
        tt_width = natural_width(t("vocab.field.tt"), (row[0] for row in self._table_rows))
        name_natural = natural_width(t("reports.table.field"),
                                     (row[1] for row in self._table_rows))
        fixed = tt_width + 2 * CELL_PADDING + min(name_natural, MIN_NAME)
        pages = column_pages(widths, max(room - fixed, 1))
        changed = pages != self._pages
        self._pages = pages
        self._page = 0 if changed else min(self._page, len(pages) - 1)
        shown = pages[self._page]
        used = sum(widths[i] + CELL_PADDING for i in shown)
        name_width = max(min(name_natural, room - used - tt_width - 2 * CELL_PADDING),
                         min(name_natural, MIN_NAME))
        table.clear(columns=True)
        table.add_column(t("vocab.field.tt"), width=tt_width)
        table.add_column(t("reports.table.field"), width=name_width)
        for i in shown:
            table.add_column(headers[i], width=widths[i])
        for tt, name, cells in self._table_rows:
            table.add_row(tt, fit_cell(name, name_width),
                          *(Text(cells[i], justify="right") for i in shown))
        note = self.query_one("#report-columns", Label)
        note.display = len(pages) > 1
        if len(pages) > 1:
            note.update(t("tui.report_columns.page", first=shown[0] + 1, last=shown[-1] + 1,
                          total=len(NUMBER_COLUMNS)))
        if changed:
            self.refresh_bindings()
