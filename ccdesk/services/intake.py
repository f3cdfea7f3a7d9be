"""Intake: check the applicant and the checklist, then accept, ask for a supplement, or refuse.

One intake is one ``BEGIN IMMEDIATE`` transaction: the dossier code is allocated, and the dossier,
its checklist, its first event, its supplement round, the audit line and the outbox row are
written together, or none of them is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import orjson
from sqlmodel import Session, col, select

from ccdesk.domain.calendar import DueTime
from ccdesk.domain.catalog import DocForm, FeeKind, Requirement
from ccdesk.domain.codes import counter_key, format_code, split_code
from ccdesk.domain.errors import InvalidInput, ValidationError
from ccdesk.domain.lifecycle import Action, Regime, next_status
from ccdesk.domain.parties import Owner, Party, validate_owner, validate_party
from ccdesk.domain.validation import (
    clean_text,
    normalise_phone,
    validate_birth_date,
    validate_citizen_id,
    validate_email,
    validate_full_name,
    validate_id_issued,
    validate_old_id,
    validate_sex,
)
from ccdesk.domain.vocabulary import Channel, Delivery
from ccdesk.models import ChecklistItem, CodeCounter, Dossier, Office, SupplementRound
from ccdesk.services import numbering, verification
from ccdesk.services.catalog import ProcedureInfo, version_info
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.recording import load_office, record_event
from ccdesk.text import fold

if TYPE_CHECKING:
    from ccdesk.services.attachments import StagedFile

CHANNELS = Channel.values()
DELIVERIES = Delivery.values()
MAX_SETS = 99


class Decision(StrEnum):
    ACCEPT = "accept"
    SUPPLEMENT = "supplement"
    REFUSE = "refuse"


@dataclass
class Applicant:
    full_name: str
    id_number: str
    id_type: str = "cccd"
    date_of_birth: date | None = None
    phone: str = ""
    email: str = ""
    address: str = ""
    # The rest of the chip ID card (its QR fills them; docs/tui.md, "Scanner input"):
    old_id_number: str = ""        # the old CMND, 9 or 12 digits; "" when none
    sex: str = ""                  # vocabulary.Sex; "" when not recorded
    id_issued_on: date | None = None


@dataclass
class ChecklistEntry:
    """What the officer ticked for one required document (``position`` in the procedure)."""

    position: int
    received: bool
    form: str | None = None
    quantity: int | None = None
    note: str = ""
    # Not received on paper: to confirm in a national database when online (Resolution
    # 66.7/2025; ccdesk/services/verification.py). It counts as handed in until the check fails.
    verify: bool = False


@dataclass
class MissingItem:
    name: str
    reason: str = ""


@dataclass
class IntakeRequest:
    procedure_code: str
    applicant: Applicant
    checklist: list[ChecklistEntry] = field(default_factory=list)
    owner: Owner = field(default_factory=Owner)   # whose dossier, when not the applicant's
    party2: Party | None = None                   # a two-party procedure's other party
    channel: str = Channel.DIRECT
    sets: int = 1
    delivery: str = "desk"
    needs_verification: bool = False
    pages: int = 1
    copies: int = 1
    fee_amount: int | None = None   # required for provincial-rate fees
    # The portal's code when the dossier was filed online (ccdesk/services/online_filings.py):
    # the filing is taken by this intake and the dossier keeps the code beside ours.
    portal_code: str = ""
    # Papers digitised at the desk before the dossier exists (services/attachments.py): already
    # in the file store, tied to their checklist items inside the intake's transaction.
    files: list[StagedFile] = field(default_factory=list)


@dataclass(frozen=True)
class LinkedPart:
    """A member dossier's group: the group's code and kind, the member's agency and the
    combined due time the group was given (docs/linked.md)."""

    group: str
    kind: str
    agency: str
    due_at: datetime


@dataclass(frozen=True)
class IntakeResult:
    dossier: Dossier
    warnings: tuple[str, ...] = ()


def validate_applicant(applicant: Applicant, today: date | None = None) -> Applicant:
    """Normalise (NFC) and check every field; raise ``InvalidInput`` naming each bad one."""
    errors: list[ValidationError] = []
    out = replace(applicant)

    def check(name: str, fn) -> None:  # noqa: ANN001
        try:
            setattr(out, name, fn())
        except ValidationError as err:
            errors.append(err)

    check("full_name", lambda: validate_full_name(applicant.full_name))
    citizen = None
    try:
        citizen = validate_citizen_id(applicant.id_number, applicant.id_type, today=today)
        out.id_number = citizen.number
    except ValidationError as err:
        errors.append(err)
    check("date_of_birth",
          lambda: validate_birth_date(applicant.date_of_birth, citizen, today=today))
    check("phone", lambda: normalise_phone(applicant.phone))
    check("email", lambda: validate_email(applicant.email))
    check("address", lambda: clean_text(applicant.address, "address"))
    check("old_id_number", lambda: validate_old_id(applicant.old_id_number))
    check("sex", lambda: validate_sex(applicant.sex, citizen))
    check("id_issued_on", lambda: validate_id_issued(applicant.id_issued_on,
                                                     applicant.date_of_birth, today=today))
    if errors:
        raise InvalidInput(errors)
    return out


def check_decision(decision: Decision, *, reason: str, missing_required: list[str]) -> None:
    """What is wrong with a decision before it is confirmed: a refusal states its reason
    (Mẫu 03 prints it), and a dossier missing required documents cannot be accepted."""
    if decision == Decision.ACCEPT and missing_required:
        raise ValidationError("core.err.missing_documents", field="checklist",
                              names="; ".join(missing_required))
    clean_text(reason, "reason", required=decision == Decision.REFUSE)


class IntakeService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def preview_due(self, procedure: ProcedureInfo, received_at: datetime | None = None,
                    needs_verification: bool = False) -> datetime:
        """The due time the slip would print if the dossier were accepted now."""
        return self.ctx.calendar.due_at(received_at or self.ctx.now(), procedure.time,
                                        needs_verification)

    def preview_due_time(self, procedure: ProcedureInfo, received_at: datetime | None = None,
                         needs_verification: bool = False) -> DueTime:
        """``preview_due`` with the provisional days (no official text yet) it crosses, so the
        officer is told before printing (docs/calendar.md)."""
        return self.ctx.calendar.due(received_at or self.ctx.now(), procedure.time,
                                     needs_verification)

    def lookup_citizen(self, id_number: str) -> Applicant | None:
        """A returning citizen: name, phone and address from their latest dossier."""
        key = id_number.replace(" ", "").upper()
        if not key:
            return None
        with self.ctx.db.session() as session:
            row = session.exec(select(Dossier).where(Dossier.applicant_id_number == key)
                               .order_by(Dossier.received_at.desc()).limit(1)).first()
        if row is None:
            return None
        return Applicant(full_name=row.applicant_name, id_number=row.applicant_id_number,
                         id_type=row.applicant_id_type, date_of_birth=row.applicant_dob,
                         phone=row.applicant_phone, email=row.applicant_email,
                         address=row.applicant_address, old_id_number=row.applicant_old_id,
                         sex=row.applicant_sex, id_issued_on=row.applicant_id_issued)

    def submit(self, actor: Actor, request: IntakeRequest, decision: Decision, *,
               reason: str = "", missing: list[MissingItem] | None = None) -> IntakeResult:
        """Record an intake. ``missing`` adds items (with reasons) to a supplement request."""
        today = self.ctx.now().date()
        applicant = validate_applicant(request.applicant, today=today)
        self._check_request(request)
        request.owner = validate_owner(request.owner, today=today)
        if request.party2 is not None:
            request.party2 = validate_party(request.party2, today=today)
        check_decision(decision, reason=reason, missing_required=[])  # the checklist: below
        reason = clean_text(reason, "reason")

        def work(session: Session) -> IntakeResult:
            office = load_office(session)
            actor.require("desk", training=office.is_training)
            from ccdesk.models import Procedure, ProcedureVersion

            procedure = session.get(Procedure, request.procedure_code)
            if procedure is None or procedure.current_version_id is None:
                raise ValidationError("core.err.no_procedure", field="procedure",
                                      code=request.procedure_code)
            info = version_info(session, session.get(ProcedureVersion,
                                                     procedure.current_version_id))
            return self._record(session, office, actor, info, request, applicant, decision,
                                reason, missing or [])

        return self.ctx.db.write(work)

    def _check_request(self, request: IntakeRequest) -> None:
        errors = []
        if request.channel not in CHANNELS:
            errors.append(ValidationError("core.err.choice", field="channel",
                                          allowed=", ".join(CHANNELS)))
        if request.delivery not in DELIVERIES:
            errors.append(ValidationError("core.err.choice", field="delivery",
                                          allowed=", ".join(DELIVERIES)))
        if not 1 <= request.sets <= MAX_SETS:
            errors.append(ValidationError("core.err.range", field="sets", low=1, high=MAX_SETS))
        if request.fee_amount is not None and request.fee_amount < 0:
            errors.append(ValidationError("core.err.range", field="fee_amount", low=0,
                                          high="∞"))
        if errors:
            raise InvalidInput(errors)

    def record(self, session: Session, office: Office, actor: Actor, info: ProcedureInfo,
               request: IntakeRequest, applicant: Applicant, decision: Decision, *,
               linked: LinkedPart | None = None) -> IntakeResult:
        """One intake inside the caller's transaction, the applicant already validated: a linked
        group writes its members this way, all in its own transaction (services/linked.py)."""
        return self._record(session, office, actor, info, request, applicant, decision, "", [],
                            linked=linked)

    def _record(self, session: Session, office: Office, actor: Actor, info: ProcedureInfo,
                request: IntakeRequest, applicant: Applicant, decision: Decision, reason: str,
                missing: list[MissingItem], *, linked: LinkedPart | None = None
                ) -> IntakeResult:
        """``linked``: the dossier is a member of a linked group (ccdesk/services/linked.py):
        it takes the group's combined due time, and its first event says which group."""
        now = self.ctx.now()
        check_second_party(info, request.party2)
        items = _checklist(info, request.checklist)
        marked = verification.marked_positions(request.checklist, items)
        not_received = [i for i in items if not i.received and i.position not in marked
                        and i.requirement == Requirement.REQUIRED.value]
        if decision == Decision.ACCEPT and not_received:
            raise ValidationError("core.err.missing_documents", field="checklist",
                                  names="; ".join(i.name for i in not_received))
        if decision == Decision.SUPPLEMENT and not (not_received or missing):
            raise ValidationError("core.err.nothing_missing", field="checklist")
        action = {Decision.ACCEPT: Action.ACCEPT, Decision.SUPPLEMENT: Action.REQUEST_SUPPLEMENT,
                  Decision.REFUSE: Action.REFUSE}[decision]
        regime = Regime(office.regime)
        status = next_status(None, action, regime)
        # A supplement request keeps the fee the dossier will owe when it is accepted; a
        # provincial rate not yet entered is set then (DossierService.act(fee_amount=...)).
        fee = {Decision.ACCEPT: lambda: _fee(info, request),
               Decision.SUPPLEMENT: lambda: _fee(info, request, required=False),
               Decision.REFUSE: lambda: 0}[decision]()
        dossier = Dossier(
            code=self._allocate_code(session, office, now.date()),
            procedure_version_id=info.version_id, procedure_code=info.code, field=info.field,
            regime=regime.value, applicant_name=applicant.full_name,
            applicant_id_number=applicant.id_number, applicant_id_type=applicant.id_type,
            applicant_dob=applicant.date_of_birth, applicant_phone=applicant.phone,
            applicant_email=applicant.email, applicant_address=applicant.address,
            applicant_old_id=applicant.old_id_number, applicant_sex=applicant.sex,
            applicant_id_issued=applicant.id_issued_on,
            **owner_columns(request.owner), **party_columns(request.party2),
            channel=request.channel, sets=request.sets, delivery=request.delivery,
            needs_verification=request.needs_verification, received_at=now,
            status=status.value, fee_amount=fee, received_by=actor.officer_id,
            handling_body=info.handling_body, updated_at=now, portal_code=request.portal_code)
        filed_online = None   # when the citizen filed it on the portal
        if request.portal_code:
            from ccdesk.services.online_filings import take  # (it builds IntakeRequests)

            filed_online = take(session, request.portal_code, dossier.code, now)
        if decision == Decision.ACCEPT:
            dossier.accepted_at = now
            dossier.due_at = (linked.due_at if linked else
                              self.ctx.calendar.due_at(now, info.time, request.needs_verification))
            dossier.original_due_at = dossier.due_at
        elif decision == Decision.SUPPLEMENT:
            dossier.paused_at, dossier.supplement_rounds = now, 1
        else:
            dossier.closed_at = now
        dossier.search_text = search_text(dossier)
        session.add(dossier)
        session.flush()
        if dossier.accepted_at is not None:
            numbering.issue(session, numbering.Book.REGISTER, dossier.id, "accept", now)
        for item in items:
            item.dossier_id = dossier.id
            session.add(item)
        data: dict[str, object] = {"procedure_version_id": info.version_id}
        if filed_online is not None:   # NgayNopHoSo upstream (docs/upstream.md, "Online filings")
            data["portal_filed_at"] = filed_online.isoformat()
        if linked is not None:   # travels upstream in the create payload's event (docs/linked.md)
            data["linked"] = {"group": linked.group, "kind": linked.kind, "agency": linked.agency}
        if marked and decision != Decision.REFUSE:  # a refused dossier has nothing to check
            data["verify"] = verification.enqueue(session, actor, info, dossier, marked, now)
        if decision == Decision.SUPPLEMENT:
            wanted = [{"name": i.name, "reason": ""} for i in not_received]
            wanted += [{"name": clean_text(m.name, "note", required=True),
                        "reason": clean_text(m.reason, "reason")} for m in missing]
            session.add(SupplementRound(dossier_id=dossier.id, round_no=1, requested_at=now,
                                        requested_by=actor.officer_id,
                                        items=orjson.dumps(wanted).decode()))
            data["items"] = wanted
        session.flush()
        files = None
        if request.files:
            from ccdesk.services.attachments import files_payload, record_files

            record_files(session, self.ctx, actor, dossier, request.files)
            files = files_payload(session, dossier)
        record_event(session, self.ctx, actor, office, dossier, action.value, from_status=None,
                     changes=dossier.model_dump(exclude={"id", "search_text"}), reason=reason,
                     data=data, files=files)
        return IntakeResult(dossier=dossier)

    def _allocate_code(self, session: Session, office: Office, day: date) -> str:
        """Next number for today's counter key; the surrounding BEGIN IMMEDIATE makes it atomic
        across processes, and codes are never reused because counters only go up."""
        key = counter_key(office.code_pattern, office.agency_code, office.device_prefix, day)
        counter = session.get(CodeCounter, key) or CodeCounter(key=key, last_seq=0)
        counter.last_seq += 1
        session.add(counter)
        return format_code(office.code_pattern, office.agency_code, office.device_prefix, day,
                           counter.last_seq)


