"""Letters signed by the head of the unit: the apology with a new date (Mẫu 04) and the notice of
stopping (Mẫu 05, Circular 03/2025 only)."""

from __future__ import annotations

from ccdesk.domain.bodies import is_own_unit
from ccdesk.domain.lifecycle import Action, Regime
from ccdesk.forms.data import DossierRecord
from ccdesk.forms.document import (
    Align,
    Block,
    Column,
    Field,
    FormDocument,
    Page,
    Paragraph,
    SignatureBlock,
    Signatures,
    Spacer,
    Table,
    Title,
)
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FormKind, form_id_of
from ccdesk.forms.templates.common import (
    head_block,
    header,
    letter_number,
    procedure_field,
    top_band,
)
from ccdesk.forms.words import BLANK, Words
from ccdesk.services.numbering import Book


def extension(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 04: why the result is late, the apology, and the new due time and place (the latest
    extension; earlier ones are listed so the history stays on paper).

    Under Circular 03/2025 it is a letter ("Văn bản xin lỗi và đề nghị gia hạn thời gian giải
    quyết") from the body that caused the delay, which signs and numbers it; under Circular
    01/2018 the one-stop unit issues the apology slip itself (docs/forms.md, "Mẫu 04").
    """
    d = record.dossier
    current = record.last_extension()
    if current is None:
        raise FormError("forms.err.no_extension", field="form", code=d.code)
    unit = record.office.unit_name or BLANK
    own = regime == Regime.R2018 or is_own_unit(current.late_body)
    issuer = unit if own else current.late_body
    key = "extension_2018" if regime == Regime.R2018 else "extension"
    form_id = form_id_of(FormKind.EXTENSION, regime)
    number = letter_number(record.extension_number(current.seq)) if own else ""
    top = header(words, record.office, current.at, number) if own else header(
        words, record.office, current.at, number, governing_body="", unit_name=issuer)
    blocks: list = [
        top_band(words, record, form_id, words(f"{key}.name"), current.at, current.new_due),
        top,
        Paragraph(words(f"{key}.subject"), style="I", align=Align.LEFT),
        Spacer(3),
    ]
    if regime == Regime.R2018:
        blocks.append(Title(words(f"{key}.title")))
    blocks += [
        *_opening(record, words, unit),
        Field(words("extension.original_due"), words.time_date(current.original_due)),
        Paragraph(words("extension.not_yet", unit=issuer), align=Align.JUSTIFY, indent=True),
        Field(words("extension.reason"), _late_reason(words, current.reason, current.late_body,
                                                      shown=issuer)),
        Paragraph(words(f"{key}.apology", unit=issuer), align=Align.JUSTIFY, indent=True),
        Field(words("extension.new_due"), words.time_date(current.new_due), bold_value=True),
        Field(words("extension.place"), words.vocab(f"delivery.{d.delivery}")
              if d.delivery != "desk" else unit),
        Paragraph(words("extension.count", count=len(record.detail.extensions))),
    ]
    if len(record.detail.extensions) > 1:
        blocks.append(_history(words, record))
    signer = head_block(words, record.officer(current.signer_id)) if own else SignatureBlock(
        title=words("sign.agency_head"), hint=words("sign.head_hint"))
    recipients = (words("letter.recipients"), words("letter.recipient_applicant"))
    if not own:   # the desk keeps the dossier and hands the letter to the citizen
        recipients += (words("letter.recipient_desk", unit=unit),)
    blocks += [
        Paragraph(words("letter.thanks"), align=Align.JUSTIFY, indent=True),
        Spacer(2),
        Signatures((signer,), recipients=(*recipients, words("letter.recipient_archive"))),
    ]
    return FormDocument(form_id=form_id, regime=regime.value, dated=current.at,
                        pages=(Page(tuple(blocks)),), title=f"{words(f'{key}.name')} {d.code}")


def _late_reason(words: Words, reason: str, late_body: str, *, shown: str) -> str:
    """The reason, and which body has not returned the result unless the letter is its own
    (the data's word for this unit never reaches paper)."""
    late = "" if is_own_unit(late_body) or late_body == shown else words(
        "extension.late_body", body=late_body)
    return " ".join(filter(None, (reason, late))) or BLANK


def _history(words: Words, record: DossierRecord) -> Table:
    columns = (Column(words("extension.seq"), 0.7, Align.CENTER),
               Column(words("extension.col_original"), 2.0, Align.CENTER),
               Column(words("extension.col_new"), 2.0, Align.CENTER),
               Column(words.vocab("field.reason"), 4.0),
               Column(words("extension.col_signer"), 2.2))
    rows = []
    for ext in record.detail.extensions:
        signer = record.officer(ext.signer_id)
        rows.append((str(ext.seq), words.short(ext.original_due), words.short(ext.new_due),
                     ext.reason, signer.full_name if signer else ""))
    return Table(columns, tuple(rows))


def _opening(record: DossierRecord, words: Words, unit: str) -> tuple[Block, ...]:
    """Both letters open alike: to the applicant, when the unit received the dossier, for which
    procedure, under which code."""
    d = record.dossier
    return (Paragraph(words("letter.to", name=d.applicant_name), align=Align.CENTER),
            Paragraph(words("extension.received", date=words.long_date(d.received_at.date()),
                            unit=unit), align=Align.JUSTIFY, indent=True),
            procedure_field(words, record),
            Field(words.vocab("field.code"), d.code, bold_value=True))


def stop(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 05 (2025): the notice that handling of the dossier has stopped, and why. It also
    answers a citizen's own request to stop (a withdrawal), naming that request as its basis
    (docs/forms.md, "Mẫu 05")."""
    d = record.dossier
    form_id = form_id_of(FormKind.STOP, regime)
    event = record.last_event(Action.STOP) or record.last_event(Action.WITHDRAW)
    if event is None:
        raise FormError("forms.err.no_stop", field="form", code=d.code)
    unit = record.office.unit_name or BLANK
    signer = record.officer(event.officer_id)
    number = letter_number(record.book_number(Book.LETTER, event.action))
    withdrawn = event.action == Action.WITHDRAW.value
    blocks = (
        top_band(words, record, form_id, words("stop.title"), event.at),
        header(words, record.office, event.at, number),
        Paragraph(words("stop.subject"), style="I"),
        Spacer(3),
        Title(words("stop.title")),
        *_opening(record, words, unit),
        Field(words("stop.due"), words.time_date(d.due_at)),
        *((Paragraph(words("stop.basis_request", date=words.long_date(event.at.date())),
                     align=Align.JUSTIFY, indent=True),) if withdrawn else ()),
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
