"""Pieces every form shares: the heading, the applicant lines, signature blocks."""

from __future__ import annotations

from datetime import datetime

from ccdesk.domain import paper_qr
from ccdesk.domain.vocabulary import ApplicantKind
from ccdesk.forms.data import DossierRecord
from ccdesk.forms.document import Field, Header, SignatureBlock, TopBand
from ccdesk.forms.words import BLANK, Words
from ccdesk.models import BookNumber, Dossier, Office, Officer

ISSUING_SYSTEM = "ccdesk"   # the "issuing system" a paper's QR code names


def header(words: Words, office: Office, dated: datetime, number: str = "", *,
           governing_body: str | None = None, unit_name: str | None = None) -> Header:
    """The standard heading (docs/forms.md): governing body and unit left, motto right, then
    "Số: …" and the place-and-date line. Units are printed in capitals as the law writes them.
    A letter another agency issues names that agency instead of the office."""
    governing = office.governing_body if governing_body is None else governing_body
    unit = office.unit_name if unit_name is None else unit_name
    return Header(governing_body=(governing or BLANK).upper(), unit_name=(unit or BLANK).upper(),
                  motto_country=words("header.country"), motto_words=words("header.motto"),
                  number=words("header.number", number=number or BLANK),
                  place_date=words.place_date(office.place_name, dated.date()))


def letter_number(entry: BookNumber | None) -> str:
    """"12/2026"-style number of an outgoing letter, or "" (a blank to fill by hand)."""
    return f"{entry.number:02d}/{entry.year}" if entry else ""


def top_band(words: Words, record: DossierRecord, form_id: str, paper_name: str,
             issued_at: datetime, due_at: datetime | None = None) -> TopBand:
    """"Mẫu số NN" and the QR code Circular 01/2023/TT-VPCP art. 26 asks for: dossier and
    procedure codes, the applicant's ID number, the paper's name, the issuing system and the
    time of issue (the slip adds its due time)."""
    d = record.dossier
    qr = paper_qr.PaperQr(dossier_code=d.code, procedure_code=record.procedure.code,
                          applicant_id=d.applicant_id_number, paper_name=paper_name,
                          system=ISSUING_SYSTEM, issued_at=issued_at, due_at=due_at)
    return TopBand(label=words("header.form_label", number=form_id),
                   qr_data=paper_qr.encode(qr))


def portal_line(words: Words, dossier: Dossier) -> tuple[str, ...]:
    """Under "Mã hồ sơ", the portal's code of a dossier filed online: the citizen looks the
    dossier up on the portal by it (the circular's forms name one code; this line adds the
    other without changing that one). None for a desk intake."""
    return (words("slip.portal_code", code=dossier.portal_code),) if dossier.portal_code else ()


def applicant_fields(words: Words, record: DossierRecord, *, owner: bool = True,
                     id_number: bool = True) -> list[Field]:
    """Who submitted: name, address, phone and email, ID; the owner when someone else."""
    d = record.dossier
    fields = [Field(words("field.applicant"), d.applicant_name, bold_value=True),
              Field(words.vocab("field.address"), d.applicant_address or BLANK),
              Field(words.vocab("field.phone"), d.applicant_phone or BLANK),
              Field(words.vocab("field.email"), d.applicant_email or BLANK)]
    if id_number:
        kind = words(f"id_type.{d.applicant_id_type}")
        fields.insert(1, Field(words("field.id_number", kind=kind), d.applicant_id_number))
    if owner:
        fields.extend(owner_fields(words, record))
    if d.party2_name:
        fields.extend(party_fields(words, record))
    return fields


def owner_fields(words: Words, record: DossierRecord) -> list[Field]:
    """Whose dossier it is when the applicant hands it in for someone else: the represented
    person with their ID number, or the organisation with its tax code, and the address. Two
    lines, as before owners had IDs: an A5 slip has no room to spare (the authorisation is
    on the dossier, not the citizen's paper)."""
    d = record.dossier
    if not d.owner_name:
        return []
    if d.applicant_kind == ApplicantKind.ORGANISATION:
        owner = Field(ApplicantKind.ORGANISATION.label(words.lang),
                      words("field.with_tax_code", name=d.owner_name, number=d.owner_tax_code)
                      if d.owner_tax_code else d.owner_name)
    else:
        kind = words(f"id_type.{d.owner_id_type}")
        owner = Field(words.vocab("field.owner_name"),
                      words("field.with_id", name=d.owner_name, kind=kind,
                            number=d.owner_id_number) if d.owner_id_number else d.owner_name)
    return [owner, Field(words.vocab("field.owner_address"), d.owner_address or BLANK)]


def party_fields(words: Words, record: DossierRecord) -> list[Field]:
    """The other party of a two-party dossier (the spouse; the parent or child)."""
    d = record.dossier
    role = record.procedure.second_party
    label = role.label(words.lang) if role else words("field.party2")
    fields = [Field(label, d.party2_name)]
    if d.party2_id_number:
        kind = words(f"id_type.{d.party2_id_type}")
        fields.append(Field(words("field.id_number", kind=kind), d.party2_id_number))
    return fields


def procedure_field(words: Words, record: DossierRecord) -> Field:
    """"Nội dung yêu cầu giải quyết": the procedure the dossier was received under."""
    return Field(words("field.request"),
                 f"{record.procedure.name} ({words('field.procedure_code')} "
                 f"{record.procedure.code})")


def officer_block(words: Words, title_key: str, officer: Officer | None,
                  hint_key: str = "sign.hint") -> SignatureBlock:
    return SignatureBlock(title=words(title_key), hint=words(hint_key),
                          name=officer.full_name if officer else "")


def head_block(words: Words, officer: Officer | None) -> SignatureBlock:
    """The head of the unit who signs letters: his or her own title when recorded."""
    title = officer.title.upper() if officer and officer.title else words("sign.head")
    return SignatureBlock(title=title, hint=words("sign.head_hint"),
                          name=officer.full_name if officer else "")
