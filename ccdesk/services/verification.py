"""The queue of checklist items to confirm in a national database (Resolution 66.7/2025/NQ-CP;
docs/verification.md).

At intake the officer may mark a document the catalogue says a database holds as "verify in the
national database" instead of taking the paper; the item is queued here, in the intake's
transaction. When the desk is online ``ccdesk verify run`` asks the database (the runner:
``verification_run.py``) and each outcome is recorded here, in one transaction with its dossier
event, audit line and outbox row (``recording.record_event``), so it reaches the upstream like
any other change. An item the database could not confirm (``not_found``, ``mismatch``) owes the
citizen a supplement request for exactly that paper, made through the ordinary supplement flow
(``DossierService.act``) as soon as the dossier's state allows it; until then the desk lists it.

Nothing here holds or logs personal data: the queue names the dossier and the item, and the
dossier says whose record it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from ccdesk.domain.errors import InvalidInput, NotFound, ValidationError
from ccdesk.domain.lifecycle import Action, Regime, Status, allowed_actions
from ccdesk.domain.verification import Subject, age_minutes, check_mark, subject_of
from ccdesk.domain.vocabulary import FINAL_STATUSES, NationalRecord, VerificationState
from ccdesk.i18n import t
from ccdesk.models import (
    ChecklistItem,
    Dossier,
    ProcedureDocument,
    SupplementRound,
    Verification,
)
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.recording import audit, load_office, record_event

if TYPE_CHECKING:  # intake imports this module: its names only for the type checker
    from ccdesk.services.catalog import ProcedureInfo
    from ccdesk.services.intake import ChecklistEntry

# Who records outcomes and asks for supplements when the run is unattended (cron): the desk's
# own checker, acting with the desk's permission; its events carry no officer.
CHECKER = Actor(officer_id=None, username="national-check", role="officer")
# The language of what is written into the dossier (the supplement's reason prints on Mẫu 02).
RECORD_LANG = "vi"
FINAL_DOSSIER = tuple(s.value for s in FINAL_STATUSES)


@dataclass(frozen=True)
class Check:
    """One queued item and what the runner needs to ask the database about it."""

    id: int
    dossier_code: str
    position: int
    record: NationalRecord
    attempts: int
    subject: Subject


@dataclass(frozen=True)
class QueueRow:
    """One line of the desk's pending list (no personal data)."""

    dossier_code: str
    position: int
    document: str
    record: str
    state: str
    requested_at: datetime
    age_minutes: int
    attempts: int
    last_error: str
    supplement_round: int | None
    dossier_status: str

    @property
    def owes_supplement(self) -> bool:
        return VerificationState(self.state).needs_paper and self.supplement_round is None

    def to_json(self) -> dict[str, object]:
        return {"code": self.dossier_code, "position": self.position,
                "document": self.document, "record": self.record, "state": self.state,
                "requested_at": self.requested_at.isoformat(),
                "age_minutes": self.age_minutes, "attempts": self.attempts,
                "last_error": self.last_error, "supplement_round": self.supplement_round,
                "supplement_owed": self.owes_supplement}


@dataclass(frozen=True)
class ItemState:
    """An item's verification as the dossier screen shows it."""

    state: str
    record: str
    age_minutes: int              # since it was marked (pending) or checked (an outcome)
    attempts: int
    supplement_round: int | None


# ---- at intake (inside the intake's transaction) -----------------------------------------------
def marked_positions(entries: Iterable[ChecklistEntry],
                     items: Iterable[ChecklistItem]) -> set[int]:
    """Positions marked "verify" and not received on paper (a paper in hand needs no check)."""
    received = {i.position for i in items if i.received}
    return {e.position for e in entries if e.verify and e.position not in received}


