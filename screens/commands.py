"""The command palette's desk actions, named in the user's language."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ccdesk.i18n import t
from ccdesk.text import fold

# (catalogue key, the app action it runs)
DESK_COMMANDS: tuple[tuple[str, str], ...] = (
    ("tui.palette.new_intake", "area('intake')"),
    ("tui.palette.home", "area('home')"),
    ("tui.palette.register", "area('register')"),
    ("tui.palette.reports", "area('reports')"),
    ("tui.palette.sync", "area('sync')"),
    ("tui.palette.settings", "area('settings')"),
    ("tui.palette.help", "help"),
)


class DeskCommands(Provider):
    """Finds the desk's main actions; the palette shows them before anything is typed."""

    def _commands(self) -> list[tuple[str, str]]:
        return [(t(key), action) for key, action in DESK_COMMANDS]

    async def discover(self) -> Hits:
        for label, action in self._commands():
            yield DiscoveryHit(label, partial(self.app.run_action, action))

    async def search(self, query: str) -> Hits:
        # Match on the folded label so "tiep nhan" finds "Tiếp nhận".
        matcher = self.matcher(fold(query))
        for label, action in self._commands():
            score = matcher.match(fold(label))
            if score > 0:
                yield Hit(score, label, partial(self.app.run_action, action))
