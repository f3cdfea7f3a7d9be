"""Digitise one checklist item: pick a file from the scanner's folder, a USB stick, a typed path,
scan a page, or reuse the citizen's earlier digitised result (docs/attachments.md).

The dialog stays open after each file (a paper of several pages is several scans); ``esc``
closes it with the number of files attached. What a file is tied to is the caller's business
(``AttachContext.keep``): at intake the staged file waits on the draft, on the dossier screen
it is attached at once. Listing, scanning and storing run in a thread worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.i18n import fmt_datetime, fmt_size, t
from ccdesk.services import scan_sources
from ccdesk.services.attachments import AttachedFile, DossierFiles, ReusableFile, StagedFile
from screens.base import DeskModal
from screens.modals.confirm import ConfirmModal

if TYPE_CHECKING:
    from ccdesk.services import Actor, Services

SCAN_NAME = "scan-{n}.{ext}"
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "pdf": "pdf"}


@dataclass(frozen=True)
class AttachContext:
    """The item being digitised and what to do with each file."""

    position: int
    item_name: str
    stage_file: Callable[[Path, AttachmentSource], StagedFile]
    stage_scan: Callable[[bytes, str], StagedFile]
    keep: Callable[[StagedFile], int]       # ties the file; returns the item's file count
    scan_folder: str = ""
    usb_roots: tuple[str, ...] = ()
    scanner_device: str = ""
    scan_format: str = "jpeg"
    reusable: Callable[[], list[ReusableFile]] | None = None   # None at intake
    reuse: Callable[[ReusableFile], int] | None = None
    # The item's files already there, and taking one off (returns the item's file count).
    attached: Callable[[], list[AttachedFile | StagedFile]] = list
    remove: Callable[[AttachedFile | StagedFile], int] = lambda _f: 0


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
        folder = _short_path(self.context.scan_folder)
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
            entries = self._entries_of(source)
        except CcdeskError as err:
            self.app.call_from_thread(self._say, err.message(), True)
            return
        self.app.call_from_thread(self._show_entries, source, entries)

    def _entries_of(self, source: str) -> list[Entry]:
        c = self.context
        if source == "attached":
            return list(c.attached())
        if source == "folder":
            return list(scan_sources.folder_files(c.scan_folder))
        if source == "usb":
            return list(scan_sources.usb_files(scan_sources.usb_roots_from(c.usb_roots)))
        assert c.reusable is not None
        return list(c.reusable())

    def _show_entries(self, source: str, entries: list[Entry]) -> None:
        if source != self._source:
            return  # the officer moved on meanwhile
        self._entries = entries
        files = self.query_one("#attach-files", OptionList)
        files.clear_options()
        files.add_options([Option(_line(e), id=str(i)) for i, e in enumerate(entries)])
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
            name = _name_of(chosen)
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
        self.app.call_from_thread(self._removed, _name_of(chosen), count)

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


MAX_PATH_SHOWN = 40  # a path has no place to wrap: its end is what tells folders apart


def _short_path(path: str) -> str:
    return path if len(path) <= MAX_PATH_SHOWN else "…" + path[-(MAX_PATH_SHOWN - 1):]


Entry = scan_sources.Candidate | ReusableFile | AttachedFile | StagedFile


def _name_of(entry: AttachedFile | StagedFile) -> str:
    return entry.original_name or (entry.sha256 if isinstance(entry, AttachedFile)
                                   else entry.blob.sha256)[:12]


def _line(entry: Entry) -> str:
    if isinstance(entry, AttachedFile | StagedFile):
        size = entry.size if isinstance(entry, AttachedFile) else entry.blob.size
        source = AttachmentSource(entry.source).label()
        return t("attachments.dialog.attached_line", name=_name_of(entry), size=fmt_size(size),
                 source=source)
    if isinstance(entry, ReusableFile):
        return t("attachments.dialog.reuse_line", code=entry.dossier_code, item=entry.item_name,
                 size=fmt_size(entry.size))
    return t("attachments.dialog.file_line", name=entry.name, size=fmt_size(entry.size),
             at=fmt_datetime(entry.modified))


def file_lines(files: list[AttachedFile]) -> list[str]:
    """The dossier screen's list of its digitised papers, one line each."""
    lines = []
    for f in files:
        source = AttachmentSource(f.source).label()
        if f.reused_from:
            source = t("attachments.screen.reused_from", code=f.reused_from)
        lines.append(t("attachments.screen.file_row", position=f.position or "—",
                       item=f.item_name, name=f.original_name or f.sha256[:12],
                       size=fmt_size(f.size), source=source))
    return lines


def mark_rows(rows: list[Widget], files: list[StagedFile]) -> None:
    """The intake checklist's digitised mark: under each item's row, how many files were
    scanned for it (``rows``: widgets with a ``doc`` whose ``position`` names the item)."""
    for row in rows:
        position = getattr(getattr(row, "doc", None), "position", None)
        count = sum(1 for f in files if f.position == position)
        found = row.query(".doc-digitised")
        if found:
            label = found.first(Label)
        elif count:
            label = Label("", classes="doc-digitised")
            row.mount(label)
        else:
            continue
        label.update(t("attachments.screen.intake_count", mark=t("attachments.mark"),
                       count=count) if count else "")
        label.display = bool(count)


def _sources(services: Services) -> dict[str, Any]:
    config = services.config
    return {"scan_folder": config.scan_folder, "usb_roots": tuple(config.usb_roots),
            "scanner_device": config.scanner_device, "scan_format": config.scan_format}


def intake_attach_context(services: Services, files: list[StagedFile], position: int,
                          name: str) -> AttachContext:
    """At intake: each file is staged in the store and waits on the draft's request
    (``IntakeRequest.files``) until the intake is recorded."""
    attachments = services.attachments

    def keep(staged: StagedFile) -> int:
        files.append(staged)
        return sum(1 for f in files if f.position == position)

    def drop(staged: AttachedFile | StagedFile) -> int:
        files.remove(staged)  # type: ignore[arg-type]  # only staged files are listed here
        return sum(1 for f in files if f.position == position)

    return AttachContext(
        position, name,
        stage_file=lambda path, source: attachments.stage_file(path, position, source),
        stage_scan=lambda data, scan: attachments.stage_bytes(data, position, name=scan),
        keep=keep, attached=lambda: [f for f in files if f.position == position],
        remove=drop, **_sources(services))


def dossier_attach_context(services: Services, actor: Actor, code: str, position: int,
                           name: str) -> AttachContext:
    """On the dossier screen: each file is attached at once (its own event)."""
    attachments = services.attachments

    def count(files: DossierFiles) -> int:
        return next((i.files for i in files.items if i.position == position), 0)

    return AttachContext(
        position, name,
        stage_file=lambda path, source: attachments.stage_file(path, position, source),
        stage_scan=lambda data, scan: attachments.stage_bytes(data, position, name=scan),
        keep=lambda staged: count(attachments.attach(actor, code, [staged])),
        reusable=lambda: attachments.reusable(code),
        reuse=lambda found: count(attachments.reuse(actor, code, position,
                                                    found.attachment_id)),
        attached=lambda: [f for f in attachments.files(code).files if f.position == position],
        remove=lambda f: count(attachments.remove(actor, code, f.id)),  # type: ignore[union-attr]
        **_sources(services))
