"""The papers of a linked group (liên thông; docs/linked.md): one slip (Mẫu 01) listing every
member dossier with its code and the group's combined due time, and one hand-off sheet per
agency (phiếu chuyển hồ sơ liên thông) with the member codes and the papers handed over.

Filled only from what was stored (the group, its members' dossiers and checklists), never the
clock: a reprint gives the same bytes. ``LinkedForms(FormService(services))``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ccdesk.domain import paper_qr
from ccdesk.domain.catalog import DocForm
from ccdesk.domain.lifecycle import Regime
from ccdesk.domain.linked import Agency
from ccdesk.forms.document import (
    Align,
    Column,
    Field,
    FormDocument,
    Page,
    Paper,
    Paragraph,
    SignatureBlock,
    Signatures,
    Spacer,
    Table,
    Title,
    TopBand,
)
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FormKind, form_id_of, parse_paper
from ccdesk.forms.service import FORMS_LANGUAGE, FormService
from ccdesk.forms.templates.common import ISSUING_SYSTEM, header, officer_block
from ccdesk.forms.templates.intake import SLIP_COPIES, received_papers_table
from ccdesk.forms.words import BLANK, Words
from ccdesk.i18n import t
from ccdesk.models import ChecklistItem, Dossier, Office, Officer
from ccdesk.services.linked import GroupView


@dataclass(frozen=True)
class GroupRecord:
    """A group with everything its papers print."""

    office: Office
    group: GroupView
    dossiers: dict[str, Dossier]
    checklists: dict[str, tuple[ChecklistItem, ...]]
    receiver: Officer | None


def _l(words: Words, key: str, **params: object) -> str:
    return t(f"linked.{key}", lang=words.lang, **params)


def _lead(record: GroupRecord) -> Dossier:
    return record.dossiers[record.group.members[0].code]


def _band(words: Words, record: GroupRecord, label: str, code: str, paper_name: str,
          due: bool) -> TopBand:
    """The QR code of Circular 01/2023 art. 26, carrying the group's or member's code."""
    lead = _lead(record)
    group = record.group
    qr = paper_qr.PaperQr(dossier_code=code, procedure_code=lead.procedure_code,
                          applicant_id=lead.applicant_id_number, paper_name=paper_name,
                          system=ISSUING_SYSTEM, issued_at=group.received_at,
                          due_at=group.due_at if due else None)
    return TopBand(label=label, qr_data=paper_qr.encode(qr))


def _people(words: Words, record: GroupRecord) -> list[Field]:
    """The applicant, entered once, and the child or the deceased the members share."""
    lead, group = _lead(record), record.group
    kind = words(f"id_type.{lead.applicant_id_type}")
    return [Field(words("field.applicant"), lead.applicant_name, bold_value=True),
            Field(words("field.id_number", kind=kind), lead.applicant_id_number),
            Field(words.vocab("field.address"), lead.applicant_address or BLANK),
            Field(words.vocab("field.phone"), lead.applicant_phone or BLANK),
            Field(_l(words, f"kind.{group.spec.kind.value}"), group.subject_name,
                  bold_value=True),
            Field(_l(words, f"date.{group.spec.kind.value}"),
                  group.subject_date.strftime("%d/%m/%Y") if group.subject_date else BLANK)]


def _documents(words: Words, items: list[ChecklistItem]) -> Table:
    """The papers received once for the group, as the slip lists them."""
    return received_papers_table(words, items)


def _received_once(record: GroupRecord) -> list[ChecklistItem]:
    """The papers the citizen handed in, each once (a shared paper is on several members'
    lists), without those the group produces itself."""
    seen: dict[tuple[str, str], ChecklistItem] = {}
    produced = t("linked.produced_note", lang="vi")
    for member in record.group.members:
        for item in record.checklists[member.code]:
            if item.received and item.note != produced:
                seen.setdefault((item.name, item.received_form), item)
    return list(seen.values())


def group_slip(record: GroupRecord, words: Words, paper: Paper = Paper.A5) -> FormDocument:
    """Mẫu 01 for the whole group: every member with its code and agency, the papers received
    once, and the combined due time (Decree 63/2024/NĐ-CP; docs/linked.md)."""
    group, lead = record.group, _lead(record)
    regime = Regime(lead.regime)
    form_id = form_id_of(FormKind.SLIP, regime)
    members = Table(
        (Column(words.vocab("field.tt"), 0.6, Align.CENTER),
         Column(_l(words, "slip.col_code"), 3.2), Column(_l(words, "slip.col_procedure"), 3.6),
         Column(words.vocab("field.body"), 3.0)),
        tuple((str(n), m.code, f"{m.procedure_name} ({m.procedure_code})",
               m.agency.label(words.lang))
              for n, m in enumerate(group.members, start=1)))
    body = [
        *_people(words, record),
        Field(words("field.request"), group.spec.title(words.lang)),
        Paragraph(_l(words, "slip.members"), style="B"),
        members,
        Paragraph(_l(words, "slip.documents"), style="B"),
        _documents(words, _received_once(record)),
        Paragraph(_l(words, "slip.statutory", time=words.statutory(group.spec.time, False))),
        Paragraph(_l(words, "slip.received_at", at=words.time_date(group.received_at))),
        Paragraph(_l(words, "slip.due_at", at=words.time_date(group.due_at)), style="B"),
        Paragraph(_l(words, "slip.delivery", how=words.vocab(f"delivery.{lead.delivery}"))),
        Paragraph(words("slip.note"), style="I"),
        Spacer(2),
        Signatures((officer_block(words, "sign.submitter", None),
                    officer_block(words, "sign.receiver", record.receiver))),
    ]
    band = _band(words, record, words("header.form_label", number=form_id), group.code,
                 words("slip.title"), due=True)
    pages = []
    for copy_key in SLIP_COPIES:
        top = (band, header(words, record.office, group.received_at),
               Title(words("slip.title"), (_l(words, "slip.group_code", code=group.code),
                                           words(copy_key))),
               Field(words("slip.receiving_unit"), record.office.unit_name or BLANK))
        pages.append(Page(top + tuple(body)))
    return FormDocument(form_id=form_id, regime=regime.value, dated=group.received_at,
                        title=f"{words('slip.title')} {group.code}", pages=tuple(pages),
                        paper=paper)


def handoff_sheet(record: GroupRecord, agency: Agency, words: Words,
                  paper: Paper = Paper.A5) -> FormDocument:
    """The hand-off sheet for one agency: the group, each of its member dossiers with the
    papers handed over, the combined due time, and the two signatures."""
    group = record.group
    members = [m for m in group.members if m.agency == agency]
    if not members:
        raise FormError("linked.err.no_agency", field="agency", code=group.code,
                        agency=agency.label(words.lang))
    title = _l(words, "handoff.title")
    handed = [record.dossiers[m.code].handed_off_at for m in members]
    blocks: list = [
        _band(words, record, _l(words, "handoff.label"), members[0].code, title, due=False),
        header(words, record.office, group.received_at),
        Title(title, (_l(words, "slip.group_code", code=group.code),
                      group.spec.title(words.lang))),
        Field(_l(words, "handoff.to"), agency.label(words.lang), bold_value=True),
        *[f for f in _people(words, record) if f.label != words.vocab("field.phone")],
    ]
    for member in members:
        blocks += [
            Paragraph(_l(words, "handoff.member", code=member.code,
                         procedure=member.procedure_name,
                         procedure_code=member.procedure_code), style="B"),
            Paragraph(_l(words, "handoff.documents")),
            # a paper only shown at the counter stays with the citizen: not handed over
            _documents(words, [i for i in record.checklists[member.code]
                               if i.received and i.received_form != DocForm.SHOW.value]),
        ]
    moment = next((h for h in handed if h is not None), None)
    blocks += [
        Field(words("slip.receiving_unit"), record.office.unit_name or BLANK),
        Field(_l(words, "handoff.group_due"), words.time_date(group.due_at), bold_value=True),
        Field(_l(words, "handoff.handed_at"), words.time_date(moment)),
        Spacer(2),
        Signatures((SignatureBlock(_l(words, "handoff.giver"), words("sign.hint")),
                    SignatureBlock(_l(words, "handoff.taker"), words("sign.hint")))),
    ]
    return FormDocument(form_id="LT", regime=Regime(_lead(record).regime).value,
                        dated=group.received_at, title=f"{title} {group.code} {agency.value}",
                        pages=(Page(tuple(blocks)),), paper=paper)


class LinkedForms:
    """The group's papers over a :class:`FormService` (its renderer, paper and folder)."""

    def __init__(self, forms: FormService) -> None:
        self.forms = forms
        self.services = forms.services

    def record(self, code: str) -> GroupRecord:
        group = self.services.linked.view(code)
        dossiers, checklists = {}, {}
        for member in group.members:
            detail = self.services.dossiers.detail(member.code)
            dossiers[member.code] = detail.dossier
            checklists[member.code] = tuple(detail.checklist)
        receiver = None
        if group.received_by is not None:
            receiver = next((o for o in self.services.officers.list(include_inactive=True)
                             if o.id == group.received_by), None)
        return GroupRecord(self.services.office.get(), group, dossiers, checklists, receiver)

    def _paper(self, paper: str | Paper | None) -> Paper:
        chosen = paper or self.services.config.form_paper
        return parse_paper(chosen) if chosen else Paper.A5

    def slip_pdf(self, code: str, *, lang: str = FORMS_LANGUAGE,
                 paper: str | Paper | None = None) -> bytes:
        return self.forms.pdf(group_slip(self.record(code), Words(lang), self._paper(paper)))

    def handoff_pdf(self, code: str, agency: Agency, *, lang: str = FORMS_LANGUAGE,
                    paper: str | Paper | None = None) -> bytes:
        return self.forms.pdf(handoff_sheet(self.record(code), agency, Words(lang),
                                            self._paper(paper)))

    def handoff_pdfs(self, code: str, *, lang: str = FORMS_LANGUAGE) -> dict[Agency, bytes]:
        """One sheet per agency of the group, in the members' order."""
        record = self.record(code)
        return {agency: self.forms.pdf(handoff_sheet(record, agency, Words(lang),
                                                     self._paper(None)))
                for agency in record.group.agencies()}

    def save_slip(self, code: str) -> Path:
        """Save the group's slip under the forms folder (owner-only: personal data)."""
        return self.forms.save(self.slip_pdf(code), f"{_safe(code)}_mau01.pdf")

    def save_handoffs(self, code: str) -> list[Path]:
        """Save one hand-off sheet per agency under the forms folder."""
        return [self.forms.save(data, f"{_safe(code)}_chuyen_{agency.value}.pdf")
                for agency, data in self.handoff_pdfs(code).items()]


def _safe(code: str) -> str:
    """A code as a file name: anything but letters, digits, dots, dashes and underscores
    replaced."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", code.strip())
