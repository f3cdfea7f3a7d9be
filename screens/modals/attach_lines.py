"""The attach dialog's file list, one line a file: a scanner-folder or USB file, an earlier
dossier's file to reuse, or a file already tied to the item; and the intake checklist's mark of
how many files each paper has (docs/attachments.md)."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Label

from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.i18n import fmt_datetime, fmt_size, t
from ccdesk.services.attachments import AttachedFile, ReusableFile, StagedFile
from screens.modals.attach_sources import Entry

MAX_PATH_SHOWN = 40  # a path has no place to wrap: its end is what tells folders apart


def short_path(path: str) -> str:
    return path if len(path) <= MAX_PATH_SHOWN else "…" + path[-(MAX_PATH_SHOWN - 1):]


def name_of(entry: AttachedFile | StagedFile) -> str:
    return entry.original_name or (entry.sha256 if isinstance(entry, AttachedFile)
                                   else entry.blob.sha256)[:12]


def entry_line(entry: Entry) -> str:
    if isinstance(entry, AttachedFile | StagedFile):
        size = entry.size if isinstance(entry, AttachedFile) else entry.blob.size
        source = AttachmentSource(entry.source).label()
        return t("attachments.dialog.attached_line", name=name_of(entry), size=fmt_size(size),
                 source=source)
    if isinstance(entry, ReusableFile):
        return t("attachments.dialog.reuse_line", code=entry.dossier_code, item=entry.item_name,
                 size=fmt_size(entry.size))
    return t("attachments.dialog.file_line", name=entry.name, size=fmt_size(entry.size),
             at=fmt_datetime(entry.modified))


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
