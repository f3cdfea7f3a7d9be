"""Realistic sample data for training sandboxes, demos and benchmarks (``ccdesk demo seed``).

Every dossier is played through the real state machine (:func:`next_status`) on the office's
working-day calendar, so statuses, events, checklists, supplement rounds, extensions (Mẫu 04) and
ratings agree with one another and with what the services would have written. Nothing is dated
after "now": a lifecycle whose next step lies in the future simply stops there, which is what
leaves open, waiting and overdue dossiers at the end.

Rows go in through SQLAlchemy Core ``executemany`` inside one ``BEGIN IMMEDIATE`` transaction
(perf-notes: ORM sessions cost ~2.4 ms per intake, far too slow for a million dossiers).

Outbox rows: a training sandbox never gets any (sync.md). A demo database that is not a training
sandbox gets one row per change, exactly as real intake would write, because demo databases are
what sync tests and benchmarks push to ``--accept-demo`` upstreams; benchmarks that only measure
search may turn them off with ``outbox=False``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import operator
import random
import time as wallclock
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Date, DateTime, func, select, text
from sqlmodel import Session

from ccdesk.domain.calendar import TimeKind, WorkCalendar
from ccdesk.domain.catalog import FeeKind, Requirement
from ccdesk.domain.codes import counter_key, format_code
from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.lifecycle import Action, Regime, Status, next_status
from ccdesk.domain.reports import ValidationError
from ccdesk.domain.validation import CCCD_PROVINCES
from ccdesk.ids import uuid7
from ccdesk.models import (
    AuditLog,
    ChecklistItem,
    CodeCounter,
    Dossier,
    DossierEvent,
    Extension,
    Office,
    Officer,
    Outbox,
    Procedure,
    ProcedureVersion,
    Rating,
    SupplementRound,
)
from ccdesk.services import numbering
from ccdesk.services.catalog import BUNDLED_CATALOG, ProcedureInfo, version_info
from ccdesk.services.context import SYSTEM
from ccdesk.storage.outbox import PRIVATE_COLUMNS, canonical_json, utcnow
from ccdesk.text import fold

if TYPE_CHECKING:
    from ccdesk.services import Services

MAX_DOSSIERS = 5_000_000
CHUNK = 5_000

# Family names by their share of the population (approximate published frequencies; "Hoàng /
# Huỳnh" and "Vũ / Võ" are one name written differently in the North and the South).
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 3.0),
    ("Huỳnh", 2.1), ("Phan", 4.5), ("Vũ", 2.0), ("Võ", 1.9), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.9),
    ("Trương", 0.9), ("Đào", 0.6), ("Mai", 0.5), ("Lương", 0.5), ("Lâm", 0.4), ("Hà", 0.5),
    ("Tạ", 0.3), ("Cao", 0.3), ("Chu", 0.3), ("Trịnh", 0.6), ("Quách", 0.2), ("Kiều", 0.1),
)
MIDDLE_MALE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Xuân",
               "Ngọc", "Tuấn", "Đình", "Trọng")
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Phương", "Kim",
                 "Bảo", "Diệu", "Thùy")
GIVEN_MALE = ("Anh", "Hùng", "Dũng", "Cường", "Hải", "Long", "Nam", "Quân", "Sơn", "Tuấn",
              "Việt", "Đức", "Thắng", "Hòa", "Hoà", "Khoa", "Phúc", "Tài", "Trung", "Huy",
              "Đạt", "Bình", "Khánh", "Lộc", "Toàn", "Thịnh", "Hiếu", "Đông")
GIVEN_FEMALE = ("Hoa", "Lan", "Hương", "Mai", "Linh", "Trang", "Thảo", "Ngọc", "Hà", "Hằng",
                "Nhung", "Yến", "Vy", "Hòa", "Oanh", "Dung", "Thủy", "Tuyết", "Nga", "Hạnh",
                "Huyền", "Quỳnh", "Ánh", "Loan", "Đào", "Nhi")
# Mobile prefixes in use (Viettel, Vinaphone, MobiFone, Vietnamobile, Gmobile).
MOBILE_PREFIXES = ("032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077",
                   "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090",
                   "091", "093", "094", "096", "097", "098", "056", "058", "059")
HAMLETS = ("Thôn Đông", "Thôn Tây", "Thôn Trung", "Thôn Hạ", "Xóm Mới", "Thôn Đồng Tâm",
           "Thôn An Phú", "Khu phố 1", "Khu phố 2", "Tổ dân phố 3", "Ấp Bình Lợi")

# How often each procedure is asked for at a commune desk: certification and civil status lead.
PROCEDURE_WEIGHTS = {"2.000815": 30, "2.000884": 8, "1.001193": 12, "2.000635": 10,
                     "1.004873": 8, "1.000656": 4, "1.000894": 4, "1.004859": 3,
                     "1.004884": 2, "2.000908": 3, "1.012783": 3}
OTHER_PROCEDURE_WEIGHT = 1.5
CHANNELS = (("direct", 68), ("postal", 4), ("online_full", 12), ("online_partial", 16))
RATINGS = (("very_satisfied", 55), ("satisfied", 40), ("dissatisfied", 5))
PROVINCIAL_FEES = (10_000, 15_000, 20_000, 25_000, 30_000, 50_000)

DEMO_OFFICE = {"governing_body": "UBND XÃ AN BÌNH", "unit_name":
               "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "place_name": "An Bình",
               "agency_code": "000.00.00.H99"}


class RealDataPresent(CcdeskError):
    """The database holds real dossiers: seeding would mix invented people into them."""


@dataclass(frozen=True)
class SeedReport:
    """What one ``seed_demo`` run wrote."""

    dossiers: int
    events: int
    checklist_items: int
    ratings: int
    extensions: int
    supplement_rounds: int
    outbox_rows: int
    first_day: date
    last_day: date
    seconds: float
    by_status: dict[str, int] = field(default_factory=dict)


def seed_demo(services: Services, dossiers: int, days: int = 90, seed: int | None = None,
              force: bool = False, outbox: bool | None = None) -> SeedReport:
    """Fill the database with ``dossiers`` invented dossiers received over the last ``days`` days.

    Refuses (``RealDataPresent``) a database that already holds dossiers of a real desk unless
    ``force``; adds to an existing demo database freely. Marks the office as demo data.
    ``outbox=None`` writes outbox rows unless the database is a training sandbox.
    """
    if not 1 <= dossiers <= MAX_DOSSIERS:
        raise ValidationError("reports.err.range", field="dossiers", low=1, high=MAX_DOSSIERS)
    if not 1 <= days <= 3660:
        raise ValidationError("reports.err.range", field="days", low=1, high=3660)
    started = wallclock.perf_counter()
    _ensure_catalog(services)
    ctx = services.ctx
    rng = random.Random(seed)
    now = ctx.now()

    def work(session: Session) -> SeedReport:
        office = session.get(Office, 1)
        real = session.execute(select(func.count()).select_from(Dossier)).scalar_one()
        if real and not office.is_demo and not force:
            raise RealDataPresent("reports.err.real_data", count=real)
        for key, value in DEMO_OFFICE.items():
            if not getattr(office, key):
                setattr(office, key, value)
        office.is_demo = True
        session.add(office)
        session.flush()
        write_outbox = (not office.is_training) if outbox is None else (
            outbox and not office.is_training)
        sim = _Simulator(rng, ctx.calendar, now, _procedures(session), _officer_ids(session),
                         office)
        writer = _BulkWriter(session, office, write_outbox)
        times = _receipt_times(rng, ctx.calendar, now, days, dossiers)
        for chunk in _chunks(times, CHUNK):
            writer.write([sim.play(at) for at in chunk])
        writer.finish()
        numbering.number_unnumbered(session)
        session.add(AuditLog(at=utcnow(), officer_username=SYSTEM.username, action="demo.seed",
                             terminal=ctx.terminal,
                             detail=f"dossiers={dossiers} days={days} outbox={write_outbox}"))
        return SeedReport(dossiers=dossiers, events=writer.counts["events"],
                          checklist_items=writer.counts["checklist"],
                          ratings=writer.counts["ratings"],
                          extensions=writer.counts["extensions"],
                          supplement_rounds=writer.counts["supplements"],
                          outbox_rows=writer.counts["outbox"], first_day=times[0].date(),
                          last_day=times[-1].date(),
                          seconds=round(wallclock.perf_counter() - started, 2),
                          by_status=dict(sorted(writer.by_status.items())))

    return ctx.db.write(work)


def _ensure_catalog(services: Services) -> None:
    """Demo data uses the bundled catalogue when the database has none yet."""
    if services.catalog.count() == 0:
        services.catalog.import_file(BUNDLED_CATALOG, SYSTEM)


def _procedures(session: Session) -> list[ProcedureInfo]:
    rows = session.execute(select(Procedure).where(Procedure.active)
                           .where(Procedure.current_version_id.is_not(None))
                           .order_by(Procedure.code)).scalars().all()
    return [version_info(session, session.get(ProcedureVersion, p.current_version_id))
            for p in rows]


def _officer_ids(session: Session) -> list[int | None]:
    ids = session.execute(select(Officer.id).where(Officer.active).where(
        Officer.role.in_(("officer", "lead", "trainer")))).scalars().all()
    # No officer yet (a fresh sandbox): demo officers are not invented, because the first
    # officer of a database is the one set-up creates; dossiers then have no receiving officer.
    return list(ids) or [None]


def _receipt_times(rng: random.Random, calendar: WorkCalendar, now: datetime, days: int,
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


def _chunks(items: Sequence[datetime], size: int) -> Iterator[Sequence[datetime]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _weighted(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values = [v for v, _ in pairs]
    cumulative = list(itertools.accumulate(w for _, w in pairs))
    return values, cumulative


@dataclass
class _Played:
    """One simulated dossier and everything that belongs with it."""

    dossier: dict[str, Any]
    checklist: list[dict[str, Any]]
    events: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    supplements: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    rating: dict[str, Any] | None = None


class _Simulator:
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
        self._family = _weighted(FAMILY_NAMES)
        self._channels = _weighted(CHANNELS)
        self._ratings = _weighted(RATINGS)
        self._due_cache: dict[tuple, datetime] = {}

    # ---- random helpers ------------------------------------------------------------------
    def _pick(self, weighted: tuple[list[Any], list[float]]) -> Any:
        values, cumulative = weighted
        return values[bisect.bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _person(self) -> tuple[str, str, date]:
        rng = self.rng
        female = rng.random() < 0.52
        family = self._pick(self._family)
        middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        name = f"{family} {middle} {given}" if rng.random() < 0.93 else f"{family} {given}"
        year = rng.randint(max(1935, self.now.year - 85), self.now.year - 16)
        born = date(year, rng.randint(1, 12), rng.randint(1, 28))
        century_digit = (0 if year < 2000 else 2) + (1 if female else 0)
        province = rng.choice(_PROVINCES)
        number = f"{province}{century_digit}{year % 100:02d}{rng.randrange(1_000_000):06d}"
        return name, number, born

    def _phone(self) -> str:
        if self.rng.random() < 0.15:
            return ""
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10_000_000):07d}"

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
    def play(self, received: datetime) -> _Played:
        rng = self.rng
        info = self.procedures[bisect.bisect(self._proc_cum, rng.random() * self._proc_cum[-1])]
        name, number, born = self._person()
        officer = rng.choice(self.officers)
        channel = self._pick(self._channels)
        verify = info.time.verification_days > 0 and rng.random() < 0.2
        d: dict[str, Any] = {
            "procedure_version_id": info.version_id, "procedure_code": info.code,
            "field": info.field, "regime": self.regime.value, "applicant_name": name,
            "applicant_id_number": number, "applicant_id_type": "cccd", "applicant_dob": born,
            "applicant_phone": self._phone(), "applicant_email": "",
            "applicant_address": f"{rng.choice(HAMLETS)}, xã An Bình", "owner_name": "",
            "owner_address": "", "channel": channel, "sets": 1, "needs_verification": verify,
            "received_at": received, "accepted_at": None, "due_at": None,
            "original_due_at": None, "status": None, "paused_at": None, "resume_status": None,
            "supplement_rounds": 0, "handling_body": info.handling_body, "handed_off_at": None,
            "result_back_at": None, "ready_at": None, "returned_at": None, "closed_at": None,
            "delivery": "post" if channel == "postal" else (
                "online" if channel == "online_full" else "desk"),
            "fee_amount": 0, "received_by": officer, "extensions": 0, "updated_at": received,
        }
        played = _Played(dossier=d, checklist=[], events=[], changes=[])
        life = _Life(self, played, info, officer)
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


_PROVINCES = tuple(sorted(CCCD_PROVINCES))


class _Life:
    """The steps of one dossier; each step is applied only if it happened by ``now``."""

    def __init__(self, sim: _Simulator, played: _Played, info: ProcedureInfo,
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


_SNAPSHOT_COLUMNS = tuple(c.name for c in Dossier.__table__.columns
                          if c.name not in PRIVATE_COLUMNS)


class _BulkWriter:
    """Numbers the played dossiers and writes them with Core ``executemany``."""

    def __init__(self, session: Session, office: Office, outbox: bool) -> None:
        self.session, self.office, self.outbox = session, office, outbox
        self.conn = session.connection()
        self.next_id = (self.conn.execute(select(func.max(Dossier.id))).scalar() or 0) + 1
        self.counters = {row.key: row.last_seq for row in
                         self.conn.execute(select(CodeCounter.key, CodeCounter.last_seq))}
        self.touched: set[str] = set()
        self.counts = dict.fromkeys(("events", "checklist", "ratings", "extensions",
                                     "supplements", "outbox"), 0)
        self.by_status: dict[str, int] = {}

    def _code(self, day: date) -> str:
        o = self.office
        key = counter_key(o.code_pattern, o.agency_code, o.device_prefix, day)
        seq = self.counters.get(key, 0) + 1
        self.counters[key] = seq
        self.touched.add(key)
        return format_code(o.code_pattern, o.agency_code, o.device_prefix, day, seq)

    def write(self, played: list[_Played]) -> None:
        dossiers, items, events, rounds, exts, ratings, outbox = [], [], [], [], [], [], []
        for p in played:
            d = p.dossier
            d["id"] = self.next_id
            self.next_id += 1
            d["code"] = self._code(d["received_at"].date())
            d["search_text"] = fold(" ".join(filter(None, (
                d["code"], d["applicant_name"], d["owner_name"], d["applicant_id_number"],
                d["applicant_phone"]))))
            dossiers.append(d)
            self.by_status[d["status"]] = self.by_status.get(d["status"], 0) + 1
            items += [item | {"dossier_id": d["id"]} for item in p.checklist]
            for event in p.events:
                events.append(event | {"dossier_id": d["id"],
                                       "data": canonical_json(event["data"]).decode()})
            rounds += [r | {"dossier_id": d["id"]} for r in p.supplements]
            exts += [e | {"dossier_id": d["id"]} for e in p.extensions]
            if p.rating:
                ratings.append(p.rating | {"dossier_id": d["id"]})
            if self.outbox:
                outbox += _outbox_rows(p)
        for model, rows, name in ((Dossier, dossiers, None), (ChecklistItem, items, "checklist"),
                                  (DossierEvent, events, "events"),
                                  (SupplementRound, rounds, "supplements"),
                                  (Extension, exts, "extensions"), (Rating, ratings, "ratings"),
                                  (Outbox, outbox, "outbox")):
            if rows:
                _insert_many(self.conn, model.__table__, rows)
                if name:
                    self.counts[name] += len(rows)

    def finish(self) -> None:
        """Move the day counters past the numbers used, so real intake never reuses a code."""
        rows = [{"key": k, "last_seq": self.counters[k]} for k in sorted(self.touched)]
        if rows:
            self.conn.execute(text(
                "INSERT INTO codecounter(key, last_seq) VALUES (:key, :last_seq) "
                "ON CONFLICT(key) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)"),
                rows)


def _insert_many(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """One driver-level ``executemany``: SQLAlchemy's per-row parameter processing costs more
    than SQLite's insert itself at a million rows. Values are stored as SQLAlchemy's SQLite
    types store them, so the ORM reads these rows back as its own: datetimes as
    ``YYYY-MM-DD HH:MM:SS.ffffff``, dates ISO, booleans 0/1."""
    columns = list(rows[0])
    types = {c.name: c.type for c in table.columns}
    stamps = [i for i, c in enumerate(columns) if isinstance(types[c], (DateTime, Date))]
    get = operator.itemgetter(*columns)
    values = []
    for row in rows:
        item = list(get(row))
        for i in stamps:
            if item[i] is not None:
                item[i] = (item[i].isoformat(" ", "microseconds")
                           if isinstance(item[i], datetime) else item[i].isoformat())
        values.append(tuple(item))
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    conn.exec_driver_sql(sql, values)


def _outbox_rows(p: _Played) -> list[dict[str, Any]]:
    """The rows real intake and actions would have written (payload contract in outbox.py)."""
    d = p.dossier
    rows = []
    created = {k: d[k] for k in _SNAPSHOT_COLUMNS}
    created.update(p.changes[0])  # snapshot at intake: later changes are separate mutations
    for key in _later_keys(p):
        created[key] = _intake_value(p, key)
    created["updated_at"] = p.events[0]["at"]
    for i, event in enumerate(p.events):
        event_payload = {"action": event["action"], "at": event["at"],
                         "from_status": event["from_status"], "to_status": event["to_status"],
                         "reason": event["reason"], "data": event["data"],
                         "officer": "demo"}
        if i == 0:
            op, payload = "dossier.create", {
                "dossier": created, "checklist": [
                    {k: v for k, v in item.items() if k not in ("id", "dossier_id")}
                    for item in p.checklist],
                "event": event_payload}
        else:
            op, payload = "dossier.event", {"code": d["code"], "event": event_payload,
                                            "changes": p.changes[i]}
        blob = canonical_json(payload)
        rows.append({"mutation_id": uuid7(), "entity": "dossier", "entity_id": d["code"],
                     "op": op, "payload": blob.decode(),
                     "payload_sha256": hashlib.sha256(blob).hexdigest(),
                     "changed_fields": orjson.dumps(sorted(p.changes[i])).decode(),
                     "client_time": event["at"], "state": "pending", "attempts": 0,
                     "last_error": ""})
    return rows


_INTAKE_DEFAULTS = {"accepted_at": None, "due_at": None, "original_due_at": None,
                    "paused_at": None, "resume_status": None, "supplement_rounds": 0,
                    "handed_off_at": None, "result_back_at": None, "ready_at": None,
                    "returned_at": None, "closed_at": None, "fee_amount": 0, "extensions": 0}


def _later_keys(p: _Played) -> set[str]:
    keys: set[str] = set()
    for changes in p.changes[1:]:
        keys.update(changes)
    return keys - set(p.changes[0])


def _intake_value(p: _Played, key: str) -> Any:
    if key == "status":
        return p.events[0]["to_status"]
    if key == "updated_at":
        return p.events[0]["at"]
    return _INTAKE_DEFAULTS.get(key, p.dossier[key])
