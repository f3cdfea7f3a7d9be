"""Letters signed by the head of the unit: the apology with a new date (Mẫu 04) and the notice of
stopping (Mẫu 05, Circular 03/2025 only)."""

from __future__ import annotations

from ccdesk.domain.lifecycle import Action, Regime
from ccdesk.forms.data import DossierRecord
from ccdesk.forms.document import (
    Align,
    Column,
    Field,
    FormDocument,
    Page,
    Paragraph,
    Signatures,
    Spacer,
    Table,
    Title,
)
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FormKind, form_id_of
from ccdesk.forms.templates.common import head_block, header, procedure_field
from ccdesk.forms.words import BLANK, Words
from ccdesk.i18n import fmt_date


def extension(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 04: why the result is late, the apology, and the new due time and place (the latest
    extension; earlier ones are listed so the history stays on paper)."""
    d = record.dossier
    current = record.last_extension()
    if current is None:
        raise FormError("forms.err.no_extension", field="form", code=d.code)
    unit = record.office.unit_name or BLANK
    signer = record.officer(current.signer_id)
    key = "extension_2018" if regime == Regime.R2018 else "extension"
    late = words("extension.late_body", body=current.late_body) if current.late_body else ""
    blocks: list = [
        header(words, record.office, current.at),
        Paragraph(words(f"{key}.subject"), style="I", align=Align.LEFT),
        Spacer(3),
        Title(words(f"{key}.title")),
        Paragraph(words("letter.to", name=d.applicant_name), align=Align.CENTER),
        Paragraph(words("extension.received", date=fmt_date(d.received_at), unit=unit),
                  align=Align.JUSTIFY, indent=True),
        procedure_field(words, record),
        Field(words("field.code"), d.code, bold_value=True),
        Field(words("extension.original_due"), words.time_date(current.original_due)),
        Paragraph(words("extension.not_yet", unit=unit), align=Align.JUSTIFY, indent=True),
        Field(words("extension.reason"), " ".join(filter(None, (current.reason, late)))),
        Paragraph(words(f"{key}.apology", unit=unit), align=Align.JUSTIFY, indent=True),
        Field(words("extension.new_due"), words.time_date(current.new_due), bold_value=True),
        Field(words("extension.place"), words.core(f"delivery.{d.delivery}")
              if d.delivery != "desk" else unit),
        Paragraph(words("extension.count", count=len(record.detail.extensions))),
    ]
    if len(record.detail.extensions) > 1:
        blocks.append(_history(words, record))
    blocks += [
        Paragraph(words("letter.thanks"), align=Align.JUSTIFY, indent=True),
        Spacer(2),
        Signatures((head_block(words, signer),), recipients=(
            words("letter.recipients"), words("letter.recipient_applicant"),
            words("letter.recipient_archive"))),
    ]
    return FormDocument(form_id=form_id_of(FormKind.EXTENSION, regime), regime=regime.value,
                        dated=current.at, pages=(Page(tuple(blocks)),),
                        title=f"{words(f'{key}.title')} {d.code}")


def _history(words: Words, record: DossierRecord) -> Table:
    columns = (Column(words("extension.seq"), 0.7, Align.CENTER),
               Column(words("extension.col_original"), 2.0, Align.CENTER),
               Column(words("extension.col_new"), 2.0, Align.CENTER),
               Column(words("extension.col_reason"), 4.0),
               Column(words("extension.col_signer"), 2.2))
    rows = []
    for ext in record.detail.extensions:
        signer = record.officer(ext.signer_id)
        rows.append((str(ext.seq), words.short(ext.original_due), words.short(ext.new_due),
                     ext.reason, signer.full_name if signer else ""))
    return Table(columns, tuple(rows))


def stop(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 05 (2025): the notice that handling of the dossier has stopped, and why."""
    d = record.dossier
    form_id = form_id_of(FormKind.STOP, regime)
    event = record.last_event(Action.STOP)
    if event is None:
        raise FormError("forms.err.no_stop", field="form", code=d.code)
    unit = record.office.unit_name or BLANK
    signer = record.officer(event.officer_id)
    blocks = (
        header(words, record.office, event.at),
        Paragraph(words("stop.subject"), style="I"),
        Spacer(3),
        Title(words("stop.title")),
        Paragraph(words("letter.to", name=d.applicant_name), align=Align.CENTER),
        Paragraph(words("extension.received", date=fmt_date(d.received_at), unit=unit),
                  align=Align.JUSTIFY, indent=True),
        procedure_field(words, record),
        Field(words("field.code"), d.code, bold_value=True),
        Field(words("stop.due"), words.time_date(d.due_at)),
        Field(words("stop.stopped_at"), words.time_date(event.at)),
        Field(words("stop.reason"), event.reason or BLANK, bold_value=True),
        Paragraph(words("stop.what_next", unit=unit), align=Align.JUSTIFY, indent=True),
        Paragraph(words("letter.thanks"), align=Align.JUSTIFY, indent=True),
        Spacer(2),
        Signatures((head_block(words, signer),), recipients=(
            words("letter.recipients"), words("letter.recipient_applicant"),
            words("letter.recipient_archive"))),
    )
    return FormDocument(form_id=form_id, regime=regime.value, dated=event.at,
                        pages=(Page(blocks),), title=f"{words('stop.title')} {d.code}")
