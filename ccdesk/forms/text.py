"""Draw a :class:`FormDocument` as plain text: the TUI preview and line printers.

80 columns for portrait forms, 132 for the landscape register (the two classic line-printer
widths). Tables are drawn by rich with an ASCII box so any printer can print them. Pages are
separated by a form feed, which line printers obey and a preview can split on.
"""

from __future__ import annotations

import io
import textwrap

from ccdesk.forms.document import (
    Align,
    Field,
    FormDocument,
    Header,
    Page,
    Paragraph,
    ReportHeading,
    Signatures,
    Spacer,
    Table,
    Title,
    TopBand,
)

PORTRAIT_WIDTH = 80
LANDSCAPE_WIDTH = 132
PAGE_BREAK = "\f"
MAX_UNBROKEN = 10   # a table column is at least this wide if its cells have words that long


def render_text(document: FormDocument) -> str:
    """The whole document; pages joined by form feeds."""
    return PAGE_BREAK.join(_page(page) for page in document.pages)


def _page(page: Page) -> str:
    width = LANDSCAPE_WIDTH if page.landscape else PORTRAIT_WIDTH
    lines: list[str] = []
    for block in page.blocks:
        lines.extend(_DRAW[type(block)](block, width))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _header(block: Header, width: int) -> list[str]:
    left_w = int(width * 0.42)
    right_w = width - left_w
    left = _wrap_centre(block.governing_body, left_w) + _wrap_centre(block.unit_name, left_w)
    left.append("-" * 10)
    right = [block.motto_country, block.motto_words, "-" * 15]
    rows = max(len(left), len(right))
    left += [""] * (rows - len(left))
    right += [""] * (rows - len(right))
    lines = [a.center(left_w) + b.center(right_w) for a, b in zip(left, right, strict=True)]
    lines.append(block.number.center(left_w) + block.place_date.center(right_w))
    return [*lines, ""]


def _wrap_centre(text: str, width: int) -> list[str]:
    return [line.center(width) for line in textwrap.wrap(text, width) or [""]]


def _title(block: Title, width: int) -> list[str]:
    lines = _wrap_centre(block.text.upper(), width)
    for extra in block.lines:
        lines += _wrap_centre(extra, width)
    return ["", *lines, ""]


def _field(block: Field, width: int) -> list[str]:
    text = f"{block.label}: {block.value}" if block.label else block.value
    return textwrap.wrap(text, width, subsequent_indent="    ") or [""]


def _paragraph(block: Paragraph, width: int) -> list[str]:
    if block.align == Align.CENTER:
        return _wrap_centre(block.text, width)
    indent = "    " if block.indent else ""
    return textwrap.wrap(block.text, width, initial_indent=indent) or [""]


def _table(block: Table, width: int) -> list[str]:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable

    table = RichTable(box=box.ASCII, show_lines=True, width=width, pad_edge=False,
                      padding=(0, 0))
    for column, size in zip(block.columns, _widths(block, width), strict=True):
        table.add_column(column.header, width=size, justify=_JUSTIFY[column.align],
                         overflow="fold")
    for row in block.rows:
        table.add_row(*row)
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False,
            highlight=False, emoji=False, markup=False).print(table)
    return [*out.getvalue().splitlines(), ""]


def _widths(block: Table, width: int) -> list[int]:
    """Column widths: each at least as wide as its longest word (up to ``MAX_UNBROKEN``, so
    dates and times stay whole), the rest shared by the columns' weights."""
    content = width - len(block.columns) - 1          # one border character per column + 1
    floors = []
    for index, column in enumerate(block.columns):
        cells = [column.header, *(row[index] for row in block.rows)]
        longest = max((len(token) for cell in cells for token in cell.split()), default=1)
        floors.append(max(2, min(longest, MAX_UNBROKEN)))
    spare = content - sum(floors)
    if spare < 0:                                     # too many columns: share by weight only
        floors, spare = [1] * len(block.columns), content - len(block.columns)
    total = sum(c.weight for c in block.columns)
    sizes = [f + int(spare * c.weight / total) for f, c in zip(floors, block.columns, strict=True)]
    sizes[sizes.index(max(sizes))] += content - sum(sizes)   # rounding leftovers
    return sizes


def _signatures(block: Signatures, width: int) -> list[str]:
    count = max(1, len(block.blocks))
    offset = 0
    left: list[str] = []
    if block.recipients or len(block.blocks) == 1:
        offset = int(width * 0.45)
        left = list(block.recipients)
    col = (width - offset) // count
    columns = [[s.title, s.hint, "", "", "", s.name] for s in block.blocks]
    rows = max(len(left), 6)
    lines = [""]
    for index in range(rows):
        line = (left[index] if index < len(left) else "").ljust(offset)
        for column in columns:
            line += (column[index] if index < len(column) else "").center(col)
        lines.append(line)
    return lines


def _topband(block: TopBand, width: int) -> list[str]:
    # Text printers cannot draw a QR code; the dossier code is printed under the title.
    return [block.label.rjust(width)] if block.label else []


def _reportheading(block: ReportHeading, width: int) -> list[str]:
    lines = [block.code, *block.units, ""]
    for line in (*block.title, *block.period):
        lines += _wrap_centre(line, width)
    return [*lines, ""]


def _spacer(block: Spacer, width: int) -> list[str]:
    return [""]


_JUSTIFY = {Align.LEFT: "left", Align.CENTER: "center", Align.RIGHT: "right",
            Align.JUSTIFY: "left"}
_DRAW = {TopBand: _topband, Header: _header, Title: _title, Field: _field,
         Paragraph: _paragraph, Table: _table, Signatures: _signatures, Spacer: _spacer,
         ReportHeading: _reportheading}
