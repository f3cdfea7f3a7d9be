"""Login: pick the officer, type the PIN. The officer service checks it and counts failures."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t
from ccdesk.services import Actor
from screens.base import DeskScreen
from screens.widgets.field import FormField


class LoginScreen(DeskScreen):
    """Dismisses with the authenticated :class:`Actor`."""

    TITLE_KEY = "tui.login.title"
    HELP_KEY = "tui.help.login"
    def compose_body(self) -> ComposeResult:
        officers = self.services.officers.list()
        office = self.services.office.get()
        with Vertical(id="login-box", classes="form"):
            yield Label(office.governing_body, classes="office-line")
            yield Label(office.unit_name, classes="office-line")
            yield FormField(t("tui.login.officer"), Select(
                [(f"{o.full_name} ({o.username})", o.username) for o in officers],
                value=officers[0].username if len(officers) == 1 else Select.NULL,
                prompt=t("tui.login.pick"), id="officer", compact=True), name="username")
            yield FormField(t("core.field.pin"), Input(password=True, id="pin", compact=True),
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
            actor = self.services.officers.authenticate(username, pin)
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
