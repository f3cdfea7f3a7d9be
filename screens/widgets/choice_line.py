"""One choice among a few on a single line, changed with ↑/↓: the login's officer picker.

Lighter than Textual's ``Select`` on the desk's first screen (issue 17): ``Select`` builds a
collapsed line plus a hidden overlay list with its own widgets and styles, all before the login
is painted, for a desk's handful of officers. Here there is one line: ``▲▼ name (username)``,
or the prompt until something is chosen. ↓/↑ show the next/previous choice at once (wrapping),
Enter confirms it and moves to the next field (the PIN), a click shows the next one. The keys an
officer used with ``Select`` (↓ … Enter) still pick an officer.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static


class ChoiceLine(Static, can_focus=True):
    """``choices``: (label, value) pairs; ``value`` is the chosen one's, ``None`` while blank."""

    DEFAULT_CSS = """
    ChoiceLine { width: 1fr; height: 1; padding: 0 1; background: $surface; }
    ChoiceLine:focus { background: $primary 30%; }
    ChoiceLine.-blank { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "step(1)", show=False),
        Binding("up", "step(-1)", show=False),
        Binding("enter", "confirm", show=False),
    ]

    class Changed(Message):
        """The choice shown changed (by key, click or code)."""

        def __init__(self, line: ChoiceLine, value: str | None) -> None:
            super().__init__()
            self.line, self.value = line, value

        @property
        def control(self) -> ChoiceLine:
            return self.line

    def __init__(self, choices: list[tuple[str, str]], *, value: str | None = None,
                 prompt: str = "", id: str | None = None) -> None:  # noqa: A002 - Textual's
        super().__init__(id=id)
        self._choices = choices
        self._prompt = prompt
        self._index: int | None = None
        if value is not None:
            self._index = self._position(value)
        self._show()

    @property
    def value(self) -> str | None:
        return None if self._index is None else self._choices[self._index][1]

    @value.setter
    def value(self, value: str | None) -> None:
        self._pick(None if value is None else self._position(value))

    def is_blank(self) -> bool:
        return self._index is None

    def action_step(self, step: int) -> None:
        if not self._choices:
            return
        if self._index is None:  # the first ↓ shows the first officer, the first ↑ the last
            self._pick(0 if step > 0 else len(self._choices) - 1)
        else:
            self._pick((self._index + step) % len(self._choices))

    def action_confirm(self) -> None:
        """Enter: on to the next field, at once (digits typed right after Enter go there)."""
        if self._index is not None:
            self.screen.focus_next()
        else:
            self.action_step(1)

    def on_click(self) -> None:
        self.action_step(1)

    def _position(self, value: str) -> int:
        for index, (_, choice) in enumerate(self._choices):
            if choice == value:
                return index
        raise ValueError(f"no choice {value!r}")

    def _pick(self, index: int | None) -> None:
        if index == self._index:
            return
        self._index = index
        self._show()
        self.post_message(self.Changed(self, self.value))

    def _show(self) -> None:
        self.set_class(self._index is None, "-blank")
        arrows = "▲▼ " if len(self._choices) > 1 else ""
        label = self._prompt if self._index is None else self._choices[self._index][0]
        self.update(Text(arrows + label, no_wrap=True, overflow="ellipsis"))
