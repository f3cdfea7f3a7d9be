"""Horizontal bar charts drawn with block characters: readable at 80 columns and 256 colours."""

from __future__ import annotations

from rich.markup import escape

BAR_WIDTH = 30
_EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells for ``value`` out of ``largest`` (eighth-cell precision)."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = round(value / largest * width * 8)
    full, part = divmod(max(eighths, 1), 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def bar_chart(items: list[tuple[str, int]], label_width: int = 24) -> str:
    """One line per item: label, bar, value; bars share one scale."""
    largest = max((value for _, value in items), default=0)
    lines = []
    for label, value in items:
        shown = escape(label[:label_width].ljust(label_width))
        lines.append(f"{shown} [$accent]{bar(value, largest)}[/] {value}")
    return "\n".join(lines)
