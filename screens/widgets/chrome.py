"""The frame around every screen: title bar, training banner and the key bar."""

from __future__ import annotations

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual.widgets import Static

from ccdesk.i18n import t

MAX_KEYS = 6  # the desk's rule: at most about six keys in the footer; F1 lists all of them


class TitleBar(Static):
    """One line: the screen's title on the left, the logged-in officer on the right.

    One widget drawing both, not a row of two labels: every screen has one, and each widget
    costs the first paint milliseconds (the login's included)."""

    def __init__(self, title: str, officer: str) -> None:
        super().__init__()
        self._title, self._officer = title, officer

    @property
    def heading(self) -> str:
        return self._title

    def show_officer(self, officer: str) -> None:
        self._officer = officer
        self.refresh()

    def render(self) -> Text:
        room = self.content_size.width - cell_len(self._officer) - (1 if self._officer else 0)
        title = Text(self._title, style="bold", no_wrap=True)
        title.truncate(max(room, 0), overflow="ellipsis", pad=True)
        return Text.assemble(title, " " if self._officer else "", self._officer)


class TrainingBanner(Static):
    """Marks every screen of a sandbox so nobody mistakes it for real dossiers."""

    def __init__(self) -> None:
        super().__init__(t("tui.training.banner"), id="training-banner")


class KeyBar(Static):
    """The footer: up to ``MAX_KEYS`` shown bindings, translated, each clickable."""

    _shown: str | None = None  # the markup on screen: the same keys again lay nothing out

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._on_bindings)
        self._render_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _on_bindings(self, _screen: object) -> None:
        self._render_keys()

    def _render_keys(self) -> None:
        parts: list[str] = []
        seen: set[str] = set()
        room = (self.size.width or self.app.size.width) - 2
        used = 0
        # The screen's own keys first, then the app's (areas, help), up to MAX_KEYS.
        ordered = sorted(self.screen.active_bindings.items(),
                         key=lambda item: item[1].node is self.app)
        for key, active in ordered:
            binding = active.binding
            if (not binding.show or binding.action in seen or not active.enabled
                    or not is_desk_binding(binding.description)):
                continue
            seen.add(binding.action)
            label = t(binding.description)
            shown = key_label(self.app.get_key_display(binding))
            width = len(shown) + 1 + len(label) + (2 if parts else 0)
            if used + width > room:  # keys that do not fit stay listed under F1
                break
            used += width
            label, shown = escape(label), escape(shown)
            parts.append(f"[@click=app.simulate_key('{key}')][b]{shown}[/b] {label}[/]")
            if len(parts) == MAX_KEYS:
                break
        markup = "  ".join(parts)
        if markup != self._shown:  # bindings change at every focus move, the keys seldom
            self._shown = markup
            self.update(markup)


def key_label(display: str) -> str:
    """``f8`` -> ``F8`` (as printed on keyboards); other keys as Textual shows them."""
    if display[:1] in "fF" and display[1:].isdigit():
        return display.upper()
    return display


def is_desk_binding(description: str) -> bool:
    """Ours (a catalogue key, shown translated) rather than a widget's built-in editing key,
    whose English description Textual hard-codes."""
    return description.startswith(DESK_KEY_AREAS) and t(description) != description


# Where the desk's key labels live: the screens' own area, the vocabulary, and the areas of
# subjects with screens of their own (linked procedures, docs/linked.md; national-database
# checks, docs/verification.md).
DESK_KEY_AREAS = ("tui.", "vocab.", "linked.tui.", "verification.tui.")
