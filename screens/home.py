"""Home / today: the office, today's figures and a quick key to every area."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.widgets import Label, Static

from ccdesk.i18n import fmt_datetime, t
from screens.base import DeskScreen

# (key, catalogue key of the area) shown as quick keys; the app binds the keys.
QUICK_KEYS: tuple[tuple[str, str], ...] = (
    ("F2", "tui.key.intake"),
    ("F9", "tui.key.settings"),
    ("F1", "tui.key.help"),
)


class HomeScreen(DeskScreen):
    """The officer's start page."""

    TITLE_KEY = "tui.home.title"
    HELP_KEY = "tui.help.home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "tui.key.refresh", id="refresh"),
    ]

    def compose_body(self) -> ComposeResult:
        office = self.services.office.get()
        with Vertical(id="home"):
            yield Label(f"{office.governing_body} · {office.unit_name}", id="home-office")
            yield Label("", id="home-clock")
            with Grid(id="home-keys"):
                for key, label in QUICK_KEYS:
                    yield Static(f"[b]{key}[/b]  {t(label)}", classes="quick-key")

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.query_one("#home-clock", Label).update(
            t("tui.home.now", now=fmt_datetime(self.host.now())))
