"""Everything that happens to a dossier after intake, each action one transaction with its event.

Supplement waits do not count against the desk: when the supplement arrives, the due time moves by
the working days spent waiting (or, for a dossier never accepted, the clock starts then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, select

from ccdesk.domain.bodies import is_own_unit
from ccdesk.domain.errors import InvalidInput, NotFound, ValidationError
from ccdesk.domain.lifecycle import SUPPLEMENT_WARN_ROUND, Action, Regime, Status, next_status
from ccdesk.domain.validation import clean_text
from ccdesk.domain.vocabulary import RatingLevel, RatingSource
from ccdesk.models import (
    ChecklistItem,
    Dossier,
    DossierEvent,
    Extension,
    ProcedureVersion,
    Rating,
    SupplementRound,
)
from ccdesk.services import numbering
from ccdesk.services.catalog import version_info
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.intake import MissingItem
from ccdesk.services.recording import load_office, record_event

RATINGS = RatingLevel.values()
# A refusal states its reason (Mẫu 03 prints it: Decree 118/2025 art. 15), as do the others.
REASON_REQUIRED = frozenset({Action.STOP, Action.WITHDRAW, Action.EXTEND,
                             Action.REQUEST_SUPPLEMENT, Action.REFUSE})
# The permission an action needs (``context.PERMISSIONS``); every other action needs "desk".
ACTION_PERMISSION = {Action.EXTEND: "extend"}


def check_action_input(action: Action, *, reason: str = "", body: str = "",
                       new_due: datetime | None = None,
                       items: list[MissingItem] | None = None,
                       due_at: datetime | None = None, handling_body: str | None = None,
                       now: datetime | None = None) -> None:
    """Everything wrong with what was entered for ``action``, each at its field (``InvalidInput``).

    The dossier form asks this while the officer types, and ``act`` again before writing
    (``due_at``, ``handling_body`` and ``now`` are the dossier's, when known)."""
    errors: list[ValidationError] = []

    def check(fn, *args, **kwargs) -> None:  # noqa: ANN001 - a checker and its arguments
        try:
            fn(*args, **kwargs)
        except ValidationError as err:
            errors.append(err)

    required = action in REASON_REQUIRED and not (action == Action.REQUEST_SUPPLEMENT and items)
    check(clean_text, reason, "reason", required=required)
    check(clean_text, body, "body")
    if (action == Action.HAND_OFF and handling_body is not None and not body.strip()
            and handling_body in ("", "desk")):
        errors.append(ValidationError("core.err.required", field="body"))
    if action == Action.EXTEND and (new_due is None or (due_at is not None and new_due <= due_at)
                                    or (now is not None and new_due <= now)):
        errors.append(ValidationError("core.err.new_due", field="new_due"))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidInput(errors)


@dataclass(frozen=True)
class ActionResult:
    dossier: Dossier
    event: DossierEvent
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DossierDetail:
    dossier: Dossier
    checklist: list[ChecklistItem]
    events: list[DossierEvent]
    supplements: list[SupplementRound]
    extensions: list[Extension]
    rating: Rating | None


class DossierService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    # ---- reads -------------------------------------------------------------------------
    def detail(self, code: str) -> DossierDetail:
        with self.ctx.db.session() as session:
            dossier = _by_code(session, code)

            def rows(model: Any, order: Any) -> list:
                return list(session.exec(select(model).where(model.dossier_id == dossier.id)
                                         .order_by(order)).all())

            return DossierDetail(
                dossier=dossier,
                checklist=rows(ChecklistItem, ChecklistItem.position),
                events=rows(DossierEvent, DossierEvent.id),
                supplements=rows(SupplementRound, SupplementRound.round_no),
                extensions=rows(Extension, Extension.seq),
                rating=session.get(Rating, dossier.id))

    def procedure_of(self, dossier: Dossier):  # noqa: ANN201 - ProcedureInfo
        """The procedure version the dossier was received under (never the current one)."""
        with self.ctx.db.session() as session:
            return version_info(session, session.get(ProcedureVersion,
                                                     dossier.procedure_version_id))

    def allowed_actions(self, dossier: Dossier, actor: Actor | None = None, *,
                        training: bool = False) -> list[Action]:
        """What the dossier's state allows; with ``actor``, only what their role may do."""
        from ccdesk.domain.lifecycle import allowed_actions

        return [a for a in allowed_actions(Status(dossier.status), Regime(dossier.regime))
                if actor is None
                or actor.can(ACTION_PERMISSION.get(a, "desk"), training=training)]

    # ---- actions -----------------------------------------------------------------------
    def act(self, actor: Actor, code: str, action: Action, *, reason: str = "",
            body: str = "", new_due: datetime | None = None, late_body: str = "",
            items: list[MissingItem] | None = None,
            received_positions: list[int] | None = None,
            fee_amount: int | None = None) -> ActionResult:
        """Apply one lifecycle action; illegal ones raise ``TransitionError``.

        ``fee_amount`` sets the fee when a supplement completes a dossier that was never
        accepted (a provincial rate entered at acceptance, or a corrected amount).
        """
        if fee_amount is not None and fee_amount < 0:
            raise ValidationError("core.err.range", field="fee_amount", low=0, high="∞")
        check_action_input(action, reason=reason, body=body, new_due=new_due, items=items)
        reason, body = clean_text(reason, "reason"), clean_text(body, "body")
        return self.ctx.db.write(lambda session: self.act_in(
            session, actor, code, action, reason=reason, body=body, new_due=new_due,
            late_body=late_body, items=items, received_positions=received_positions,
            fee_amount=fee_amount))

    def act_in(self, session: Session, actor: Actor, code: str, action: Action, *,
               reason: str = "", body: str = "", new_due: datetime | None = None,
               late_body: str = "", items: list[MissingItem] | None = None,
               received_positions: list[int] | None = None,
               fee_amount: int | None = None) -> ActionResult:
        """:meth:`act` inside the caller's transaction (input already checked), for a service
        that records more in the same transaction (ccdesk/services/verification.py)."""
        office = load_office(session)
        actor.require(ACTION_PERMISSION.get(action, "desk"), training=office.is_training)
        dossier = _by_code(session, code)
        before = dossier.model_dump()
        now = self.ctx.now()
        status = Status(dossier.status)
        target = next_status(status, action, Regime(dossier.regime),
                             resume_to=Status(dossier.resume_status)
                             if dossier.resume_status else None)
        data: dict[str, Any] = {}
        warnings = self._apply(session, actor, dossier, action, now, data, reason=reason,
                               body=body, new_due=new_due, late_body=late_body,
                               items=items or [], received_positions=received_positions,
                               fee_amount=fee_amount)
        dossier.status = target.value
        dossier.updated_at = now
        session.add(dossier)
        session.flush()
        after = dossier.model_dump()
        changes = {k: v for k, v in after.items() if before.get(k) != v}
        event = record_event(session, self.ctx, actor, office, dossier, action.value,
                             from_status=status.value, changes=changes, reason=reason,
                             data=data)
        return ActionResult(dossier, event, tuple(warnings))

    def _apply(self, session: Session, actor: Actor, d: Dossier, action: Action, now: datetime,
               data: dict[str, Any], *, reason: str, body: str, new_due: datetime | None,
               late_body: str, items: list[MissingItem],
               received_positions: list[int] | None, fee_amount: int | None) -> list[str]:
        warnings = action_warnings(d, action)  # judged before the round is counted
        if action == Action.REQUEST_SUPPLEMENT:
            d.supplement_rounds += 1
            d.paused_at, d.resume_status = now, d.status
            wanted = [{"name": clean_text(i.name, "note", required=True),
                       "reason": clean_text(i.reason, "reason")} for i in items]
            session.add(SupplementRound(dossier_id=d.id, round_no=d.supplement_rounds,
                                        requested_at=now, requested_by=actor.officer_id,
                                        items=orjson.dumps(wanted).decode(), note=reason))
            data.update(items=wanted, round=d.supplement_rounds)
        elif action == Action.SUPPLEMENT_RECEIVED:
            self._supplement_received(session, d, now, data, received_positions, fee_amount)
        elif action == Action.HAND_OFF:
            d.handling_body = body or d.handling_body
            if not d.handling_body or d.handling_body == "desk":
                raise ValidationError("core.err.required", field="body")
            d.handed_off_at = now
            data["body"] = d.handling_body
        elif action == Action.RESULT_BACK:
            d.result_back_at = now
        elif action == Action.MARK_READY:
            d.ready_at = now
        elif action == Action.RETURN_RESULT:
            d.returned_at = d.closed_at = now
            data["timeliness"] = timeliness(d.due_at, now)
        elif action == Action.EXTEND:
            self._extend(session, actor, d, now, data, reason, new_due, late_body)
        elif action in (Action.STOP, Action.WITHDRAW):
            d.closed_at = now
            # The stop notice (Mẫu 05) answering it is an outgoing letter of the unit.
            numbering.issue(session, numbering.Book.LETTER, d.id, action.value, now)
        return warnings

    def _supplement_received(self, session: Session, d: Dossier, now: datetime,
                             data: dict[str, Any], positions: list[int] | None,
                             fee_amount: int | None) -> None:
        current = session.exec(select(SupplementRound).where(
            SupplementRound.dossier_id == d.id, SupplementRound.received_at.is_(None))
            .order_by(SupplementRound.round_no.desc())).first()
        if current is not None:
            current.received_at = now
            session.add(current)
        for item in session.exec(select(ChecklistItem).where(ChecklistItem.dossier_id == d.id)):
            if positions is not None and item.position in positions and not item.received:
                item.received, item.received_form = True, item.form
                item.received_quantity = item.quantity
                session.add(item)
        if d.due_at is None:  # never accepted: the statutory time starts now
            info = version_info(session, session.get(ProcedureVersion, d.procedure_version_id))
            d.accepted_at = now
            numbering.issue(session, numbering.Book.REGISTER, d.id, "accept", now)
            d.due_at = self.ctx.calendar.due_at(now, info.time, d.needs_verification)
            d.original_due_at = d.due_at
            if fee_amount is not None:
                d.fee_amount = fee_amount
        else:
            d.due_at = self.ctx.calendar.shift_for_pause(d.due_at, d.paused_at or now, now)
        data["due_at"] = d.due_at.isoformat()
        d.paused_at, d.resume_status = None, None

    def _extend(self, session: Session, actor: Actor, d: Dossier, now: datetime,
                data: dict[str, Any], reason: str, new_due: datetime | None,
                late_body: str) -> None:
        if new_due is None or d.due_at is None or new_due <= d.due_at:
            raise ValidationError("core.err.new_due", field="new_due")
        d.extensions += 1
        session.add(Extension(dossier_id=d.id, seq=d.extensions, original_due=d.due_at,
                              new_due=new_due, reason=reason,
                              late_body=clean_text(late_body, "body"),
                              signer_id=actor.officer_id, at=now))
        if d.regime == Regime.R2018.value or is_own_unit(late_body):
            # Under Circular 03/2025 the apology comes from the body that caused the delay,
            # which numbers it in its own book; the unit numbers only the letters it issues.
            numbering.issue(session, numbering.Book.LETTER, d.id,
                            numbering.extension_ref(d.extensions), now)
        data.update(previous_due=d.due_at.isoformat(), new_due=new_due.isoformat(),
                    late_body=late_body, seq=d.extensions)
        d.due_at = new_due

    def rate(self, actor: Actor, code: str, level: str,
             source: RatingSource = RatingSource.OFFICER) -> Rating:
        """The citizen's satisfaction after the result is returned (one rating per dossier);
        ``source``: the citizen gave it, or the officer recorded it (the fallback)."""
        if level not in RATINGS:
            raise ValidationError("core.err.choice", field="rating", allowed=", ".join(RATINGS))
        return self.ctx.db.write(lambda session: self.record_rating(
            session, actor, _by_code(session, code), level, RatingSource(source)))

    def record_rating(self, session: Session, actor: Actor, dossier: Dossier, level: str,
                      source: RatingSource) -> Rating:
        """Write one rating and its event inside ``session`` (also used by the rating page)."""
        office = load_office(session)
        actor.require("desk", training=office.is_training)
        if dossier.status != Status.RETURNED.value:
            raise ValidationError("core.err.rate_not_returned", field="rating")
        if session.get(Rating, dossier.id) is not None:
            raise ValidationError("core.err.rated_already", field="rating")
        rating = Rating(dossier_id=dossier.id, level=level, officer_id=actor.officer_id,
                        at=self.ctx.now(), source=source.value)
        session.add(rating)
        record_event(session, self.ctx, actor, office, dossier, Action.RATE.value,
                     from_status=dossier.status, changes={},
                     data={"level": level, "source": source.value})
        return rating

    def record_reprint(self, actor: Actor, code: str, form: str) -> None:
        """A reprint gives the same document; the event records that it was printed again."""
        def work(session: Session) -> None:
            office = load_office(session)
            dossier = _by_code(session, code)
            record_event(session, self.ctx, actor, office, dossier, Action.REPRINT.value,
                         from_status=dossier.status, changes={}, data={"form": form})

        self.ctx.db.write(work)


def action_warnings(dossier: Dossier, action: Action) -> list[str]:
    """What recording ``action`` on ``dossier`` warns of (message keys): shown in the action's
    form before it is recorded, and returned again in ``ActionResult.warnings``. A second
    supplement request for the same dossier (Decree 63/2010 art. 20: ask for all at once)."""
    if (action == Action.REQUEST_SUPPLEMENT
            and dossier.supplement_rounds + 1 >= SUPPLEMENT_WARN_ROUND):
        return ["core.warn.supplement_round"]
    return []


def timeliness(due: datetime | None, returned: datetime) -> str:
    """early (trước hạn) / on_time (đúng hạn) / late (quá hạn), judged by calendar day."""
    if due is None:
        return "on_time"
    if returned.date() < due.date():
        return "early"
    return "on_time" if returned <= due else "late"


def _by_code(session: Session, code: str) -> Dossier:
    dossier = session.exec(select(Dossier).where(Dossier.code == code.strip())).first()
    if dossier is None:
        raise NotFound("core.err.no_dossier", code=code)
    return dossier
