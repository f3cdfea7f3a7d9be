"""Random dossier lives for the property tests: one script of events gives both the domain's
view (:class:`DossierFacts` with its history) and the rows the services would have written
(dossier, events, extensions), so the SQL report can be checked against the pure rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from ccdesk.domain.reports import CHANNELS, DossierFacts, ExtensionFacts, Step

BASE = datetime(2026, 1, 5, 7, 30)
PROCEDURES = ("1.001193", "2.000815", "1.004873")


@dataclass
class Event:
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Life:
    """A dossier's row as it is after the events so far, and those events."""

    code: str
    regime: str
    channel: str
    received_at: datetime
    row: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    extensions: list[ExtensionFacts] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)   # the row after each event

    def record(self, at: datetime, action: str, to_status: str, **changes: Any) -> None:
        data = changes.pop("data", {})
        self.events.append(Event(at, action, self.row.get("status"), to_status, data))
        self.row.update(changes, status=to_status, updated_at=at)
        self.steps.append(Step(at, to_status, self.row.get("due_at")))
        self.rows.append(dict(self.row))

    def until(self, now: datetime) -> Life | None:
        """The dossier as it stood at ``now`` (later events have not happened yet); None if
        it had not been received."""
        count = sum(1 for e in self.events if e.at <= now)
        if count == 0:
            return None
        return replace(self, row=dict(self.rows[count - 1]), events=self.events[:count],
                       steps=self.steps[:count], rows=self.rows[:count],
                       extensions=[e for e in self.extensions if e.at <= now])

    def facts(self) -> DossierFacts:
        r = self.row
        return DossierFacts(
            status=r["status"], channel=self.channel, received_at=self.received_at,
            accepted_at=r.get("accepted_at"), due_at=r.get("due_at"),
            closed_at=r.get("closed_at"), paused_at=r.get("paused_at"),
            supplement_rounds=r.get("supplement_rounds", 0), regime=self.regime,
            extensions=tuple(self.extensions), ready_at=r.get("ready_at"),
            history=tuple(self.steps))


minutes = st.integers(min_value=0, max_value=60 * 24 * 8)
near = st.one_of(st.sampled_from((0, -1, 1, -60 * 24, 60 * 24)),
                 st.integers(-60 * 24 * 6, 60 * 24 * 6))


@st.composite
def lives(draw: st.DrawFn) -> Life:
    """Intake (accept, supplement slip or refusal), then a random walk through the lifecycle:
    supplements mid-way, extensions before or after the due time, stops, withdrawals, results
    ready and collected on the day or much later."""
    received = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 90)))
    life = Life(code=draw(st.sampled_from(PROCEDURES)),
                regime=draw(st.sampled_from(("2025", "2018"))),
                channel=draw(st.sampled_from(CHANNELS)), received_at=received)
    at = received

    def later() -> datetime:
        return at + timedelta(minutes=draw(minutes))

    def accept(when: datetime, action: str, **extra: Any) -> None:
        due = when + timedelta(minutes=draw(st.integers(1, 60 * 24 * 10)))
        life.record(when, action, "received", accepted_at=when, due_at=due,
                    original_due_at=due, paused_at=None, **extra)

    first = draw(st.sampled_from(("accept", "accept", "accept", "supplement", "refuse")))
    if first == "refuse":
        life.record(at, "refuse", "refused", closed_at=at)
        return life
    if first == "supplement":
        life.record(at, "request_supplement", "waiting_supplement", paused_at=at,
                    supplement_rounds=1)
    else:
        accept(at, "accept")
    for _ in range(draw(st.integers(0, 6))):
        status = life.row["status"]
        if status in ("returned", "stopped", "withdrawn", "refused"):
            break
        at = later()
        choices = {
            "received": ("start", "mark_ready", "supplement", "extend", "stop", "withdraw"),
            "in_progress": ("mark_ready", "supplement", "extend", "stop", "withdraw"),
            "waiting_supplement": ("supplement_received", "supplement_received", "refuse",
                                   "withdraw", "stop"),
            "result_ready": ("return", "return", "withdraw"),
        }[status]
        action = draw(st.sampled_from(choices))
        if action == "stop" and life.regime != "2025":
            action = "withdraw"
        if action == "start":
            life.record(at, "start", "in_progress")
        elif action == "mark_ready":
            life.record(at, "mark_ready", "result_ready", ready_at=at)
        elif action == "return":
            # on the day, or days later: the pick-up never changes the outcome
            life.record(at, "return_result", "returned", returned_at=at, closed_at=at)
        elif action == "supplement":
            rounds = life.row.get("supplement_rounds", 0) + 1
            life.record(at, "request_supplement", "waiting_supplement", paused_at=at,
                        resume_status=status, supplement_rounds=rounds)
        elif action == "supplement_received":
            if life.row.get("due_at") is None:
                due = at + timedelta(minutes=draw(st.integers(1, 60 * 24 * 10)))
                life.record(at, "supplement_received", "received", accepted_at=at, due_at=due,
                            original_due_at=due, paused_at=None,
                            data={"due_at": due.isoformat()})
            else:
                paused = life.row["paused_at"]
                due = life.row["due_at"] + (at - paused)
                back_to = life.row.get("resume_status") or "received"
                life.record(at, "supplement_received", back_to, due_at=due, paused_at=None,
                            resume_status=None, data={"due_at": due.isoformat()})
        elif action == "extend":
            old = life.row["due_at"]
            at = max(at, old + timedelta(minutes=draw(near)))
            new_due = old + timedelta(minutes=draw(st.integers(1, 60 * 24 * 10)))
            seq = len(life.extensions) + 1
            life.extensions.append(ExtensionFacts(seq, at, old, new_due))
            life.record(at, "extend", status, due_at=new_due, extensions=seq,
                        data={"previous_due": old.isoformat(), "new_due": new_due.isoformat(),
                              "seq": seq})
        elif action in ("stop", "withdraw", "refuse"):
            to = {"stop": "stopped", "withdraw": "withdrawn", "refuse": "refused"}[action]
            life.record(at, action, to, closed_at=at, paused_at=None)
    return life
