"""Working days and due times (docs/design/domain-rules.md, working days).

A working day is Monday-Friday, minus Vietnam's public holidays and official substitute days off
(the ``holidays`` package, lunar dates included), plus the make-up working Saturdays it knows
(``weekend_workdays``), then corrected by the office's per-year override file ``calendar.toml``
(extra days off and make-up working days the government announces each year).

Due-time rules (documented in the README):

* **Same-day procedures**: due the same day at closing time; received after the cut-off (15:00)
  → due at closing time of the next working day. Received on a non-working day → due at closing
  time of the next working day.
* **N working days**: the same clock time on the N-th working day after the day of receipt.
  A receipt on a non-working day counts from the next working day (that day is day 0).
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
from ccdesk.domain.tomlsource import TomlLocator
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


class WorkCalendar:
    """Answers "is this a working day?" and computes due times."""

    def __init__(self, overrides: CalendarOverrides | None = None,
                 hours: OfficeHours | None = None, language: str = "vi") -> None:
        self.overrides = overrides or CalendarOverrides()
        self.hours = hours or OfficeHours()
        self.language = language
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
        national, makeup = self._year(day.year)
        if day in makeup:
            return True
        return day.weekday() < 5 and day not in national

    def days_off(self, year: int) -> list[SpecialDay]:
        """Public holidays, substitute days and override days off that fall on weekdays."""
        national, _ = self._year(year)
        names = {d: n for d, n in national.items() if d.weekday() < 5}
        names.update({d: n for d, n in self._extra_off.items() if d.year == year})
        return [SpecialDay(d, names[d]) for d in sorted(names) if not self.is_working_day(d)]

    def make_up_days(self, year: int, default_name: str = "") -> list[SpecialDay]:
        """Weekend days that are working days (make-up Saturdays)."""
        _, makeup = self._year(year)
        names = {d: default_name for d in makeup}
        names.update({d: n for d, n in self._extra_work.items() if d.year == year})
        return [SpecialDay(d, names[d]) for d in sorted(names) if d.weekday() >= 5]

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

    def due_at(self, received: datetime, rule: TimeRule,
               needs_verification: bool = False) -> datetime:
        """When the result is due for a dossier received at ``received``."""
        start = self.first_working_day_from(received.date())
        received_on_working_day = start == received.date()
        days = rule.total_days(needs_verification)
        if rule.kind == TimeKind.SAME_DAY and days == 0:
            if received_on_working_day and received.time() <= self.hours.same_day_cutoff:
                return datetime.combine(start, self.hours.closing)
            due_day = self.next_working_day(start) if received_on_working_day else start
            return datetime.combine(due_day, self.hours.closing)
        return datetime.combine(self.add_working_days(start, days), received.time())

    def shift_for_pause(self, due: datetime, paused: datetime, resumed: datetime) -> datetime:
        """Move ``due`` by the working days spent waiting for the citizen's supplement."""
        waited = self.working_days_between(paused.date(), resumed.date())
        return datetime.combine(self.add_working_days(due.date(), waited), due.time())

    def working_days_left(self, now: datetime, due: datetime) -> int:
        """Working days from today until the due day; negative when late."""
        if due.date() >= now.date():
            return self.working_days_between(now.date(), due.date())
        return -self.working_days_between(due.date(), now.date())


def load_calendar(path: Path, hours: OfficeHours | None = None,
                  language: str = "vi") -> WorkCalendar:
    """The office calendar: national holidays plus the override file at ``path``."""
    return WorkCalendar(CalendarOverrides.load(path), hours, language)
