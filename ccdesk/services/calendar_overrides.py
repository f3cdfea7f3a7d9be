"""Adding the office's own calendar corrections (``calendar.toml``) from the desk's settings.

The government announces extra days off and make-up working Saturdays each year; the
``holidays`` package cannot know them (docs/design/domain-rules.md, working days). A lead or IT
officer adds them here. The file is rewritten whole (comments in it are not kept) and the running
calendar is reloaded, so the next due time counts the new day; due times already given never
change.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import tomli_w

from ccdesk.domain.calendar import CalendarOverrides, SpecialDay
from ccdesk.domain.errors import ValidationError
from ccdesk.domain.validation import clean_text
from ccdesk.paths import ensure_private_dir
from ccdesk.services.context import Actor
from ccdesk.services.official_calendar import build_calendar

if TYPE_CHECKING:
    from ccdesk.services import Services

KINDS = ("days_off", "working_days")


def add_special_day(services: Services, actor: Actor, kind: str, day: date | None,
                    name: str) -> CalendarOverrides:
    """Add one day off or make-up working day; refuses a day the file already lists."""
    actor.require("calendar", training=services.office.get().is_training)
    if kind not in KINDS:
        raise ValidationError("core.err.choice", field="kind", allowed=", ".join(KINDS))
    if day is None:
        raise ValidationError("core.err.required", field="date")
    name = clean_text(name, "name", required=True, limit=100)
    path = services.paths.calendar_file
    overrides = CalendarOverrides.load(path)
    if any(d.day == day for d in overrides.days_off + overrides.working_days):
        raise ValidationError("core.err.calendar_twice", field="date", file=str(path), line=0,
                              date=day.isoformat())
    getattr(overrides, kind).append(SpecialDay(day, name))
    data = {k: [{"date": d.day, "name": d.name} for d in sorted(getattr(overrides, k),
                                                                key=lambda d: d.day)]
            for k in KINDS}
    ensure_private_dir(path.parent)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    services.ctx.calendar = build_calendar(services.db, services.paths, services.config)
    return overrides
