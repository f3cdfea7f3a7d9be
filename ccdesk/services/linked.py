"""Linked intakes (liên thông): one intake, one slip, one dossier per member procedure.

The rules are in :mod:`ccdesk.domain.linked`; the groups in ``ccdesk/data/linked.toml``.
Accepting a group writes, in one ``BEGIN IMMEDIATE`` transaction, the group row, each member's
dossier (through the ordinary intake: own code, checklist, register row, first event, outbox
row) and the rows tying them to the group, or nothing at all. The group's state is derived from
its members on every read (docs/linked.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from ccdesk.domain.codes import counter_key, format_code
from ccdesk.domain.errors import InvalidInput, NotFound, ValidationError
from ccdesk.domain.linked import (
    Agency,
    CombinedItem,
    GroupKind,
    GroupSpec,
    GroupState,
    LinkedFieldError,
    bundled_groups,
    combined_checklist,
    group_only,
    group_state,
    produced_positions,
)
from ccdesk.domain.parties import Owner, validate_owner
from ccdesk.domain.validation import validate_full_name
from ccdesk.domain.vocabulary import Channel, Delivery
from ccdesk.i18n import t
from ccdesk.models import (
    CodeCounter,
    Dossier,
    LinkedGroup,
    LinkedMember,
    Office,
    Procedure,
    ProcedureVersion,
)
from ccdesk.services.catalog import ProcedureInfo, version_info
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.intake import (
    Applicant,
    ChecklistEntry,
    Decision,
    IntakeRequest,
    IntakeService,
    LinkedPart,
    check_decision,
    validate_applicant,
)
from ccdesk.services.recording import audit, load_office
from ccdesk.text import fold

GROUP_PREFIX = "LT-"          # a group's code: LT- and the office's dossier-code pattern
CHILD_AGE_LIMIT_YEARS = 6     # the birth group is for a child under 6 (Decree 63/2024)


@dataclass
class LinkedRequest:
    """What the officer entered once for the whole group."""

    group_code: str
    applicant: Applicant
    subject_name: str                       # the child, or the deceased
    subject_date: date | None               # the child's birth, or the death
    received: list[int] = field(default_factory=list)   # indexes of the combined checklist
    skipped: list[str] = field(default_factory=list)    # optional members left out
    owner: Owner = field(default_factory=Owner)
    channel: str = Channel.DIRECT
    delivery: str = Delivery.DESK


@dataclass(frozen=True)
class MemberView:
    code: str
    procedure_code: str
    procedure_name: str
    agency: Agency
    status: str
    due_at: datetime | None
    result_back_at: datetime | None


@dataclass(frozen=True)
class GroupView:
    """A group as the screens and forms show it; ``state`` derived from ``members``."""

    code: str
    spec: GroupSpec
    subject_name: str
    subject_date: date | None
    received_at: datetime
    due_at: datetime
    received_by: int | None
    members: tuple[MemberView, ...]

    @property
    def state(self) -> GroupState:
        return group_state(m.status for m in self.members)

    def agencies(self) -> list[Agency]:
        """The agencies of the members, each once, in the members' order."""
        return list(dict.fromkeys(m.agency for m in self.members))


