"""The idle lock: after ``idle_lock_minutes`` without a key or click the desk hides its data
until the same officer types their PIN again (checked and counted like a login)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ccdesk.i18n import t
from ccdesk.services import Actor, Services


class LockModal(ModalScreen[None]):
    """Covers the whole screen; only the right PIN dismisses it (no esc)."""

    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__(classes="modal lock")
        self.services, self.actor = services, actor

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(t("tui.lock.title", username=self.actor.username),
                        classes="modal-title")
            yield Input(password=True, id="unlock-pin", compact=True,
                        placeholder=t("vocab.field.pin"))
            yield Label("", id="unlock-error", classes="field-error")

    def on_mount(self) -> None:
        self.query_one("#unlock-pin", Input).focus()

    @on(Input.Submitted, "#unlock-pin")
    def _submitted(self, event: Input.Submitted) -> None:
        self._check(event.value)

    @work(exclusive=True, thread=True, group="unlock")
    def _check(self, pin: str) -> None:
        ok = self.services.officers.verify_pin(self.actor, pin)
        self.app.call_from_thread(self._checked, ok)

    def _checked(self, ok: bool) -> None:
        if ok:
            self.dismiss(None)
            return
        pin = self.query_one("#unlock-pin", Input)
        pin.value = ""
        error = self.query_one("#unlock-error", Label)
        error.update(t("tui.lock.wrong"))
        error.display = True
