"""The official schedule of days off and make-up working days, year by year, each day with the
document that decided it (format and sources: ``docs/calendar.md``).

The ``holidays`` package knows the Labour Code's holidays and estimates the lunar ones; it cannot
know the swaps the government announces each year (a Friday off against a make-up Saturday).
This schedule sits above the package and below the office's own ``calendar.toml``. A year listed
here is *announced*: its days are confirmed by the documents cited; a day the package gives for
an announced year that is not listed, or any package day of a year not listed (except the fixed
dates of Labour Code art. 112), is *provisional* (see ``WorkCalendar.status``).

The bundled copy is ``ccdesk/data/official_calendar.toml``; a newer edition arrives without a
release through ``ccdesk calendar import`` or the relay (``services/official_calendar.py``).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from ccdesk.domain.errors import CcdeskError, ValidationError
from ccdesk.domain.tomlsource import TomlLocator
from ccdesk.text import nfc

FORMAT = 1
MAX_BYTES = 256 * 1024          # a schedule is a few kilobytes; anything larger is not one
MAX_DAYS_PER_YEAR = 60
YEARS = range(2000, 2101)
KINDS = ("day_off", "working_day")
BUNDLED_SCHEDULE = Path(__file__).resolve().parent.parent / "data" / "official_calendar.toml"


@dataclass(frozen=True)
class OfficialDay:
    day: date
    working: bool            # True: a make-up working day (or a package day off cancelled)
    name: str
    document: str            # number and kind of the text that decided it
    issued: date | None      # the text's date; None where it could not be checked
    note: str = ""


@dataclass(frozen=True)
class OfficialSchedule:
    version: date                                   # the edition; a newer one replaces it
    years: dict[int, tuple[OfficialDay, ...]] = field(default_factory=dict)
    text: str = ""                                  # the TOML it was read from (stored, relayed)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def announced(self, year: int) -> bool:
        return year in self.years

    @property
    def by_day(self) -> dict[date, OfficialDay]:
        return {d.day: d for days in self.years.values() for d in days}


class ScheduleInvalid(CcdeskError):
    """An official schedule file with one or more errors; ``errors`` lists them all."""

    def __init__(self, source: str, errors: list[ValidationError]) -> None:
        self.source = source
        self.errors = errors
        super().__init__("core.official_calendar.invalid", file=source, count=len(errors))

    def message(self, lang: str | None = None) -> str:
        return "\n".join(err.message(lang) for err in self.errors)


class _Errors:
    def __init__(self, source: str, locator: TomlLocator) -> None:
        self.source, self.locator = source, locator
        self.items: list[ValidationError] = []

    def add(self, path: tuple, key: str, **params: Any) -> None:
        self.items.append(ValidationError(
            key, file=self.source, line=self.locator.line_of(path) or 1,
            where=".".join(str(p) for p in path), **params))


def parse_schedule(text: str, source: str = "official_calendar.toml") -> OfficialSchedule:
    """Parse and validate a whole schedule; raise :class:`ScheduleInvalid` listing every error
    with its file, line and field. Nothing is half-read: it is all or nothing."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ScheduleInvalid(source, [ValidationError(
            "core.official_calendar.too_large", file=source, limit=MAX_BYTES // 1024)])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleInvalid(source, [ValidationError(
            "core.err.toml_syntax", file=source, detail=str(exc))]) from exc
    errors = _Errors(source, TomlLocator(text))
    if data.get("format") != FORMAT:
        errors.add(("format",), "core.official_calendar.format", expected=FORMAT)
    version = data.get("version")
    if isinstance(version, datetime) or not isinstance(version, date):
        errors.add(("version",), "core.err.catalog_date")
        version = date.min
    years: dict[int, tuple[OfficialDay, ...]] = {}
    entries = data.get("year")
    if not isinstance(entries, list) or not entries:
        errors.add(("year",), "core.official_calendar.no_years")
        entries = []
    for index, entry in enumerate(entries):
        path = ("year", index)
        if not isinstance(entry, dict):
            errors.add(path, "core.err.catalog_type", expected="table")
            continue
        year = entry.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or year not in YEARS:
            errors.add(path + ("year",), "core.official_calendar.year",
                       low=YEARS.start, high=YEARS.stop - 1)
            continue
        if year in years:
            errors.add(path + ("year",), "core.official_calendar.year_twice", year=year)
            continue
        years[year] = _days(errors, entry.get("day", []), year, path + ("day",))
    if errors.items:
        raise ScheduleInvalid(source, errors.items)
    return OfficialSchedule(version=version, years=years, text=text)


