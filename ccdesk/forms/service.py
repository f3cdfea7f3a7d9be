"""FormService: the printed forms of a dossier, for the TUI, the CLI and ``ccdesk serve``.

No Textual here. Callers build it over the services, ``FormService(services)``, importing it on
first use so the desk's start-up does not import fpdf2. Form ids are the numbers of the legal
regime: "01".."07" under Circular 03/2025 (the default), "01".."06" under Circular 01/2018 (see
:mod:`ccdesk.forms.kinds`).
``regime=None`` means the regime the dossier was received under.

API::

    forms = FormService(services)
    forms.render_text(code, "01")            # str: the slip preview (pages split by "\\f")
    forms.render_pdf(code, "04", regime=None) # bytes: an A4 PDF, same bytes on every call
    forms.register_pdf(date(2026, 11, 1), date(2026, 11, 30))   # bytes: Sổ theo dõi hồ sơ
    forms.report_pdf(services.reports.period_report(start, end))  # bytes: form II.06a
    outcome = forms.output(actor, code, "01", reprint=False)
    outcome.printed, outcome.printer, outcome.path               # PrintOutcome

``output`` sends the PDF to CUPS (``lp``) when ``Config.printer`` names a queue that ``lpstat``
shows; otherwise it saves the PDF under ``paths.forms_dir`` and returns the path to tell the
user. ``reprint=True`` records a reprint event on the dossier (the document is identical).
Under ``ccdesk serve`` the app gives ``render_pdf`` bytes to ``App.deliver_binary`` itself.

Errors a user can cause (unknown dossier or form number, a form that does not apply to the
dossier, e.g. a refusal for an accepted dossier) raise ``CcdeskError`` subclasses whose
``message()`` says what and where in the user's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ccdesk.domain.lifecycle import Regime
from ccdesk.forms.data import load_record, load_register
from ccdesk.forms.document import FormDocument, Paper
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FormKind, form_kind, parse_paper, parse_regime
from ccdesk.forms.words import Words
from ccdesk.paths import ensure_private_dir

if TYPE_CHECKING:
    from ccdesk.forms.pdf import PdfRenderer
    from ccdesk.services import Services
    from ccdesk.services.context import Actor
    from ccdesk.services.reports import PeriodReport

FORMS_LANGUAGE = "vi"   # the forms carry legal weight: printed in Vietnamese unless asked


@dataclass(frozen=True)
class PrintOutcome:
    """What ``output`` did: printed on ``printer`` (job line ``job``) or saved at ``path``."""

    code: str
    form_id: str
    printed: bool
    printer: str = ""
    job: str = ""
    path: Path | None = None
    reprint: bool = False


class FormService:
    def __init__(self, services: Services, *, font_dir: Path | None = None) -> None:
        self.services = services
        self.font_dir = font_dir or services.paths.data_dir / "cache" / "fonts"
        self._renderer: PdfRenderer | None = None

    # ---- documents ---------------------------------------------------------------------
    def document(self, code: str, form_id: str, regime: str | Regime | None = None, *,
                 lang: str = FORMS_LANGUAGE, paper: str | Paper | None = None) -> FormDocument:
        """The form ``form_id`` of dossier ``code`` as data (both renderers draw this), on
        ``paper`` (else ``Config.form_paper``, else the sheet the circular lays it out for)."""
        from ccdesk.forms.templates import build

        chosen_paper = paper or self.services.config.form_paper
        sheet = parse_paper(chosen_paper) if chosen_paper else None
        record = load_record(self.services, code)
        chosen = parse_regime(regime or record.dossier.regime)
        kind = form_kind(form_id, chosen)
        if kind == FormKind.REGISTER:
            raise FormError("forms.err.register_not_dossier", field="form")
        return build(kind, record, chosen, Words(lang), sheet)

    def register_document(self, start: date, end: date, regime: str | Regime | None = None,
                          *, lang: str = FORMS_LANGUAGE) -> FormDocument:
        """The register (Sổ theo dõi hồ sơ) of dossiers received from ``start`` to ``end``."""
        from ccdesk.forms.templates.sheets import register

        if end < start:
            raise FormError("forms.err.date_range", field="period")
        office = self.services.office.get()
        chosen = parse_regime(regime or office.regime)
        entries = load_register(self.services, start, end)
        return register(office, entries, start, end, chosen, Words(lang))

    # ---- rendering ---------------------------------------------------------------------
    def render_pdf(self, code: str, form_id: str, regime: str | Regime | None = None, *,
                   lang: str = FORMS_LANGUAGE, paper: str | Paper | None = None) -> bytes:
        """A PDF of the form; the same dossier always gives the same bytes."""
        return self.pdf(self.document(code, form_id, regime, lang=lang, paper=paper))

    def render_text(self, code: str, form_id: str, regime: str | Regime | None = None, *,
                    lang: str = FORMS_LANGUAGE) -> str:
        """The form as plain text (80 columns; pages separated by form feeds)."""
        from ccdesk.forms.text import render_text

        return render_text(self.document(code, form_id, regime, lang=lang))

    def register_pdf(self, start: date, end: date, regime: str | Regime | None = None, *,
                     lang: str = FORMS_LANGUAGE) -> bytes:
        return self.pdf(self.register_document(start, end, regime, lang=lang))

    def register_text(self, start: date, end: date, regime: str | Regime | None = None, *,
                      lang: str = FORMS_LANGUAGE) -> str:
        from ccdesk.forms.text import render_text

        return render_text(self.register_document(start, end, regime, lang=lang))

    def report_document(self, report: PeriodReport, *, lang: str = FORMS_LANGUAGE
                        ) -> FormDocument:
        """The II.06a period report (computed by ``services.reports``) as a landscape page."""
        from ccdesk.forms.templates.report import period_report

        return period_report(self.services.office.get(), report, Words(lang))

    def report_pdf(self, report: PeriodReport, *, lang: str = FORMS_LANGUAGE) -> bytes:
        """``forms.report_pdf(services.reports.period_report(start, end))``."""
        return self.pdf(self.report_document(report, lang=lang))

    def pdf(self, document: FormDocument) -> bytes:
        """Render any document (the first call builds or loads the fonts)."""
        if self._renderer is None:
            from ccdesk.forms.fonts import font_files
            from ccdesk.forms.pdf import PdfRenderer

            self._renderer = PdfRenderer(font_files(self.font_dir))
        return self._renderer.render(document)

    # ---- printing ----------------------------------------------------------------------
    def output(self, actor: Actor, code: str, form_id: str, *, reprint: bool,
               regime: str | Regime | None = None,
               paper: str | Paper | None = None) -> PrintOutcome:
        """Print on the configured CUPS printer when present, else save the PDF and say where.

        A reprint gives the same document and is recorded as a ``reprint`` event.
        """
        from ccdesk.forms.printing import printer_present, send_to_printer

        document = self.document(code, form_id, regime, paper=paper)
        data = self.pdf(document)
        printer = self.services.config.printer
        if printer and printer_present(printer):
            job = send_to_printer(printer, data, f"ccdesk {code} mau {document.form_id}")
            outcome = PrintOutcome(code=code, form_id=document.form_id, printed=True,
                                   printer=printer, job=job, reprint=reprint)
        else:
            name = self.filename(code, document)
            try:
                path = self.save(data, name)
            except OSError as exc:
                raise FormError("forms.err.cannot_save",
                                file=str(self.services.paths.forms_dir / name),
                                detail=exc.strerror or type(exc).__name__) from exc
            outcome = PrintOutcome(code=code, form_id=document.form_id, printed=False,
                                   path=path, reprint=reprint)
        if reprint:
            self.services.dossiers.record_reprint(actor, code, document.form_id)
        return outcome

    def filename(self, code: str, document: FormDocument) -> str:
        """``<code>_mau<NN>_<regime>.pdf`` with anything unsafe for a file name replaced."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", code.strip())
        return f"{safe}_mau{document.form_id}_{document.regime}.pdf"

    def save(self, data: bytes, name: str) -> Path:
        """Write under the forms folder (owner-only: the forms hold personal data)."""
        from ccdesk.storage.files import write_private_file

        target = ensure_private_dir(self.services.paths.forms_dir) / name
        write_private_file(target, data)  # 0600, atomic: the forms hold personal data
        return target
