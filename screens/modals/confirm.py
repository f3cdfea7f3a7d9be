"""A yes/no question: ``y`` confirms, ``n`` or ``esc`` declines."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from ccdesk.i18n import t


class ConfirmModal(ModalScreen[bool]):
    """Dismisses with ``True`` (y) or ``False`` (n / esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "tui.key.yes", id="yes"),
        Binding("n", "answer(False)", "tui.key.no", id="no"),
        Binding("escape", "answer(False)", "tui.key.back", id="back", show=False),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__(classes="modal")
        self._question, self._detail = question, detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(self._question, classes="modal-title")
            if self._detail:
                yield Label(self._detail, classes="modal-detail")
            with Horizontal(classes="modal-buttons"):
                yield Button(t("tui.confirm.yes"), id="yes", variant="primary")
                yield Button(t("tui.confirm.no"), id="no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