def _days(errors: _Errors, raw: object, year: int, path: tuple) -> tuple[OfficialDay, ...]:
    if not isinstance(raw, list):
        errors.add(path, "core.err.catalog_type", expected="list")
        return ()
    if len(raw) > MAX_DAYS_PER_YEAR:
        errors.add(path, "core.official_calendar.too_many", limit=MAX_DAYS_PER_YEAR)
        return ()
    days: list[OfficialDay] = []
    seen: set[date] = set()
    for index, entry in enumerate(raw):
        day = _day(errors, entry, year, path + (index,))
        if day is None:
            continue
        if day.day in seen:
            errors.add(path + (index, "date"), "core.official_calendar.day_twice",
                       date=day.day.isoformat())
        seen.add(day.day)
        days.append(day)
    return tuple(sorted(days, key=lambda d: d.day))


def _day(errors: _Errors, entry: object, year: int, path: tuple) -> OfficialDay | None:
    if not isinstance(entry, dict):
        errors.add(path, "core.err.catalog_type", expected="table")
        return None
    before = len(errors.items)
    day = _date(errors, entry, path, "date", required=True)
    if day is not None and day.year != year:
        errors.add(path + ("date",), "core.official_calendar.wrong_year", year=year)
    kind = entry.get("kind")
    if kind not in KINDS:
        errors.add(path + ("kind",), "core.err.catalog_choice", allowed=", ".join(KINDS),
                   value=str(kind))
    elif day is not None and kind == "day_off" and day.weekday() >= 5:
        errors.add(path + ("date",), "core.official_calendar.weekend_off",
                   date=day.isoformat())
    name = _text(errors, entry, path, "name", 200, required=True)
    document = _text(errors, entry, path, "document", 300, required=True)
    note = _text(errors, entry, path, "note", 500, required=False)
    issued = _date(errors, entry, path, "issued", required=False)
    if len(errors.items) > before or day is None:
        return None
    return OfficialDay(day=day, working=kind == "working_day", name=name, document=document,
                       issued=issued, note=note)


def _date(errors: _Errors, entry: dict, path: tuple, key: str, *,
          required: bool) -> date | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        errors.add(path + (key,), "core.err.catalog_date")
        return None
    return value


def _text(errors: _Errors, entry: dict, path: tuple, key: str, limit: int, *,
          required: bool) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        errors.add(path + (key,), "core.err.catalog_type", expected="text")
        return ""
    value = nfc(value)
    if required and not value:
        errors.add(path + (key,), "core.err.catalog_missing")
    elif len(value) > limit:
        errors.add(path + (key,), "core.err.catalog_too_long", limit=limit)
    return value


@cache
def bundled_schedule() -> OfficialSchedule:
    """The schedule shipped in the package (read once per process)."""
    return parse_schedule(BUNDLED_SCHEDULE.read_text(encoding="utf-8"),
                          source=BUNDLED_SCHEDULE.name)


def newest(*schedules: OfficialSchedule | None) -> OfficialSchedule | None:
    """The newest edition among those given (a stored import or the bundled copy)."""
    present = [s for s in schedules if s is not None]
    return max(present, key=lambda s: s.version, default=None)