def enqueue(session: Session, actor: Actor, info: ProcedureInfo, dossier: Dossier,
            positions: set[int], now: datetime) -> list[dict[str, object]]:
    """Queue the marked items of a new dossier; refuse (``InvalidInput`` at ``checklist``) an
    item no database holds, or any mark when the person's 12-digit ID number is unknown.
    Returns what the intake event records."""
    documents: dict[int, ProcedureDocument] = {d.position: d for d in info.documents}
    subject = dossier_subject(dossier)
    errors: list[ValidationError] = []
    queued: list[dict[str, object]] = []
    for position in sorted(positions):
        doc = documents.get(position)
        try:
            record = check_mark(doc.national_record if doc else "", subject, position=position)
        except ValidationError as err:
            errors.append(err)
            continue
        session.add(Verification(dossier_id=dossier.id, position=position, record=record.value,
                                 requested_at=now, next_attempt_at=now,
                                 officer_id=actor.officer_id))
        queued.append({"position": position, "record": record.value})
    if errors:
        raise errors[0] if len(errors) == 1 else InvalidInput(errors)
    return queued


def dossier_subject(dossier: Dossier) -> Subject:
    return subject_of(applicant_kind=dossier.applicant_kind,
                      applicant_name=dossier.applicant_name,
                      applicant_id_number=dossier.applicant_id_number,
                      applicant_id_type=dossier.applicant_id_type,
                      applicant_dob=dossier.applicant_dob, owner_name=dossier.owner_name,
                      owner_id_number=dossier.owner_id_number,
                      owner_id_type=dossier.owner_id_type)


