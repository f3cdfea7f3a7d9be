"""Working days and due times (docs/calendar.md; docs/design/domain-rules.md, working days).

A working day is Monday-Friday minus public holidays and official days off, plus make-up working
Saturdays, from three layers, each above the one before:

1. the ``holidays`` package: Labour Code holidays, lunar dates estimated, some known swaps;
2. the official schedule (``domain/official_calendar.py``): the days each year's announcements
   decided, each with its document; a newer edition can be imported without a release;
3. the office's own ``calendar.toml``.

A day off or make-up day that no official text confirms yet is *provisional* (``status``): the
due time still counts it as the package says, and the officer is told before printing.

Due-time rules:

* **Office hours**: a dossier received outside office hours (before opening, during the lunch
  break, after closing, on a non-working day) counts as received at the next opening, so a due
  time is always inside office hours (docs/calendar.md gives the legal basis).
* **Same-day procedures**: due the same day at closing time; counted as received after the
  cut-off (15:00) → due at closing time of the next working day.
* **N working days**: the same clock time (of the counted receipt) on the N-th working day.
* Verification days, when the procedure needs verification, are added to N.
* Waiting for the citizen's supplement does not count: the due time moves by the number of
  working days spent waiting (see ``shift_for_pause``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.official_calendar import OfficialSchedule, bundled_schedule
from ccdesk.domain.tomlsource import TomlLocator
from ccdesk.i18n import t
from ccdesk.text import nfc


class TimeKind(StrEnum):
    SAME_DAY = "same_day"
    WORKING_DAYS = "working_days"


@dataclass(frozen=True)
class TimeRule:
    """How long a procedure may take (the statutory processing time)."""

    kind: TimeKind
    days: int = 0
    verification_days: int = 0

    def total_days(self, needs_verification: bool) -> int:
        return self.days + (self.verification_days if needs_verification else 0)


@dataclass(frozen=True)
class OfficeHours:
    morning_start: time = time(7, 30)
    morning_end: time = time(11, 30)
    afternoon_start: time = time(13, 30)
    afternoon_end: time = time(17, 0)
    same_day_cutoff: time = time(15, 0)

    @property
    def opening(self) -> time:
        return self.morning_start

    @property
    def closing(self) -> time:
        return self.afternoon_end

    def is_open(self, at: time) -> bool:
        return (self.morning_start <= at < self.morning_end
                or self.afternoon_start <= at < self.afternoon_end)


@dataclass(frozen=True)
class SpecialDay:
    day: date
    name: str


@dataclass
class CalendarOverrides:
    """The office's own corrections: extra days off and make-up working days."""

    days_off: list[SpecialDay] = field(default_factory=list)
    working_days: list[SpecialDay] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> CalendarOverrides:
        """Read ``calendar.toml``; a missing file means no overrides."""
        if not path.exists():
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("core.err.toml_syntax", file=str(path),
                                  detail=type(exc).__name__) from exc
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, source: str = "calendar.toml") -> CalendarOverrides:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError("core.err.toml_syntax", file=source, detail=str(exc)) from exc
        locator = TomlLocator(text)
        result = cls()
        seen: dict[date, str] = {}
        for section in ("days_off", "working_days"):
            entries = data.get(section, [])
            if not isinstance(entries, list):
                raise ValidationError("core.err.calendar_list", file=source,
                                      line=locator.line_of((section,)) or 1, section=section)
            for index, entry in enumerate(entries):
                day = _special_day(entry, source, locator, (section, index))
                if day.day in seen:
                    raise ValidationError("core.err.calendar_twice", file=source,
                                          line=locator.line_of((section, index)) or 1,
                                          date=day.day.isoformat())
                seen[day.day] = section
                getattr(result, section).append(day)
        return result


def _special_day(entry: object, source: str, locator: TomlLocator,
                 path: tuple[str | int, ...]) -> SpecialDay:
    line = locator.line_of(path) or 1
    if not isinstance(entry, dict):
        raise ValidationError("core.err.calendar_entry", file=source, line=line)
    value = entry.get("date")
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError("core.err.calendar_date", file=source,
                              line=locator.line_of(path + ("date",)) or line)
    name = entry.get("name", "")
    if not isinstance(name, str) or not nfc(name):
        raise ValidationError("core.err.calendar_name", file=source,
                              line=locator.line_of(path + ("name",)) or line)
    return SpecialDay(value, nfc(name))


