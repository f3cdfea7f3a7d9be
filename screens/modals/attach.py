"""Digitise one checklist item: pick a file from the scanner's folder, a USB stick, a typed path,
scan a page, or reuse the citizen's earlier digitised result (docs/attachments.md).

The dialog stays open after each file (a paper of several pages is several scans); ``esc``
closes it with the number of files attached. What a file is tied to is the caller's business
(``AttachContext.keep``): at intake the staged file waits on the draft, on the dossier screen
it is attached at once. Listing, scanning and storing run in a thread worker.

Beside it: its sources, where files come from and go (screens/modals/attach_sources.py), and
its file list's lines (screens/modals/attach_lines.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.i18n import t
from ccdesk.services import scan_sources
from ccdesk.services.attachments import AttachedFile, ReusableFile, StagedFile
from screens.base import DeskModal
from screens.dossier_files import file_lines
from screens.modals.attach_lines import entry_line, mark_rows, name_of, short_path
from screens.modals.attach_sources import (
    AttachContext,
    Entry,
    dossier_attach_context,
    intake_attach_context,
    source_entries,
)
from screens.modals.confirm import ConfirmModal

# Still importable from here, where the intake checklist and older code look for them.
__all__ = ["AttachContext", "AttachModal", "dossier_attach_context", "file_lines",
           "intake_attach_context", "mark_rows"]

SCAN_NAME = "scan-{n}.{ext}"
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "pdf": "pdf"}


class AttachModal(DeskModal[int]):
    """Dismisses with how many files were attached (0 when none); F7 lists the item's files,
    Enter on one takes it off after a y/n."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "scan", "attachments.key.scan", id="scan"),
        Binding("f3", "source('folder')", "attachments.key.folder", id="folder"),
        Binding("f4", "source('usb')", "attachments.key.usb", id="usb"),
        Binding("f5", "source('reuse')", "attachments.key.reuse", id="reuse"),
        Binding("f6", "source('path')", "attachments.key.path", id="path"),
        Binding("f7", "source('attached')", "attachments.key.remove", id="attached"),
        Binding("escape", "cancel", "tui.key.back", id="back"),
    ]

    def __init__(self, context: AttachContext) -> None:
        super().__init__(classes="modal attach-modal")
        self.context = context
        self._count = 0
        self._source = "folder" if context.scan_folder else "usb"
        self._entries: list[Entry] = []
        self._scans = 0
        self._notice = ""  # said once the list being read is shown (after a removal)

    def compose(self) -> ComposeResult:
        c = self.context
        with Vertical(classes="modal-box attach-box"):
            yield Label(t("attachments.dialog.title", position=c.position, name=c.item_name),
                        classes="modal-title")
            yield Label(t("attachments.dialog.keys"), classes="hint")
            yield Label("", id="attach-source", classes="field-label wide")
            yield Input("", id="attach-path", compact=True, placeholder="/media/…/scan.pdf")
            yield OptionList(id="attach-files", compact=True)
            yield Label("", id="attach-status", classes="hint why")

    def on_mount(self) -> None:
        self.action_source(self._source)

    # ---- choosing a source -------------------------------------------------------------------
    def action_source(self, source: str) -> None:
        self._source = source
        path_input = self.query_one("#attach-path", Input)
        path_input.display = source == "path"
        folder = short_path(self.context.scan_folder)
        label = {"folder": t("attachments.dialog.source_folder", path=folder),
                 "usb": t("attachments.dialog.source_usb"),
                 "reuse": t("attachments.dialog.source_reuse"),
                 "path": t("attachments.dialog.source_path"),
                 "attached": t("attachments.dialog.source_attached")}[source]
        self.query_one("#attach-source", Label).update(label)
        files = self.query_one("#attach-files", OptionList)
        files.clear_options()
        files.display = source != "path"
        if source == "path":
            path_input.focus()
            self._say("")
            return
        if source == "reuse" and self.context.reusable is None:
            self._say(t("attachments.dialog.no_reuse_at_intake"), error=True)
            return
        self._say(t("attachments.dialog.listing"))
        self._list(source)

    @work(exclusive=True, thread=True, group="attach-list")
    def _list(self, source: str) -> None:
        try:
            entries = source_entries(self.context, source)
        except CcdeskError as err:
            self.app.call_from_thread(self._say, err.message(), True)
            return
        self.app.call_from_thread(self._show_entries, source, entries)

    def _show_entries(self, source: str, entries: list[Entry]) -> None:
        if source != self._source:
            return  # the officer moved on meanwhile
        self._entries = entries
        files = self.query_one("#attach-files", OptionList)
        files.clear_options()
        files.add_options([Option(entry_line(e), id=str(i)) for i, e in enumerate(entries)])
        if entries:
            files.highlighted = 0
            files.focus()
            self._say(self._notice)
            self._notice = ""
        else:
            self._notice = ""
            empty = {"reuse": "attachments.dialog.no_reuse",
                     "attached": "attachments.dialog.none_attached"}.get(
                source, "attachments.dialog.empty")
            self._say(t(empty), error=True)

    # ---- attaching ---------------------------------------------------------------------------
    @on(OptionList.OptionSelected, "#attach-files")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        if not 0 <= index < len(self._entries):
            return
        chosen = self._entries[index]
        if isinstance(chosen, AttachedFile | StagedFile):
            name = name_of(chosen)
            self.app.push_screen(ConfirmModal(t("attachments.dialog.confirm_remove", name=name)),
                                 lambda yes: self._remove(chosen) if yes else None)
        else:
            self._store(chosen)

    @on(Input.Submitted, "#attach-path")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._store(Path(event.value.strip()).expanduser())

    def action_scan(self) -> None:
        self.query_one("#attach-source", Label).update(t("attachments.dialog.source_scanner"))
        self._say(t("attachments.dialog.scanning"))
        self._store(None)

    @work(exclusive=True, thread=True, group="attach-store")
    def _store(self, chosen: scan_sources.Candidate | ReusableFile | Path | None) -> None:
        """Store and tie one file: a listed one, a typed path, a reuse, or (None) a scan."""
        c = self.context
        try:
            if isinstance(chosen, ReusableFile):
                assert c.reuse is not None
                count, name = c.reuse(chosen), chosen.dossier_code
            else:
                staged = self._stage(chosen)
                count, name = c.keep(staged), staged.original_name
        except CcdeskError as err:
            self.app.call_from_thread(self._say, err.message(), True)
            return
        self.app.call_from_thread(self._done, name, count)

    @work(exclusive=True, thread=True, group="attach-store")
    def _remove(self, chosen: AttachedFile | StagedFile) -> None:
        try:
            count = self.context.remove(chosen)
        except CcdeskError as err:
            self.app.call_from_thread(self._say, err.message(), True)
            return
        self.app.call_from_thread(self._removed, name_of(chosen), count)

    def _removed(self, name: str, count: int) -> None:
        self._notice = t("attachments.dialog.removed", name=name, count=count)
        self.action_source("attached")

    def _stage(self, chosen: scan_sources.Candidate | Path | None) -> StagedFile:
        c = self.context
        if chosen is None:
            data = scan_sources.scan_page(c.scanner_device, c.scan_format)
            self._scans += 1
            name = SCAN_NAME.format(n=self._scans, ext=_EXTENSIONS.get(c.scan_format, "bin"))
            return c.stage_scan(data, name)
        if isinstance(chosen, Path):
            return c.stage_file(chosen, AttachmentSource.FILE)
        source = AttachmentSource.FOLDER if self._source == "folder" else AttachmentSource.USB
        return c.stage_file(chosen.path, source)

    def _done(self, name: str, count: int) -> None:
        self._count += 1
        self._say(t("attachments.dialog.attached", name=name, count=count))
        self.query_one("#attach-status", Label).add_class("-done")

    def _say(self, text: str, error: bool = False) -> None:
        status = self.query_one("#attach-status", Label)
        status.update(text)
        status.display = bool(text)
        status.set_class(error, "-error")
        status.remove_class("-done")

    def action_cancel(self) -> None:
        self.dismiss(self._count)