class VerificationService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    # ---- reads (offline: the desk's own file) -----------------------------------------------
    def pending(self, limit: int = 500) -> list[QueueRow]:
        """What still waits: items not yet checked, and items the database could not confirm
        whose supplement request is still owed, on open dossiers, oldest first."""
        now = self.ctx.now()
        with self.ctx.db.session() as session:
            rows = session.exec(
                select(Verification, Dossier.code, Dossier.status, ChecklistItem.name)
                .join(Dossier, Dossier.id == Verification.dossier_id)
                .join(ChecklistItem, (ChecklistItem.dossier_id == Verification.dossier_id)
                      & (ChecklistItem.position == Verification.position))
                .where(col(Dossier.status).not_in(FINAL_DOSSIER))
                .where((Verification.state == VerificationState.PENDING.value)
                       | (col(Verification.state).in_(_NEEDS_PAPER)
                          & col(Verification.supplement_round).is_(None)
                          & ~col(ChecklistItem.received)))
                .order_by(Verification.requested_at, Verification.id).limit(limit)).all()
        return [QueueRow(dossier_code=code, position=v.position, document=name,
                         record=v.record, state=v.state, requested_at=v.requested_at,
                         age_minutes=age_minutes(v.requested_at, now), attempts=v.attempts,
                         last_error=v.last_error, supplement_round=v.supplement_round,
                         dossier_status=status) for v, code, status, name in rows]

    def count_pending(self) -> int:
        """How many items wait for the database (home's line)."""
        with self.ctx.db.session() as session:
            rows = session.exec(
                select(Verification.id).join(Dossier, Dossier.id == Verification.dossier_id)
                .where(Verification.state == VerificationState.PENDING.value)
                .where(col(Dossier.status).not_in(FINAL_DOSSIER))).all()
        return len(rows)

    def for_dossier(self, code: str) -> dict[int, ItemState]:
        """Each marked item's state, by position (the dossier screen)."""
        now = self.ctx.now()
        with self.ctx.db.session() as session:
            rows = session.exec(select(Verification).join(
                Dossier, Dossier.id == Verification.dossier_id)
                .where(Dossier.code == code.strip())).all()
        return {v.position: ItemState(v.state, v.record,
                                      age_minutes(v.checked_at or v.requested_at, now),
                                      v.attempts, v.supplement_round) for v in rows}

    # ---- the runner's side -----------------------------------------------------------------
    def due(self, limit: int = 100) -> list[Check]:
        """Pending items whose next attempt is due, on open dossiers; items of dossiers closed
        meanwhile are cancelled (nothing left to confirm)."""
        now = self.ctx.now()
        self._cancel_closed(now)
        with self.ctx.db.session() as session:
            rows = session.exec(
                select(Verification, Dossier).join(Dossier, Dossier.id == Verification.dossier_id)
                .where(Verification.state == VerificationState.PENDING.value)
                .where(Verification.next_attempt_at <= now)
                .order_by(Verification.next_attempt_at, Verification.id).limit(limit)).all()
        return [Check(v.id, d.code, v.position, NationalRecord(v.record), v.attempts,
                      dossier_subject(d)) for v, d in rows]

    def next_due_at(self) -> datetime | None:
        with self.ctx.db.session() as session:
            return session.exec(select(Verification.next_attempt_at)
                                .where(Verification.state == VerificationState.PENDING.value)
                                .order_by(Verification.next_attempt_at).limit(1)).first()

    def record_failure(self, check_id: int, kind: str, next_at: datetime) -> None:
        """The database could not be reached or did not answer: try again at ``next_at``.
        ``kind`` is a short name (``timeout``, ``http_503``…), never a reply's content."""
        def work(session: Session) -> None:
            row = session.get(Verification, check_id)
            if row is None or row.state != VerificationState.PENDING.value:
                return
            row.attempts += 1
            row.last_error, row.next_attempt_at = kind[:40], next_at
            session.add(row)

        self.ctx.db.write(work)

    def record_outcome(self, check_id: int, state: VerificationState,
                       reference: str = "") -> bool:
        """The database's definite answer: the item's new state, its dossier event (synced
        upstream through the outbox) and audit line, in one transaction. Returns False when
        the item was already decided (a second runner). An item that needs its paper is then
        asked for by :meth:`request_owed_supplements` (the runner calls it at once)."""
        if state == VerificationState.PENDING:
            raise ValueError("an outcome is final")

        def work(session: Session) -> bool:
            row = session.get(Verification, check_id)
            if row is None or row.state != VerificationState.PENDING.value:
                return False
            office = load_office(session)
            dossier = session.get(Dossier, row.dossier_id)
            assert dossier is not None
            row.state, row.checked_at, row.reference = state.value, self.ctx.now(), reference
            row.last_error = ""
            session.add(row)
            item = _item(session, row)
            record_event(session, self.ctx, CHECKER, office, dossier,
                         Action.NATIONAL_CHECK.value, from_status=dossier.status, changes={},
                         reason=f"{item.name}: {state.label(RECORD_LANG)}",
                         data={"position": row.position, "record": row.record,
                               "outcome": state.value, "reference": reference,
                               "attempts": row.attempts + 1})
            return True

        return self.ctx.db.write(work)

    def request_owed_supplements(self) -> list[str]:
        """Ask for the paper of every item the database could not confirm, through the ordinary
        supplement flow (round, Mẫu 02, event), one request per dossier with exactly its failed
        items, as soon as the dossier's state allows a request. Each request and the link of its
        items to the round are one transaction, checked again inside it, so two runs at once
        never ask twice. Returns the dossiers asked."""
        asked = []
        for code in self._owed_dossiers():
            if self.ctx.db.write(lambda session, code=code: self._request(session, code)):
                asked.append(code)
        return asked

    # ---- helpers -----------------------------------------------------------------------------
    def _owed_dossiers(self) -> list[str]:
        """Dossiers owing a request whose state allows one now (the rest wait, listed)."""
        with self.ctx.db.session() as session:
            return list(dict.fromkeys(session.exec(
                _owed_query(Dossier.code).where(col(Dossier.status).in_(_ASKABLE))).all()))

    def _request(self, session: Session, code: str) -> bool:
        from ccdesk.services.dossiers import DossierService, check_action_input
        from ccdesk.services.intake import MissingItem

        rows = session.exec(_owed_query(Verification, ChecklistItem.name, Dossier)
                            .where(Dossier.code == code)).all()
        if not rows:
            return False   # asked by another run meanwhile, or the paper arrived
        dossier = rows[0][2]
        if Action.REQUEST_SUPPLEMENT not in allowed_actions(Status(dossier.status),
                                                           Regime(dossier.regime)):
            return False   # owed: listed on the desk until the state allows it
        items = [MissingItem(name=name, reason=t(f"verification.record.reason_{row.state}",
                                                 lang=RECORD_LANG)) for row, name, _ in rows]
        note = t("verification.record.supplement_note", lang=RECORD_LANG)
        check_action_input(Action.REQUEST_SUPPLEMENT, reason=note, items=items)
        result = DossierService(self.ctx).act_in(session, CHECKER, code,
                                                 Action.REQUEST_SUPPLEMENT, items=items,
                                                 reason=note)
        round_no = result.dossier.supplement_rounds
        for row, _, _ in rows:
            row.supplement_round = round_no
            session.add(row)
        # The paper (Mẫu 02) names who guides the citizen: the officer who marked the item,
        # as the checker is no one to call.
        asked = session.exec(select(SupplementRound).where(
            SupplementRound.dossier_id == dossier.id,
            SupplementRound.round_no == round_no)).first()
        marked_by = next((row.officer_id for row, _, _ in rows if row.officer_id), None)
        if asked is not None and asked.requested_by is None and marked_by is not None:
            asked.requested_by = marked_by
            session.add(asked)
        return True

    def _cancel_closed(self, now: datetime) -> None:
        """A dossier refused, stopped, withdrawn or returned before its check: nothing is
        checked any more; the audit says so (no event: nothing happened to the dossier)."""
        def work(session: Session) -> None:
            rows = session.exec(
                select(Verification, Dossier.code)
                .join(Dossier, Dossier.id == Verification.dossier_id)
                .where(Verification.state == VerificationState.PENDING.value)
                .where(col(Dossier.status).in_(FINAL_DOSSIER))).all()
            for row, code in rows:
                row.state, row.checked_at = VerificationState.CANCELLED.value, now
                session.add(row)
                audit(session, self.ctx, CHECKER, "verification.cancelled", code,
                      detail=f"position={row.position}")

        self.ctx.db.write(work)


