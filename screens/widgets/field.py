"""A labelled form field with its error line: bad input is shown where it was typed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label


class FormField(Vertical):
    """``label`` beside ``control``; ``set_error`` writes under it what is wrong and what to do.

    The three sit in one grid of two columns (``frame.tcss``, ``.form-field``): the label and
    the control on its first row, the error line across both on the second."""

    DEFAULT_CLASSES = "form-field"

    def __init__(self, label: str, control: Widget, *, name: str) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name = name
        self._label = label
        self.control = control
        self._error = ""

    def compose(self) -> ComposeResult:
        yield Label(self._label, classes="field-label")
        yield self.control
        # The error line is mounted when there is first something to say: a form has a dozen
        # fields and each widget costs the first paint milliseconds (the login's included).

    def set_error(self, message: str | None) -> None:
        self._error = message or ""
        errors = self.query_children(".field-error").results(Label)
        error = next(errors, None)
        if error is None and message:
            error = Label(classes="field-error")
            self.mount(error)
        if error is not None:
            error.update(self._error)
            error.display = bool(message)
        self.set_class(bool(message), "-invalid")

    @property
    def error_text(self) -> str:
        return self._error


def field_of(control: Widget) -> FormField | None:
    """The form field that holds ``control``, if it is one's control."""
    holder = control.parent
    return holder if isinstance(holder, FormField) else None
