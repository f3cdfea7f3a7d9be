"""A queue ticket on an 80 mm receipt roll: office, procedure group, the number in large
digits, when it was issued and how many wait before it (docs/tui.md, "Queue tickets").

Printed through CUPS on ``receipt_printer`` (``lp -d``) when that queue exists, else saved as
a PDF of the roll's width under the forms folder. A ticket carries no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF

from ccdesk.domain.queue import Ticket
from ccdesk.forms.fonts import FAMILY, font_files
from ccdesk.forms.pdf import as_local
from ccdesk.forms.printing import printer_present, send_to_printer
from ccdesk.i18n import fmt_datetime, t
from ccdesk.paths import ensure_private_dir

if TYPE_CHECKING:
    from ccdesk.services import Services

ROLL_WIDTH = 80.0      # mm: the common receipt roll
PRINT_WIDTH = 72.0     # mm the head prints on an 80 mm roll
TICKET_HEIGHT = 62.0   # mm of roll per ticket (cut after it)


@dataclass(frozen=True)
class TicketOutcome:
    printed: bool
    printer: str = ""
    job: str = ""
    path: Path | None = None


def ticket_pdf(ticket: Ticket, *, office: str, waiting: int, font_dir: Path) -> bytes:
    """The ticket as one 80 × 62 mm PDF page (Vietnamese, the roll's printable width)."""
    fonts = font_files(font_dir)
    pdf = FPDF(orientation="P", unit="mm", format=(ROLL_WIDTH, TICKET_HEIGHT))
    margin = (ROLL_WIDTH - PRINT_WIDTH) / 2
    pdf.set_margins(margin, 4, margin)
    pdf.set_auto_page_break(False)
    for style, path in fonts.styles().items():
        pdf.add_font(FAMILY, style, str(path))
    pdf.set_creation_date(as_local(ticket.issued_at))
    pdf.set_title(f"{t('queue.ticket.title', lang='vi')} {ticket.label}")
    pdf.set_creator("ccdesk")
    pdf.set_producer("ccdesk")
    pdf.set_lang("vi")
    pdf.add_page()

    def line(text: str, size: float, style: str = "", height: float | None = None) -> None:
        pdf.set_font(FAMILY, style, size)
        pdf.multi_cell(PRINT_WIDTH, height or size * 0.5, text, align="C",
                       new_x="LMARGIN", new_y="NEXT")

    if office:
        line(office, 9, "B")
    line(t("queue.ticket.title", lang="vi"), 12, "B", 7)
    line(t("queue.ticket.group", lang="vi", group=ticket.group), 10)
    line(ticket.label, 48, "B", 22)
    line(t("queue.ticket.issued", lang="vi", at=fmt_datetime(ticket.issued_at)), 9)
    line(t("queue.ticket.waiting", lang="vi", count=waiting), 9)
    pdf.ln(2)
    line(t("queue.ticket.note", lang="vi"), 8, "I")
    return bytes(pdf.output())


def output_ticket(pdf: bytes, ticket: Ticket, *, printer: str, forms_dir: Path
                  ) -> TicketOutcome:
    """Print on the receipt printer when CUPS has it, else save the PDF and say where."""
    title = f"ccdesk ticket {ticket.label}"  # no personal data in job titles
    if printer and printer_present(printer):
        return TicketOutcome(True, printer, send_to_printer(printer, pdf, title))
    from ccdesk.storage.files import write_private_file

    target = (ensure_private_dir(forms_dir)
              / f"ticket_{ticket.day.isoformat()}_{ticket.id}_{ticket.label}.pdf")
    write_private_file(target, pdf)
    return TicketOutcome(False, path=target)


def print_ticket(services: Services, ticket: Ticket) -> TicketOutcome:
    """Render ``ticket`` for this office and send it to the receipt printer (or save it)."""
    office = services.office.get()
    pdf = ticket_pdf(ticket, office=office.unit_name or office.governing_body,
                     waiting=services.queue.waiting_before(ticket),
                     font_dir=services.paths.data_dir / "cache" / "fonts")
    return output_ticket(pdf, ticket, printer=services.config.receipt_printer,
                         forms_dir=services.paths.forms_dir)
