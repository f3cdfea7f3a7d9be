"""First run on an empty database: office headers, legal regime and the first officer.

Saving validates everything first (the services do), then records the officer, the office
headers and the bundled catalogue; the screen only gathers the answers and shows the errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select

from ccdesk.domain.errors import CcdeskError, ValidationError
from ccdesk.domain.lifecycle import Regime
from ccdesk.i18n import t
from ccdesk.services import SYSTEM
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.office import OfficeSettings, validate_settings
from screens.base import DeskScreen, field_label
from screens.widgets.field import FormField

OFFICE_FIELDS = ("governing_body", "unit_name", "agency_code", "place_name")
OFFICER_FIELDS = ("username", "full_name", "pin", "pin_again")
FIRST_ROLES = ("lead", "officer", "it")


class SetupScreen(DeskScreen):
    """Dismisses with ``True`` once the office is set up."""

    TITLE_KEY = "tui.setup.title"
    HELP_KEY = "tui.help.setup"
    # Enter goes to the next field in the same turn as the key (screens/keyflow.py), so the
    # keys typed after it land in that field, however fast they come.
    ENTER_MOVES_FOCUS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "save", "tui.key.save", id="save"),
    ]

    def compose_body(self) -> ComposeResult:
        needs_officer = not self.services.officers.list(include_inactive=True)
        # A database that already holds officers or procedures (seeded, or restored) is not
        # "empty": say that only the office details are missing.
        empty = needs_officer and not self.services.catalog.search("", limit=1)
        with VerticalScroll(id="setup-form", classes="form"):
            yield Label(t("tui.setup.intro" if empty else "tui.setup_notice.intro_existing"),
                        classes="intro")
            yield Label(t("tui.setup.office"), classes="section")
            for name in OFFICE_FIELDS:
                example = t("tui.setup_notice.example", value=t(f"tui.setup.hint_{name}"))
                yield FormField(t(f"vocab.field.{name}"),
                                Input(id=name, compact=True, placeholder=example), name=name)
            yield FormField(t("vocab.field.regime"), Select(
                [(t(f"tui.regime.r{r.value}"), r.value) for r in Regime],
                value=Regime.R2025.value, allow_blank=False, id="regime", compact=True),
                name="regime")
            if needs_officer:
                yield Label(t("tui.setup.officer"), classes="section")
                for name in OFFICER_FIELDS:
                    yield FormField(field_label(name),
                                    Input(id=name, compact=True,
                                          password=name.startswith("pin")), name=name)
                yield FormField(t("vocab.field.role"), Select(
                    [(t(f"tui.role.{r}"), r) for r in FIRST_ROLES], value="lead",
                    allow_blank=False, id="role", compact=True), name="role")
            with Horizontal(classes="buttons"):
                yield Button(t("tui.setup.save"), id="save", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#governing_body", Input).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.clear_errors()
        settings = OfficeSettings(*(self._value(n) for n in OFFICE_FIELDS),
                                  regime=str(self.query_one("#regime", Select).value))
        officer = None
        if self.query("#username"):
            officer = NewOfficer(self._value("username"), self._value("full_name"),
                                 str(self.query_one("#role", Select).value), self._value("pin"),
                                 self._value("pin_again"))
        self._save(settings, officer)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    @work(exclusive=True, thread=True, group="setup")
    def _save(self, settings: OfficeSettings, officer: NewOfficer | None) -> None:
        """Store the answers (a thread: hashing a PIN and importing the catalogue take time)."""
        try:
            validate_settings(settings)
            if officer is not None:
                if officer.pin != officer.pin_again:
                    raise ValidationError("tui.setup.pin_mismatch", field="pin_again")
                self.services.officers.add(SYSTEM, officer.username, officer.full_name,
                                           officer.role, officer.pin)
            self.services.office.update(SYSTEM, settings, complete_setup=True)
            self.services.catalog.import_file(BUNDLED_CATALOG)
        except CcdeskError as err:
            self.app.call_from_thread(self.show_error, err)
            return
        self.app.call_from_thread(self.dismiss, True)


@dataclass(frozen=True)
class NewOfficer:
    username: str
    full_name: str
    role: str
    pin: str
    pin_again: str
