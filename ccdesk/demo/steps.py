"""The steps of one demo dossier's life (intake, supplements, processing, extension,
return, rating), each applied through the real state machine only if its moment has come.

:class:`~ccdesk.demo.lifecycle.Simulator` draws the dossier and hands it here; the result is a
:class:`Played`, which :mod:`ccdesk.demo.bulk` stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from ccdesk.domain.catalog import FeeKind, Requirement
from ccdesk.domain.lifecycle import Action, Regime, Status, next_status
from ccdesk.services.catalog import ProcedureInfo

if TYPE_CHECKING:
    from ccdesk.demo.lifecycle import Simulator

PROVINCIAL_FEES = (10_000, 15_000, 20_000, 25_000, 30_000, 50_000)


@dataclass
class Played:
    """One simulated dossier and everything that belongs with it."""

    dossier: dict[str, Any]
    checklist: list[dict[str, Any]]
    events: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    supplements: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    rating: dict[str, Any] | None = None


class Life:
    """The steps of one dossier; each step is applied only if it happened by ``now``."""

    def __init__(self, sim: Simulator, played: Played, info: ProcedureInfo,
                 officer: int | None) -> None:
        self.sim, self.p, self.info, self.officer = sim, played, info, officer
        self.d = played.dossier
        self.rng = sim.rng

    def _event(self, action: Action, at: datetime, changes: dict[str, Any], *,
               reason: str = "", data: dict[str, Any] | None = None) -> bool:
        """Apply ``action`` at ``at`` if that moment has come; False stops the life here."""
        if at > self.sim.now:
            return False
        d = self.d
        before = Status(d["status"]) if d["status"] else None
        resume = Status(d["resume_status"]) if d["resume_status"] else None
        after = (next_status(before, action, self.sim.regime, resume_to=resume)
                 if action != Action.RATE else before)
        changes = dict(changes)
        if after is not None and after.value != d["status"]:
            changes["status"] = after.value
        d.update(changes)
        self.p.events.append({"at": at, "officer_id": self.officer, "action": action.value,
                              "from_status": before.value if before else None,
                              "to_status": d["status"], "reason": reason,
                              "data": data or {}})
        self.p.changes.append(changes)
        return True

    def _checklist(self, complete: bool) -> list[str]:
        """Copy the procedure's documents; an incomplete dossier misses one required paper."""
        required = [doc for doc in self.info.documents
                    if doc.requirement == Requirement.REQUIRED.value]
        missing = self.rng.choice(required).position if (not complete and required) else None
        for doc in self.info.documents:
            received = doc.requirement == Requirement.REQUIRED.value and doc.position != missing
            self.p.checklist.append({
                "position": doc.position, "name": doc.name, "form": doc.form,
                "quantity": doc.quantity, "requirement": doc.requirement,
                "condition": doc.condition, "received": received,
                "received_form": doc.form if received else "",
                "received_quantity": doc.quantity if received else 0, "note": ""})
        return [doc.name for doc in self.info.documents if doc.position == missing]

    def _fee(self) -> int:
        fee = self.info.fee
        entered = self.rng.choice(PROVINCIAL_FEES) if fee.kind == FeeKind.PROVINCIAL else None
        copies = self.rng.randint(1, 3)
        pages = self.rng.randint(1, 6)
        return fee.compute(copies=copies, pages=pages, entered=entered) or 0

    def _accept_changes(self, at: datetime) -> dict[str, Any]:
        due = self.sim._due(at, self.info, self.d["needs_verification"])
        return {"accepted_at": at, "due_at": due, "original_due_at": due}

    # ---- paths ---------------------------------------------------------------------------
    def intake(self, action: Action, at: datetime, reason: str = "") -> None:
        data: dict[str, Any] = {"procedure_version_id": self.info.version_id}
        if action == Action.ACCEPT:
            self._checklist(complete=True)
            changes = self._accept_changes(at) | {"fee_amount": self._fee()}
        elif action == Action.REQUEST_SUPPLEMENT:
            missing = self._checklist(complete=False) or ["Giấy tờ chứng minh"]
            items = [{"name": name, "reason": "Còn thiếu"} for name in missing]
            changes = {"paused_at": at, "supplement_rounds": 1}
            self.p.supplements.append({"round_no": 1, "requested_at": at,
                                       "requested_by": self.officer,
                                       "items": orjson.dumps(items).decode(), "note": "",
                                       "received_at": None})
            data["items"] = items
        else:
            self._checklist(complete=True)
            changes = {"closed_at": at}
        self._event(action, at, changes, reason=reason, data=data)

    def after_supplement_at_intake(self) -> None:
        rng, cal, d = self.rng, self.sim.calendar, self.d
        requested = d["received_at"]
        if rng.random() < 0.08:
            refused_on = cal.add_working_days(requested.date(), rng.randint(5, 12))
            at = self.sim._on_working_day(refused_on, requested)
            self._event(Action.REFUSE, at, {"closed_at": at, "paused_at": None},
                        reason="Không bổ sung hồ sơ theo yêu cầu")
            return
        if rng.random() < 0.04:
            at = self.sim._on_working_day(cal.add_working_days(requested.date(), 3), requested)
            self._event(Action.WITHDRAW, at, {"closed_at": at, "paused_at": None},
                        reason="Công dân rút hồ sơ")
            return
        back = self.sim._on_working_day(
            cal.add_working_days(requested.date(), rng.randint(1, 6)), requested)
        changes = self._accept_changes(back) | {"paused_at": None, "resume_status": None}
        if not self._event(Action.SUPPLEMENT_RECEIVED, back, changes,
                           data={"due_at": changes["due_at"].isoformat()}):
            return
        self.p.supplements[-1]["received_at"] = back
        for item in self.p.checklist:
            if item["requirement"] == Requirement.REQUIRED.value and not item["received"]:
                item.update(received=True, received_form=item["form"],
                            received_quantity=item["quantity"])
        self.process()

    def process(self) -> None:
        """From accepted to returned: start, hand-off, supplement, extension, ready, return."""
        rng, sim, cal, d = self.rng, self.sim, self.sim.calendar, self.d
        at = d["accepted_at"]
        same_day = d["due_at"].date() == at.date()
        if rng.random() < 0.012:
            when = sim._later(at, 60, 60 * 24 * 3)
            self._event(Action.WITHDRAW, when, {"closed_at": when}, reason="Công dân rút hồ sơ")
            return
        if not same_day:
            at = sim._later(at, 5, 90)
            if not self._event(Action.START, at, {}):
                return
            if self.info.handling_body != "desk":
                at = sim._later(at, 30, 60 * 24)
                if not self._event(Action.HAND_OFF, at, {"handed_off_at": at},
                                   data={"body": self.info.handling_body}):
                    return
            if rng.random() < 0.05 and not self._mid_supplement(at):
                return
            if self.regime_stops() and rng.random() < 0.005:
                when = sim._later(self._last_at(), 60, 60 * 24 * 2)
                self._event(Action.STOP, when, {"closed_at": when},
                            reason="Hồ sơ không đủ điều kiện giải quyết")
                return
        at = self._last_at()
        outcome = rng.random()
        due = d["due_at"]
        if outcome < 0.5 and not same_day and due.date() > at.date():
            # early: any working day from now up to the day before the due day
            days = cal.working_days_between(at.date(), due.date())
            ready_day = cal.add_working_days(at.date(), rng.randint(0, max(0, days - 1)))
        elif outcome < 0.95:
            ready_day = due.date()
        else:
            late_days = rng.randint(1, 8)
            ready_day = cal.add_working_days(due.date(), late_days)
            if not same_day and rng.random() < 0.3 and not self._extend(ready_day):
                return
        if self.info.handling_body != "desk" and d["handed_off_at"] is not None:
            back = sim._on_working_day(ready_day, self._last_at())
            if not self._event(Action.RESULT_BACK, back, {"result_back_at": back}):
                return
        ready = sim._on_working_day(ready_day, self._last_at())
        if ready_day == due.date() and ready > due:
            ready = max(self._last_at() + timedelta(minutes=1), due - timedelta(minutes=30))
        if not self._event(Action.MARK_READY, ready, {"ready_at": ready}):
            return
        if rng.random() < 0.93:  # collected soon after, the same day
            closing = datetime.combine(ready.date(), sim.hours.closing)
            returned = max(min(ready + timedelta(minutes=rng.randint(1, 45)), closing),
                           ready + timedelta(seconds=30))
        else:  # the citizen comes back days later
            returned = sim._later(ready, 60 * 18, 60 * 24 * 4)
        if returned.date() == due.date() and returned > due and ready <= due:
            returned = ready + (due - ready) / 2
        if not self._event(Action.RETURN_RESULT, returned,
                           {"returned_at": returned, "closed_at": returned},
                           data={"timeliness": _timeliness(d["due_at"], returned)}):
            return
        if rng.random() < 0.6:
            rated = returned + timedelta(minutes=rng.randint(1, 5))
            level = sim._pick(sim._ratings)
            if self._event(Action.RATE, rated, {}, data={"level": level}):
                self.p.rating = {"level": level, "officer_id": self.officer, "at": rated}

    def regime_stops(self) -> bool:
        return self.sim.regime == Regime.R2025

    def _last_at(self) -> datetime:
        return self.p.events[-1]["at"]

    def _mid_supplement(self, at: datetime) -> bool:
        """A supplement asked for during processing; the wait moves the due time."""
        sim, cal, d = self.sim, self.sim.calendar, self.d
        asked = sim._later(at, 30, 60 * 24)
        rounds = d["supplement_rounds"] + 1
        items = [{"name": "Bản sao giấy tờ bổ sung", "reason": "Thông tin chưa khớp"}]
        if not self._event(Action.REQUEST_SUPPLEMENT, asked,
                           {"paused_at": asked, "resume_status": d["status"],
                            "supplement_rounds": rounds},
                           reason="Cần bổ sung giấy tờ", data={"items": items,
                                                              "round": rounds}):
            return False
        self.p.supplements.append({"round_no": rounds, "requested_at": asked,
                                   "requested_by": self.officer,
                                   "items": orjson.dumps(items).decode(),
                                   "note": "Cần bổ sung giấy tờ", "received_at": None})
        back = sim._on_working_day(cal.add_working_days(asked.date(), self.rng.randint(1, 4)),
                                   asked)
        due = cal.shift_for_pause(d["due_at"], asked, back)
        if not self._event(Action.SUPPLEMENT_RECEIVED, back,
                           {"due_at": due, "paused_at": None, "resume_status": None},
                           data={"due_at": due.isoformat()}):
            return False
        self.p.supplements[-1]["received_at"] = back
        return True

    def _extend(self, ready_day: date) -> bool:
        """A Mẫu 04 apology letter moving the due time past the late return; usually sent
        before the due time, sometimes only after it has passed."""
        sim, d = self.sim, self.d
        old_due = d["due_at"]
        before_due = self.rng.random() < 0.7
        earliest = self._last_at()
        if before_due:
            day = sim.calendar.first_working_day_from(old_due.date())
            at = sim._on_working_day(day, earliest)
            at = min(at, old_due - timedelta(minutes=1)) if at > old_due else at
            if at <= earliest:
                at = earliest + timedelta(minutes=1)
        else:
            at = sim._on_working_day(sim.calendar.next_working_day(old_due.date()), earliest)
        new_due = datetime.combine(sim.calendar.add_working_days(ready_day, 1), old_due.time())
        seq = d["extensions"] + 1
        if not self._event(Action.EXTEND, at, {"due_at": new_due, "extensions": seq},
                           reason="Cơ quan giải quyết chưa trả kết quả",
                           data={"previous_due": old_due.isoformat(),
                                 "new_due": new_due.isoformat(),
                                 "late_body": self.info.handling_body, "seq": seq}):
            return False
        self.p.extensions.append({"seq": seq, "original_due": old_due, "new_due": new_due,
                                  "reason": "Cơ quan giải quyết chưa trả kết quả",
                                  "late_body": self.info.handling_body,
                                  "signer_id": self.officer, "at": at})
        return True


def _timeliness(due: datetime | None, returned: datetime) -> str:
    """The label DossierService writes on return_result (same rule, kept beside the data)."""
    from ccdesk.services.dossiers import timeliness

    return timeliness(due, returned)