class LinkedService:
    def __init__(self, ctx: DeskContext, intake: IntakeService) -> None:
        self.ctx = ctx
        self.intake = intake

    # ---- the groups ----------------------------------------------------------------------
    def groups(self) -> tuple[GroupSpec, ...]:
        return bundled_groups()

    def group(self, code: str) -> GroupSpec:
        for spec in self.groups():
            if spec.code == code:
                return spec
        raise NotFound("linked.err.no_group", code=code)

    def group_only(self) -> frozenset[str]:
        """Procedures of other agencies (police, social insurance) that the desk receives only
        inside a linked group: the ordinary intake does not offer them."""
        return group_only(self.groups())

    def search(self, query: str) -> list[GroupSpec]:
        """Groups whose code or name (either language), accents ignored, holds ``query`` as a
        phrase (typed so far) or every word of it as a whole word: "khai tu" and "lien thong
        khai tu" find the death group, never the birth group's "khai sinh … tuoi"."""
        phrase = " ".join(fold(query).split())
        found = []
        for group in self.groups():
            text = " ".join(fold(f"{group.code} {group.name} {group.name_en} lien thong")
                            .split())
            if phrase in text or set(phrase.split()) <= set(re.findall(r"\w+", text)):
                found.append(group)
        return found

    def members(self, group_code: str, skipped: list[str] | None = None
                ) -> list[ProcedureInfo]:
        """The chosen members' procedures (current versions), in the group's order."""
        spec = self.group(group_code)
        with self.ctx.db.session() as session:
            return [_procedure(session, m.procedure) for m in spec.chosen(skipped or [])]

    def checklist(self, group_code: str, skipped: list[str] | None = None
                  ) -> list[CombinedItem]:
        """The papers to ask for, each once, for the chosen members."""
        spec = self.group(group_code)
        chosen = spec.chosen(skipped or [])
        infos = self.members(group_code, skipped)
        return combined_checklist(list(zip(chosen, [i.documents for i in infos], strict=True)))

    def preview_due(self, group_code: str, received_at: datetime | None = None) -> datetime:
        """The combined due time the slip would print if the group were accepted now."""
        return self.ctx.calendar.due_at(received_at or self.ctx.now(),
                                        self.group(group_code).time)

    # ---- accepting -----------------------------------------------------------------------
    def accept(self, actor: Actor, request: LinkedRequest) -> GroupView:
        """Create the group and its member dossiers in one transaction."""
        spec = self.group(request.group_code)
        chosen = spec.chosen(request.skipped)
        today = self.ctx.now().date()
        applicant = validate_applicant(request.applicant, today=today)
        subject = _subject(spec, request, today)
        owner = validate_owner(request.owner, today=today)
        items = self.checklist(spec.code, request.skipped)
        received = set(request.received)
        if received - set(range(len(items))):
            raise ValidationError("core.err.checklist_position", field="checklist",
                                  positions=", ".join(map(str, sorted(received))))
        check_decision(Decision.ACCEPT, reason="", missing_required=[
            i.name for n, i in enumerate(items) if i.required and n not in received])

        def work(session: Session) -> str:
            office = load_office(session)
            actor.require("desk", training=office.is_training)
            now = self.ctx.now()
            group = LinkedGroup(code=_allocate_group_code(session, office, now.date()),
                                group_code=spec.code, kind=spec.kind.value,
                                subject_name=subject[0], subject_date=subject[1],
                                received_at=now, due_at=self.ctx.calendar.due_at(now, spec.time),
                                received_by=actor.officer_id)
            session.add(group)
            session.flush()
            for position, member in enumerate(chosen):
                info = _procedure(session, member.procedure)
                entries = _entries(member.procedure, items, received)
                entries += [ChecklistEntry(p, True, note=t("linked.produced_note", lang="vi"))
                            for p in produced_positions(member, info.documents)]
                part = LinkedPart(group=group.code, kind=spec.kind.value,
                                  agency=member.agency.value, due_at=group.due_at)
                dossier = self.intake.record(
                    session, office, actor, info,
                    IntakeRequest(procedure_code=info.code, applicant=applicant,
                                  checklist=entries, owner=owner,
                                  channel=request.channel, delivery=request.delivery),
                    applicant, Decision.ACCEPT, linked=part).dossier
                assert dossier.id is not None
                session.add(LinkedMember(dossier_id=dossier.id, group_id=group.id or 0,
                                         position=position, agency=member.agency.value))
            audit(session, self.ctx, actor, "linked.accept", group.code,
                  detail=f"group={spec.code} members={len(chosen)}")
            return group.code

        return self.view(self.ctx.db.write(work))

    # ---- reading -------------------------------------------------------------------------
    def view(self, code: str) -> GroupView:
        with self.ctx.db.session() as session:
            group = session.exec(select(LinkedGroup).where(LinkedGroup.code == code)).first()
            if group is None:
                raise NotFound("linked.err.no_linked", code=code)
            return self._view(session, group)

    def group_of(self, dossier_code: str) -> GroupView | None:
        """The group a dossier belongs to, or None for an ordinary dossier."""
        with self.ctx.db.session() as session:
            group = session.exec(
                select(LinkedGroup).join(LinkedMember, LinkedMember.group_id == LinkedGroup.id)
                .join(Dossier, Dossier.id == LinkedMember.dossier_id)
                .where(Dossier.code == dossier_code)).first()
            return self._view(session, group) if group is not None else None

    def recent(self, limit: int = 50) -> list[GroupView]:
        """The latest groups received, newest first."""
        with self.ctx.db.session() as session:
            rows = session.exec(select(LinkedGroup).order_by(
                col(LinkedGroup.received_at).desc(), col(LinkedGroup.id).desc())
                .limit(limit)).all()
            return [self._view(session, g) for g in rows]

    def _view(self, session: Session, group: LinkedGroup) -> GroupView:
        rows = session.exec(
            select(LinkedMember, Dossier, ProcedureVersion.name)
            .join(Dossier, Dossier.id == LinkedMember.dossier_id)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .where(LinkedMember.group_id == group.id)
            .order_by(col(LinkedMember.position))).all()
        members = tuple(MemberView(code=d.code, procedure_code=d.procedure_code,
                                   procedure_name=name, agency=Agency(m.agency),
                                   status=d.status, due_at=d.due_at,
                                   result_back_at=d.result_back_at or d.ready_at)
                        for m, d, name in rows)
        return GroupView(code=group.code, spec=self.group(group.group_code),
                         subject_name=group.subject_name, subject_date=group.subject_date,
                         received_at=group.received_at, due_at=group.due_at,
                         received_by=group.received_by, members=members)


