"""Draw a :class:`FormDocument` as an A4 or A5 PDF with fpdf2, in Noto Serif (Vietnamese-capable).

Layout follows the administrative style (Decree 30/2020/NĐ-CP): left margin wider than the
right for binding, heading in two columns, body text 12-13 pt. The PDF's creation date and
metadata come from the document (the date the form carries), never the clock, and fonts are
embedded as deterministic subsets: printing the same form twice gives the same bytes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from fpdf import FPDF
from fpdf.fonts import FontFace

from ccdesk.forms.document import (
    Align,
    Field,
    FormDocument,
    Header,
    Page,
    Paper,
    Paragraph,
    ReportHeading,
    Signatures,
    Spacer,
    Table,
    Title,
    TopBand,
)
from ccdesk.forms.fonts import FAMILY, FontFiles

# Vietnam keeps one offset all year (no DST): the office's wall-clock times are +07:00.
VN_TZ = timezone(timedelta(hours=7), "ICT")
# Left margin wider than the right for binding (Decree 30/2020/NĐ-CP, appendix I); an A5 slip
# keeps the same proportions on half the sheet.
MARGINS = {Paper.A4: (20.0, 15.0, 12.0, 15.0), Paper.A5: (15.0, 10.0, 8.0, 8.0)}


LOG = logging.getLogger(__name__)


class _NoGlyphList(logging.Filter):
    """fpdf2 names the characters its font lacks; on a form those come from names and
    addresses, which never go into logs. The renderer logs a count instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "missing the following glyphs" not in str(record.msg)


logging.getLogger("fpdf.output").addFilter(_NoGlyphList())


class _Style:
    """Sizes for one sheet and orientation: the register (landscape) is set smaller to fit 15
    columns, an A5 slip smaller to keep the A4 layout on half the sheet."""

    def __init__(self, landscape: bool, paper: Paper) -> None:
        small = paper == Paper.A5
        self.body = 8.5 if landscape or small else 12.0
        self.line = 4.2 if landscape else 3.9 if small else 6.0
        self.table = 8.0 if landscape else 7.5 if small else 11.0
        self.table_line = 4.0 if landscape else 3.4 if small else 5.2
        # Noto Serif is wider than Times: these sizes keep the motto on one line.
        self.header = 7.5 if small else 11.0
        self.header_line = 3.8 if small else 5.4
        self.qr = 16.0 if small else 18.0
        self.signature_space = 12.0 if small else 18.0   # room for a signature (and a seal)


class PdfRenderer:
    """Renders documents with one set of static fonts (see :mod:`ccdesk.forms.fonts`)."""

    def __init__(self, fonts: FontFiles) -> None:
        self.fonts = fonts

    def render(self, document: FormDocument) -> bytes:
        """The PDF bytes of ``document``."""
        pdf = FPDF(orientation="P", unit="mm", format=document.paper.value)
        left, right, top, bottom = MARGINS[document.paper]
        pdf.set_margins(left, top, right)
        pdf.set_auto_page_break(True, margin=bottom)
        for style, path in self.fonts.styles().items():
            pdf.add_font(FAMILY, style, str(path))
        for font in pdf.fonts.values():
            # The cached fonts are static instances whose glyph boxes are already right;
            # skipping fontTools' recomputation when embedding halves the time to write a PDF.
            font.ttfont.recalcBBoxes = False
        pdf.set_creation_date(as_local(document.dated))
        pdf.set_title(document.title)
        pdf.set_subject(f"Mẫu {document.form_id} ({document.regime})")
        pdf.set_creator("ccdesk")
        pdf.set_producer("ccdesk")
        pdf.set_lang("vi")
        for page in document.pages:
            _PageDrawer(pdf, page, document.paper).draw()
        data = bytes(pdf.output())
        missing = sum(len(font.missing_glyphs) for font in pdf.fonts.values())
        if missing:
            LOG.warning("form %s (%s): %d characters are not in the font and print as boxes",
                        document.form_id, document.regime, missing)
        return data


