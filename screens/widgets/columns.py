"""Which table columns to show at a given width: by priority, never a column cut in half.

A narrow terminal (80×24 over SSH) cannot show every column of the register. Rather than letting
the table scroll sideways and hide whatever comes last, a screen names its columns in priority
order; the first ones always stay, a flexible column (a name) shrinks to its minimum before any
column after it is dropped, and what is left over widens the flexible column again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

CELL_PADDING = 2  # DataTable's cell_padding (1) on each side of a cell


@dataclass(frozen=True)
class ColumnSpec:
    """A column: ``key``, its wanted width, and how far it may shrink (``minimum``, flexible
    columns only; ``None`` keeps it whole or drops it)."""

    key: str
    natural: int
    minimum: int | None = None


def natural_width(header: str, cells: Iterable[str]) -> int:
    """The width that shows the header and every cell whole."""
    return max([cell_len(header), *(cell_len(cell) for cell in cells)])


def choose_columns(room: int, by_priority: Sequence[ColumnSpec],
                   required: int = 1) -> dict[str, int]:
    """The columns to show in ``room`` cells and each one's content width.

    The first ``required`` columns are always kept; the others are kept, in priority order,
    when they fit (a flexible one at its minimum). What is left widens the flexible columns
    back towards their natural width, the most important first.
    """
    chosen: dict[str, int] = {}
    used = 0
    for index, spec in enumerate(by_priority):
        width = spec.natural if spec.minimum is None else min(spec.natural, spec.minimum)
        if index < required or used + width + CELL_PADDING <= room:
            chosen[spec.key] = width
            used += width + CELL_PADDING
    for spec in by_priority:
        if spec.key in chosen and spec.minimum is not None and used < room:
            grow = min(spec.natural - chosen[spec.key], room - used)
            chosen[spec.key] += grow
            used += grow
    return chosen


def in_display_order(chosen: Mapping[str, int], order: Sequence[str]) -> list[str]:
    """The chosen keys in the order the table shows them (not the priority order)."""
    return [key for key in order if key in chosen]


def fit_cell(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis when it is longer."""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        size = cell_len(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def shared_prefix(codes: Sequence[str], separator: str = "-") -> str:
    """The part before the last ``separator`` that every code shares (the office's agency
    code, the same on every row of a desk's register), or ``""``."""
    if len(codes) < 2:
        return ""
    first, last = min(codes), max(codes)
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    cut = first.rfind(separator, 0, common)
    return first[:cut + 1] if cut > 0 else ""


def column_pages(widths: Sequence[int], room: int) -> list[list[int]]:
    """``widths``' indices grouped, in order, into pages that each fit in ``room`` cells (a
    column wider than ``room`` gets a page of its own)."""
    pages: list[list[int]] = [[]]
    used = 0
    for index, width in enumerate(widths):
        need = width + CELL_PADDING
        if pages[-1] and used + need > room:
            pages.append([])
            used = 0
        pages[-1].append(index)
        used += need
    return pages if pages[-1] else []
