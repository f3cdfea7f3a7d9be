"""The dossier screen's digitised papers (docs/attachments.md): one line a file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.i18n import fmt_size, t

if TYPE_CHECKING:
    from ccdesk.services.attachments import AttachedFile


class FilesSection(Static):
    """The list under the checklist; ``show`` fills it (or says there is none)."""

    def show(self, files: list[AttachedFile]) -> None:
        self.update("\n".join(file_lines(files)) or t("attachments.screen.none"))


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
