"""The lifecycle simulator of demo data: when dossiers arrive, and what happens to each.

Every dossier is played through the real state machine (:func:`next_status`) on the office's
working-day calendar, so statuses, events, checklists, supplement rounds, extensions (Mẫu 04)
and ratings agree with one another and with what the services would have written. Nothing is
dated after "now": a lifecycle whose next step lies in the future simply stops there, which is
what leaves open, waiting and overdue dossiers at the end. Times are the desk's local time.
"""

from __future__ import annotations

import bisect
import itertools
import random
from datetime import date, datetime, time, timedelta
from typing import Any

from ccdesk.demo.parties import add_parties
from ccdesk.demo.people import People, Weighted, pick, weighted
from ccdesk.demo.steps import Life, Played
from ccdesk.domain.calendar import TimeKind, WorkCalendar
from ccdesk.domain.lifecycle import Action, Regime
from ccdesk.models import Office
from ccdesk.services.catalog import ProcedureInfo

# How often each procedure is asked for at a commune desk: certification and civil status lead.
PROCEDURE_WEIGHTS = {"2.000815": 30, "2.000884": 8, "1.001193": 12, "2.000635": 10,
                     "1.004873": 8, "1.000656": 4, "1.000894": 4, "1.004859": 3,
                     "1.004884": 2, "2.000908": 3, "1.012783": 3,
                     # other agencies' procedures, received only inside a linked group
                     # (docs/linked.md): never drawn alone
                     "1.004222": 0, "1.004194": 0, "1.004181": 0, "1.004252": 0}
OTHER_PROCEDURE_WEIGHT = 1.5
CHANNELS = (("direct", 68), ("postal", 4), ("online_full", 12), ("online_partial", 16))
RATINGS = (("very_satisfied", 55), ("satisfied", 40), ("dissatisfied", 5))



