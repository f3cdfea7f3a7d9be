"""Does every message on the screen show whole? Read back from what the compositor painted.

For each visible ``Label``/``Static`` of the current screen, the text painted inside its region
(its lines joined, whitespace normalised) must contain the widget's whole text. A label wider
than its container, or a fixed-height box shorter than its wrapped text, loses words at the edge
and fails. A widget partly scrolled out of a scrolling container is skipped (the officer can
scroll to it); one cut sideways is not, unless its container scrolls sideways on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.app import App
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Label, Static

from screens.widgets.chrome import KeyBar


@dataclass(frozen=True)
class Cut:
    """A message that is not shown whole."""

    widget: str
    text: str
    shown: str

    def __str__(self) -> str:
        return f"{self.widget}: {self.text!r}\n    painted: {self.shown!r}"


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def screen_lines(app: App) -> list[str]:
    """The current screen as painted, one string per terminal line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def painted(lines: list[str], region: Region) -> str:
    """The characters painted inside ``region``, its lines joined by a space."""
    rows = lines[region.y:region.bottom]
    return " ".join(row[region.x:region.right] for row in rows)


def widget_text(widget: Static) -> str:
    return normal(widget.render().plain)  # type: ignore[union-attr]


def _scrolls_sideways(widget: Widget) -> bool:
    return any(isinstance(node, ScrollableContainer) and node.styles.overflow_x != "hidden"
               and node.virtual_size.width > node.scrollable_content_region.width
               for node in widget.ancestors)


def cut_messages(app: App) -> list[Cut]:
    """Every visible message of the current screen that is not painted whole."""
    lines = screen_lines(app)
    visible = app.screen._compositor.visible_widgets
    cuts: list[Cut] = []
    for widget, (region, clip) in visible.items():
        if not isinstance(widget, (Label, Static)) or isinstance(widget, KeyBar):
            continue  # the key bar drops keys that do not fit by design (F1 lists all)
        text = widget_text(widget)
        if not text:
            continue
        if region.y < clip.y or region.bottom > clip.bottom:
            continue  # partly scrolled out of view: scrolling shows the rest
        if (region.x < clip.x or region.right > clip.right) and _scrolls_sideways(widget):
            continue
        inside = region.shrink(widget.styles.gutter)  # the text, without border or padding
        shown = normal(painted(lines, inside.intersection(clip)))
        if text not in shown:
            cuts.append(Cut(f"{type(widget).__name__}#{widget.id or ''}.{'.'.join(widget.classes)}",
                            text, shown))
    return cuts


def column_labels(table: DataTable) -> list[str]:
    return [normal(column.label.plain) for column in table.columns.values()]


def header_painted(app: App, table: DataTable) -> str:
    """The table's header line as painted (its columns actually on screen)."""
    region = app.screen._compositor.visible_widgets[table][0]
    return painted(screen_lines(app), Region(region.x, region.y, region.width, 1))
