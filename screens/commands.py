"""The command palette: the desk's areas, the session's commands and every action of the
screen it was opened from, named in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.widgets.option_list import Option

from ccdesk.i18n import t
from ccdesk.text import fold
from screens.widgets.chrome import is_desk_binding, key_label

# (catalogue key, the app action it runs)
DESK_COMMANDS: tuple[tuple[str, str], ...] = (
    ("tui.palette.new_intake", "area('intake')"),
    ("tui.palette.home", "area('home')"),
    ("tui.palette.register", "area('register')"),
    ("tui.palette.reports", "area('reports')"),
    ("tui.palette.sync", "area('sync')"),
    ("tui.palette.settings", "area('settings')"),
    ("tui.palette.help", "help"),
    ("tui.session.lock", "lock_now"),
    ("tui.session.log_out", "log_out"),
    ("tui.session.switch", "switch_officer"),
)


class DeskCommands(Provider):
    """Finds the desk's actions; the palette shows them before anything is typed. Those of
    the current screen come first, each with its key."""

    def _commands(self) -> list[tuple[str, Callable[[], object]]]:
        found: list[tuple[str, Callable[[], object]]] = []
        seen: set[str] = set()
        for _key, active in self.screen.active_bindings.items():
            binding = active.binding
            if (active.node is self.app or not active.enabled or binding.action in seen
                    or not is_desk_binding(binding.description)):
                continue
            seen.add(binding.action)
            shown = key_label(self.app.get_key_display(binding))
            found.append((f"{t(binding.description)} ({shown})",
                          partial(self.app.run_action, binding.action, active.node)))
        logged_in = getattr(self.app, "actor", None) is not None
        for key, action in DESK_COMMANDS:
            if logged_in or action == "help":
                found.append((t(key), partial(self.app.run_action, action)))
        return found

    async def discover(self) -> Hits:
        for label, run in self._commands():
            yield DiscoveryHit(label, run)

    async def search(self, query: str) -> Hits:
        # Match on the folded label so "tiep nhan" finds "Tiếp nhận".
        matcher = self.matcher(fold(query))
        for label, run in self._commands():
            score = matcher.match(fold(label))
            if score > 0:
                yield Hit(score, label, run)


class DeskCommandPalette(CommandPalette):
    """Textual's command palette, with its "No matches found" line in the user's language.

    Textual writes that line in a method of its own with the English text inside; this is the
    same method (Textual is pinned exactly, and ``test_areas`` reads the line back).
    """

    def _start_no_matches_countdown(self, search_value: str) -> None:
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:  # an empty search is discovery mode: nothing to say
                self.query_one(CommandList).add_option(Option(
                    Align.center(Text(t("tui.palette.no_matches"), style="not bold")),
                    disabled=True, id=self._NO_MATCHES))
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