def _procedure(session: Session, code: str) -> ProcedureInfo:
    """A member's procedure as the catalogue holds it now; a clear error when the catalogue
    lacks it (a province's own catalogue without the police or insurance procedures)."""
    procedure = session.get(Procedure, code)
    if procedure is None or procedure.current_version_id is None or not procedure.active:
        raise ValidationError("linked.err.no_member_procedure", field="procedure", code=code)
    version = session.get(ProcedureVersion, procedure.current_version_id)
    assert version is not None
    return version_info(session, version)


def _entries(procedure: str, items: list[CombinedItem], received: set[int]
             ) -> list[ChecklistEntry]:
    """One member's ticks from the combined checklist: a shared paper ticked once counts for
    every member that asks for it."""
    return [ChecklistEntry(position, n in received)
            for n, item in enumerate(items)
            for code, position in item.holders if code == procedure]


def _subject(spec: GroupSpec, request: LinkedRequest, today: date) -> tuple[str, date]:
    """The child (born at most six years ago) or the deceased (died by today)."""
    errors: list[ValidationError] = []
    name = ""
    try:
        name = validate_full_name(request.subject_name, "subject_name")
    except ValidationError as err:
        errors.append(LinkedFieldError(err.key, field="subject_name", **err.params))
    day = request.subject_date
    if day is None:
        errors.append(LinkedFieldError("core.err.required", field="subject_date"))
    elif day > today:
        errors.append(ValidationError("linked.err.future_date", field="subject_date"))
    elif spec.kind == GroupKind.BIRTH and _years_between(day, today) >= CHILD_AGE_LIMIT_YEARS:
        errors.append(ValidationError("linked.err.child_age", field="subject_date",
                                      years=CHILD_AGE_LIMIT_YEARS))
    if errors:
        raise InvalidInput(errors)
    assert day is not None
    return name, day


def _years_between(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _allocate_group_code(session: Session, office: Office, day: date) -> str:
    """``LT-`` and the office's code pattern, numbered on a counter of its own (so dossier
    numbers keep no gaps); the device prefix keeps two desks' groups apart."""
    key = "linked:" + counter_key(office.code_pattern, office.agency_code,
                                  office.device_prefix, day)
    counter = session.get(CodeCounter, key) or CodeCounter(key=key, last_seq=0)
    counter.last_seq += 1
    session.add(counter)
    return GROUP_PREFIX + format_code(office.code_pattern, office.agency_code,
                                      office.device_prefix, day, counter.last_seq)