_NEEDS_PAPER = tuple(s.value for s in VerificationState if s.needs_paper)
# The states a supplement can be requested from (in any regime: the table is the same).
_ASKABLE = tuple(s.value for s in Status
                 if Action.REQUEST_SUPPLEMENT in allowed_actions(s, Regime.R2025))


def _owed_query(*columns: Any) -> Any:
    """Items the database could not confirm, not yet in a supplement round, whose paper was not
    received meanwhile, on open dossiers."""
    return (select(*columns).select_from(Verification)
            .join(Dossier, Dossier.id == Verification.dossier_id)
            .join(ChecklistItem, (ChecklistItem.dossier_id == Verification.dossier_id)
                  & (ChecklistItem.position == Verification.position))
            .where(col(Verification.state).in_(_NEEDS_PAPER))
            .where(col(Verification.supplement_round).is_(None))
            .where(~col(ChecklistItem.received))
            .where(col(Dossier.status).not_in(FINAL_DOSSIER))
            .order_by(Verification.dossier_id, Verification.position))


def age_text(minutes: int) -> str:
    """How long an item has waited, in the unit a person reads: minutes, hours, then days."""
    if minutes < 120:
        return t("verification.age.minutes", n=minutes)
    if minutes < 48 * 60:
        return t("verification.age.hours", n=minutes // 60)
    return t("verification.age.days", n=minutes // (24 * 60))


def _item(session: Session, row: Verification) -> ChecklistItem:
    item = session.exec(select(ChecklistItem).where(
        ChecklistItem.dossier_id == row.dossier_id,
        ChecklistItem.position == row.position)).first()
    if item is None:
        raise NotFound("core.err.no_dossier", code=str(row.dossier_id))
    return item