def search_text(dossier: Dossier) -> str:
    """The folded key register search matches: our code and the portal's, the applicant's
    name, ID number and phone, the owner's name, ID number or tax code, and the second
    party's name and ID."""
    return fold(" ".join(filter(None, (
        dossier.code, dossier.portal_code, dossier.applicant_name, dossier.owner_name,
        dossier.applicant_id_number, dossier.applicant_phone, dossier.owner_id_number,
        dossier.owner_tax_code, dossier.party2_name, dossier.party2_id_number))))


def check_second_party(info: ProcedureInfo, party: Party | None) -> None:
    """A two-party procedure names its other party; no other procedure takes one."""
    if info.second_party is not None and party is None:
        raise ValidationError("core.err.required", field="party2_name")
    if info.second_party is None and party is not None:
        raise ValidationError("core.err.no_second_party", field="party2_name",
                              code=info.code)


def owner_columns(owner: Owner) -> dict[str, object]:
    """The dossier's owner columns (all blank for a citizen's own dossier)."""
    return {"applicant_kind": owner.kind.value, "owner_name": owner.name,
            "owner_address": owner.address, "owner_id_type": owner.id_type,
            "owner_id_number": owner.id_number, "owner_tax_code": owner.tax_code,
            "authorisation": owner.authorisation}


