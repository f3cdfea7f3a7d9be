"""Login: pick the officer, type the PIN. The officer service checks it and counts failures.

The screen is the desk's first, painted before the services have finished opening: it shows the
:class:`LoginFacts` it is given and asks its ``door`` to check the PIN (which waits for them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t
from screens.base import DeskScreen
from screens.widgets.field import FormField

if TYPE_CHECKING:
    from ccdesk.services import Actor
    from ccdesk.services.startup import LoginFacts


class LoginDoor(Protocol):
    """What the login screen asks of the desk."""

    def authenticate(self, username: str, pin: str) -> Actor: ...

    def pin_typed(self, username: str, pin: str) -> None:
        """The PIN field changed (the desk may check it ahead; nothing is counted before
        Enter)."""


class LoginScreen(DeskScreen):
    """Dismisses with the authenticated :class:`Actor`."""

    TITLE_KEY = "tui.login.title"
    HELP_KEY = "tui.help.login"

    def __init__(self, facts: LoginFacts, door: LoginDoor) -> None:
        super().__init__()
        self.facts = facts
        self.door = door

    def compose_body(self) -> ComposeResult:
        officers = self.facts.officers
        with Vertical(id="login-box", classes="form"):
            yield Label(self.facts.governing_body, classes="office-line")
            yield Label(self.facts.unit_name, classes="office-line")
            yield FormField(t("tui.login.officer"), Select(
                [(f"{name} ({username})", username) for username, name in officers],
                value=officers[0][0] if len(officers) == 1 else Select.NULL,
                prompt=t("tui.login.pick"), id="officer", compact=True), name="username")
            yield FormField(t("vocab.field.pin"), Input(password=True, id="pin", compact=True),
                            name="pin")
            if self.host.training:
                yield Label(t("tui.login.training_hint"), classes="hint")

    def on_mount(self) -> None:
        select = self.query_one("#officer", Select)
        if select.is_blank():
            select.focus()
        else:
            self.query_one("#pin", Input).focus()

    @on(Select.Changed, "#officer")
    def _picked(self) -> None:
        self.query_one("#pin", Input).focus()
        self._typed()

    @on(Input.Changed, "#pin")
    def _typed(self) -> None:
        select = self.query_one("#officer", Select)
        if not select.is_blank():
            self.door.pin_typed(str(select.value), self.query_one("#pin", Input).value)

    @on(Input.Submitted, "#pin")
    def action_login(self) -> None:
        self.clear_errors()
        select = self.query_one("#officer", Select)
        if select.is_blank():
            self.query_one("#field-username", FormField).set_error(t("tui.login.pick_first"))
            select.focus()
            return
        self._authenticate(str(select.value), self.query_one("#pin", Input).value)

    @work(exclusive=True, thread=True, group="login")
    def _authenticate(self, username: str, pin: str) -> None:
        """Argon2 verification takes a noticeable moment: keep the screen responsive."""
        try:
            actor = self.door.authenticate(username, pin)
        except CcdeskError as err:
            self.app.call_from_thread(self._failed, err)
            return
        self.app.call_from_thread(self._succeeded, actor)

    def _failed(self, err: CcdeskError) -> None:
        pin = self.query_one("#pin", Input)
        pin.value = ""
        pin.focus()
        self.query_one("#field-pin", FormField).set_error(err.message())

    def _succeeded(self, actor: Actor) -> None:
        self.dismiss(actor)
