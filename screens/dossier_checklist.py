"""The dossier screen's checklist: one row a paper, its columns fitted to the table's width.

The columns as shown, and as kept when the table is narrow (docs/tui.md, "Text that fits"):
whether a paper was received and which paper it is come before its form and its number; a long
document name wraps onto more lines (down to ``MIN_DOC_NAME`` cells wide) before any column is
dropped, so no word of it is cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import DataTable

from ccdesk.i18n import t
from screens.verification import item_cell
from screens.widgets.columns import (
    ColumnSpec,
    choose_columns,
    in_display_order,
    natural_width,
)

if TYPE_CHECKING:
    from ccdesk.models import ChecklistItem
    from ccdesk.services.verification import ItemState

CHECKLIST_COLUMNS = ("position", "name", "form", "received")
CHECKLIST_PRIORITY = ("received", "name", "form", "position")
CHECKLIST_REQUIRED = 2  # received and name, at any width
MIN_DOC_NAME = 16
SCROLLBAR = 2  # room kept for the table's own scroll bar (more papers than its height)


class ChecklistTable(DataTable[str]):
    """The checklist's table; ``show`` fills it, ``refit`` fits it again to a new width."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._rows: list[dict[str, str]] = []
        self._layout: dict[str, int] = {}

    def show(self, checklist: list[ChecklistItem], digitised: set[int],
             verifications: dict[int, ItemState]) -> None:
        """The papers, marked when digitised or checked in the national database."""
        self._rows = [checklist_cells(item, item.position in digitised,
                                      verifications.get(item.position))
                      for item in checklist]
        self._layout = {}  # rebuilt whatever the width: the rows changed
        self.refit()

    def on_resize(self) -> None:
        # Its own width, whenever it changes: the screen going to two columns narrows the table
        # after the screen's own resize has been handled.
        self.refit()

    def refit(self) -> None:
        """Choose the columns for the table's width (``CHECKLIST_PRIORITY``), and rebuild it
        when the choice changed: never wider than the screen, no sideways scroll."""
        room = (self.size.width or self.app.size.width - 2) - SCROLLBAR
        headers = {"position": "#", "name": t("tui.dossier.doc_name"),
                   "form": t("tui.dossier.doc_form"), "received": t("tui.dossier.doc_received")}
        specs = [ColumnSpec(key, natural_width(headers[key], [row[key] for row in self._rows]),
                            MIN_DOC_NAME if key == "name" else None)
                 for key in CHECKLIST_PRIORITY]
        layout = choose_columns(room, specs, CHECKLIST_REQUIRED)
        if layout == self._layout:
            return
        self._layout = layout
        shown = in_display_order(layout, CHECKLIST_COLUMNS)
        self.clear(columns=True)
        for key in shown:
            self.add_column(headers[key], width=layout[key], key=key)
        for row in self._rows:  # height=None: as many lines as the wrapped name needs
            self.add_row(*(row[key] for key in shown), height=None)


def checklist_cells(item: ChecklistItem, digitised: bool = False,
                    check: ItemState | None = None) -> dict[str, str]:
    """One paper's cells: received (or its national check, screens/verification.py), name,
    form and number."""
    received = (f"✓ {item.received_quantity}" if item.received
                else item_cell(check) if check is not None
                else "✗" if item.requirement == "required" else "–")
    if digitised:
        received += " " + t("attachments.mark")
    return {"position": str(item.position), "name": item.name,
            "form": t(f"vocab.form.{item.received_form or item.form}"), "received": received}