def party_columns(party: Party | None) -> dict[str, object]:
    party = party or Party()
    return {"party2_name": party.name, "party2_id_type": party.id_type,
            "party2_id_number": party.id_number, "party2_dob": party.date_of_birth}


def _checklist(info: ProcedureInfo, entries: list[ChecklistEntry]) -> list[ChecklistItem]:
    """Copy the procedure's document list onto the dossier with what was received."""
    by_position = {e.position: e for e in entries}
    unknown = set(by_position) - {d.position for d in info.documents}
    if unknown:
        raise ValidationError("core.err.checklist_position", field="checklist",
                              positions=", ".join(map(str, sorted(unknown))))
    items = []
    for doc in info.documents:
        entry = by_position.get(doc.position)
        received = bool(entry and entry.received)
        form = (entry.form if entry and entry.form else doc.form)
        try:
            DocForm(form)
        except ValueError as exc:
            raise ValidationError("core.err.choice", field="checklist",
                                  allowed=", ".join(f.value for f in DocForm)) from exc
        quantity = entry.quantity if entry and entry.quantity is not None else (
            doc.quantity if received else 0)
        if quantity < 0 or quantity > 999:
            raise ValidationError("core.err.range", field="checklist", low=0, high=999)
        items.append(ChecklistItem(
            position=doc.position, name=doc.name, form=doc.form, quantity=doc.quantity,
            requirement=doc.requirement, condition=doc.condition, received=received,
            received_form=form if received else "", received_quantity=quantity if received else 0,
            note=clean_text(entry.note if entry else "", "note")))
    return items