class DaySource(StrEnum):
    PACKAGE = "package"      # the holidays package (Labour Code, lunar estimate)
    OFFICIAL = "official"    # the official schedule, with its document
    OFFICE = "office"        # the office's own calendar.toml


# Labour Code 45/2019/QH14 art. 112 fixes these solar dates: no announcement is needed for them.
FIXED_HOLIDAYS = frozenset({(1, 1), (4, 30), (5, 1), (9, 2)})
LABOUR_CODE = "Bộ luật Lao động 45/2019/QH14, Điều 112"


@dataclass(frozen=True)
class DayStatus:
    """What the calendar says about one day that is not an ordinary weekday or weekend."""

    day: date
    working: bool
    name: str
    source: DaySource
    document: str = ""
    issued: date | None = None
    provisional: bool = False
    reason: str = ""


@dataclass(frozen=True)
class DueTime:
    """A due time and the provisional days between the receipt and it (to tell the officer)."""

    at: datetime
    provisional: tuple[DayStatus, ...] = ()


_BUNDLED = object()


class WorkCalendar:
    """Answers "is this a working day?" and computes due times."""

    def __init__(self, overrides: CalendarOverrides | None = None,
                 hours: OfficeHours | None = None, language: str = "vi",
                 official: OfficialSchedule | None | object = _BUNDLED) -> None:
        self.overrides = overrides or CalendarOverrides()
        self.hours = hours or OfficeHours()
        self.language = language
        self.official: OfficialSchedule | None = (
            bundled_schedule() if official is _BUNDLED else official)  # type: ignore[assignment]
        self._official_days = self.official.by_day if self.official else {}
        self._years: dict[int, tuple[dict[date, str], set[date]]] = {}

    @cached_property
    def _extra_off(self) -> dict[date, str]:
        return {d.day: d.name for d in self.overrides.days_off}

    @cached_property
    def _extra_work(self) -> dict[date, str]:
        return {d.day: d.name for d in self.overrides.working_days}

    def _year(self, year: int) -> tuple[dict[date, str], set[date]]:
        cached = self._years.get(year)
        if cached is None:
            import holidays  # deferred: ~40 ms of import the desk does not need at start

            national = holidays.country_holidays("VN", years=year, language=self.language)
            workdays = {d for d in getattr(national, "weekend_workdays", set()) if d.year == year}
            cached = (dict(national.items()), workdays)
            self._years[year] = cached
        return cached

    def is_working_day(self, day: date) -> bool:
        if day in self._extra_work:
            return True
        if day in self._extra_off:
            return False
        official = self._official_days.get(day)
        if official is not None:
            return official.working
        national, makeup = self._year(day.year)
        if day in makeup:
            return True
        return day.weekday() < 5 and day not in national

    def status(self, day: date, default_name: str = "") -> DayStatus | None:
        """Why ``day`` is a day off on a weekday or a working day at the weekend, from which
        layer, and whether an official text confirms it; ``None`` for an ordinary day."""
        weekend = day.weekday() >= 5
        if day in self._extra_work or day in self._extra_off:
            working = day in self._extra_work
            if working != weekend:
                return None
            name = self._extra_work.get(day) or self._extra_off.get(day, "")
            return DayStatus(day, working, name, DaySource.OFFICE)
        official = self._official_days.get(day)
        if official is not None:
            if official.working != weekend:
                return None
            return DayStatus(day, official.working, official.name, DaySource.OFFICIAL,
                             official.document, official.issued)
        national, makeup = self._year(day.year)
        if weekend and day in makeup:
            return self._package_day(day, True, default_name)
        if not weekend and day in national:
            return self._package_day(day, False, national[day])
        return None

    def _package_day(self, day: date, working: bool, name: str) -> DayStatus:
        if self.official is not None and self.official.announced(day.year):
            reason = t("core.official_calendar.reason_unlisted", lang=self.language,
                       year=day.year)
            return DayStatus(day, working, name, DaySource.PACKAGE, provisional=True,
                             reason=reason)
        if not working and (day.month, day.day) in FIXED_HOLIDAYS:
            return DayStatus(day, working, name, DaySource.PACKAGE, LABOUR_CODE)
        reason = t("core.official_calendar.reason_unannounced", lang=self.language,
                   year=day.year)
        return DayStatus(day, working, name, DaySource.PACKAGE, provisional=True, reason=reason)

    def special_days(self, year: int, default_name: str = "") -> list[DayStatus]:
        """Every weekday off and every weekend working day of ``year``, from all layers."""
        national, makeup = self._year(year)
        candidates = set(national) | makeup | set(self._extra_off) | set(self._extra_work)
        candidates |= {d for d in self._official_days if d.year == year}
        found = (self.status(d, default_name) for d in sorted(candidates) if d.year == year)
        return [s for s in found if s is not None]

    def days_off(self, year: int) -> list[SpecialDay]:
        """Public holidays, substitute days and other days off that fall on weekdays."""
        return [SpecialDay(s.day, s.name) for s in self.special_days(year) if not s.working]

    def make_up_days(self, year: int, default_name: str = "") -> list[SpecialDay]:
        """Weekend days that are working days (make-up Saturdays)."""
        return [SpecialDay(s.day, s.name) for s in self.special_days(year, default_name)
                if s.working]

    def provisional_between(self, start: date, end: date) -> tuple[DayStatus, ...]:
        """The provisional days in ``[start, end]``: a due time across them may still move."""
        found, day = [], start
        while day <= end:
            status = self.status(day)
            if status is not None and status.provisional:
                found.append(status)
            day += timedelta(days=1)
        return tuple(found)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def first_working_day_from(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``count == 0`` gives ``day``)."""
        if count < 0:
            raise ValueError("count must not be negative")
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall in ``(start, end]``."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def counted_receipt(self, received: datetime) -> datetime:
        """When a receipt counts as received: as it is inside office hours on a working day,
        otherwise the next opening (before opening → opening; lunch break → the afternoon's
        opening; after closing or on a day off → the next working day's opening)."""
        hours, day, at = self.hours, received.date(), received.time()
        if self.is_working_day(day):
            if at < hours.morning_start:
                return datetime.combine(day, hours.morning_start)
            if hours.is_open(at):
                return received
            if at < hours.afternoon_start:
                return datetime.combine(day, hours.afternoon_start)
        return datetime.combine(self.next_working_day(day), hours.morning_start)

    def due_at(self, received: datetime, rule: TimeRule,
               needs_verification: bool = False) -> datetime:
        """When the result is due for a dossier received at ``received``."""
        counted = self.counted_receipt(received)
        days = rule.total_days(needs_verification)
        if rule.kind == TimeKind.SAME_DAY and days == 0:
            due_day = counted.date()
            if counted.time() > self.hours.same_day_cutoff:
                due_day = self.next_working_day(due_day)
            return datetime.combine(due_day, self.hours.closing)
        return datetime.combine(self.add_working_days(counted.date(), days), counted.time())

    def due(self, received: datetime, rule: TimeRule,
            needs_verification: bool = False) -> DueTime:
        """``due_at`` with the provisional days it crosses, for the officer to see first."""
        at = self.due_at(received, rule, needs_verification)
        return DueTime(at, self.provisional_between(received.date(), at.date()))

    def shift_for_pause(self, due: datetime, paused: datetime, resumed: datetime) -> datetime:
        """Move ``due`` by the working days spent waiting for the citizen's supplement."""
        waited = self.working_days_between(paused.date(), resumed.date())
        return datetime.combine(self.add_working_days(due.date(), waited), due.time())

    def working_days_left(self, now: datetime, due: datetime) -> int:
        """Working days from today until the due day; negative when late."""
        if due.date() >= now.date():
            return self.working_days_between(now.date(), due.date())
        return -self.working_days_between(due.date(), now.date())


def load_calendar(path: Path, hours: OfficeHours | None = None, language: str = "vi",
                  official: OfficialSchedule | None | object = _BUNDLED) -> WorkCalendar:
    """The office calendar: the package, the official schedule (the bundled copy unless a
    newer stored one is given), then the override file at ``path``."""
    return WorkCalendar(CalendarOverrides.load(path), hours, language, official)