class _PageDrawer:
    def __init__(self, pdf: FPDF, page: Page, paper: Paper) -> None:
        self.pdf = pdf
        self.page = page
        self.style = _Style(page.landscape, paper)

    def draw(self) -> None:
        self.pdf.add_page(orientation="L" if self.page.landscape else "P")
        for block in self.page.blocks:
            getattr(self, f"_{type(block).__name__.lower()}")(block)

    def font(self, style: str = "", size: float | None = None) -> None:
        self.pdf.set_font(FAMILY, style, size or self.style.body)

    def lines(self, width: float, height: float, text: str, align: str) -> None:
        """Text in a column of ``width``, wrapped if needed; the cursor goes to the next line
        at the column's left edge. A line that fits is drawn as one cell, because fpdf2's line
        breaking measures text character by character and dominates the render time."""
        pdf = self.pdf
        if "\n" not in text and pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
            x = pdf.get_x()
            pdf.cell(width, height, text, align=align)
            pdf.set_xy(x, pdf.get_y() + height)
            return
        pdf.multi_cell(width, height, text, align=align, new_x="LEFT", new_y="NEXT")

    # ---- blocks ------------------------------------------------------------------------
    def _topband(self, block: TopBand) -> None:
        """QR code in the top-left corner, the form's number at the right; the heading below."""
        pdf = self.pdf
        x0, y0 = pdf.l_margin, pdf.get_y()
        height = 0.0
        if block.qr_data:
            self._qr(block.qr_data, x0, y0, self.style.qr)
            height = self.style.qr
        if block.label:
            self.font("B", self.style.header)
            pdf.set_xy(x0, y0)
            pdf.cell(pdf.epw, self.style.header_line, block.label, align="R")
            height = max(height, self.style.header_line)
        pdf.set_xy(x0, y0 + height + (2 if height else 0))

    def _header(self, block: Header) -> None:
        pdf = self.pdf
        x0, y0 = pdf.l_margin, pdf.get_y()
        left_w = pdf.epw * 0.49
        right_w = pdf.epw - left_w
        size, line = self.style.header, self.style.header_line
        # No inner cell padding: "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG" then fits on one line.
        padding, pdf.c_margin = pdf.c_margin, 0.0
        self.font("", size)
        pdf.set_xy(x0, y0)
        self.lines(left_w, line, block.governing_body, "C")
        self.font("B", size)
        self.lines(left_w, line, block.unit_name, "C")
        left_bottom = pdf.get_y()
        self._rule(x0 + left_w / 2, left_bottom + 0.8, min(30.0, left_w * 0.5))
        pdf.set_xy(x0 + left_w, y0)
        self.font("B", size)
        self.lines(right_w, line, block.motto_country, "C")
        self.font("B", size + 1)
        self.lines(right_w, line + 0.4, block.motto_words, "C")
        right_bottom = pdf.get_y()
        self._rule(x0 + left_w + right_w / 2, right_bottom + 0.8,
                   pdf.get_string_width(block.motto_words))
        y = max(left_bottom, right_bottom) + 4
        self.font("", size)
        pdf.set_xy(x0, y)
        pdf.cell(left_w, line, block.number, align="C")
        self.font("I", size)
        pdf.set_xy(x0 + left_w, y)
        pdf.cell(right_w, line, block.place_date, align="C")
        pdf.c_margin = padding
        pdf.set_xy(x0, y + line + 5)

    def _reportheading(self, block: ReportHeading) -> None:
        """Code left, title centre, units right, each column wrapped, tops aligned."""
        pdf = self.pdf
        x0, y0 = pdf.l_margin, pdf.get_y()
        widths = (pdf.epw * 0.2, pdf.epw * 0.52, pdf.epw * 0.28)
        bottoms = []
        pdf.set_xy(x0, y0)
        self.font("B", self.style.header)
        self.lines(widths[0], 5.0, block.code, "L")
        bottoms.append(pdf.get_y())
        pdf.set_xy(x0 + widths[0], y0)
        self.font("B", self.style.body + 1)
        for line in block.title:
            pdf.set_x(x0 + widths[0])
            self.lines(widths[1], self.style.line + 0.6, line, "C")
        for line in block.period:
            pdf.set_x(x0 + widths[0])
            self.font("B" if line == block.period[0] else "I")
            self.lines(widths[1], self.style.line, line, "C")
        bottoms.append(pdf.get_y())
        pdf.set_xy(x0 + widths[0] + widths[1], y0)
        self.font("", self.style.header)
        for line in block.units:
            pdf.set_x(x0 + widths[0] + widths[1])
            self.lines(widths[2], 5.0, line, "L")
        bottoms.append(pdf.get_y())
        pdf.set_xy(x0, max(bottoms) + 3)

    def _rule(self, centre_x: float, y: float, width: float) -> None:
        self.pdf.set_line_width(0.3)
        self.pdf.line(centre_x - width / 2, y, centre_x + width / 2, y)

    def _title(self, block: Title) -> None:
        pdf = self.pdf
        self.font("B", self.style.body + 1)
        pdf.set_x(pdf.l_margin)
        self.lines(pdf.epw, self.style.line + 0.6, block.text, "C")
        for index, line in enumerate(block.lines):
            self.font("B" if index == 0 else "I")
            self.lines(pdf.epw, self.style.line, line, "C")
        pdf.set_x(pdf.l_margin)
        pdf.ln(2)

    def _field(self, block: Field) -> None:
        pdf = self.pdf
        pdf.set_x(pdf.l_margin)
        label = f"{block.label}: " if block.label else ""
        value_style = "B" if block.bold_value else ""
        self.font("")
        label_w = pdf.get_string_width(label)
        self.font(value_style)
        value_w = pdf.get_string_width(block.value)
        if label_w + value_w <= pdf.epw and "\n" not in block.value:
            # One line: two plain cells (see ``lines`` on why this is worth it).
            # Start where written and wrapped text starts (one cell margin in).
            padding, pdf.c_margin = pdf.c_margin, 0.0
            pdf.set_x(pdf.l_margin + padding)
            self.font("")
            pdf.cell(label_w, self.style.line, label)
            self.font(value_style)
            pdf.cell(value_w, self.style.line, block.value)
            pdf.c_margin = padding
            pdf.ln(self.style.line)
            return
        self.font("")
        pdf.write(self.style.line, label)
        self.font(value_style)
        pdf.write(self.style.line, block.value)
        pdf.ln(self.style.line)

    def _paragraph(self, block: Paragraph) -> None:
        pdf = self.pdf
        self.font(block.style)
        pdf.set_x(pdf.l_margin)
        if block.indent:
            # A first-line indent, as Vietnamese letters and numbered lists are set.
            with pdf.text_columns(text_align=_ALIGN[block.align],
                                  line_height=self.style.line / (pdf.font_size or 1)) as cols:
                with cols.paragraph(first_line_indent=10) as par:
                    par.write(block.text)
            return
        align = "L" if block.align == Align.JUSTIFY else _ALIGN[block.align]
        if pdf.get_string_width(block.text) > pdf.epw - 2 * pdf.c_margin:
            align = _ALIGN[block.align]
        self.lines(pdf.epw, self.style.line, block.text, align)
        pdf.set_x(pdf.l_margin)

    def _table(self, block: Table) -> None:
        pdf = self.pdf
        self.font("", self.style.table)
        groups = block.group_headers
        headings = FontFace(emphasis="BOLD")
        with pdf.table(col_widths=tuple(c.weight for c in block.columns), width=pdf.epw,
                       line_height=self.style.table_line,
                       text_align=tuple(_ALIGN[c.align] for c in block.columns),
                       headings_style=headings, num_heading_rows=2 if groups else 1,
                       repeat_headings=1, padding=(0.8, 1.0), v_align="M") as table:
            if groups:
                top = table.row()
                for text, span in groups:
                    top.cell(text, align="C", rowspan=2 if span == 1 else 1, colspan=span)
                second = table.row()
                position = 0
                for _text, span in groups:
                    if span > 1:
                        for column in block.columns[position:position + span]:
                            second.cell(column.header, align="C")
                    position += span
            else:
                heading = table.row()
                for column in block.columns:
                    heading.cell(column.header, align="C")
            bold = FontFace(emphasis="BOLD")
            for index, values in enumerate(block.rows):
                row = table.row()
                style = bold if index in block.bold_rows else None
                for value in values:
                    row.cell(value, style=style)
        pdf.ln(2)

    def _signatures(self, block: Signatures) -> None:
        pdf = self.pdf
        needed = self.style.line * 3 + self.style.signature_space   # title, hint, name
        if pdf.will_page_break(needed):
            pdf.add_page(orientation="L" if self.page.landscape else "P")
        y0 = pdf.get_y()
        x = pdf.l_margin
        width = pdf.epw / max(1, len(block.blocks))
        bottom = y0
        if block.recipients or len(block.blocks) == 1:
            # A single signer signs on the right, as on every Vietnamese administrative paper;
            # the "Nơi nhận" list (if any) sits on the left.
            left = pdf.epw * 0.45
            width = (pdf.epw - left) / max(1, len(block.blocks))
            pdf.set_xy(x, y0)
            for index, line in enumerate(block.recipients):
                self.font("B" if index == 0 else "", self.style.header if index == 0
                          else self.style.header - 1)
                pdf.multi_cell(left, self.style.header_line, line, align="L", new_x="LEFT",
                               new_y="NEXT")
            bottom = pdf.get_y()
            x += left
        for signer in block.blocks:
            pdf.set_xy(x, y0)
            self.font("B")
            self.lines(width, self.style.line, signer.title, "C")
            self.font("I")
            self.lines(width, self.style.line, signer.hint, "C")
            pdf.set_xy(x, pdf.get_y() + self.style.signature_space)
            self.font("B")
            self.lines(width, self.style.line, signer.name, "C")
            bottom = max(bottom, pdf.get_y())
            x += width
        pdf.set_xy(pdf.l_margin, bottom + 2)

    def _qr(self, data: str, left: float, top: float, size: float) -> None:
        """A vector QR code of ``size`` mm with its top-left corner at (left, top)."""
        pdf = self.pdf
        matrix = _qr_matrix(data)
        quiet = 2
        cell = size / (len(matrix) + 2 * quiet)
        pdf.set_fill_color(0, 0, 0)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                # One rectangle per run of dark modules keeps the page small.
                pdf.rect(left + (start + quiet) * cell, top + (r + quiet) * cell,
                         (c - start) * cell, cell, style="F")

    def _spacer(self, block: Spacer) -> None:
        self.pdf.ln(block.height_mm)


@lru_cache(maxsize=64)
def _qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules of ``data`` (error correction M); cached because both copies of a slip,
    and every reprint, carry the same code."""
    import segno

    return tuple(tuple(bool(m) for m in row) for row in segno.make(data, error="m",
                                                                  micro=False).matrix)


_ALIGN = {Align.LEFT: "L", Align.CENTER: "C", Align.RIGHT: "R", Align.JUSTIFY: "J"}


def as_local(moment: datetime) -> datetime:
    """A naive office time as an aware +07:00 one (for PDF dates)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)