def _fee(info: ProcedureInfo, request: IntakeRequest, required: bool = True) -> int:
    computed = info.fee.compute(copies=request.copies, pages=request.pages,
                                entered=request.fee_amount)
    if computed is None:
        if not required:
            return 0
        raise ValidationError("core.err.fee_required", field="fee_amount")
    if request.fee_amount is not None and info.fee.kind != FeeKind.PROVINCIAL:
        return request.fee_amount  # an exemption or a fee the officer corrected
    return computed


def move_counters_past(session: Session, office: Office, codes: Iterable[str]) -> list[str]:
    """After the desk's file was restored from an older backup: raise each code counter past
    the codes this desk issued that the upstream already holds, so no new dossier takes one of
    them again. Returns those of ``codes`` this file no longer has (lost by the restore)."""
    codes = list(codes)
    highest: dict[str, int] = {}
    for code in codes:
        parts = split_code(office.code_pattern, office.agency_code, office.device_prefix, code)
        if parts is not None:  # a code issued under another pattern cannot collide
            key, seq = parts
            highest[key] = max(seq, highest.get(key, 0))
    for key, seq in highest.items():
        counter = session.get(CodeCounter, key) or CodeCounter(key=key, last_seq=0)
        if counter.last_seq < seq:
            counter.last_seq = seq
            session.add(counter)
    held: set[str] = set()
    for start in range(0, len(codes), 500):  # bound the number of SQL variables
        chunk = codes[start:start + 500]
        held.update(session.exec(select(Dossier.code).where(col(Dossier.code).in_(chunk))))
    return [code for code in dict.fromkeys(codes) if code not in held]
