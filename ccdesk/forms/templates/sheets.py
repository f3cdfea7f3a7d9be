"""Tracking papers: the hand-off control sheet that travels with a dossier (Mẫu 06; Mẫu 05 in
2018) and the register of dossiers for a date range (Mẫu 07; Mẫu 06 in 2018)."""

from __future__ import annotations

from datetime import date, datetime, time

from ccdesk.domain.lifecycle import Action, Regime, Status
from ccdesk.forms.data import DossierRecord, RegisterEntry
from ccdesk.forms.document import (
    Align,
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
    TopBand,
)
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FormKind, form_id_of
from ccdesk.forms.templates.common import header, top_band
from ccdesk.forms.words import BLANK, Words
from ccdesk.i18n import fmt_date
from ccdesk.models import Dossier, Office
from ccdesk.services.dossiers import timeliness

# The sheet is filled by hand as the dossier travels: leave room for the steps still to come.
MIN_CONTROL_ROWS = 4
_NOTED = frozenset({Status.WAITING_SUPPLEMENT, Status.REFUSED, Status.STOPPED, Status.WITHDRAWN})


def control(record: DossierRecord, regime: Regime, words: Words) -> FormDocument:
    """One row per hand-off between the desk and the bodies that handle the dossier."""
    d = record.dossier
    if d.accepted_at is None:
        # The sheet travels with an accepted dossier; one never accepted has no hand-offs.
        raise FormError("forms.err.no_control", field="form", code=d.code,
                        status=words.vocab(f"status.{d.status}"))
    unit = record.office.unit_name or BLANK
    lead = words.body(d.handling_body, unit)
    partners = []
    for event in record.events(Action.HAND_OFF):
        body = words.body(str(record.data_of(event).get("body", "")), unit)
        if body not in (lead, *partners):
            partners.append(body)
    form_id = form_id_of(FormKind.CONTROL, regime)
    blocks = (
        top_band(words, record, form_id, words("control.title"), d.accepted_at),
        header(words, record.office, d.accepted_at),
        Title(words("control.title"), (words("slip.code", code=d.code),)),
        Field(words("control.attached"), d.applicant_name, bold_value=True),
        Field(words("field.request"), record.procedure.name),
        Field(words("control.received_at"), words.time_date(d.accepted_at)),
        Field(words("control.statutory"),
              words.statutory(record.procedure.time, d.needs_verification)),
        Field(words("control.due_at"), words.time_date(d.due_at), bold_value=True),
        Field(words("control.lead"), lead),
        Field(words("control.partners"), "; ".join(partners) or "—"),
        Spacer(2),
        _steps(words, record, unit),
    )
    return FormDocument(form_id=form_id, regime=regime.value,
                        dated=d.accepted_at, pages=(Page(blocks),),
                        title=f"{words('control.title')} {d.code}")


def _steps(words: Words, record: DossierRecord, unit: str) -> Table:
    d = record.dossier
    rows: list[tuple[str, ...]] = []
    for event in record.detail.events:
        if event.action == Action.HAND_OFF.value:
            body = words.body(str(record.data_of(event).get("body", "")), unit)
            giver, receiver, result = unit, body, ""
            desk_officer = record.officer(event.officer_id)
            signers = (desk_officer.full_name if desk_officer else "", "")
        elif event.action == Action.RESULT_BACK.value:
            giver, receiver = words.body(d.handling_body, unit), unit
            result = words.vocab(f"timeliness.{timeliness(d.due_at, event.at)}")
            desk_officer = record.officer(event.officer_id)
            signers = ("", desk_officer.full_name if desk_officer else "")
        else:
            continue
        rows.append((str(len(rows) + 1),
                     words("control.give_take", giver=giver, receiver=receiver),
                     words.short(event.at), *signers, result, event.reason))
    while len(rows) < MIN_CONTROL_ROWS:
        rows.append((str(len(rows) + 1), words("control.give_take", giver="", receiver=""),
                     "", "", "", "", ""))
    columns = (Column(words.vocab("field.tt"), 0.5, Align.CENTER),
               Column(words("control.col_bodies"), 3.2),
               Column(words("control.col_time"), 1.7, Align.CENTER),
               Column(words("control.col_giver"), 1.6, Align.CENTER),
               Column(words("control.col_receiver"), 1.6, Align.CENTER),
               Column(words("control.col_result"), 1.6, Align.CENTER),
               Column(words.vocab("field.note"), 1.3))
    return Table(columns, tuple(rows))


def register(office: Office, entries: list[RegisterEntry], start: date, end: date,
             regime: Regime, words: Words) -> FormDocument:
    """Sổ theo dõi hồ sơ: one line per dossier received in the range, landscape."""
    unit = office.unit_name or BLANK
    rows = []
    for entry in entries:
        d = entry.dossier
        contact = "; ".join(filter(None, (d.applicant_address, d.applicant_phone)))
        # The note column flags the dossiers that left the normal path.
        status_note = words.vocab(f"status.{d.status}") if d.status in _NOTED else ""
        # The row is the number Mẫu 01 cites; a dossier never accepted has none.
        row = str(entry.row.number) if entry.row else ""
        rows.append((row, d.code, entry.procedure_name, str(d.sets), d.applicant_name,
                     contact, words.body(d.handling_body, unit), words.short(d.received_at),
                     _due(words, d), words.short(d.handed_off_at),
                     words.short(d.result_back_at), words.short(d.returned_at),
                     words.vocab(f"delivery.{d.delivery}"), "", status_note))
    columns = (Column(words("register.row"), 0.6, Align.CENTER),
               Column(words.vocab("field.code"), 1.7),
               Column(words("register.procedure"), 2.0),
               Column(words("register.sets"), 0.5, Align.CENTER),
               Column(words("register.applicant"), 1.5),
               Column(words("register.contact"), 1.6),
               Column(words("register.body"), 1.4),
               Column(words("register.received"), 1.25, Align.CENTER),
               Column(words("register.due"), 1.25, Align.CENTER),
               Column(words("register.sent"), 1.25, Align.CENTER),
               Column(words("register.back"), 1.25, Align.CENTER),
               Column(words("register.returned"), 1.25, Align.CENTER),
               Column(words("register.how"), 1.1),
               Column(words("register.signature"), 1.0),
               Column(words.vocab("field.note"), 1.0))
    dated = datetime.combine(end, time(0, 0))
    blocks = (
        TopBand(label=words("header.form_label", number=form_id_of(FormKind.REGISTER, regime))),
        header(words, office, dated),
        Title(words("register.title"), (words("register.range", start=fmt_date(start),
                                                end=fmt_date(end)),)),
        Table(columns, tuple(rows), group_headers=(
            *((c.header, 1) for c in columns[:7]), (words("register.dates"), 5),
            *((c.header, 1) for c in columns[12:]))),
        Paragraph(words("register.total", count=len(rows))),
        Spacer(2),
        Signatures((SignatureBlock(words("sign.keeper"), words("sign.hint")),)),
    )
    return FormDocument(form_id=form_id_of(FormKind.REGISTER, regime), regime=regime.value,
                        dated=dated, pages=(Page(blocks, landscape=True),),
                        title=f"{words('register.title')} {fmt_date(start)}-{fmt_date(end)}")


def _due(words: Words, d: Dossier) -> str:
    """The due time the slip gave and, beside it, a later one an extension or a supplement
    wait set (the register keeps both, as the slip in the citizen's hand shows the first)."""
    first, now = d.original_due_at or d.due_at, d.due_at
    if first is None or now is None or now == first:
        return words.short(now)
    return words("register.due_moved", first=words.short(first), now=words.short(now))
