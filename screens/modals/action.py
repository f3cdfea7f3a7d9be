"""The form for one dossier action: only the fields that action needs, then a y/n confirmation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, SelectionList
from textual.widgets.option_list import Option

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.i18n import t
from ccdesk.models import ChecklistItem
from ccdesk.services.dossiers import REASON_REQUIRED
from ccdesk.services.intake import MissingItem
from screens.widgets.field import FormField
from screens.widgets.validators import parse_day_time


@dataclass
class ActionInput:
    """What the officer entered for an action (the arguments of ``DossierService.act``)."""

    action: Action
    reason: str = ""
    body: str = ""
    new_due: datetime | None = None
    late_body: str = ""
    items: list[MissingItem] = field(default_factory=list)
    received_positions: list[int] | None = None


class ActionModal(ModalScreen[ActionInput | None]):
    """Dismisses with the entered :class:`ActionInput`, or ``None`` on esc."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "ok", "tui.key.ok", id="ok"),
        Binding("escape", "cancel", "tui.key.back", id="back"),
    ]

    def __init__(self, action: Action, checklist: list[ChecklistItem],
                 handling_body: str = "") -> None:
        super().__init__(classes="modal")
        self.action = action
        self._checklist = checklist
        self._body = "" if handling_body == "desk" else handling_body

    def compose(self) -> ComposeResult:
        action = self.action
        missing = [i for i in self._checklist if not i.received]
        with VerticalScroll(classes="modal-box form"):
            yield Label(t(f"core.action.{action.value}"), classes="modal-title")
            if action == Action.SUPPLEMENT_RECEIVED and missing:
                yield Label(t("tui.action.received_items"), classes="field-label")
                yield SelectionList[int](*[(i.name, i.position, True) for i in missing],
                                         id="positions", compact=True)
            if action == Action.REQUEST_SUPPLEMENT:
                yield Label(t("tui.action.wanted_items"), classes="field-label")
                yield SelectionList[str](*[(i.name, i.name, False) for i in self._checklist],
                                         id="items", compact=True)
                yield self._input("extra_item", t("tui.intake.extra_item"))
            if action == Action.HAND_OFF:
                yield self._input("body", t("core.field.body"), self._body)
            if action == Action.EXTEND:
                yield self._input("new_due", t("core.field.new_due"),
                                  placeholder="HH:MM dd/mm/yyyy")
                yield self._input("late_body", t("tui.action.late_body"), self._body)
            yield self._input("reason", t("core.field.reason") + (
                " *" if action in REASON_REQUIRED else ""))
            with Horizontal(classes="modal-buttons"):
                yield Button(f"F8 {t('tui.confirm.ok')}", id="ok", variant="primary",
                             compact=True)
                yield Button(t("tui.confirm.cancel"), id="cancel", compact=True)

    @staticmethod
    def _input(name: str, label: str, value: str = "", placeholder: str = "") -> FormField:
        return FormField(label, Input(value, id=name, compact=True, placeholder=placeholder),
                         name=name)

    def on_mount(self) -> None:
        self.focus_next()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_ok()
        else:
            self.action_cancel()

    def _value(self, name: str) -> str:
        found = self.query(f"#{name}")
        return found.first(Input).value if found else ""

    def action_ok(self) -> None:
        for field_widget in self.query(FormField):
            field_widget.set_error(None)
        result = ActionInput(self.action, reason=self._value("reason"),
                             body=self._value("body"), late_body=self._value("late_body"))
        if self.query("#new_due"):
            try:
                result.new_due = parse_day_time(self._value("new_due"), "new_due")
            except ValidationError as err:
                self.query_one("#field-new_due", FormField).set_error(t(err.key))
                return
        if self.query("#positions"):
            result.received_positions = list(self.query_one("#positions",
                                                            SelectionList).selected)
        if self.query("#items"):
            names = list(self.query_one("#items", SelectionList).selected)
            extra = self._value("extra_item").strip()
            result.items = [MissingItem(n) for n in names + ([extra] if extra else [])]
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_field_error(self, name: str, message: str) -> bool:
        """Put a service error back at its field; ``False`` when the form has no such field."""
        found = self.query(f"#field-{name}")
        if not found:
            return False
        found.first(FormField).set_error(message)
        return True


class ActionPicker(ModalScreen[Action | None]):
    """Choose one of the actions the dossier's state allows (the service says which)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "tui.key.back", id="back"),
    ]

    def __init__(self, actions: list[Action]) -> None:
        super().__init__(classes="modal")
        self._actions = actions

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box"):
            yield Label(t("tui.action.pick"), classes="modal-title")
            yield OptionList(*[Option(t(f"core.action.{a.value}"), id=a.value)
                               for a in self._actions], id="actions")

    def on_mount(self) -> None:
        self.query_one("#actions", OptionList).focus()

    @on(OptionList.OptionSelected, "#actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Action(str(event.option.id)))

    def action_cancel(self) -> None:
        self.dismiss(None)
