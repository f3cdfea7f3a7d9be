"""Settings (F9): office headers, language, theme, printers, upstream URL, the counter's
rating wait and queue tickets, calendar overrides.

The language applies at once (every screen redraws); the rest is saved with F8. Office headers
and machine settings need the "settings" permission, which the office service enforces.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.lifecycle import Regime
from ccdesk.domain.validation import clean_text
from ccdesk.i18n import LANGUAGES, fmt_date, get_language, t
from ccdesk.services.calendar_overrides import KINDS, add_special_day
from ccdesk.services.citizen_rating import parse_wait_seconds
from ccdesk.services.office import OfficeSettings
from screens.base import DeskScreen
from screens.widgets.field import FormField
from screens.widgets.validators import parse_day

if TYPE_CHECKING:
    from ccdesk.services import Services

OFFICE_FIELDS = ("governing_body", "unit_name", "agency_code", "place_name")
THEMES = ("textual-dark", "textual-light", "nord", "gruvbox", "textual-ansi")


class SettingsScreen(DeskScreen):
    """The settings area."""

    TITLE_KEY = "tui.settings.title"
    HELP_KEY = "tui.help.settings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "save", "tui.key.save", id="save"),
    ]

    def __init__(self, services: Services, config_path: Path) -> None:
        super().__init__(services)
        self.config_path = config_path

    def compose_body(self) -> ComposeResult:
        office, config = self.services.office.get(), self.services.config
        with VerticalScroll(id="settings-form", classes="form"):
            yield Label(t("tui.settings.desk"), classes="section")
            yield FormField(t("tui.settings.language"), Select(
                [(t(f"tui.language.{lang}"), lang) for lang in LANGUAGES],
                value=get_language(), allow_blank=False, id="language", compact=True),
                name="language")
            yield FormField(t("tui.settings.theme"), Select(
                [(name, name) for name in THEMES], value=self.app.theme
                if self.app.theme in THEMES else THEMES[0], allow_blank=False, id="theme",
                compact=True), name="theme")
            yield FormField(t("vocab.field.printer"), Input(
                config.printer, id="printer", compact=True,
                placeholder=t("tui.settings.printer_hint")), name="printer")
            yield FormField(t("tui.settings.upstream"), Input(
                config.upstream_url, id="upstream_url", compact=True,
                placeholder="https://…"), name="upstream_url")
            yield Label(t("tui.settings.counter"), classes="section")
            yield FormField(t("vocab.field.citizen_rating_seconds"), Input(
                str(config.citizen_rating_seconds), id="citizen_rating_seconds", compact=True,
                placeholder=t("tui.settings.rating_hint")), name="citizen_rating_seconds")
            yield FormField(t("vocab.field.queue_tickets"), Checkbox(
                t("tui.settings.queue_on"), config.queue_tickets, id="queue_tickets",
                compact=True), name="queue_tickets")
            yield FormField(t("vocab.field.receipt_printer"), Input(
                config.receipt_printer, id="receipt_printer", compact=True,
                placeholder=t("tui.settings.printer_hint")), name="receipt_printer")
            yield Label(t("tui.settings.office"), classes="section")
            for name in OFFICE_FIELDS:
                yield FormField(t(f"vocab.field.{name}"),
                                Input(getattr(office, name), id=name, compact=True), name=name)
            yield FormField(t("vocab.field.regime"), Select(
                [(t(f"tui.regime.r{r.value}"), r.value) for r in Regime], value=office.regime,
                allow_blank=False, id="regime", compact=True), name="regime")
            yield Label(t("tui.settings.calendar"), classes="section")
            yield Static(self._calendar_text(), id="calendar-days")
            yield FormField(t("tui.settings.day"), Input(
                id="day", compact=True, placeholder="dd/mm/yyyy"), name="date")
            yield FormField(t("tui.settings.day_kind"), Select(
                [(t(f"tui.settings.kind_{k}"), k) for k in KINDS], value="days_off",
                allow_blank=False, id="day_kind", compact=True), name="kind")
            yield FormField(t("tui.settings.day_name"), Input(id="day_name", compact=True),
                            name="name")
            yield Button(t("tui.settings.add_day"), id="add-day", compact=True)

    def _calendar_text(self) -> str:
        year = self.host.now().year
        calendar = self.services.ctx.calendar
        off = [f"{fmt_date(d.day)}  {d.name}" for d in calendar.days_off(year)]
        work_days = [f"{fmt_date(d.day)}  {d.name}" for d in calendar.make_up_days(
            year, default_name=t("vocab.calendar.makeup_day"))]
        return "\n".join([t("tui.settings.days_off", year=year), *off,
                          t("tui.settings.make_up_days", year=year), *(work_days or ["—"]),
                          t("tui.settings.calendar_file",
                            path=str(self.services.paths.calendar_file))])


    @on(Input.Submitted, "#day_name")
    @on(Button.Pressed, "#add-day")
    def _add_day(self) -> None:
        self.clear_errors()
        try:
            day = parse_day(self._value("day"), "date")
            add_special_day(self.services, self.actor, str(self.query_one("#day_kind",
                                                                          Select).value),
                            day, self._value("day_name"))
        except CcdeskError as err:
            self.show_error(err)
            return
        self.query_one("#calendar-days", Static).update(self._calendar_text())
        self.query_one("#day", Input).value = ""
        self.query_one("#day_name", Input).value = ""
        self.notify(t("tui.settings.day_added", day=fmt_date(day)))

    @on(Select.Changed, "#language")
    def _language(self, event: Select.Changed) -> None:
        lang = str(event.value)
        if lang == get_language():
            return
        self.services.config.language = lang
        self._save_config()
        self.host.change_language(lang)

    @on(Select.Changed, "#theme")
    def _theme(self, event: Select.Changed) -> None:
        self.app.theme = str(event.value)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def action_save(self) -> None:
        self.clear_errors()
        settings = OfficeSettings(*(self._value(n) for n in OFFICE_FIELDS),
                                  regime=str(self.query_one("#regime", Select).value))
        office = self.services.office.get()
        for name in ("device_prefix", "commune_code", "code_pattern"):
            setattr(settings, name, getattr(office, name))
        config = self.services.config
        try:
            self.actor.require("settings", training=self.host.training)
            config.printer = clean_text(self._value("printer"), "printer", limit=100)
            config.upstream_url = clean_text(self._value("upstream_url"), "upstream_url",
                                             limit=500)
            config.theme = str(self.query_one("#theme", Select).value)
            config.citizen_rating_seconds = parse_wait_seconds(
                self._value("citizen_rating_seconds"))
            config.receipt_printer = clean_text(self._value("receipt_printer"),
                                                "receipt_printer", limit=100)
            config.queue_tickets = self.query_one("#queue_tickets", Checkbox).value
            self.services.office.update(self.actor, settings)
        except CcdeskError as err:
            self.show_error(err)
            return
        self._save_config()
        self.notify(t("tui.settings.saved"))

    def _save_config(self) -> None:
        try:
            self.services.config.save(self.config_path)
        except OSError as exc:
            self.notify(t("tui.settings.config_unwritable", path=str(self.config_path),
                          detail=type(exc).__name__), severity="error")
        except CcdeskError as err:  # the file was broken by hand since the desk read it
            self.notify(err.message(), severity="error")