def receipt_times(rng: random.Random, calendar: WorkCalendar, now: datetime, days: int,
                   count: int) -> list[datetime]:
    """``count`` receipt times on working days of the last ``days`` days, sorted, none future.

    Mornings are busier than afternoons; each working day gets a similar share.
    """
    hours = calendar.hours
    today = now.date()
    opened = datetime.combine(today, hours.opening) + timedelta(minutes=5)
    working = [d for d in (today - timedelta(days=i) for i in range(days - 1, -1, -1))
               if calendar.is_working_day(d) and (d < today or now > opened)]
    if not working:  # e.g. --days 1 on a Sunday: use the last working day before
        day = today - timedelta(days=1)
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
        working = [day]
    slots = [(hours.morning_start, hours.morning_end, 0.6),
             (hours.afternoon_start, hours.afternoon_end, 0.4)]
    out: list[datetime] = []
    for _ in range(count):
        day = working[rng.randrange(len(working))]
        start, end, _ = slots[0] if rng.random() < slots[0][2] else slots[1]
        span = _seconds(end) - _seconds(start)
        at = datetime.combine(day, start) + timedelta(seconds=rng.randrange(span))
        if at > now:  # today, later than now: move it into the morning that has passed
            at = max(datetime.combine(day, hours.opening), now - timedelta(
                seconds=rng.randrange(max(1, _seconds(now.time()) - _seconds(hours.opening)))))
        out.append(at)
    out.sort()
    return out


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class Simulator:
    """Plays one dossier's life from intake up to ``now`` through the real state machine."""

    def __init__(self, rng: random.Random, calendar: WorkCalendar, now: datetime,
                 procedures: list[ProcedureInfo], officers: list[int | None],
                 office: Office) -> None:
        self.rng, self.calendar, self.now = rng, calendar, now
        self.hours = calendar.hours
        self.officers = officers
        self.regime = Regime(office.regime)
        weights = [PROCEDURE_WEIGHTS.get(p.code, OTHER_PROCEDURE_WEIGHT) for p in procedures]
        self.procedures, self._proc_cum = procedures, list(itertools.accumulate(weights))
        self.people = People(rng, now.year)
        self._channels = weighted(CHANNELS)
        self._ratings = weighted(RATINGS)
        self._due_cache: dict[tuple, datetime] = {}

    # ---- random helpers ------------------------------------------------------------------
    def _pick(self, choices: Weighted) -> Any:
        return pick(self.rng, choices)

    def _later(self, at: datetime, min_minutes: int, max_minutes: int) -> datetime:
        """A moment a few minutes to hours after ``at``, inside office hours."""
        moved = at + timedelta(minutes=self.rng.randint(min_minutes, max_minutes))
        return self._in_hours(moved)

    def _in_hours(self, at: datetime) -> datetime:
        if self.calendar.is_working_day(at.date()) and (
                self.hours.opening <= at.time() <= self.hours.closing):
            return at
        day = at.date() if (self.calendar.is_working_day(at.date())
                            and at.time() < self.hours.opening) else (
            self.calendar.next_working_day(at.date()))
        return datetime.combine(day, self.hours.opening) + timedelta(
            minutes=self.rng.randint(0, 90))

    def _on_working_day(self, day: date, earliest: datetime) -> datetime:
        """A time during office hours on ``day``, not before ``earliest``."""
        start = datetime.combine(day, self.hours.opening)
        end = datetime.combine(day, self.hours.closing)
        start = max(start, earliest + timedelta(minutes=1))
        if start >= end:
            return earliest + timedelta(minutes=self.rng.randint(1, 30))
        return start + timedelta(seconds=self.rng.randrange(int((end - start).total_seconds())))

    def _due(self, at: datetime, info: ProcedureInfo, verify: bool) -> datetime:
        same_day = info.time.kind == TimeKind.SAME_DAY and info.time.total_days(verify) == 0
        key = (at.date(), info.time, verify, at.time() <= self.hours.same_day_cutoff
               if same_day else None)
        due = self._due_cache.get(key)
        if due is None:
            due = self.calendar.due_at(at, info.time, verify)
            self._due_cache[key] = due
        return due if same_day else datetime.combine(due.date(), at.time())

    # ---- one dossier ---------------------------------------------------------------------
    def play(self, received: datetime) -> Played:
        rng = self.rng
        info = self.procedures[bisect.bisect(self._proc_cum, rng.random() * self._proc_cum[-1])]
        name, number, born = self.people.person()
        officer = rng.choice(self.officers)
        channel = self._pick(self._channels)
        verify = info.time.verification_days > 0 and rng.random() < 0.2
        d: dict[str, Any] = {
            "procedure_version_id": info.version_id, "procedure_code": info.code,
            "field": info.field, "regime": self.regime.value, "applicant_name": name,
            "applicant_id_number": number, "applicant_id_type": "cccd", "applicant_dob": born,
            "applicant_phone": self.people.phone(), "applicant_email": "",
            "applicant_address": self.people.address(), "applicant_old_id": "",
            # the CCCD number's century-and-sex digit: odd is female (no extra random draw)
            "applicant_sex": "female" if int(number[3]) % 2 else "male",
            "applicant_id_issued": None, "applicant_kind": "citizen", "owner_name": "",
            "owner_address": "", "owner_id_type": "cccd", "owner_id_number": "",
            "owner_tax_code": "", "authorisation": "", "party2_name": "",
            "party2_id_type": "cccd", "party2_id_number": "", "party2_dob": None,
            "channel": channel, "sets": 1, "needs_verification": verify,
            "received_at": received, "accepted_at": None, "due_at": None,
            "original_due_at": None, "status": None, "paused_at": None, "resume_status": None,
            "supplement_rounds": 0, "handling_body": info.handling_body, "handed_off_at": None,
            "result_back_at": None, "ready_at": None, "returned_at": None, "closed_at": None,
            "delivery": "post" if channel == "postal" else (
                "online" if channel == "online_full" else "desk"),
            "fee_amount": 0, "received_by": officer, "extensions": 0, "updated_at": received,
            "portal_code": "",   # demo dossiers are desk intakes
        }
        add_parties(d, info, self.now.year)
        played = Played(dossier=d, checklist=[], events=[], changes=[])
        life = Life(self, played, info, officer)
        roll = rng.random()
        if roll < 0.025:
            life.intake(Action.REFUSE, received, reason="Hồ sơ không thuộc thẩm quyền")
        elif roll < 0.11:
            life.intake(Action.REQUEST_SUPPLEMENT, received)
            life.after_supplement_at_intake()
        else:
            life.intake(Action.ACCEPT, received)
            life.process()
        d["updated_at"] = played.events[-1]["at"]
        return played
