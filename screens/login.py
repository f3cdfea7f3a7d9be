"""Login: pick the officer, type the PIN. The officer service checks it and counts failures.

The screen is the desk's first, painted before the services have finished opening: it shows the
:class:`LoginFacts` it is given and asks its ``door`` to check the PIN (which waits for them).
The officer is picked on one line with ↑/↓ (``widgets/choice_line.py``: a desk has a handful of
officers, and ``Select`` with its overlay was the costliest part of the first paint); Enter
there moves to the PIN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t
from screens.base import DeskScreen
from screens.widgets.choice_line import ChoiceLine
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
            yield FormField(t("tui.login.officer"), ChoiceLine(
                [(f"{name} ({username})", username) for username, name in officers],
                value=officers[0][0] if len(officers) == 1 else None,
                prompt=t("tui.login.pick"), id="officer"), name="username")
            yield FormField(t("vocab.field.pin"), Input(password=True, id="pin", compact=True),
                            name="pin")
            if self.host.training:
                yield Label(t("tui.login.training_hint"), classes="hint")

    def on_mount(self) -> None:
        officer = self.query_one("#officer", ChoiceLine)
        if officer.is_blank():
            officer.focus()
        else:
            self.query_one("#pin", Input).focus()

    @on(ChoiceLine.Changed, "#officer")
    @on(Input.Changed, "#pin")
    def _typed(self) -> None:
        officer = self.query_one("#officer", ChoiceLine).value
        if officer is not None:
            self.door.pin_typed(officer, self.query_one("#pin", Input).value)

    @on(Input.Submitted, "#pin")
    def action_login(self) -> None:
        self.clear_errors()
        officer = self.query_one("#officer", ChoiceLine)
        if officer.value is None:
            self.query_one("#field-username", FormField).set_error(t("tui.login.pick_first"))
            officer.focus()
            return
        self._authenticate(officer.value, self.query_one("#pin", Input).value)

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
