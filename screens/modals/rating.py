"""The citizen's satisfaction after the result is returned: 1, 2 or 3 (or esc to skip)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from ccdesk.domain.vocabulary import RatingLevel
from ccdesk.i18n import t

ASK_CITIZEN = "ask_citizen"


class RatingModal(ModalScreen[str | None]):
    """Dismisses with a :class:`RatingLevel` value (the officer's own record), ``ASK_CITIZEN``
    (hand the question to the citizen's tablet or keypad), or ``None`` when the citizen
    declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"rate('{level}')", f"vocab.rating.{level}", id=f"rate_{level}")
          for n, level in enumerate(RatingLevel.values(), start=1)],
        Binding("c", "ask_citizen", "rating.desk.ask", id="ask_citizen"),
        Binding("escape", "skip", "tui.key.skip", id="skip"),
    ]

    def __init__(self, *, can_ask_citizen: bool = False) -> None:
        super().__init__(classes="modal")
        self.can_ask_citizen = can_ask_citizen

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(t("tui.rating.question"), classes="modal-title")
            if self.can_ask_citizen:
                yield Button(f"c. {t('rating.desk.ask')}", id=ASK_CITIZEN)
            for n, level in enumerate(RatingLevel, start=1):
                yield Button(f"{n}. {level.label()}", id=level.value)
            yield Label(t("tui.rating.hint"), classes="modal-detail")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_ask_citizen if action == "ask_citizen" else True

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_ask_citizen(self) -> None:
        self.dismiss(ASK_CITIZEN)

    def action_rate(self, level: str) -> None:
        self.dismiss(level)

    def action_skip(self) -> None:
        self.dismiss(None)
