"""The papers of the intake counter: the receipt and appointment slip (Mẫu 01), the request to
complete a dossier (Mẫu 02) and the refusal (Mẫu 03)."""

from __future__ import annotations

import orjson

from ccdesk.domain.catalog import DocForm
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
from ccdesk.forms.templates.common import (
    applicant_fields,
    header,
    officer_block,
    portal_line,
    procedure_field,
    top_band,
)
from ccdesk.forms.words import BLANK, Words
from ccdesk.i18n import fmt_money
from ccdesk.models import ChecklistItem

# The slip is made in two copies: one kept with the dossier, one given to the citizen [R].
SLIP_COPIES = ("slip.copy_kept", "slip.copy_given")
_QUANTITY_FORMS = (DocForm.ORIGINAL, DocForm.CERTIFIED_COPY, DocForm.PHOTOCOPY)


def slip(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 01: what was received, when, and when the result is due."""
    d = record.dossier
    if d.due_at is None:
        raise FormError("forms.err.no_slip", field="form", code=d.code,
                        status=words.vocab(f"status.{d.status}"))
    form_id = form_id_of(FormKind.SLIP, regime)
    dated = d.accepted_at or d.received_at
    receiver = record.officer(d.received_by)
    body = [
        *applicant_fields(words, record),
        procedure_field(words, record),
        Field(words.vocab("field.fee_amount"), _fee(words, record)),
        Paragraph(words("slip.documents"), style="B"),
        _documents_table(words, record),
        Paragraph(words("slip.sets", sets=d.sets)),
        Paragraph(words("slip.statutory",
                        time=words.statutory(record.procedure.time, d.needs_verification))),
        # A dossier completed after a supplement request is received (and its clock starts)
        # when it is complete: that is the time the slip states.
        Paragraph(words("slip.received_at", at=words.time_date(dated))),
        # The appointment given at intake: later extensions are Mẫu 04 letters, so a reprint
        # of the slip is the same paper the citizen was handed.
        Paragraph(words("slip.due_at", at=words.time_date(d.original_due_at or d.due_at)),
                  style="B"),
        Paragraph(words("slip.delivery", how=words.vocab(f"delivery.{d.delivery}"))),
        _register_line(words, record),
        Paragraph(words("slip.note"), style="I"),
        Spacer(2),
        Signatures((officer_block(words, "sign.submitter", None),
                    officer_block(words, "sign.receiver", receiver))),
    ]
    pages = []
    band = top_band(words, record, form_id, words("slip.title"), dated,
                    d.original_due_at or d.due_at)
    for copy_key in SLIP_COPIES:
        top = (band, header(words, record.office, dated),
               Title(words("slip.title"), (words("slip.code", code=d.code), *portal_line(words, d),
                                           words(copy_key))),
               Field(words("slip.receiving_unit"), record.office.unit_name or BLANK))
        pages.append(Page(top + tuple(body)))
    return FormDocument(form_id=form_id, regime=regime.value, dated=dated,
                        title=f"{words('slip.title')} {d.code}", pages=tuple(pages))


def _register_line(words: Words, record: DossierRecord) -> Paragraph:
    """Where the dossier stands in the register (Mẫu 07): the year's book and its row."""
    row = record.register_row
    if row is None:   # accepted before the desk kept book numbers
        return Paragraph(words("slip.register_line", code=record.dossier.code))
    return Paragraph(words("slip.register_row", year=row.year, row=row.number,
                           code=record.dossier.code))


def _fee(words: Words, record: DossierRecord) -> str:
    amount = record.dossier.fee_amount
    return fmt_money(amount) if amount else words("slip.no_fee")


def _documents_table(words: Words, record: DossierRecord) -> Table:
    return received_papers_table(words, [i for i in record.detail.checklist if i.received])


def received_papers_table(words: Words, received: list[ChecklistItem]) -> Table:
    """TT | document | quantity as original / certified copy / photocopy | note (the slip's
    table, also the linked group's: ccdesk/forms/linked.py)."""
    rows = []
    for number, item in enumerate(received, start=1):
        quantities = [str(item.received_quantity) if item.received_form == form.value else ""
                      for form in _QUANTITY_FORMS]
        note = item.note
        if item.received_form == DocForm.SHOW.value:
            note = "; ".join(filter(None, (words.vocab("form.show"), note)))
        rows.append((str(number), item.name, *quantities, note))
    columns = (Column(words.vocab("field.tt"), 0.6, Align.CENTER),
               Column(words("table.document"), 5.0),
               *(Column(words.vocab(f"form.{form.value}"), 1.3, Align.CENTER)
                 for form in _QUANTITY_FORMS),
               Column(words.vocab("field.note"), 2.0))
    return Table(columns, tuple(rows),
                 group_headers=((columns[0].header, 1), (columns[1].header, 1),
                                (words("table.quantity"), 3), (columns[-1].header, 1)))


def supplement(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 02: everything to add or correct, in one pass, with whom to ask (latest round)."""
    d = record.dossier
    if not record.detail.supplements:
        raise FormError("forms.err.no_supplement", field="form", code=d.code)
    current = record.detail.supplements[-1]
    guide = record.officer(current.requested_by)
    items = orjson.loads(current.items or "[]")
    form_id = form_id_of(FormKind.SUPPLEMENT, regime)
    blocks: list = [
        top_band(words, record, form_id, words("supplement.title"), current.requested_at),
        header(words, record.office, current.requested_at),
        Title(words("supplement.title"), (words("slip.code", code=d.code),
                                          *portal_line(words, d),
                                          words("supplement.round", round=current.round_no))),
        Field(words("supplement.of"), d.applicant_name, bold_value=True),
        procedure_field(words, record),
        *applicant_fields(words, record, id_number=False)[1:],
        Paragraph(words("supplement.intro"), style="B"),
    ]
    for number, item in enumerate(items, start=1):
        blocks.append(Paragraph(f"{number}. {item['name']}", indent=True))
        if item.get("reason"):
            blocks.append(Paragraph(words("supplement.reason", reason=item["reason"]),
                                    style="I", indent=True))
    if current.note:
        blocks.append(Field(words.vocab("field.note"), current.note))
    blocks += [
        Paragraph(words("supplement.contact", officer=guide.full_name if guide else BLANK,
                        phone=(guide.phone if guide and guide.phone else BLANK)),
                  align=Align.JUSTIFY),
        Spacer(2),
        Signatures((officer_block(words, "sign.guide", guide),)),
    ]
    return FormDocument(form_id=form_id, regime=regime.value,
                        dated=current.requested_at, pages=(Page(tuple(blocks)),),
                        title=f"{words('supplement.title')} {d.code}")


def refusal(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """Mẫu 03: the specific reason the dossier cannot be accepted, and where the rules are."""
    d = record.dossier
    event = record.last_event(Action.REFUSE)
    if event is None:
        raise FormError("forms.err.no_refusal", field="form", code=d.code)
    receiver = record.officer(event.officer_id)
    unit = record.office.unit_name or BLANK
    form_id = form_id_of(FormKind.REFUSAL, regime)
    blocks = (
        top_band(words, record, form_id, words("refusal.title"), event.at),
        header(words, record.office, event.at),
        Title(words("refusal.title"), (words("slip.code", code=d.code),
                                       *portal_line(words, d))),
        Field(words("slip.receiving_unit"), unit),
        *applicant_fields(words, record, id_number=False),
        procedure_field(words, record),
        Paragraph(words("refusal.basis", basis=record.procedure.legal_basis or BLANK),
                  align=Align.JUSTIFY),
        Field(words("refusal.reason"), event.reason or BLANK, bold_value=True),
        Paragraph(words("refusal.contact",
                        officer=receiver.full_name if receiver else BLANK,
                        phone=receiver.phone if receiver and receiver.phone else BLANK),
                  align=Align.JUSTIFY),
        Paragraph(words("refusal.closing"), style="I"),
        Spacer(2),
        Signatures((officer_block(words, "sign.submitter", None),
                    officer_block(words, "sign.receiver", receiver))),
    )
    return FormDocument(form_id=form_id, regime=regime.value,
                        dated=event.at, pages=(Page(blocks),),
                        title=f"{words('refusal.title')} {d.code}")
