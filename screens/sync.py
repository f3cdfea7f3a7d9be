"""Sync (F6): what is waiting, the last success and error with a hint, and "sync now".

The sync engine is reached through a :class:`SyncPort` the app hands in (screens never import
``sync``). The screen works offline: the status is read from the local database, and a run that
finds no network says so with what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, Static

from ccdesk.i18n import fmt_datetime, t
from screens.base import DeskScreen

if TYPE_CHECKING:
    from ccdesk.services import Services

EXIT_OK = 0


class SyncPort(Protocol):
    """What the sync screen needs from the sync engine (``sync.service`` behind it)."""

    def status(self) -> Any: ...

    def run(self, progress: Callable[[int, int], None]) -> Any: ...

    def explain(self, code: str) -> tuple[str, str]: ...

    def online(self) -> bool | None:
        """Whether the upstream answers (``None`` when none is configured)."""
        ...


class SyncScreen(DeskScreen):
    """The sync area."""

    TITLE_KEY = "tui.sync.title"
    HELP_KEY = "tui.help.sync"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "sync_now", "tui.key.sync_now", id="sync_now"),
        Binding("r", "refresh", "tui.key.refresh", id="refresh"),
    ]

    def __init__(self, services: Services, port: SyncPort) -> None:
        super().__init__(services)
        self.port = port

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sync", classes="form"):
            yield Static("", id="sync-status")
            yield Static("", id="sync-error")
            yield ProgressBar(id="sync-progress", show_eta=False)
            yield Label("", id="sync-result")

    def on_mount(self) -> None:
        self.query_one("#sync-progress").display = False
        self.action_refresh()

    def action_refresh(self) -> None:
        status = self.port.status()
        lines = [t("tui.sync.pending", pending=status.pending, in_flight=status.in_flight,
                   acked=status.acked),
                 t("tui.sync.upstream", url=status.upstream or "—"),
                 t("tui.sync.last_success", at=_when(status.last_success_at))]
        if status.quarantined or status.conflicts:
            lines.append(t("tui.sync.attention", quarantined=status.quarantined,
                           conflicts=status.conflicts))
        if status.training:
            lines.append(t("tui.sync.training"))
        self.query_one("#sync-status", Static).update("\n".join(lines))
        self._show_error(status.last_error, _when(status.last_error_at))

    def _show_error(self, code: str, at: str) -> None:
        error = self.query_one("#sync-error", Static)
        if not code:
            error.update("")
            return
        message, hint = self.port.explain(code)
        error.update(t("tui.sync.last_error", at=at, message=message, hint=hint or "—"))

    def action_sync_now(self) -> None:
        bar = self.query_one("#sync-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.query_one("#sync-result", Label).update(t("tui.sync.running"))
        self._run()

    @work(exclusive=True, thread=True, group="sync-run")
    def _run(self) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total)

        result = self.port.run(progress)
        self.app.call_from_thread(self._finished, result)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#sync-progress", ProgressBar).update(total=max(total, 1), progress=done)

    def _finished(self, result: Any) -> None:
        self.query_one("#sync-progress").display = False
        label = self.query_one("#sync-result", Label)
        if result.exit_code == EXIT_OK:
            label.update(t("tui.sync.done", sent=result.records_sent, pulled=result.pulled))
            self.notify(t("tui.sync.done", sent=result.records_sent, pulled=result.pulled))
        else:
            message, hint = self.port.explain(result.error or "internal")
            label.update(t("tui.sync.failed", message=message, hint=hint or "—"))
            self.notify(message, severity="warning", timeout=8)
        if result.codes_upstream_only:  # this file was restored from an older backup
            self.notify(t("sync.run.codes_upstream_only", count=result.codes_upstream_only,
                          codes=", ".join(result.upstream_only_codes)),
                        severity="warning", timeout=60)
        self.action_refresh()


def _when(iso: str | None) -> str:
    """An ISO UTC time from the status, shown as HH:MM dd/mm/yyyy UTC."""
    if not iso:
        return t("sync.status.never")
    return fmt_datetime(datetime.fromisoformat(iso.rstrip("Z"))) + " UTC"
