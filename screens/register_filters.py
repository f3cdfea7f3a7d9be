"""The register's filters (F7 shows or hides them): status, channel, form field, procedure,
received between two days, overdue only. What they read becomes a ``RegisterFilter``."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Select

from ccdesk.domain.errors import InvalidInput, ValidationError
from ccdesk.domain.lifecycle import Status
from ccdesk.domain.vocabulary import Channel
from ccdesk.i18n import t
from ccdesk.services.search import RegisterFilter
from screens.widgets.validators import parse_day


class RegisterFilters(Vertical):
    """The filter lines; ``fields``: the form fields a procedure asks for, to filter by one."""

    def __init__(self, fields: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Horizontal(classes="register-line"):
            yield Select([(t(f"vocab.status.{s.value}"), s.value) for s in Status],
                         prompt=t("tui.register.any_status"), id="status", compact=True)
            yield Select([(c.label(), c.value) for c in Channel],
                         prompt=t("tui.register.any_channel"), id="channel", compact=True)
            yield Select([(f, f) for f in self.fields], prompt=t("tui.register.any_field"),
                         id="field", compact=True)
        with Horizontal(classes="register-line"):
            yield Input(placeholder=t("vocab.field.procedure_code"), id="procedure",
                        compact=True)
            yield Input(placeholder=t("tui.register.date_from"), id="date_from", compact=True)
            yield Input(placeholder=t("tui.register.date_to"), id="date_to", compact=True)
            yield Checkbox(t("vocab.timeliness.overdue"), id="overdue", compact=True)

    def read(self) -> RegisterFilter:
        """The filters as set; a day that is not one raises ``InvalidInput`` (all such days)."""
        errors: list[ValidationError] = []

        def day(name: str) -> date | None:
            try:
                return parse_day(self.query_one(f"#{name}", Input).value, name)
            except ValidationError as err:
                errors.append(err)
                return None

        def chosen(name: str) -> str | None:
            value = self.query_one(f"#{name}", Select).value
            return None if value is Select.NULL else str(value)

        procedure = self.query_one("#procedure", Input).value.strip() or None
        filters = RegisterFilter(status=chosen("status"), procedure_code=procedure,
                                 field=chosen("field"),
                                 overdue=self.query_one("#overdue", Checkbox).value or None,
                                 date_from=day("date_from"), date_to=day("date_to"),
                                 channel=chosen("channel"))
        if errors:
            raise InvalidInput(errors)
        return filters

    def toggle(self) -> None:
        self.display = not self.display
