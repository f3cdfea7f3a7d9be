"""Reports (F5): form II.06a for a period, channels, on-time rate, satisfaction, with charts.

The report service computes everything; this screen asks for the period and lays it out.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from ccdesk.domain.errors import CcdeskError, InvalidInput, ValidationError
from ccdesk.domain.reports import Counts
from ccdesk.domain.vocabulary import RatingLevel
from ccdesk.i18n import fmt_date, fmt_money, t
from ccdesk.services.reports import PeriodReport
from screens.base import DeskScreen
from screens.widgets.bars import bar_chart
from screens.widgets.field import FormField
from screens.widgets.indicators import IndicatorsPanel
from screens.widgets.validators import parse_day


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %".replace(".", ",")


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
    ]

    def compose_body(self) -> ComposeResult:
        today = self.host.now().date()
        with VerticalScroll(id="reports", classes="form"):
            with Horizontal(id="period"):
                yield FormField(t("tui.reports.from"), Input(
                    fmt_date(today.replace(day=1)), id="from", compact=True), name="from")
                yield FormField(t("tui.reports.to"), Input(fmt_date(today), id="to",
                                                           compact=True), name="to")
            yield Static("", id="report-summary")
            yield Label(t("tui.reports.ii06a"), classes="section")
            yield DataTable(id="report-table", zebra_stripes=True, cursor_type="row")
            yield Label(t("tui.reports.channels"), classes="section")
            yield Static("", id="report-channels")
            yield Label(t("tui.reports.satisfaction"), classes="section")
            yield Static("", id="report-satisfaction")
            yield Label(t("reports.indicators.panel"), classes="section")
            yield IndicatorsPanel("", id="report-indicators")

    def on_mount(self) -> None:
        table = self.query_one("#report-table", DataTable)
        table.add_columns(*[t(f"tui.reports.col_{name}") for name in (
            "tt", "name", "received", "online", "direct", "carried", "resolved", "early",
            "on_time", "late", "in_progress", "within", "overdue")])
        self.action_compute()

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
            fees=fmt_money(report.fees_collected)))
        table = self.query_one("#report-table", DataTable)
        table.loading = False
        table.clear()
        for number, group in enumerate(report.groups, start=1):
            table.add_row(str(number), group.field, *count_cells(group.counts))
            for row in group.rows:
                table.add_row("", f"  {row.procedure_code} {row.procedure_name}",
                              *count_cells(row.counts))
        table.add_row("", t("tui.reports.total"), *count_cells(total))
        table.add_row("", t("reports.guidance.line"), *count_cells(report.guidance))
        self.query_one("#report-channels", Static).update(bar_chart(
            [(t(f"core.channel.{name}"), count) for name, count in report.channels.items()]))
        self.query_one("#report-satisfaction", Static).update(bar_chart(
            [(level.label(), getattr(sat, level)) for level in RatingLevel]))
