"""The form for one dossier action: only the fields that action needs, a y/n confirmation, and the
service's answer shown in the same form.

The rule every dialog of the desk follows: the focus starts on the first field to fill in; the
confirm key (F8) stays disabled, with what is missing written beside it, until the service's own
check (``check_action_input``) passes; nothing is ticked that the officer has not ticked; and an
error the service finds after confirming comes back next to its field, everything typed kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, SelectionList
from textual.widgets.option_list import Option

from ccdesk.domain.errors import CcdeskError, InvalidInput, ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.i18n import t
from ccdesk.models import ChecklistItem
from ccdesk.services.dossiers import REASON_REQUIRED, ActionResult, check_action_input
from ccdesk.services.intake import MissingItem
from screens.base import DeskModal, field_message
from screens.modals.confirm import ConfirmModal
from screens.widgets.field import FormField, field_of
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


@dataclass(frozen=True)
class ActionContext:
    """What the form needs to know about the dossier, and how to record the action."""

    checklist: list[ChecklistItem]
    handling_body: str
    due_at: datetime | None
    now: Callable[[], datetime]
    apply: Callable[[ActionInput], ActionResult]  # the service call (run in a thread)
    question: str  # the y/n question
    detail: str = ""  # said with the question (the second-supplement warning)


class ActionModal(DeskModal[ActionResult | None]):
    """Dismisses with the service's :class:`ActionResult` once recorded, or ``None`` on esc."""

    ENTER_MOVES_FOCUS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "ok", "tui.key.ok", id="ok"),
        Binding("escape", "cancel", "tui.key.back", id="back"),
    ]

    def __init__(self, action: Action, context: ActionContext) -> None:
        super().__init__(classes="modal action-modal")
        self.action = action
        self.context = context
        self._body = "" if context.handling_body == "desk" else context.handling_body
        self._busy = False

    def compose(self) -> ComposeResult:
        action, checklist = self.action, self.context.checklist
        missing = [i for i in checklist if not i.received]
        with VerticalScroll(classes="modal-box form"):
            yield Label(t(f"vocab.action.{action.value}"), classes="modal-title")
            if action == Action.SUPPLEMENT_RECEIVED and missing:
                yield Label(t("tui.dialog.received_items"), classes="field-label wide")
                # Nothing ticked: the officer ticks what the citizen actually brought.
                yield SelectionList[int](*[(i.name, i.position, False) for i in missing],
                                         id="positions", compact=True)
            if action == Action.REQUEST_SUPPLEMENT:
                yield Label(t("tui.action.wanted_items"), classes="field-label wide")
                yield SelectionList[str](*[(i.name, i.name, False) for i in checklist],
                                         id="items", compact=True)
                yield self._input("extra_item", t("tui.intake.extra_item"))
            if action == Action.HAND_OFF:
                yield self._input("body", t("vocab.field.body") + " *", self._body)
            if action == Action.EXTEND:
                yield self._input("new_due", t("vocab.field.new_due") + " *",
                                  placeholder="HH:MM dd/mm/yyyy")
                yield self._input("late_body", t("tui.action.late_body"), self._body)
            yield self._input("reason", t("vocab.field.reason") + (
                " *" if action in REASON_REQUIRED else ""))
            yield Label("", id="form-error", classes="field-error form-error")
            with Horizontal(classes="modal-buttons"):
                yield Button(f"F8 {t('tui.confirm.ok')}", id="ok", variant="primary",
                             compact=True, disabled=True)
                yield Button(t("tui.confirm.cancel"), id="cancel", compact=True)
            yield Label("", id="ok-why", classes="hint why")

    @staticmethod
    def _input(name: str, label: str, value: str = "", placeholder: str = "") -> FormField:
        return FormField(label, Input(value, id=name, compact=True, placeholder=placeholder),
                         name=name)

    def on_mount(self) -> None:
        self._first_field().focus()
        self._check()

    def _first_field(self) -> Widget:
        """The first field still to fill in (else the first field at all)."""
        controls = [w for w in self.query("Input, SelectionList") if w.focusable]
        empty = [w for w in controls if isinstance(w, Input) and not w.value.strip()]
        for widget in controls:
            if widget in empty or isinstance(widget, SelectionList):
                return widget
        return controls[0] if controls else self.query_one("#cancel", Button)

    # ---- checking as the officer types --------------------------------------------------------
    @on(Input.Changed)
    @on(SelectionList.SelectedChanged)
    def _changed(self, event: Input.Changed | SelectionList.SelectedChanged) -> None:
        control = event.control if isinstance(event, Input.Changed) else None
        holder = field_of(control) if control is not None else None
        if holder is not None:
            holder.set_error(None)  # a fixed field loses its error at once
        self.query_one("#form-error", Label).display = False
        self._check()

    def _entered(self, errors: list[ValidationError]) -> ActionInput:
        result = ActionInput(self.action, reason=self._value("reason"),
                             body=self._value("body"), late_body=self._value("late_body"))
        if self.query("#new_due") and self._value("new_due").strip():
            try:
                result.new_due = parse_day_time(self._value("new_due"), "new_due")
            except ValidationError as err:
                errors.append(err)
        if self.query("#positions"):
            result.received_positions = list(self.query_one("#positions",
                                                            SelectionList).selected)
        if self.query("#items"):
            names = list(self.query_one("#items", SelectionList).selected)
            extra = self._value("extra_item").strip()
            result.items = [MissingItem(n) for n in names + ([extra] if extra else [])]
        return result

    def _problems(self) -> tuple[ActionInput, list[ValidationError]]:
        """What was entered, and what the service would refuse in it (each with its field)."""
        errors: list[ValidationError] = []
        entered = self._entered(errors)
        try:
            check_action_input(self.action, reason=entered.reason, body=entered.body,
                               new_due=entered.new_due, items=entered.items,
                               due_at=self.context.due_at, now=self.context.now(),
                               handling_body=self.context.handling_body)
        except InvalidInput as err:
            errors += [e for e in err.errors if e.field not in {x.field for x in errors}]
        except ValidationError as err:
            if err.field not in {x.field for x in errors}:
                errors.append(err)
        return entered, errors

    def _check(self) -> bool:
        """Enable the confirm button when the form is complete; otherwise say, beside it, what
        is missing (F8 then shows each problem at its field instead of confirming)."""
        _entered, errors = self._problems()
        self.query_one("#ok", Button).disabled = bool(errors) or self._busy
        why = self.query_one("#ok-why", Label)
        why.update(t("tui.dialog.not_ready", what="; ".join(e.message() for e in errors))
                   if errors else "")
        why.display = bool(errors)
        return not errors

    # ---- confirming ---------------------------------------------------------------------------
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
        if self._busy:
            return
        entered, errors = self._problems()
        if errors:  # F8 on an incomplete form: each problem at its field, focus on the first
            for err in errors:
                self.show_error(err)
            self._focus_field(errors[0].field)
            return
        self.app.push_screen(ConfirmModal(self.context.question, self.context.detail),
                             lambda yes: self._record(entered) if yes else None)

    @work(exclusive=True, group="action-record")
    async def _record(self, entered: ActionInput) -> None:
        self._busy = True
        self._check()
        try:
            result = await asyncio.to_thread(self.context.apply, entered)
        except CcdeskError as err:
            self._busy = False
            self._check()
            self.show_error(err)  # the form stays open with everything typed
            return
        self.dismiss(result)

    def show_error(self, err: CcdeskError) -> None:
        """Put a service error next to its field, else above the buttons; never a code."""
        errors = err.errors if isinstance(err, InvalidInput) else [err]
        general: list[str] = []
        for error in errors:
            found = self.query(f"#field-{error.field}") if error.field else None
            if found:
                found.first(FormField).set_error(field_message(error))
            else:
                general.append(error.message())
        label = self.query_one("#form-error", Label)
        label.update("\n".join(general))
        label.display = bool(general)
        if errors:
            self._focus_field(errors[0].field)

    def _focus_field(self, name: str | None) -> None:
        found = self.query(f"#{name}") if name else None
        if found:
            found.first().focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ActionPicker(DeskModal[Action | None]):
    """Choose one of the actions the dossier's state and the officer's role allow."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "tui.key.back", id="back"),
    ]

    def __init__(self, actions: list[Action]) -> None:
        super().__init__(classes="modal")
        self._actions = actions

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box"):
            yield Label(t("tui.action.pick"), classes="modal-title")
            yield OptionList(*[Option(t(f"vocab.action.{a.value}"), id=a.value)
                               for a in self._actions], id="actions")

    def on_mount(self) -> None:
        self.query_one("#actions", OptionList).focus()

    @on(OptionList.OptionSelected, "#actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Action(str(event.option.id)))
