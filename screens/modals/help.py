"""F1: every key of the current screen and a short guide to it."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from ccdesk.i18n import t
from screens.widgets.chrome import is_desk_binding, key_label


class HelpModal(ModalScreen[None]):
    """Lists the bindings active on ``screen`` (translated) and its guide text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1", "close", "tui.key.back", id="back"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__(classes="modal")
        self._target = screen

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box help-box"):
            yield Label(t("tui.help.title"), classes="modal-title")
            guide_key = getattr(self._target, "HELP_KEY", "tui.help.generic")
            yield Static(t(guide_key), classes="help-guide")
            yield Label(t("tui.help.keys"), classes="help-heading")
            yield Static(self._keys(), classes="help-keys")

    def _keys(self) -> str:
        lines, seen = [], set()
        for _key, active in self._target.active_bindings.items():
            binding = active.binding
            if binding.action in seen or not is_desk_binding(binding.description):
                continue
            seen.add(binding.action)
            shown = key_label(self.app.get_key_display(binding))
            lines.append(f"[b]{escape(shown):>8}[/b]  {escape(t(binding.description))}")
        lines.append(f"[b]{'ctrl+p':>8}[/b]  {escape(t('tui.key.palette'))}")
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
