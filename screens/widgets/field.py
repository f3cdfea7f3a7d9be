"""A labelled form field with its error line: bad input is shown where it was typed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label


class FormField(Vertical):
    """``label`` beside ``control``; ``set_error`` writes under it what is wrong and what to do."""

    DEFAULT_CLASSES = "form-field"

    def __init__(self, label: str, control: Widget, *, name: str) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name = name
        self._label = label
        self.control = control

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self._label, classes="field-label")
            yield self.control
        yield Label("", classes="field-error")

    def set_error(self, message: str | None) -> None:
        error = self.query_one(".field-error", Label)
        error.update(message or "")
        error.display = bool(message)
        self.set_class(bool(message), "-invalid")

    @property
    def error_text(self) -> str:
        return str(self.query_one(".field-error", Label).content)
